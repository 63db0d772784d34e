// Command zerkalo runs a Zerkalo edge: a mirror of Radio Free Europe/Radio
// Liberty that serves the whole site from the mirror's own domains, with
// every link rewritten and every tracker removed.
//
// Usage:
//
//	zerkalo serve [--config FILE] [--demo] [--check]   run an edge
//	zerkalo invite | revoke                           enroll or end a volunteer relay
//	zerkalo relay --edge HOST:PORT [--invite TOKEN]   run a volunteer relay
//	zerkalo keygen | certify | sign | verify          keys of the signed mirror list
//	zerkalo version
//
// Run "zerkalo help" or "zerkalo COMMAND --help" for details.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the edge could not run or stopped with an error
	exitUsage   = 2 // bad command line or invalid configuration
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module's build information is used.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "certify":
		return runCertify(args[1:], stdout, stderr)
	case "sign":
		return runSign(args[1:], stdout, stderr)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	case "invite":
		return runInvite(args[1:], stdout, stderr)
	case "relay":
		return runRelay(args[1:], stdout, stderr)
	case "revoke":
		return runRevoke(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "zerkalo", versionString())
		return exitOK
	case "help", "--help", "-help", "-h":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "zerkalo: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Zerkalo mirrors Radio Free Europe/Radio Liberty on the mirror's own domains.

Usage:
  zerkalo serve [--config FILE] [--demo] [--check]   run an edge
  zerkalo keygen --out PREFIX                       create a signing key pair
  zerkalo certify --root-key K --edge-pub P         certify an edge key with the root key
  zerkalo sign --key EDGE.key FILE                  sign FILE (a mirror list)
  zerkalo verify --root-pub R --cert C FILE         check FILE's signature chain
  zerkalo invite --config FILE --domain NAME        invite a volunteer relay for NAME
  zerkalo relay --edge HOST:PORT --invite TOKEN     run a volunteer relay
  zerkalo revoke --config FILE --domain NAME        end a relay's enrollment
  zerkalo version                                   print the version

Run "zerkalo COMMAND --help" for the flags of a command.
`)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// parseOnce parses args into fs. The flag package prints the usage
// itself, to fs's output, on -help as well as on errors; here it prints
// it only on errors, so that the caller prints -help's once, to stdout.
func parseOnce(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fs.Usage()
	}
	return err
}

// parseFlags parses a subcommand's flags; help is not an error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (done bool, code int) {
	err := parseOnce(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return true, exitOK
	case err != nil:
		return true, exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "zerkalo %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return true, exitUsage
	}
	return false, exitOK
}
