package rewrite

import (
	"bufio"
	"fmt"
	"io"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// DecodeHTML prepares an HTML body for the byte-level HTML rewriter. It
// determines the body's encoding from a byte order mark, the Content-Type
// header value and a <meta charset> in the first 1024 bytes. Bodies in an
// ASCII-compatible encoding (UTF-8, windows-1251, KOI8-R, ...) are returned
// unchanged, with the encoding's name when the BOM or the header named it
// and "" when the name was only inferred (the document's own declaration
// then still holds). Bodies in encodings where ASCII bytes do not stand for
// ASCII characters (UTF-16, ISO-2022-JP) are decoded to UTF-8, and the name
// returned is "utf-8": the response must then be served with
// charset=utf-8. No bytes are lost in the sniffing.
func DecodeHTML(r io.Reader, contentType string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, 1024)
	head, err := br.Peek(1024)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("decode html: %w", err)
	}
	e, name, certain := charset.DetermineEncoding(head, contentType)
	switch name {
	case "utf-16le", "utf-16be", "iso-2022-jp", "replacement":
		return transform.NewReader(br, e.NewDecoder()), "utf-8", nil
	}
	if !certain {
		name = ""
	}
	return br, name, nil
}
