package rewrite

import "testing"

func TestSrcset(t *testing.T) {
	const site, gdb = "https://www.rferl.org/", "https://gdb.rferl.org/a/b.html"
	tests := []struct{ name, base, in, want string }{
		{"one", site, "https://gdb.rferl.org/a_w100.jpg", "/_z/gdb.rferl.org/a_w100.jpg"},
		{"descriptors", site, "https://gdb.rferl.org/a_w100.jpg 100w, https://gdb.rferl.org/a_w200.jpg 200w",
			"/_z/gdb.rferl.org/a_w100.jpg 100w, /_z/gdb.rferl.org/a_w200.jpg 200w"},
		{"density and spaces", site, "  //gdb.rferl.org/a.jpg 1x ,\n\tHTTPS://GDB.RFERL.ORG:443/b.jpg   2x  ",
			"  /_z/gdb.rferl.org/a.jpg 1x ,\n\t/_z/gdb.rferl.org/b.jpg   2x  "},
		{"comma in URL", site, "https://gdb.rferl.org/a.jpg?w=1,2 1x,https://gdb.rferl.org/b,c.jpg 2x",
			"/_z/gdb.rferl.org/a.jpg?w=1,2 1x,/_z/gdb.rferl.org/b,c.jpg 2x"},
		{"trailing commas split", site, "https://gdb.rferl.org/a.jpg,, https://www.rferl.org/b.jpg",
			"/_z/gdb.rferl.org/a.jpg,, /b.jpg"},
		{"commas without space are one URL", site, "https://gdb.rferl.org/a.jpg,,https://www.rferl.org/b.jpg",
			"/_z/gdb.rferl.org/a.jpg,,https://www.rferl.org/b.jpg"},
		{"no descriptor last", site, "https://gdb.rferl.org/a.jpg 1x, https://gdb.rferl.org/b.jpg",
			"/_z/gdb.rferl.org/a.jpg 1x, /_z/gdb.rferl.org/b.jpg"},
		{"parens in descriptor", site, "https://gdb.rferl.org/a.jpg foo(1,2) 1x, https://gdb.rferl.org/b.jpg 2x",
			"/_z/gdb.rferl.org/a.jpg foo(1,2) 1x, /_z/gdb.rferl.org/b.jpg 2x"},
		{"not origin", site, "https://upload.wikimedia.org/a.jpg 1x, /b.jpg 2x", "https://upload.wikimedia.org/a.jpg 1x, /b.jpg 2x"},
		{"root-relative on secondary", gdb, "/a.jpg 1x, b.jpg 2x, /c.jpg", "/_z/gdb.rferl.org/a.jpg 1x, b.jpg 2x, /_z/gdb.rferl.org/c.jpg"},
		{"data URI with commas", gdb, "data:image/png;base64,AA== 1x, /b.jpg 2x", "data:image/png;base64,AA== 1x, /_z/gdb.rferl.org/b.jpg 2x"},
		{"empty", site, "", ""},
		{"only commas", site, " , ,", " , ,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testDoc(t, tt.base).Srcset(tt.in); got != tt.want {
				t.Errorf("Srcset(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSrcset checks that Srcset never panics, leaves values without an
// origin host alone, and changes nothing but the candidates' URLs: the
// output parses into as many candidates, with the same descriptors.
func FuzzSrcset(f *testing.F) {
	for _, s := range []string{"https://gdb.rferl.org/a.jpg 1x, /b.jpg 2x", "a,b,,c d(e,f) ,g",
		"//www.rferl.org/x?a=1,2 100w", "data:image/png;base64,AA== 1x"} {
		f.Add(s)
	}
	m := mustNewMapper(f, "www.rferl.org", testHosts...)
	d := NewDoc(m, mustParse(f, "https://gdb.rferl.org/a.html"))
	site := NewDoc(m, mustParse(f, "https://www.rferl.org/"))
	f.Fuzz(func(t *testing.T, s string) {
		got := d.Srcset(s)
		if !hasOriginHost(m, s) && site.Srcset(s) != s {
			t.Fatalf("no origin host, but %q became %q", s, site.Srcset(s))
		}
		in, out := srcsetParts(s), srcsetParts(got)
		if len(in) != len(out) {
			t.Fatalf("%q (%d parts) became %q (%d parts)", s, len(in), got, len(out))
		}
		for i := range in {
			if want := d.URL(in[i][0]); out[i][0] != want || out[i][1] != in[i][1] {
				t.Fatalf("candidate %d of %q: got %q, want %q %q", i, s, out[i], want, in[i][1])
			}
		}
	})
}

// srcsetParts splits a srcset into URL and descriptor text, independently
// of Srcset's own loop.
func srcsetParts(s string) [][2]string {
	var parts [][2]string
	i := 0
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i == len(s) {
			return parts
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		u := s[start:i]
		for len(u) > 0 && u[len(u)-1] == ',' {
			u = u[:len(u)-1]
		}
		if len(u) < i-start {
			parts = append(parts, [2]string{u, ""})
			continue
		}
		j := skipDescriptors(s, i)
		parts = append(parts, [2]string{u, s[i:j]})
		i = j
	}
}
