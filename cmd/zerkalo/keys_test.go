package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"zerkalo/proxy/mirrorlist"
)

// runKeys runs a zerkalo command in-process and returns its output and
// exit code.
func runKeys(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := runKeys(t, args...)
	if code != exitOK {
		t.Fatalf("zerkalo %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// setClock moves the clock of certify and verify for the rest of the test.
func setClock(t *testing.T, now time.Time) {
	t.Helper()
	saved := timeNow
	timeNow = func() time.Time { return now }
	t.Cleanup(func() { timeNow = saved })
}

// keyFiles is a root key, an edge key certified by it for 90 days from
// start, and a mirror list signed by the edge, all in one directory.
type keyFiles struct {
	dir, root, edge, cert, list string
	start                       time.Time
}

func newKeyFiles(t *testing.T) keyFiles {
	t.Helper()
	dir := t.TempDir()
	k := keyFiles{
		dir:   dir,
		root:  filepath.Join(dir, "root"),
		edge:  filepath.Join(dir, "edge"),
		cert:  filepath.Join(dir, "edge.cert"),
		list:  filepath.Join(dir, "mirrors.json"),
		start: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	setClock(t, k.start)
	mustRun(t, "keygen", "--out", k.root)
	mustRun(t, "keygen", "--out", k.edge)
	mustRun(t, "certify", "--root-key", k.root+".key", "--edge-pub", k.edge+".pub", "--valid", "90d", "--out", k.cert, "--comment", "edge m1.example")
	list, err := mirrorlist.Build("www.rferl.org", []mirrorlist.Alternative{
		{URL: "https://m1.example", CreatedAt: k.start},
		{URL: "https://m2.example", CreatedAt: k.start},
	}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.list, list, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "sign", "--key", k.edge+".key", k.list)
	return k
}

func (k keyFiles) verify(t *testing.T, rootPub string) (stdout, stderr string, code int) {
	t.Helper()
	return runKeys(t, "verify", "--root-pub", rootPub, "--cert", k.cert, k.list)
}

func TestKeysFullChain(t *testing.T) {
	k := newKeyFiles(t)
	setClock(t, k.start.Add(30*24*time.Hour))
	stdout, stderr, code := k.verify(t, k.root+".pub")
	if code != exitOK {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"mirrors.json: valid", "until 2026-05-30T11:50:00Z", "(edge m1.example)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify output %q lacks %q", stdout, want)
		}
	}
	// Flags may also follow the file.
	if _, stderr, code := runKeys(t, "verify", k.list, "--root-pub", k.root+".pub", "--cert", k.cert); code != exitOK {
		t.Errorf("verify FILE --flags: exit %d: %s", code, stderr)
	}
}

func TestKeysFileModes(t *testing.T) {
	k := newKeyFiles(t)
	for path, want := range map[string]os.FileMode{
		k.root + ".key":     0o600,
		k.edge + ".key":     0o600,
		k.root + ".pub":     0o644,
		k.edge + ".pub":     0o644,
		k.cert:              0o644,
		k.cert + ".minisig": 0o644,
		k.list + ".minisig": 0o644,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	entries, _ := os.ReadDir(k.dir)
	if len(entries) != 8 {
		t.Errorf("%d files in the directory, want 8 (temporary files left?): %v", len(entries), entries)
	}
}

func TestKeysVerifyRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, k keyFiles) (rootPub string)
		says   string
	}{
		{"expired certificate", func(t *testing.T, k keyFiles) string {
			setClock(t, k.start.Add(91*24*time.Hour))
			return k.root + ".pub"
		}, "certificate has expired: it was valid until 2026-05-30T11:50:00Z"},
		{"wrong root", func(t *testing.T, k keyFiles) string {
			return k.edge + ".pub"
		}, "not signed by this root key"},
		{"tampered list", func(t *testing.T, k keyFiles) string {
			b, _ := os.ReadFile(k.list)
			os.WriteFile(k.list, bytes.Replace(b, []byte("m2.example"), []byte("evil.example"), 1), 0o644)
			return k.root + ".pub"
		}, "the file or its signature was altered"},
		{"tampered certificate", func(t *testing.T, k keyFiles) string {
			b, _ := os.ReadFile(k.cert)
			os.WriteFile(k.cert, bytes.Replace(b, []byte(`"not_after": "2026`), []byte(`"not_after": "2036`), 1), 0o644)
			return k.root + ".pub"
		}, "certificate: signature does not verify"},
		{"list signed by an uncertified key", func(t *testing.T, k keyFiles) string {
			mustRun(t, "keygen", "--out", filepath.Join(k.dir, "rogue"))
			mustRun(t, "sign", "--key", filepath.Join(k.dir, "rogue.key"), k.list)
			return k.root + ".pub"
		}, "signature by the certified edge key"},
		{"missing signature", func(t *testing.T, k keyFiles) string {
			os.Remove(k.list + ".minisig")
			return k.root + ".pub"
		}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKeyFiles(t)
			setClock(t, k.start.Add(time.Hour))
			rootPub := tc.change(t, k)
			stdout, stderr, code := k.verify(t, rootPub)
			if code != exitFailure {
				t.Fatalf("verify: exit %d, want %d\nstdout: %s\nstderr: %s", code, exitFailure, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.says) {
				t.Errorf("stderr %q lacks %q", stderr, tc.says)
			}
			if strings.Contains(stdout, "valid") {
				t.Errorf("stdout %q claims validity", stdout)
			}
		})
	}
}

func TestKeygenRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "edge")
	mustRun(t, "keygen", "--out", prefix)
	key, _ := os.ReadFile(prefix + ".key")
	pub, _ := os.ReadFile(prefix + ".pub")
	_, stderr, code := runKeys(t, "keygen", "--out", prefix)
	if code != exitFailure || !strings.Contains(stderr, "refusing to overwrite") {
		t.Errorf("second keygen: exit %d, stderr %q", code, stderr)
	}
	if k, _ := os.ReadFile(prefix + ".key"); !bytes.Equal(k, key) {
		t.Error("the private key was overwritten")
	}
	if p, _ := os.ReadFile(prefix + ".pub"); !bytes.Equal(p, pub) {
		t.Error("the public key was overwritten")
	}
	// Only the public half exists: nothing is written either.
	other := filepath.Join(dir, "other")
	os.WriteFile(other+".pub", []byte("x"), 0o644)
	if _, _, code := runKeys(t, "keygen", "--out", other); code != exitFailure {
		t.Errorf("keygen over a lone .pub: exit %d", code)
	}
	if _, err := os.Stat(other + ".key"); err == nil {
		t.Error("keygen wrote a .key beside a foreign .pub")
	}
}

func TestKeysCommandLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"keygen", "--help"}, exitOK, "NOT encrypted"},
		{[]string{"certify", "--help"}, exitOK, "-valid"},
		{[]string{"sign", "--help"}, exitOK, "FILE.minisig"},
		{[]string{"verify", "--help"}, exitOK, "-root-pub"},
		{[]string{"help"}, exitOK, "zerkalo verify"},
		{[]string{"keygen"}, exitUsage, "--out is required"},
		{[]string{"keygen", "--out", filepath.Join(dir, "k"), "extra"}, exitUsage, "unexpected argument"},
		{[]string{"certify", "--root-key", "r", "--edge-pub", "e"}, exitUsage, "required"},
		{[]string{"certify", "--root-key", "r", "--edge-pub", "e", "--out", "c", "--valid", "-3d"}, exitUsage, "invalid --valid"},
		{[]string{"certify", "--root-key", "r", "--edge-pub", "e", "--out", "c", "--valid", "soon"}, exitUsage, "invalid --valid"},
		{[]string{"sign", "--key", "k"}, exitUsage, "want one FILE, got 0"},
		{[]string{"sign", "--key", "k", "a", "b"}, exitUsage, "want one FILE, got 2"},
		{[]string{"sign", "--key", filepath.Join(dir, "missing.key"), filepath.Join(dir, "f")}, exitFailure, "missing.key"},
		{[]string{"verify", "f"}, exitUsage, "--root-pub and --cert are required"},
		{[]string{"verify", "--bogus", "f"}, exitUsage, "bogus"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runKeys(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.contains) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.contains, stdout, stderr)
			}
		})
	}
}

func TestParseValidity(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90d": 90 * 24 * time.Hour,
		"1d":  24 * time.Hour,
		"36h": 36 * time.Hour,
	} {
		if got, err := parseValidity(in); err != nil || got != want {
			t.Errorf("parseValidity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1h", "d", "1.5d", "99999999d", "90 days"} {
		if got, err := parseValidity(in); err == nil {
			t.Errorf("parseValidity(%q) = %v, want an error", in, got)
		}
	}
}

// raceEnabled reports whether the test binary was built with -race, which
// makes scrypt with minisign's parameters take about a minute.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func TestKeysEncryptedRootKey(t *testing.T) {
	if testing.Short() || raceEnabled() {
		t.Skip("scrypt with minisign's parameters takes 1 GiB and seconds (a minute with -race); run without -race and -short")
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte("correct horse\n"), 0o600)
	root, edge, cert := filepath.Join(dir, "root"), filepath.Join(dir, "edge"), filepath.Join(dir, "edge.cert")
	if _, stderr, _ := runKeys(t, "keygen", "--out", root, "--password-file", pw); strings.Contains(stderr, "not encrypted") {
		t.Errorf("keygen warned about an encrypted key: %s", stderr)
	}
	mustRun(t, "keygen", "--out", edge)
	_, stderr, code := runKeys(t, "certify", "--root-key", root+".key", "--edge-pub", edge+".pub", "--out", cert)
	if code != exitFailure || !strings.Contains(stderr, "--password-file") {
		t.Errorf("certify without the password: exit %d, stderr %q", code, stderr)
	}
	mustRun(t, "certify", "--root-key", root+".key", "--password-file", pw, "--edge-pub", edge+".pub", "--out", cert)
}

// TestKeysMinisignVerifies checks with the minisign tool that what zerkalo
// signs and certifies verifies as standard minisign signatures.
func TestKeysMinisignVerifies(t *testing.T) {
	minisign, err := exec.LookPath("minisign")
	if err != nil {
		if testing.Short() {
			t.Skip("minisign is not installed")
		}
		t.Fatal("the minisign tool is needed for this test: apt-get install -y minisign (or run go test -short)")
	}
	k := newKeyFiles(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := func(file, pub string) (string, error) {
		out, err := exec.CommandContext(ctx, minisign, "-V", "-m", file, "-p", pub).CombinedOutput()
		return string(out), err
	}
	if out, err := check(k.list, k.edge+".pub"); err != nil {
		t.Errorf("minisign rejects the list's signature: %v\n%s", err, out)
	} else if !strings.Contains(out, "file:mirrors.json\thashed") {
		t.Errorf("minisign output lacks the trusted comment:\n%s", out)
	}
	if out, err := check(k.cert, k.root+".pub"); err != nil {
		t.Errorf("minisign rejects the certificate's signature: %v\n%s", err, out)
	} else if !strings.Contains(out, "zerkalo edge certificate: key ") {
		t.Errorf("minisign output lacks the certificate's trusted comment:\n%s", out)
	}
	if out, err := check(k.list, k.root+".pub"); err == nil {
		t.Errorf("minisign accepts the list with the root key:\n%s", out)
	}
	// minisign itself can sign with a key zerkalo made.
	other := filepath.Join(k.dir, "other.txt")
	os.WriteFile(other, []byte("signed by minisign\n"), 0o644)
	if out, err := exec.CommandContext(ctx, minisign, "-S", "-s", k.edge+".key", "-m", other).CombinedOutput(); err != nil {
		t.Fatalf("minisign cannot sign with zerkalo's key: %v\n%s", err, out)
	}
	setClock(t, k.start.Add(time.Hour))
	if _, stderr, code := runKeys(t, "verify", "--root-pub", k.root+".pub", "--cert", k.cert, other); code != exitOK {
		t.Errorf("zerkalo rejects minisign's signature by the certified key: %s", stderr)
	}
}
