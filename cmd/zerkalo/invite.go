package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"zerkalo/proxy/enroll"
)

const inviteUsage = `Usage: zerkalo invite --config FILE --domain NAME [--ttl 72h] [--edge HOST:PORT] [--mirror NAME]

Prints an invitation for a volunteer relay that will serve NAME: one line,
to pass to "zerkalo relay --invite". It is signed with the edge's
enrollment key (kept in the edge's state_dir/enroll, made on first use),
can be used once, and expires if unused after --ttl. It carries the
edge's address, the mirror domain the relay enrolls through, and a pin of
the enrollment key, so the relay can check it talks to this edge.

Flags:
`

func runInvite(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("invite", inviteUsage, stderr)
	configPath := fs.String("config", "", "the edge's TOML config `file` (required)")
	domain := fs.String("domain", "", "the relay's domain `name` (required)")
	ttl := fs.Duration("ttl", enroll.DefaultTTL, "how long the invitation stays valid if unused")
	edge := fs.String("edge", "", "the edge's public `address` host:port (default: the mirror domain and the port of listen)")
	mirror := fs.String("mirror", "", "the mirror domain `name` the relay enrolls through (default: the first in domains)")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	if *configPath == "" || *domain == "" {
		return usageError(fs, "--config and --domain are required")
	}
	name := strings.TrimSuffix(strings.ToLower(*domain), ".")
	if err := enroll.CheckDomain(name); err != nil {
		return usageError(fs, err.Error())
	}
	if *ttl <= 0 {
		return usageError(fs, "--ttl must be positive")
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if *mirror == "" {
		*mirror = cfg.DomainList.Names()[0]
	}
	if *edge == "" {
		_, port, _ := net.SplitHostPort(cfg.Listen)
		*edge = net.JoinHostPort(*mirror, port)
	}
	store, err := enroll.OpenStore(cfg.StateDir)
	if err != nil {
		return failure(stderr, "invite", err)
	}
	token, err := store.IssueInvite(name, *edge, *mirror, *ttl)
	if err != nil {
		return failure(stderr, "invite", err)
	}
	fmt.Fprintln(stdout, token)
	fmt.Fprintf(stderr, "zerkalo invite: invitation for %s, valid until %s, single use\n",
		name, time.Now().Add(*ttl).UTC().Format(time.RFC3339))
	return exitOK
}

const revokeUsage = `Usage: zerkalo revoke --config FILE --domain NAME

Ends the enrollment of the relay serving NAME at once, and voids every
invitation for NAME issued until now. A running edge stops serving NAME
within seconds; the relay learns of it on its next check and stops.

Flags:
`

func runRevoke(args []string, stdout, stderr io.Writer) int {
	fs := newKeysFlagSet("revoke", revokeUsage, stderr)
	configPath := fs.String("config", "", "the edge's TOML config `file` (required)")
	domain := fs.String("domain", "", "the relay's domain `name` (required)")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	if *configPath == "" || *domain == "" {
		return usageError(fs, "--config and --domain are required")
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	store, err := enroll.OpenStore(cfg.StateDir)
	if err != nil {
		return failure(stderr, "revoke", err)
	}
	was, err := store.Revoke(strings.TrimSuffix(strings.ToLower(*domain), "."))
	if err != nil {
		return failure(stderr, "revoke", err)
	}
	if was {
		fmt.Fprintf(stdout, "revoked the relay for %s\n", *domain)
	} else {
		fmt.Fprintf(stdout, "no relay was enrolled for %s; its pending invitations are void\n", *domain)
	}
	return exitOK
}
