package rewrite

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "write testdata/golden/ from the current output of TestHTMLGolden")

// TestHTMLGolden compares the rewrite of each fixture page with the output
// recorded in testdata/golden, byte for byte, so that a change meant to
// keep the output (a faster scanner, say) cannot change it unseen. After
// a change that is meant to change the output (a new rule), check the
// difference and record the new output:
//
//	go test -run TestHTMLGolden -update ./proxy/rewrite
func TestHTMLGolden(t *testing.T) {
	for _, p := range fixturePages(t) {
		got := rewriteHTMLString(t, p.d, string(readTestdata(t, p.file)))
		file := filepath.Join("testdata", "golden", strings.TrimSuffix(p.file, ".html")+".out.html")
		if *updateGolden {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (record it with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s: output differs from %s (if meant, record it with -update):\n%s", p.file, file, firstDiff(got, string(want)))
		}
	}
}
