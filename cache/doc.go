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
//	<xx>/<name>.<gen>.e       entry file: the copies of the body back to
//	                          back, then the manifest (the entry's Meta
//	                          and, per copy, offset, length and SHA-256),
//	                          its length, its SHA-256 and a magic line
//	recency                   entry names, least recently used first
//
// name is 32 hex digits of the SHA-256 of key and variant, xx its first
// two; no byte of a key appears in a file name. gen is random per file, so
// a new version of an entry (a new body, a Refresh, an added copy) never
// overwrites a file that a reader may hold open; its manifest's sequence
// number, fixed-width, is higher than that of every file it replaces. One
// file per entry means one file created per stored response, which on
// some file systems costs more than everything else in a miss. Files of an
// older layout are removed at start-up: the cache starts empty.
//
// # Crash safety
//
// Commit hands the entry to the Store's committer, which makes entries
// durable in batches (all that were committed while it worked on the last
// one), with two syncs per batch (syncfs(2) on Linux) rather than an fsync
// per file:
//
//  1. each entry file is written to tmp/; sync;
//  2. each is renamed into its shard; sync; only then are the files of the
//     versions it replaces removed.
//
// A file appears under its name only when complete and durable, and an
// older version is removed only once its successor is durable. A crash at
// any point leaves the old file, or the new one, or both (start-up keeps
// the newest valid one and removes the rest), plus temporary files, which
// start-up removes. An entry replaced or removed while queued is skipped
// under its lock. A Refresh or an added copy writes a new file the same
// way (temporary file, sync, rename, directory sync, old file removed);
// the copies keep their offsets in every file of one Commit.
//
// Until its batch is done, an entry whose copies fit in memory (Memory) is
// served from memory: Commit returns at once, so the reader who caused the
// miss and those waiting for the same fetch never wait for a disk. Once
// it is on disk, its memory copies that no reader opened meanwhile are
// released. A larger entry appears only once it is on disk: its
// Commit waits for its batch. Flush waits for everything committed before
// it; Close makes every committed entry durable before it returns. A crash
// loses the entries of the batch in progress, never more, and never
// corrupts one.
//
// Should the file system not keep the order of operations (power loss),
// nothing is trusted either: start-up drops any file whose footer,
// manifest checksum, key or copy offsets do not match, and the first Open
// of each copy in a process reads it whole and checks its SHA-256 before
// the caller sees a byte. A damaged entry is dropped and reported as a
// miss (ErrCorrupt); it is never served.
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
// Opens of such a copy return it (Body.Data) without a system call. A
// copy is released when its entry is replaced, evicted or dropped, or,
// for a new entry, once on disk if nobody opened that copy (readers mostly
// take gzip or brotli, so the identity copy seldom stays). When a copy a reader opens does not fit, a
// background worker lets go of the memory copies of the least recently
// used entries on disk until an eighth of the budget is free, at most once
// a second (a sort of every entry by age); the next Open of the copy keeps
// it. So the budget follows what readers read now, not what they read
// first (BenchmarkHotPagesAfterColdOnes). A new entry that does not fit
// makes no room: it waits for the disk instead, so a flood of one-time
// URLs cannot push the pages being read out of memory.
package cache
