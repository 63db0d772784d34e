package rewrite

import (
	"bytes"
	"io"
	"strings"
)

// m3u8Writer is the streaming HLS playlist rewriter.
type m3u8Writer struct {
	sink
	d    *Doc
	line []byte
	long bool // the line is longer than window and was partly written
}

// NewM3U8Writer returns a streaming rewriter for HLS playlists (.m3u8). It
// rewrites with Doc.URL every URI line and the URI="…" attribute of every
// tag (#EXT-X-KEY, #EXT-X-MAP, #EXT-X-MEDIA, #EXT-X-I-FRAME-STREAM-INF, …);
// every other byte passes through unchanged. It works a line at a time,
// holding at most window bytes of a long line. Close flushes; it does not
// close w.
func NewM3U8Writer(w io.Writer, d *Doc) io.WriteCloser {
	return &m3u8Writer{sink: sink{w: w}, d: d}
}

// Write rewrites p. It returns the first error of the underlying writer.
func (m *m3u8Writer) Write(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	total := len(p)
	for n := 0; len(p) > 0; {
		k := bytes.IndexByte(p, '\n') + 1
		if k == 0 {
			k = len(p)
		}
		m.add(p[:k])
		if p[k-1] == '\n' {
			m.endLine()
		}
		p, n = p[k:], n+k
		if len(m.out) >= outFlush && m.flush() != nil {
			return n, m.err
		}
	}
	return total, m.flush()
}

// Close writes out what the writer holds. It does not close the
// underlying writer.
func (m *m3u8Writer) Close() error {
	m.endLine()
	return m.flush()
}

// add appends part of a line; a line longer than window is decided by its
// head, and the rest passes through.
func (m *m3u8Writer) add(p []byte) {
	if m.long {
		m.out = append(m.out, p...)
		return
	}
	n := min(len(p), window-len(m.line))
	m.line = append(m.line, p[:n]...)
	if len(m.line) < window {
		return
	}
	m.out = append(m.out, m.d.m3u8Line(string(m.line))...)
	m.out = append(m.out, p[n:]...)
	m.line, m.long = m.line[:0], true
}

func (m *m3u8Writer) endLine() {
	if !m.long {
		m.out = append(m.out, m.d.m3u8Line(string(m.line))...)
	}
	m.line, m.long = m.line[:0], false
}

// m3u8Line rewrites one playlist line, with its line end if any.
func (d *Doc) m3u8Line(line string) string {
	body := strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(body, "#EXT"):
		return d.m3u8Attrs(body) + line[len(body):]
	case strings.HasPrefix(body, "#"):
		return line
	}
	return d.URL(body) + line[len(body):]
}

// m3u8Attrs rewrites the URI="…" attributes of the attribute list of a tag
// such as #EXT-X-KEY:METHOD=AES-128,URI="…",IV=0x….
func (d *Doc) m3u8Attrs(tag string) string {
	i := strings.IndexByte(tag, ':') + 1
	if i == 0 {
		return tag
	}
	var b strings.Builder
	last := 0
	for i < len(tag) {
		j := i
		for j < len(tag) && tag[j] != '=' && tag[j] != ',' {
			j++
		}
		name := strings.TrimSpace(tag[i:j])
		if j+1 < len(tag) && tag[j] == '=' && tag[j+1] == '"' {
			start := j + 2
			end := strings.IndexByte(tag[start:], '"')
			if end < 0 {
				end = len(tag)
			} else {
				end += start
			}
			if strings.EqualFold(name, "URI") {
				if u := d.URL(tag[start:end]); u != tag[start:end] {
					b.WriteString(tag[last:start])
					b.WriteString(u)
					last = end
				}
			}
			j = end
		}
		for j < len(tag) && tag[j] != ',' {
			j++
		}
		i = j + 1
	}
	if last == 0 {
		return tag
	}
	b.WriteString(tag[last:])
	return b.String()
}
