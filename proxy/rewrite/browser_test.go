package rewrite

import "testing"

// TestBrowserReadsURLs: a URL is judged and rewritten as a browser reads
// it, not as written. Browsers drop tabs and newlines from URLs, read
// backslashes as slashes, and any run of them at the start as "//"; a
// rewriter that reads "/\tevil" as a path on the mirror lets the browser
// fetch from evil. Every case here went through unchanged before.
func TestBrowserReadsURLs(t *testing.T) {
	d := testDoc(t, "https://www.rferl.org/a/1.html")
	tests := []struct{ name, in, want string }{
		{"tab between slashes", "<img src=\"/\t/evil.example/t.png\">", "<img>"},
		{"tab in the scheme", "<img src=\"h\tttps://evil.example/t.png\">", "<img>"},
		{"escaped slash", `<img src="\/evil.example/t.png">`, "<img>"},
		{"three slashes", `<img src="///evil.example/t.png">`, "<img>"},
		{"frame behind a backslash", `<iframe src="\/evil.example/f"></iframe>`, ""},
		{"origin host behind a tab", "<img src=\"/\t/www.rferl.org/t.png\">", `<img src="/t.png">`},
		{"asset host behind three slashes", `<img src="https:///gdb.rferl.org/i.png">`, `<img src="/_z/gdb.rferl.org/i.png">`},
		{"asset host behind four backslashes", `<img src="https:\\\\gdb.rferl.org/i.png">`, `<img src="/_z/gdb.rferl.org/i.png">`},
		{"newline in a path", "<img src=\"/a/b\nc.png\">", "<img src=\"/a/b\nc.png\">"},
		{"link behind three slashes", `<a href="///evil.example/">e</a>`, `<a href="///evil.example/">e</a>`},
		{"origin link behind a backslash", `<a href="\/www.rferl.org/a/2.html">x</a>`, `<a href="/a/2.html">x</a>`},
		{"refresh off the mirror", `<meta http-equiv="refresh" content="0; url=https://evil.example/r">`, `<meta http-equiv="refresh" content="">`},
		{"refresh behind a backslash", `<meta http-equiv="refresh" content="0; url=/\evil.example/r">`, `<meta http-equiv="refresh" content="">`},
		{"refresh on the mirror", `<meta http-equiv="refresh" content="5; url=https://www.rferl.org/r">`, `<meta http-equiv="refresh" content="5; url=/r">`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteHTMLString(t, d, tt.in); got != tt.want {
				t.Errorf("\n in: %q\ngot: %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBrowserRef(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a/1.html", "/a/1.html"},
		{"//host/x", "//host/x"},
		{`\/host/x`, "//host/x"},
		{`/\host/x`, "//host/x"},
		{`\\\host/x`, "//host/x"},
		{"/\t/host/x", "//host/x"},
		{"https:///host/x", "https://host/x"},
		{`HTTP:\\host\x`, `HTTP://host\x`},
		{`/a\b?c\d`, `/a\b?c\d`}, // backslashes inside are left to the readers
		{"h\nttp\r://host", "http://host"},
	}
	for _, tt := range tests {
		if got := BrowserRef(tt.in); got != tt.want {
			t.Errorf("BrowserRef(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
