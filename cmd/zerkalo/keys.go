package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"zerkalo/proxy/signing"
)

// timeNow is the clock of certify and verify; tests move it.
var timeNow = time.Now

// certSkew is how far back certify dates a certificate's start, so that a
// verifier whose clock is a little behind still accepts a fresh one.
const certSkew = 10 * time.Minute

const keysOverview = `
The mirror list is signed in two steps. The operator's ROOT key stays
offline and certifies each edge's EDGE key for a limited time; the edge
signs its list with the EDGE key and serves the certificate beside it.
Keys, signatures and certificates use minisign's formats, so the minisign
tool verifies them too.
`

const keygenUsage = `Usage: zerkalo keygen --out PREFIX [--password-file FILE]

Creates a key pair: PREFIX.key (private, mode 0600) and PREFIX.pub
(public). It never overwrites an existing file.
` + keysOverview + `
Without --password-file the private key is NOT encrypted. That is right
for an edge key, which the edge must load unattended (protect it with the
file mode; its certificate's short lifetime limits the harm if it is
stolen). Encrypt the root key with --password-file, or keep it unencrypted
only on an offline machine or medium.

Flags:
`

func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("keygen", keygenUsage, stderr)
	out := fs.String("out", "", "write the key pair to `PREFIX`.key and PREFIX.pub (required)")
	passwordFile := fs.String("password-file", "", "encrypt the private key with the password in `FILE` (first line)")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	if *out == "" {
		return usageError(fs, "--out is required")
	}
	password, err := readPassword(*passwordFile)
	if err != nil {
		return failure(stderr, "keygen", err)
	}
	keyPath, pubPath := *out+".key", *out+".pub"
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return failure(stderr, "keygen", fmt.Errorf("%s already exists; refusing to overwrite it", p))
		}
	}
	k, err := signing.GenerateKey()
	if err != nil {
		return failure(stderr, "keygen", err)
	}
	if err := signing.WriteKeyFile(keyPath, k, password); err != nil {
		return failure(stderr, "keygen", err)
	}
	pub, _ := k.Public().MarshalText()
	if err := signing.WriteNewFile(pubPath, pub, 0o644); err != nil {
		os.Remove(keyPath) // a private key without its public half is of no use
		return failure(stderr, "keygen", err)
	}
	if password == "" {
		fmt.Fprintf(stderr, "zerkalo keygen: warning: %s is not encrypted (mode 0600): fine for an edge key the edge loads unattended; a root key belongs on an offline machine, or encrypted with --password-file\n", keyPath)
	}
	fmt.Fprintf(stdout, "wrote %s (private, keep it secret) and %s\n", keyPath, pubPath)
	fmt.Fprintf(stdout, "key ID %s, public key %s\n", k.ID(), k.Public())
	return exitOK
}

const certifyUsage = `Usage: zerkalo certify --root-key ROOT.key --edge-pub EDGE.pub --valid 90d --out edge.cert

Certifies an edge key with the root key: writes the certificate (JSON) to
the --out file and the root key's signature of it beside it, as
edge.cert.minisig, replacing older ones. The certificate is valid from
10 minutes ago (for clocks that are a little behind) for the --valid
duration; after it, lists signed by that edge key no longer verify.
` + keysOverview + `
Flags:
`

func runCertify(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("certify", certifyUsage, stderr)
	rootKey := fs.String("root-key", "", "the root private key `file` (required)")
	passwordFile := fs.String("password-file", "", "the root key's password is the first line of `FILE`, if the key is encrypted")
	edgePub := fs.String("edge-pub", "", "the edge public key `file` to certify (required)")
	valid := fs.String("valid", "90d", "how long the certificate is valid: `DURATION` in days (\"90d\") or Go notation (\"36h\")")
	out := fs.String("out", "", "write the certificate to `FILE` and its signature to FILE.minisig (required)")
	comment := fs.String("comment", "", "free `text` in the certificate, such as the edge's name")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	switch {
	case *rootKey == "" || *edgePub == "" || *out == "":
		return usageError(fs, "--root-key, --edge-pub and --out are required")
	}
	validity, err := parseValidity(*valid)
	if err != nil {
		return usageError(fs, err.Error())
	}
	password, err := readPassword(*passwordFile)
	if err != nil {
		return failure(stderr, "certify", err)
	}
	root, err := signing.LoadKeyWithPassword(*rootKey, password)
	if errors.Is(err, signing.ErrEncrypted) {
		err = fmt.Errorf("%w (give it with --password-file)", err)
	}
	if err != nil {
		return failure(stderr, "certify", err)
	}
	edge, err := signing.LoadPublicKey(*edgePub)
	if err != nil {
		return failure(stderr, "certify", err)
	}
	start := timeNow().Add(-certSkew)
	c := signing.Certificate{EdgeKey: edge, NotBefore: start, NotAfter: start.Add(validity), Comment: *comment}
	cert, sig, err := root.Certify(c)
	if err != nil {
		return failure(stderr, "certify", err)
	}
	if err := signing.ReplaceFile(*out, cert, 0o644); err != nil {
		return failure(stderr, "certify", err)
	}
	if err := signing.ReplaceFile(*out+".minisig", sig, 0o644); err != nil {
		return failure(stderr, "certify", err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s: root key %s certifies edge key %s until %s\n",
		*out, *out+".minisig", root.ID(), edge.ID(), c.NotAfter.UTC().Truncate(time.Second).Format(time.RFC3339))
	return exitOK
}

const signUsage = `Usage: zerkalo sign --key EDGE.key FILE

Signs FILE (such as a mirror list) and writes the detached minisign
signature to FILE.minisig, replacing an older one.

Flags:
`

func runSign(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("sign", signUsage, stderr)
	keyPath := fs.String("key", "", "the private key `file` (required)")
	passwordFile := fs.String("password-file", "", "the key's password is the first line of `FILE`, if the key is encrypted")
	file, done, code := parseFlagsAndFile(fs, args, stdout)
	if done {
		return code
	}
	if *keyPath == "" {
		return usageError(fs, "--key is required")
	}
	password, err := readPassword(*passwordFile)
	if err != nil {
		return failure(stderr, "sign", err)
	}
	k, err := signing.LoadKeyWithPassword(*keyPath, password)
	if err != nil {
		return failure(stderr, "sign", err)
	}
	msg, err := os.ReadFile(file)
	if err != nil {
		return failure(stderr, "sign", err)
	}
	if err := signing.ReplaceFile(file+".minisig", k.SignFile(msg, filepath.Base(file)), 0o644); err != nil {
		return failure(stderr, "sign", err)
	}
	fmt.Fprintf(stdout, "wrote %s (key %s)\n", file+".minisig", k.ID())
	return exitOK
}

const verifyUsage = `Usage: zerkalo verify --root-pub ROOT.pub --cert edge.cert FILE

Checks that FILE.minisig is a signature of FILE by an edge key, that
edge.cert certifies that key (edge.cert.minisig is the root key's
signature of it) and that the certificate is valid now. Exit status 0
means valid, 1 invalid (the reason is printed), 2 a bad command line.

Flags:
`

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("verify", verifyUsage, stderr)
	rootPub := fs.String("root-pub", "", "the operator's root public key `file` (required)")
	certPath := fs.String("cert", "", "the edge's certificate `file` (required)")
	certSigPath := fs.String("cert-sig", "", "the certificate's signature `file` (default: the --cert file + .minisig)")
	sigPath := fs.String("sig", "", "FILE's signature `file` (default: FILE.minisig)")
	file, done, code := parseFlagsAndFile(fs, args, stdout)
	if done {
		return code
	}
	if *rootPub == "" || *certPath == "" {
		return usageError(fs, "--root-pub and --cert are required")
	}
	if *certSigPath == "" {
		*certSigPath = *certPath + ".minisig"
	}
	if *sigPath == "" {
		*sigPath = file + ".minisig"
	}
	root, err := signing.LoadPublicKey(*rootPub)
	if err != nil {
		return failure(stderr, "verify", err)
	}
	var contents [4][]byte
	for i, p := range []string{file, *sigPath, *certPath, *certSigPath} {
		if contents[i], err = os.ReadFile(p); err != nil {
			return failure(stderr, "verify", err)
		}
	}
	c, err := signing.Verify(contents[0], contents[1], contents[2], contents[3], root, timeNow())
	if err != nil {
		fmt.Fprintf(stderr, "%s: INVALID: %v\n", file, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s: valid: signed by edge key %s, certified by root key %s until %s",
		file, c.EdgeKey.ID(), root.ID(), c.NotAfter.UTC().Format(time.RFC3339))
	if c.Comment != "" {
		fmt.Fprintf(stdout, " (%s)", c.Comment)
	}
	fmt.Fprintln(stdout)
	return exitOK
}

func newKeysFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlagsAndFile parses flags around exactly one FILE argument, which
// may come before, between or after the flags.
func parseFlagsAndFile(fs *flag.FlagSet, args []string, stdout io.Writer) (file string, done bool, code int) {
	var files []string
	for {
		err := parseOnce(fs, args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return "", true, exitOK
		}
		if err != nil {
			return "", true, exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return "", true, usageError(fs, fmt.Sprintf("want one FILE, got %d", len(files)))
	}
	return files[0], false, exitOK
}

func usageError(fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(fs.Output(), "zerkalo %s: %s\n\n", fs.Name(), msg)
	fs.Usage()
	return exitUsage
}

func failure(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "zerkalo %s: %v\n", cmd, err)
	return exitFailure
}

// readPassword returns the first line of path, or "" for no path.
func readPassword(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	password := strings.TrimSuffix(string(line), "\r")
	if password == "" {
		return "", fmt.Errorf("password file %s: the first line is empty", path)
	}
	return password, nil
}

// parseValidity parses "90d" (days) or a Go duration such as "36h".
func parseValidity(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
		if n > 100*366 {
			err = errors.New("too long")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid --valid %q (want a positive duration such as \"90d\" or \"36h\")", s)
	}
	return d, nil
}
