// Package acme obtains and renews the edge's certificates from an ACME
// certificate authority (Let's Encrypt by default), one per mirror
// domain, with golang.org/x/crypto/acme/autocert.
//
// A Manager admits two sets of names, given as functions so that they can
// follow the current configuration and the clock (see package
// zerkalo/proxy/domains):
//
//   - Policy: names that may hold a certificate, the active and the
//     pending domains. ACME challenges are answered, and certificates
//     obtained and renewed, for these only. Pending domains get their
//     certificate before their window opens, so that they work at once.
//   - Serve: names readers may be shown a certificate for, the active
//     domains. autocert's HostPolicy does not apply to certificates it
//     already holds, so GetCertificate checks Serve itself before every
//     reader handshake.
//
// Challenges: TLS-ALPN-01 is answered by GetCertificate on the TLS
// listener, which must offer the "acme-tls/1" protocol (TLSConfig does);
// HTTP-01 by HTTPHandler on a plain-HTTP listener on port 80, when there is
// one. autocert tries TLS-ALPN-01 first and falls back to HTTP-01.
//
// autocert has no "obtain now": Obtain and ObtainAll call its
// GetCertificate with a synthetic ClientHello. The hello offers an ECDSA
// cipher suite, curve and signature scheme; otherwise autocert would take
// the client for an RSA-only one and issue an RSA certificate.
//
// The same trap catches QUIC (golang/go#50522): a TLS 1.3-only
// ClientHello carries only TLS 1.3 cipher suites, which name no signature
// algorithm, so autocert judges it unable to use ECDSA and obtains a
// second, RSA, certificate for every domain reached over HTTP/3. In TLS
// 1.3 only the signature_algorithms extension matters, so GetCertificate
// passes autocert a copy of any hello that offers TLS 1.3 and the ECDSA
// P-256 signature scheme, with an ECDSA cipher suite and the P-256 curve
// added: such clients get the ECDSA certificate.
//
// State (the account key and the certificates with their keys) is kept in
// a folder (autocert.DirCache), normally state_dir/acme; files are
// written 0600.
package acme
