// Package deploy_test checks the systemd units and the install script in
// deploy/: the units pass "systemd-analyze verify" and rate 2.0 or better in
// "systemd-analyze security", and install.sh lays out a temporary root
// correctly and idempotently.
//
// systemd-analyze comes with Debian's systemd package:
//
//	apt-get install -y systemd
package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var units = []string{"zerkalo.service", "zerkalo-relay.service"}

// maxExposure is the worst "systemd-analyze security" rating allowed: 2.0
// and below is "OK" or better.
const maxExposure = 2.0

// systemdAnalyze returns the path of systemd-analyze, failing the test
// with what to install when it is missing.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("systemd-analyze checks skipped in -short mode")
	}
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: install Debian's systemd package (apt-get install -y systemd)")
	}
	return p
}

// command runs name with args in dir with extra environment variables and
// returns its combined output; it is killed after a minute.
func command(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	return commandWithin(t, time.Minute, dir, env, name, args...)
}

// commandWithin is command with a time limit of d.
func commandWithin(t *testing.T, d time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// stub writes an executable stand-in for the zerkalo binary.
func stub(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zerkalo-stub")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho zerkalo stub\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// install runs install.sh with args into root and returns its output,
// failing the test if it fails. It runs from an empty folder, so that no
// ./zerkalo is picked up by accident.
func install(t *testing.T, root string, args ...string) string {
	t.Helper()
	script, err := filepath.Abs("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := command(t, t.TempDir(), []string{"DESTDIR=" + root}, "sh", append([]string{script}, args...)...)
	if err != nil {
		t.Fatalf("install.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// installedRoot installs the edge with a stub binary into a new temporary
// root and adds what "systemd-analyze verify --root" needs besides the
// units: the host's own unit folder (for sysinit.target and friends) and
// a /bin/kill for ExecReload=.
func installedRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	install(t, root, stub(t))
	const sysUnits = "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(sysUnits, "sysinit.target")); err != nil {
		t.Fatalf("%v: install Debian's systemd package (apt-get install -y systemd)", err)
	}
	for _, d := range []string{"usr/lib/systemd", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"bin", "lib"} {
		if err := os.Symlink("usr/"+l, filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := command(t, "", nil, "cp", "-r", sysUnits, filepath.Join(root, "usr/lib/systemd/")); err != nil {
		t.Fatalf("copy %s: %v\n%s", sysUnits, err, out)
	}
	// verify only checks that ExecReload's /bin/kill is executable.
	if err := os.WriteFile(filepath.Join(root, "usr/bin/kill"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestUnitsVerify(t *testing.T) {
	analyze := systemdAnalyze(t)
	root := installedRoot(t)
	for _, u := range units {
		out, err := command(t, "", nil, analyze, "verify", "--man=no", "--root="+root, u)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
		}
	}

	// A control: in the same root, verify does notice a broken unit.
	unit, err := os.ReadFile("zerkalo.service")
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(unit, []byte("ProtectSystem="), []byte("ProtectSytem="), 1)
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/broken.service"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := command(t, "", nil, analyze, "verify", "--man=no", "--root="+root, "broken.service")
	if !strings.Contains(out, "ProtectSytem") {
		t.Errorf("systemd-analyze verify missed a misspelt key; it said:\n%s", out)
	}
}

// exposureRE matches the last line of "systemd-analyze security":
// "→ Overall exposure level for zerkalo.service: 1.4 OK 🙂".
var exposureRE = regexp.MustCompile(`Overall exposure level for (\S+): (\d+\.\d+) `)

// exposure returns the security rating of the unit file at path.
func exposure(t *testing.T, analyze, path string) float64 {
	t.Helper()
	out, err := command(t, filepath.Dir(path), nil, analyze, "security", "--offline=yes", "--no-pager", filepath.Base(path))
	m := exposureRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security %s: %v; no exposure level in:\n%s", path, err, out)
	}
	if m[1] != filepath.Base(path) {
		t.Fatalf("systemd-analyze security %s rated %s", path, m[1])
	}
	score, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		t.Fatal(err)
	}
	return score
}

func TestUnitsSecurity(t *testing.T) {
	analyze := systemdAnalyze(t)
	for _, u := range units {
		abs, err := filepath.Abs(u)
		if err != nil {
			t.Fatal(err)
		}
		score := exposure(t, analyze, abs)
		t.Logf("%s: exposure %.1f", u, score)
		if score > maxExposure {
			t.Errorf("%s: systemd-analyze security rates exposure %.1f, want <= %.1f", u, score, maxExposure)
		}
	}

	// A control: the same unit without its hardening rates far worse.
	bare := filepath.Join(t.TempDir(), "bare.service")
	if err := os.WriteFile(bare, []byte("[Service]\nExecStart=/usr/local/bin/zerkalo serve\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if score := exposure(t, analyze, bare); score <= maxExposure {
		t.Errorf("an unhardened unit rates %.1f, want > %.1f", score, maxExposure)
	}
}

// unitSettings parses a unit file into "Section.Key" -> values, in order.
func unitSettings(t *testing.T, name string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a setting: %q", name, line)
			}
			settings[section+"."+k] = append(settings[section+"."+k], v)
		}
	}
	return settings
}

// TestUnitSettings checks what the units promise operators, beyond what
// the security rating measures.
func TestUnitSettings(t *testing.T) {
	common := map[string]string{
		"Service.Type":                    "notify",
		"Service.WatchdogSec":             "30s",
		"Service.DynamicUser":             "yes",
		"Service.LimitNOFILE":             "65536",
		"Service.AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"Service.CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"Service.NoNewPrivileges":         "yes",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "yes",
		"Service.PrivateTmp":              "yes",
		"Service.PrivateDevices":          "yes",
		"Service.ProtectKernelTunables":   "yes",
		"Service.ProtectKernelModules":    "yes",
		"Service.ProtectKernelLogs":       "yes",
		"Service.ProtectControlGroups":    "yes",
		"Service.ProtectClock":            "yes",
		"Service.ProtectHostname":         "yes",
		"Service.ProtectProc":             "invisible",
		"Service.ProcSubset":              "pid",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"Service.RestrictNamespaces":      "yes",
		"Service.RestrictRealtime":        "yes",
		"Service.RestrictSUIDSGID":        "yes",
		"Service.LockPersonality":         "yes",
		"Service.MemoryDenyWriteExecute":  "yes",
		"Service.SystemCallArchitectures": "native",
		"Service.SystemCallFilter":        "@system-service|~@privileged @resources",
		"Service.SystemCallErrorNumber":   "EPERM",
		"Service.UMask":                   "0077",
		"Service.ConfigurationDirectory":  "zerkalo",
		"Install.WantedBy":                "multi-user.target",
	}
	only := map[string]map[string]string{
		"zerkalo.service": {
			"Service.ExecStart":      "/usr/local/bin/zerkalo serve --config /etc/zerkalo/zerkalo.toml",
			"Service.ExecReload":     "/bin/kill -HUP $MAINPID",
			"Service.StateDirectory": "zerkalo",
			"Service.CacheDirectory": "zerkalo",
		},
		"zerkalo-relay.service": {
			"Service.ExecStart":       "/usr/local/bin/zerkalo relay --edge ${ZERKALO_EDGE} --listen :443",
			"Service.EnvironmentFile": "/etc/zerkalo/relay.env",
			"Service.StateDirectory":  "zerkalo-relay",
		},
	}
	for _, u := range units {
		got := unitSettings(t, u)
		for _, want := range []map[string]string{common, only[u]} {
			for k, v := range want {
				if g := strings.Join(got[k], "|"); g != v {
					t.Errorf("%s: %s=%q, want %q", u, k, g, v)
				}
			}
		}
	}
}

func TestScriptSyntax(t *testing.T) {
	for _, sh := range []string{"sh", "bash", "dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			if sh == "sh" {
				t.Fatal(err)
			}
			continue
		}
		if out, err := command(t, "", nil, sh, "-n", "install.sh"); err != nil {
			t.Errorf("%s -n install.sh: %v\n%s", sh, err, out)
		}
	}
}

// snapshot records every file and folder under root: mode, modification
// time and a hash of the content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%v %d", info.Mode(), info.ModTime().UnixNano())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		files[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkFile fails the test unless path has the given mode and the content
// of the file want.
func checkFile(t *testing.T, path string, mode fs.FileMode, want string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if info.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, info.Mode(), mode)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, w) {
		t.Errorf("%s: content differs from %s", path, want)
	}
}

func TestInstallTwice(t *testing.T) {
	root := t.TempDir()
	bin := stub(t)
	out := install(t, root, bin)
	if !strings.Contains(out, "not running systemctl") {
		t.Errorf("install.sh with DESTDIR did not say it skips systemctl:\n%s", out)
	}
	want := []struct {
		path, from string
		mode       fs.FileMode
	}{
		{"usr/local/bin/zerkalo", bin, 0o755},
		{"etc/systemd/system/zerkalo.service", "zerkalo.service", 0o644},
		{"etc/systemd/system/zerkalo-relay.service", "zerkalo-relay.service", 0o644},
		{"etc/sysctl.d/99-zerkalo-quic.conf", "99-zerkalo-quic.conf", 0o644},
		{"etc/zerkalo/zerkalo.toml", "zerkalo.example.toml", 0o644},
		{"usr/local/share/doc/zerkalo/zerkalo.example.toml", "zerkalo.example.toml", 0o644},
	}
	for _, w := range want {
		checkFile(t, filepath.Join(root, w.path), w.mode, w.from)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/zerkalo/relay.env")); err == nil {
		t.Error("an edge install wrote relay.env")
	}

	// The operator edits the configuration; a second run keeps it and
	// changes nothing at all.
	conf := filepath.Join(root, "etc/zerkalo/zerkalo.toml")
	edited := []byte("listen = \":443\"\ndomains = [\"mirror.example\"]\n")
	if err := os.WriteFile(conf, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	out = install(t, root, bin)
	if strings.Contains(out, "installed") {
		t.Errorf("second run installed something:\n%s", out)
	}
	after := snapshot(t, root)
	for p, d := range before {
		if after[p] != d {
			t.Errorf("second run changed %s: %s -> %s", p, d, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("second run created %s", p)
		}
	}
	if b, _ := os.ReadFile(conf); !bytes.Equal(b, edited) {
		t.Errorf("second run overwrote the edited config:\n%s", b)
	}

	// An outdated unit is replaced (upgrade), the config still kept.
	unit := filepath.Join(root, "etc/systemd/system/zerkalo.service")
	if err := os.WriteFile(unit, []byte("[Service]\nExecStart=/old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	install(t, root, bin)
	checkFile(t, unit, 0o644, "zerkalo.service")
	if b, _ := os.ReadFile(conf); !bytes.Equal(b, edited) {
		t.Errorf("upgrade overwrote the edited config:\n%s", b)
	}
}

func TestInstallRelay(t *testing.T) {
	root := t.TempDir()
	install(t, root, "--relay", "edge.example.org:443", stub(t))
	env, err := os.ReadFile(filepath.Join(root, "etc/zerkalo/relay.env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "\nZERKALO_EDGE=edge.example.org:443\n") {
		t.Errorf("relay.env = %q, want ZERKALO_EDGE=edge.example.org:443", env)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/zerkalo/zerkalo.toml")); err == nil {
		t.Error("a relay install wrote the edge's zerkalo.toml")
	}
	checkFile(t, filepath.Join(root, "etc/systemd/system/zerkalo-relay.service"), 0o644, "zerkalo-relay.service")
}

// TestInstallRelayInvite: --invite puts the invitation into relay.env,
// readable by root only; installing again (an upgrade) keeps it.
func TestInstallRelayInvite(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "etc/zerkalo/relay.env")
	install(t, root, "--relay", "edge.example.org:443", "--invite", "zk1.abc-DEF_1.sig", stub(t))
	install(t, root, "--relay", "edge.example.org:443", stub(t))
	env, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "\nZERKALO_INVITE=zk1.abc-DEF_1.sig\n") || !strings.Contains(string(env), "\nZERKALO_EDGE=edge.example.org:443\n") {
		t.Errorf("relay.env after a second install = %q", env)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("relay.env: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
}

// TestInstallStaleBinary: a ./zerkalo older than the checkout's sources
// (built before a "git pull") is not reinstalled: without Go the script
// says so and stops.
func TestInstallStaleBinary(t *testing.T) {
	script, err := filepath.Abs("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	old := filepath.Join(dir, "zerkalo")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho old\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	long := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	noGo := "PATH=/usr/bin:/bin" // sh, find, sed; no go
	out, err := command(t, dir, []string{"DESTDIR=" + t.TempDir(), noGo}, "sh", script)
	if err == nil || !strings.Contains(out, "older than the sources") {
		t.Errorf("install.sh with a stale ./zerkalo and no Go: %v\n%s", err, out)
	}
}

func TestInstallErrors(t *testing.T) {
	script, err := filepath.Abs("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	bin := stub(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad relay edge", []string{"--relay", "edge; rm -rf /", bin}, "not a host:port"},
		{"empty relay edge", []string{"--relay=", bin}, "not a host:port"},
		{"relay edge of two lines", []string{"--relay", "edge.example.org:443\nZERKALO_INVITE=zk1.x.y", bin}, "not a host:port"},
		{"missing binary", []string{filepath.Join(t.TempDir(), "nope")}, "not a readable file"},
		{"unknown option", []string{"--frobnicate", bin}, "unknown option"},
		{"two binaries", []string{bin, bin}, "more than one binary"},
		{"invite without relay", []string{"--invite", "zk1.abc.def", bin}, "--invite goes with --relay"},
		{"bad invite", []string{"--relay", "edge.example.org:443", "--invite", "zk1.x\nZERKALO_EDGE=evil:443", bin}, "not an invitation token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			out, err := command(t, t.TempDir(), []string{"DESTDIR=" + root}, "sh", append([]string{script}, tt.args...)...)
			if code := exitCode(err); code != 2 {
				t.Errorf("exit code %d (%v), want 2\n%s", code, err, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output %q does not say %q", out, tt.want)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a failed install wrote into the root: %v", entries)
			}
		})
	}
}

// exitCode returns the exit status in err, 0 for nil and -1 for an error
// that is not an exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func TestInstallDryRun(t *testing.T) {
	root := t.TempDir()
	out := install(t, root, "--dry-run", stub(t))
	if !strings.Contains(out, "would install "+root+"/etc/zerkalo/zerkalo.toml") {
		t.Errorf("dry run did not list the config:\n%s", out)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("dry run wrote into the root: %v", entries)
	}
}

// TestInstallBuilds runs install.sh without a binary: it builds one from
// this checkout with go, and the installed binary runs.
func TestInstallBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	script, err := filepath.Abs("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// A cold build on a busy machine takes minutes.
	out, err := commandWithin(t, 8*time.Minute, t.TempDir(), []string{"DESTDIR=" + root}, "sh", script)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	if !strings.Contains(out, "building") {
		t.Errorf("install.sh did not say it builds:\n%s", out)
	}
	bin := filepath.Join(root, "usr/local/bin/zerkalo")
	v, err := command(t, "", nil, bin, "version")
	if err != nil || !strings.HasPrefix(v, "zerkalo ") {
		t.Errorf("%s version: %v\n%s", bin, err, v)
	}
}
