package acme

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// LookupFunc resolves a host name to its addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// DNSProblems explains, for each name whose DNS cannot lead a CA's
// validation to this edge, what is wrong: the name does not resolve, or it
// resolves only to addresses that are not local. Certificates for such names
// cannot be obtained unless something the edge cannot see (a NAT, a load
// balancer, a relay) forwards the traffic, so the edge warns rather than
// refuses.
func DNSProblems(ctx context.Context, names []string, lookup LookupFunc, local []netip.Addr) []string {
	isLocal := make(map[netip.Addr]bool, len(local))
	for _, a := range local {
		isLocal[a.Unmap()] = true
	}
	var problems []string
	for _, name := range names {
		addrs, err := lookup(ctx, name)
		if err != nil || len(addrs) == 0 {
			problems = append(problems, fmt.Sprintf("%s does not resolve (%v): add its A/AAAA records", name, err))
			continue
		}
		found := false
		var shown []string
		for _, a := range addrs {
			found = found || isLocal[a.Unmap()]
			shown = append(shown, a.String())
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s resolves to %s, none of which is this host's; ACME validation fails unless a NAT, load balancer or relay forwards it here",
				name, strings.Join(shown, " ")))
		}
	}
	return problems
}

// LocalAddrs returns the addresses of this host's interfaces.
func LocalAddrs() []netip.Addr {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var addrs []netip.Addr
	for _, ia := range ifaddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			addrs = append(addrs, p.Addr())
		}
	}
	return addrs
}

// SystemLookup resolves with the system's resolver.
func SystemLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
