package proxy

import (
	"net/http"
	"slices"
	"testing"
)

func TestAddVary(t *testing.T) {
	for _, tc := range []struct {
		have []string
		add  string
		want []string
	}{
		{nil, "Accept-Encoding", []string{"Accept-Encoding"}},
		{[]string{"accept-encoding"}, "Accept-Encoding", []string{"accept-encoding"}},
		{[]string{"Origin, Accept-Encoding"}, "Accept-Encoding", []string{"Origin, Accept-Encoding"}},
		{[]string{"Origin", " accept-encoding "}, "Accept-Encoding", []string{"Origin", " accept-encoding "}},
		{[]string{"*"}, "Host", []string{"*"}},
		{[]string{"Accept-Encoding"}, "Host", []string{"Accept-Encoding", "Host"}},
		{[]string{"Accept-Encoding-X"}, "Accept-Encoding", []string{"Accept-Encoding-X", "Accept-Encoding"}},
	} {
		h := http.Header{}
		for _, v := range tc.have {
			h.Add("Vary", v)
		}
		addVary(h, tc.add)
		if got := h.Values("Vary"); !slices.Equal(got, tc.want) {
			t.Errorf("Vary %q + %s = %q, want %q", tc.have, tc.add, got, tc.want)
		}
	}
}

func TestBrowserURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a/1.html", "/a/1.html"},
		{"https://www.rferl.org/a?q=1", "https://www.rferl.org/a?q=1"},
		{`/\evil.example/x`, "//evil.example/x"},
		{`\\evil.example/x`, "//evil.example/x"},
		{"///evil.example/x", "//evil.example/x"},
		{"/\t/evil.\nexample/x", "//evil.example/x"},
		{" \x00/a/1.html\x1f ", "/a/1.html"},
		{`/a?q=\x#\y`, `/a?q=\x#\y`}, // the query and fragment keep theirs
		{`https:\\evil.example\x`, "https://evil.example/x"},
	}
	for _, tt := range tests {
		if got := browserURL(tt.in); got != tt.want {
			t.Errorf("browserURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
