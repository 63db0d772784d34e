package rewrite

import (
	"bufio"
	"bytes"
	"io"
)

// source is the buffered input of an HTML rewriter. Tokens are cut from
// its buffer in place; the content of raw-text elements is streamed from
// it.
type source struct {
	r   io.Reader
	out *bufio.Writer // flushed before waiting on r; nil for nested input
	buf []byte        // buf[off:] is pending input
	off int
	err error // sticky error of r
	// prev is the input byte before buf[0], kept when fill drops the
	// bytes before off; 0 at the start.
	prev byte
}

// before returns the input byte before buf[i], or 0 at the start.
func (s *source) before(i int) byte {
	if i > 0 {
		return s.buf[i-1]
	}
	return s.prev
}

const sourceChunk = 16 << 10

// Read reads pending input first, then from r directly into p.
func (s *source) Read(p []byte) (int, error) {
	if s.off < len(s.buf) {
		n := copy(p, s.buf[s.off:])
		s.off += n
		return n, nil
	}
	if s.err != nil {
		return 0, s.err
	}
	if err := s.flush(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// WriteTo writes the rest of the input to w. io.Copy prefers it to the
// ReadFrom of a *bufio.Writer: that reads into the writer's own buffer,
// which Read's flush of s.out, the same writer, would empty under it.
func (s *source) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if s.off < len(s.buf) {
			n, err := w.Write(s.buf[s.off:])
			s.off += n
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
		if s.err != nil {
			if s.err == io.EOF {
				return total, nil
			}
			return total, s.err
		}
		s.fill()
	}
}

// flush writes the output so far before the rewriter waits for input.
func (s *source) flush() error {
	if s.out == nil || s.out.Buffered() == 0 {
		return nil
	}
	if err := s.out.Flush(); err != nil {
		s.err = err
		return err
	}
	return nil
}

// fill reads more input after the pending bytes.
func (s *source) fill() error {
	if s.err != nil {
		return s.err
	}
	pending := len(s.buf) - s.off
	if s.off > 0 {
		s.prev = s.buf[s.off-1]
		copy(s.buf, s.buf[s.off:])
		s.buf, s.off = s.buf[:pending], 0
	}
	if cap(s.buf)-pending < sourceChunk/2 {
		nb := make([]byte, pending, max(2*cap(s.buf), sourceChunk))
		copy(nb, s.buf)
		s.buf = nb
	}
	if err := s.flush(); err != nil {
		return err
	}
	for range 100 {
		n, err := s.r.Read(s.buf[pending:cap(s.buf)])
		s.buf = s.buf[:pending+n]
		s.err = err
		if n > 0 || err != nil {
			return nil
		}
	}
	s.err = io.ErrNoProgress
	return nil
}

// rescanMin is the size of an unfinished token beyond which fillToken
// waits for twice as much input before the token is scanned again.
const rescanMin = sourceChunk / 4

// fillToken reads more input for an unfinished token, the pending bytes.
// A large token is scanned again only once the input has doubled, or
// ended: scanning it again after each small read (an origin that
// trickles a few bytes at a time) would take time quadratic in its size,
// minutes for a comment of a megabyte.
func (s *source) fillToken(pending int) {
	need := pending + 1
	if pending >= rescanMin {
		need = min(2*pending, MaxHTMLToken)
	}
	for s.fill(); s.err == nil && len(s.buf)-s.off < need; {
		s.fill()
	}
}

// rawTextReader reads the content of a raw-text element from s, up to and
// not including its end tag ("</tag" followed by white space, "/" or ">",
// in any case). For script it follows the script data states of the HTML
// standard, in which "<!--" and "<script" can hide a "</script>".
type rawTextReader struct {
	s      *source
	tag    string
	script scriptState
	avail  int // pending bytes of s known to be content
	done   bool
}

// next returns how many pending bytes of s are content, reading more input
// as needed. It returns 0 and io.EOF at the end tag or the end of input.
func (t *rawTextReader) next() (int, error) {
	for t.avail == 0 && !t.done {
		s := t.s
		data := s.buf[s.off:]
		eof := s.err != nil
		var end bool
		if t.tag == "script" {
			t.avail, end = t.script.scan(data, eof)
		} else {
			t.avail, end = scanRawText(data, t.tag, eof)
		}
		switch {
		case t.avail > 0:
		case end:
			t.done = true
		case eof && len(data) == 0:
			t.done = true
			if s.err != io.EOF {
				return 0, s.err
			}
		default:
			s.fill()
		}
	}
	if t.avail == 0 {
		return 0, io.EOF
	}
	return t.avail, nil
}

// consume marks n bytes of content as read.
func (t *rawTextReader) consume(n int) {
	t.s.off += n
	t.avail -= n
}

// Read implements io.Reader.
func (t *rawTextReader) Read(p []byte) (int, error) {
	n, err := t.next()
	if n == 0 {
		return 0, err
	}
	n = copy(p, t.s.buf[t.s.off:t.s.off+n])
	t.consume(n)
	return n, nil
}

// WriteTo writes the content to w without copying it.
func (t *rawTextReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		n, err := t.next()
		if n == 0 {
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
		s := t.s
		m, err := w.Write(s.buf[s.off : s.off+n])
		t.consume(m)
		total += int64(m)
		if err != nil {
			return total, err
		}
	}
}

// scriptState is the position of a script's content in the script data
// states of the HTML standard.
type scriptState struct {
	mode   uint8 // scriptData, scriptEscaped or scriptDoubleEscaped
	dashes uint8 // '-' just read in an escaped mode, up to 2
}

const (
	scriptData          = iota
	scriptEscaped       // after "<!--"
	scriptDoubleEscaped // after "<!--" and "<script"
)

// scan returns the length of the script content at the start of data and
// whether the end tag follows it, advancing the state over that content.
// Near the end of data, when more input could decide what a '<' starts, it
// stops before the '<'.
func (st *scriptState) scan(data []byte, eof bool) (int, bool) {
	i := 0
	for i < len(data) {
		if st.mode == scriptData {
			j := bytes.IndexByte(data[i:], '<')
			if j < 0 {
				return len(data), false
			}
			i += j
			m := matchEndTag(data[i:], "script")
			if m == 1 {
				return i, true
			}
			if m == 0 || eof {
				m = matchBytes(data[i:], "<!--")
			}
			if m == -1 && !eof {
				return i, false
			}
			if m == 1 {
				st.mode, st.dashes = scriptEscaped, 2
				i += len("<!--")
				continue
			}
			i++
			continue
		}
		switch data[i] {
		case '-':
			st.dashes = min(st.dashes+1, 2)
			i++
			continue
		case '>':
			if st.dashes == 2 {
				st.mode, st.dashes = scriptData, 0
				i++
				continue
			}
		case '<':
			st.dashes = 0
			m := matchEndTag(data[i:], "script")
			if m == -1 && !eof {
				return i, false
			}
			if m == 1 {
				if st.mode == scriptEscaped {
					return i, true
				}
				st.mode = scriptEscaped
				i += len("</script>")
				continue
			}
			if st.mode == scriptEscaped {
				m = matchScriptStart(data[i:])
				if m == -1 && !eof {
					return i, false
				}
				if m == 1 {
					st.mode = scriptDoubleEscaped
					i += len("<script>")
					continue
				}
			}
		}
		st.dashes = 0
		i++
	}
	return len(data), false
}

// matchBytes reports whether b starts with s: 1 if it does, 0 if it does
// not, -1 if b is too short to tell.
func matchBytes(b []byte, s string) int {
	for i := range len(s) {
		if i >= len(b) {
			return -1
		}
		if b[i] != s[i] {
			return 0
		}
	}
	return 1
}

// matchScriptStart reports whether b starts with "<script" (any case)
// followed by white space, "/" or ">", like matchEndTag.
func matchScriptStart(b []byte) int {
	const n = len("<script>")
	for i := 1; i < n; i++ {
		if i >= len(b) {
			return -1
		}
		c := b[i]
		if i < n-1 {
			if lowerASCII(c) != "script"[i-1] {
				return 0
			}
		} else if !isSpace(c) && c != '/' && c != '>' {
			return 0
		}
	}
	return 1
}

// scanRawText returns the length of the content at the start of data and
// whether the end tag follows it. Near the end of data, when more input
// could complete an end tag, it stops before the '<'.
func scanRawText(data []byte, tag string, eof bool) (int, bool) {
	i := 0
	for {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return len(data), false
		}
		j += i
		switch matchEndTag(data[j:], tag) {
		case 1:
			return j, true
		case -1:
			if !eof {
				return j, false
			}
		}
		i = j + 1
	}
}

// matchEndTag reports whether b starts with the end tag of tag: 1 if it
// does, 0 if it does not, -1 if b is too short to tell.
func matchEndTag(b []byte, tag string) int {
	n := len(tag) + 3
	for i := 1; i < n; i++ {
		if i >= len(b) {
			return -1
		}
		c := b[i]
		switch {
		case i == 1:
			if c != '/' {
				return 0
			}
		case i < n-1:
			if lowerASCII(c) != tag[i-2] {
				return 0
			}
		default:
			if !isSpace(c) && c != '/' && c != '>' {
				return 0
			}
		}
	}
	return 1
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
