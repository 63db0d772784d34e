// Package enroll lets an operator authorise volunteer relays.
//
// The operator runs "zerkalo invite", which signs an Invitation with the
// edge's enrollment key (kept in the edge's state directory) and prints it
// as a one-line token. The invitation names the relay's domain and
// carries what the relay needs: the edge's address, one of its mirror
// domains (the TLS server name used to enroll) and a pin of the edge's
// enrollment public key. It is single-use and expires if unused (72 hours
// by default).
//
// The relay presents the token once, over TLS, to the edge's enrollment
// endpoint (Path, served on the edge's mirror domains). Before it sends
// the token, the relay checks that the edge signed this very TLS
// connection's exported keying material (RFC 5705) with the pinned key, so
// a machine in the middle can neither pose as the edge nor steal the
// token. The edge checks the token's signature, its expiry, that it was
// never used and that its domain was not revoked after it was issued;
// then it records the relay and answers with a credential and the list
// of mirror domains. Both sides keep the enrollment in their state
// directories, so restarts need no token. The relay later refreshes the
// mirror list with its credential (Status) and learns of a revocation.
//
// On the edge, a Store holds the enrollments; "zerkalo revoke" ends one
// at once: the edge notices the change through Watch.
package enroll

import "time"

// Path is the enrollment endpoint on the edge's mirror domains; Path +
// "/status" lets an enrolled relay refresh its mirror list.
const Path = "/.well-known/zerkalo/enroll"

// DefaultTTL is how long an unused invitation stays valid.
const DefaultTTL = 72 * time.Hour
