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
