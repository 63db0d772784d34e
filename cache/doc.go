// Package cache stores rewritten responses on disk, ready to serve: each
// entry keeps its body in identity, gzip and brotli, encoded once (identity
// and gzip as it is stored, brotli soon after, in the background), so a hit costs a map lookup and, for a small copy, no file at all
// (see Memory). It knows nothing
// of serving or rewriting; the edge wires it in:
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
// io.Writer that never fails) and calls Commit, or Abort if the origin
// failed. After a 304 from the origin, Policy.Revalidated and Store.Refresh
// update an entry's metadata without touching its bodies.
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
// Commit writes every copy to tmp/, fsyncs it and renames it into its shard,
// then writes the manifest to tmp/, fsyncs it, renames it over the old
// manifest and fsyncs the shard directory. The manifest's rename is the
// only moment an entry appears or changes, and it happens after its bodies
// are complete. A crash at any point leaves either the old manifest with
// its old bodies or the new manifest with its new bodies, plus unreferenced
// files, which start-up removes.
//
// The brotli copy is made after Commit by one background goroutine of the
// Store (stopped by Close), with a 256 KiB window to bound its memory; the
// reader who caused the store never waits for it, and until it exists
// Entry.Choose offers gzip to brotli readers. The worker reads the identity
// copy (checking its SHA-256), writes <name>.<gen>.br to tmp/, fsyncs it and
// renames it into the shard, then, under the entry's lock and only if the
// entry still holds the same Commit's bodies, writes a manifest naming the
// three copies to tmp/, fsyncs it, renames it over the old one and fsyncs
// the shard directory: the same argument as for Commit. A crash before
// that rename leaves the old manifest (identity and gzip) and an
// unreferenced .br file, which start-up removes; after it, the new
// manifest and a complete, synced .br. No file an existing manifest names
// is ever written. An entry found without its brotli copy (queue full,
// process stopped) is queued again by its next Lookup. Should the file system not keep the order
// of operations (power loss), nothing is trusted either: start-up drops any
// manifest whose checksum, key or body sizes do not match, and the first
// Open of each copy in a process reads it whole and checks its SHA-256
// before the caller sees a byte. A damaged entry is dropped and reported as
// a miss (ErrCorrupt); it is never served.
//
// SHA-256 rather than CRC-32C (ten times faster here) because the same sum
// gives each copy a strong, collision-resistant ETag, and its cost is paid
// once per copy per process: while storing (about 0.1 ms for a 106 KB page,
// next to several ms of compression) and on the first Open after start-up.
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
// Copies up to Options.MemObject (256 KiB) are kept in memory from their
// first Open in the process, up to Options.MemSize (64 MiB) in all: that
// first Open reads the file whole and checks its SHA-256, so a memory copy
// is always a verified one. Later Opens of the copy return it (Body.Data)
// without a system call. The budget is first come, first kept; a copy is
// released when its entry is replaced, evicted or dropped.
package cache
