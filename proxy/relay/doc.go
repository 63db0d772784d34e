// Package relay is the volunteer relay: it gives an edge one more address
// without ever terminating readers' TLS.
//
// A Relay listens on one address for TCP and UDP. On TCP it peeks the TLS
// ClientHello, refuses any server name but its own enrolled domain, and
// then copies bytes both ways between the reader and the edge, replaying
// the peeked ClientHello first. On UDP it maps each reader's address to
// its own socket towards the edge (a flow) and forwards QUIC datagrams both
// ways until the flow has been idle for a while. A new flow is held until
// its ClientHello has been read from the client's Initial packets, whose
// keys anyone can derive (RFC 9001 section 5.2; see initial.go): it is
// refused, as on TCP, unless it names the relay's domain, so that a
// prober cannot get the edge's certificate for another mirror domain
// through the relay. TLS ends at the edge, which holds the
// certificate for the relay's domain, so the relay can neither read nor
// alter what readers get.
//
// Optionally the relay also forwards plain HTTP (for ACME HTTP-01
// challenges only; everything else is redirected to HTTPS) and offers a
// CONNECT-only HTTPS proxy (see ConnectProxy) that tunnels only to the
// edge's mirror domains, always to the edge's own address.
//
// Limits bound what abuse can cost the volunteer: concurrent connections
// and flows, connections per client, total bandwidth, handshake and idle
// time-outs. The relay never logs or stores a reader's address: the
// per-client counters live in memory only, and per-connection errors
// (which name addresses) are counted, not logged.
package relay
