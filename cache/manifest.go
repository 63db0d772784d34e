package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// A manifest file is the line "zerkalo-cache 1 <hex SHA-256 of the rest>"
// followed by the JSON encoding of manifest.
const (
	manifestExt   = ".m"
	manifestMagic = "zerkalo-cache 1 "
)

type manifest struct {
	Meta     Meta
	Gen      string
	Modified time.Time
	Files    [numEncodings]fileRecord
}

type fileRecord struct {
	Size int64  `json:",omitempty"`
	Sum  string `json:",omitempty"` // hex SHA-256; "" when the copy is absent
}

func encodeManifest(e *Entry) ([]byte, error) {
	m := manifest{Meta: e.Meta, Gen: e.b.gen, Modified: e.b.modified}
	for i := range e.b.v {
		if v := e.b.v[i]; v.file != "" {
			m.Files[i] = fileRecord{Size: v.size, Sum: hex.EncodeToString(v.sum[:])}
		}
	}
	body, err := json.Marshal(&m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	out := make([]byte, 0, len(manifestMagic)+65+len(body))
	out = append(out, manifestMagic...)
	out = hex.AppendEncode(out, sum[:])
	out = append(out, '\n')
	return append(out, body...), nil
}

var errBadManifest = errors.New("bad manifest")

// decodeManifest parses a manifest file found under the name stem name in
// shard, checking its checksum and that its key hashes to name.
func decodeManifest(data []byte, name string, shard int) (*Entry, error) {
	line, body, ok := bytes.Cut(data, []byte{'\n'})
	sumHex, ok2 := bytes.CutPrefix(line, []byte(manifestMagic))
	if !ok || !ok2 {
		return nil, fmt.Errorf("%w: no header", errBadManifest)
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != string(sumHex) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadManifest)
	}
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadManifest, err)
	}
	id := ident{m.Meta.Key, m.Meta.Variant}
	if n, sh := entryName(id); n != name || sh != shard {
		return nil, fmt.Errorf("%w: its key does not belong to %s", errBadManifest, name)
	}
	b := newBodies(m.Gen, m.Modified)
	for i, r := range m.Files {
		if r.Sum == "" {
			continue
		}
		v := b.v[i]
		if _, err := hex.Decode(v.sum[:], []byte(r.Sum)); err != nil || len(r.Sum) != 2*sha256.Size {
			return nil, fmt.Errorf("%w: checksum %q", errBadManifest, r.Sum)
		}
		v.file, v.size, v.etag = bodyFile(name, m.Gen, Encoding(i)), r.Size, etag(v.sum)
	}
	if b.v[Identity].file == "" {
		return nil, fmt.Errorf("%w: no identity body", errBadManifest)
	}
	e := &Entry{Meta: m.Meta, id: id, name: name, shard: shard, b: b, msize: int64(len(data))}
	e.size = blocks(e.msize)
	for i := range b.v {
		if v := b.v[i]; v.file != "" {
			e.size += blocks(v.size)
		}
	}
	return e, nil
}

// bodyFile names a body file: <name>.<gen>.<id|gz|br>.
func bodyFile(name, gen string, enc Encoding) string {
	return name + "." + gen + "." + encodingInfo[enc].ext
}

// writeManifest writes e's manifest atomically: a temporary file, fsync,
// rename over the old manifest, fsync of the shard directory. It returns
// the manifest's length.
func (s *Store) writeManifest(e *Entry) (int64, error) {
	data, err := encodeManifest(e)
	if err != nil {
		return 0, err
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return 0, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, shardDir(e.shard)+"/"+e.name+manifestExt)
	}
	if err != nil {
		s.root.Remove(tmp)
		return 0, err
	}
	return int64(len(data)), syncDir(s.shards[e.shard])
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
