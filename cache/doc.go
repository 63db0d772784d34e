// Package cache stores rewritten responses on disk, ready to serve: each
// entry keeps its body in identity, gzip and brotli, each encoded once, so
// a hit costs a map lookup and, for a small copy, no file at all (see
// Memory). It knows nothing of serving or rewriting; the edge wires it in:
//
//	e, state := store.Lookup(cache.Key(originURL), "", now)
//	switch state {
//	case cache.Fresh, cache.Stale: // Stale: also revalidate in the background
//		b, err := e.Open(e.Choose(r.Header.Get("Accept-Encoding")))
//		// err (ErrCorrupt): the entry was dropped; treat as a miss.
//		w.Header().Set("Etag", b.ETag) // plus Content-Encoding, Content-Type
//		http.ServeContent(w, r, "", b.ModTime, b) // Range, 304
//		b.Close()
//	default: // Miss, StaleIfError (serve e only if the origin fails), Expired
//		group.Do(ctx, key, fetch) // one origin request per key
//	}
//
// On a miss the edge asks Policy.Meta whether the origin's response may be
// stored, then streams the rewritten body through store.Create(meta) (an
// io.Writer that never fails), and the same body as it encodes it for its
// reader through Writer.Encoded, then calls Commit, or Abort if the origin
// failed. After a 304 from the origin, Policy.Revalidated and Store.Refresh
// update an entry's metadata without touching its bodies.
//
// # Copies
//
// A Commit stores the identity copy and the copies its caller encoded
// (normally one: the encoding of the reader who caused the miss). The
// other copies are made by one background goroutine of the Store when a
// reader first asks for them (Entry.Choose, which meanwhile offers the best
// copy there is): gzip at Options.GzipLevel, brotli at Options.BrotliLevel
// with a 256 KiB window to bound its memory. A body read once, like each
// of a flood of random URLs, is thus compressed once, for its reader, and
// never again.
//
// # On-disk layout
//
// Inside the cache folder, opened as an os.Root so that no name can reach
// outside it:
//
//	tmp/<random>              files being written; emptied at start-up
//	<xx>/<name>.m             manifest: the entry's Meta and, per copy,
//	                          length and SHA-256
//	<xx>/<name>.<gen>.id      identity body
//	<xx>/<name>.<gen>.gz      gzip copy (Compressible types only)
//	<xx>/<name>.<gen>.br      brotli copy (Compressible types only)
//	recency                   entry names, least recently used first
//
// name is 32 hex digits of the SHA-256 of key and variant, xx its first
// two; no byte of a key appears in a file name. gen is random per Commit,
// so a new body never overwrites files that an older manifest (or a reader
// holding them open) refers to. A manifest starts with a line holding the
// SHA-256 of the JSON that follows.
//
// # Crash safety
//
// Commit hands the entry to the Store's committer, which makes entries
// durable in batches (all that were committed while it worked on the last
// one), with three syncs per batch (syncfs(2) on Linux) rather than an
// fsync per file:
//
//  1. every copy is written to tmp/; sync;
//  2. the copies are renamed into their shard, each manifest is written to
//     tmp/; sync;
//  3. each manifest is renamed over the old one; sync; the bodies the new
//     manifests replace are removed.
//
// The manifest's rename is the only moment an entry appears or changes on
// disk, and it happens after its bodies are durable. A crash at any point
// leaves either the old manifest with its old bodies or the new manifest
// with its new bodies, plus unreferenced files, which start-up removes. An
// entry replaced or removed while queued is skipped under its lock, and
// its files removed.
//
// Until its batch is done, an entry whose copies fit in memory (Memory) is
// served from memory: Commit returns at once, so the reader who caused the
// miss and those waiting for the same fetch never wait for a disk. Its
// memory copies are released once it is on disk unless a reader has opened
// it meanwhile. A larger entry appears only once it is on disk: its
// Commit waits for its batch. Flush waits for everything committed before
// it; Close makes every committed entry durable before it returns. A crash
// loses the entries of the batch in progress, never more, and never
// corrupts one.
//
// A copy made later (Copies) is written to tmp/, synced and renamed into
// the shard; then, under the entry's lock and only if the entry still
// holds the same Commit's bodies, a manifest naming it is written to tmp/,
// fsynced, renamed over the old one, and the shard directory is fsynced:
// the same argument. No file an existing manifest names is ever written.
// Should the file system not keep the order of operations (power loss),
// nothing is trusted either: start-up drops any manifest whose checksum,
// key or body sizes do not match, and the first Open of each copy in a
// process reads it whole and checks its SHA-256 before the caller sees a
// byte. A damaged entry is dropped and reported as a miss (ErrCorrupt); it
// is never served.
//
// SHA-256 rather than CRC-32C (ten times faster here) because the same sum
// gives each copy a strong, collision-resistant ETag, and its cost is paid
// once per copy per process: while storing (about 0.1 ms for a 106 KB page,
// next to a millisecond or more of compression) and on the first Open after
// start-up.
//
// # Index, size and recency
//
// The index lives in memory and is rebuilt at start-up from the manifests.
// Disk use is counted in 4 KiB blocks per file; when a Commit takes it past
// Options.MaxSize, the least recently used entries are removed down to 7/8
// of it. Recency is a logical clock updated on each Lookup; its order is
// saved to the recency file every Options.SaveEvery and on Close, and
// restored at start-up (entries stored since the last save count as the
// most recent, in the order they were stored).
//
// # Memory
//
// Copies up to Options.MemObject (256 KiB) are kept in memory, up to
// Options.MemSize (64 MiB) in all: from their Commit until they are on
// disk, and from their first Open in the process, which reads the file
// whole and checks its SHA-256, so a memory copy is always a verified one.
// Opens of such a copy return it (Body.Data) without a system call. The
// budget is first come, first kept; a copy is released when its entry is
// replaced, evicted or dropped, or once on disk if nobody opened it.
package cache
