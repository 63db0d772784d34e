package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// An entry file holds the copies of an entry's body back to back, then
// the JSON encoding of its manifest, then a footer: the JSON's length (8
// bytes, big-endian), its SHA-256 and footerMagic. The manifest gives each
// copy's offset, length and SHA-256. A copy keeps its offset in every later
// file of the same Commit (a Refresh or an added copy writes a new file),
// so memory copies and checks carry over.
const (
	entryExt          = ".e"
	footerMagic       = "zerkalo-cache 2\n"
	footerLen   int64 = 8 + sha256.Size + int64(len(footerMagic))
	// maxManifest bounds the JSON read at start-up.
	maxManifest = 1 << 20
	seqDigits   = 20
	seqFormat   = "%020d"
)

type manifest struct {
	Meta Meta
	Gen  string
	// Seq orders the files of one entry: the highest wins. It has a fixed
	// width (seqFormat), so that an entry's size is known before its
	// number is.
	Seq      string
	Modified time.Time
	Files    [numEncodings]fileRecord
}

type fileRecord struct {
	Off  int64  `json:",omitempty"`
	Size int64  `json:",omitempty"`
	Sum  string `json:",omitempty"` // hex SHA-256; "" when the copy is absent
}

// entryFile names an entry file: <name>.<gen>.e.
func entryFile(name, gen string) string { return name + "." + gen + entryExt }

// encodeTail returns the manifest and footer that end e's file.
func encodeTail(e *Entry) ([]byte, error) {
	m := manifest{Meta: e.Meta, Gen: e.gen, Seq: fmt.Sprintf(seqFormat, e.seq), Modified: e.b.modified}
	for i, v := range e.b.v {
		if v.present() {
			m.Files[i] = fileRecord{Off: v.off, Size: v.size, Sum: hex.EncodeToString(v.sum[:])}
		}
	}
	body, err := json.Marshal(&m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	out := binary.BigEndian.AppendUint64(body, uint64(len(body)))
	out = append(out, sum[:]...)
	return append(out, footerMagic...), nil
}

// fileSize returns the disk use of e's file: its copies and its tail. (A
// manifest that cannot be encoded is counted as empty; writing the file
// then fails and reports why.)
func fileSize(e *Entry) int64 {
	tail, _ := encodeTail(e)
	return blocks(e.b.end() + int64(len(tail)))
}

var errBadManifest = errors.New("bad entry file")

// readEntryFile reads the manifest of the entry file file in shard and
// checks it: footer, checksum, its key hashing to the file's name, its
// generation, and copies that lie back to back before the manifest.
func readEntryFile(f *os.File, file string, shard int) (*Entry, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < footerLen {
		return nil, fmt.Errorf("%w: no footer", errBadManifest)
	}
	foot := make([]byte, footerLen)
	if _, err := f.ReadAt(foot, size-footerLen); err != nil {
		return nil, err
	}
	if string(foot[8+sha256.Size:]) != footerMagic {
		return nil, fmt.Errorf("%w: no footer", errBadManifest)
	}
	n := int64(binary.BigEndian.Uint64(foot))
	if n <= 0 || n > maxManifest || n > size-footerLen {
		return nil, fmt.Errorf("%w: manifest length %d", errBadManifest, n)
	}
	body := make([]byte, n)
	if _, err := f.ReadAt(body, size-footerLen-n); err != nil {
		return nil, err
	}
	if sha256.Sum256(body) != [sha256.Size]byte(foot[8:8+sha256.Size]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadManifest)
	}
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadManifest, err)
	}
	seq, err := strconv.ParseUint(m.Seq, 10, 64)
	if err != nil || len(m.Seq) != seqDigits {
		return nil, fmt.Errorf("%w: sequence %q", errBadManifest, m.Seq)
	}
	id := ident{m.Meta.Key, m.Meta.Variant}
	name, sh := entryName(id)
	if sh != shard || file != entryFile(name, m.Gen) {
		return nil, fmt.Errorf("%w: its key does not belong to %s", errBadManifest, file)
	}
	e := &Entry{Meta: m.Meta, id: id, name: name, shard: shard, gen: m.Gen, seq: seq, file: file,
		size: blocks(size), b: newBodies(m.Modified)}
	end := size - footerLen - n
	for i, r := range m.Files {
		if r.Sum == "" {
			continue
		}
		v := e.b.v[i]
		// The length first: hex.Decode writes past v.sum if r.Sum is longer.
		if len(r.Sum) != 2*sha256.Size {
			return nil, fmt.Errorf("%w: checksum %q", errBadManifest, r.Sum)
		}
		if _, err := hex.Decode(v.sum[:], []byte(r.Sum)); err != nil {
			return nil, fmt.Errorf("%w: checksum %q", errBadManifest, r.Sum)
		}
		if r.Off < 0 || r.Size < 0 || r.Off > end-r.Size { // r.Off+r.Size could overflow
			return nil, fmt.Errorf("%w: copy outside the file", errBadManifest)
		}
		v.off, v.size, v.etag = r.Off, r.Size, etag(v.sum)
	}
	if !e.b.v[Identity].present() {
		return nil, fmt.Errorf("%w: no identity body", errBadManifest)
	}
	// The copies lie back to back up to the manifest, as writeCopies
	// writes them (and needs them, to write the entry again).
	var at int64
	for _, enc := range e.b.byOffset() {
		if v := e.b.v[enc]; v.off == at {
			at += v.size
		} else {
			return nil, fmt.Errorf("%w: %v copy at %d, want %d", errBadManifest, enc, v.off, at)
		}
	}
	if at != end {
		return nil, fmt.Errorf("%w: copies end at %d, manifest at %d", errBadManifest, at, end)
	}
	return e, nil
}

// parseEntryFile splits an entry file's name into the entry's name and
// generation.
func parseEntryFile(file string) (name string, ok bool) {
	stem, ok := strings.CutSuffix(file, entryExt)
	if !ok {
		return "", false
	}
	name, gen, ok := strings.Cut(stem, ".")
	return name, ok && len(name) == 32 && gen != "" && !strings.Contains(gen, ".")
}

// writeEntry writes e's file to tmp/: its copies (from memory, from
// the spilled sinks of a Commit, or from the file it replaces) and its
// manifest. The file is not synced. It returns the temporary name.
func (s *Store) writeEntry(e *Entry, sinks *[numEncodings]*sink, from string) (string, error) {
	tail, err := encodeTail(e)
	if err != nil {
		return "", err
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return "", err
	}
	err = s.writeCopies(f, e, sinks, from)
	if err == nil {
		_, err = f.Write(tail)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// writeCopies writes every copy of e at its offset (in order of offset,
// with no gaps: Commit and addCopy assign them so).
func (s *Store) writeCopies(f *os.File, e *Entry, sinks *[numEncodings]*sink, from string) error {
	var src *os.File
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	var at int64
	for _, enc := range e.b.byOffset() {
		v := e.b.v[enc]
		if v.off != at {
			return fmt.Errorf("copy %v at %d, want %d", enc, v.off, at)
		}
		var r io.Reader
		switch {
		case v.mem.Load() != nil:
			r = bytes.NewReader(*v.mem.Load())
		case sinks != nil && sinks[enc] != nil && sinks[enc].tmp == "":
			r = bytes.NewReader(sinks[enc].mem)
		case sinks != nil && sinks[enc] != nil:
			sf, err := s.root.Open(sinks[enc].tmp)
			if err != nil {
				return err
			}
			defer sf.Close()
			r = sf
		default:
			if src == nil {
				var err error
				if src, err = s.shards[e.shard].Open(from); err != nil {
					return err
				}
			}
			r = io.NewSectionReader(src, v.off, v.size)
		}
		n, err := io.Copy(f, r)
		if err != nil {
			return err
		}
		if n != v.size {
			return fmt.Errorf("copy %v: %d bytes, want %d", enc, n, v.size)
		}
		at += n
	}
	return nil
}

// installFile renames e's finished temporary file into its shard.
func (s *Store) installFile(tmp string, e *Entry) error {
	return s.root.Rename(tmp, shardDir(e.shard)+"/"+e.file)
}

func syncDir(r *os.Root) error {
	d, err := r.Open(".")
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// blocks rounds a file size up to whole 4 KiB blocks, as file systems
// allocate them.
func blocks(n int64) int64 {
	const b = 4096
	return (n + b - 1) / b * b
}
