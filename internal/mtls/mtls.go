// Package mtls is the mutual TLS between the systems of the suite. Every gRPC hop between systems runs
// over TLS 1.3 where both sides present a certificate НУЦ issued (the system participant profile): the
// peer's certificate is its identity. A server verifies the client's chain against НУЦ's roots in the
// handshake, then Guard, a gRPC interceptor, names the peer from its certificate, checks that it is not
// revoked and that the service allows it. A client checks that the server's certificate names the
// participant it meant to reach (ServerName "shep", "gbdfl", …: the system profile's DNS names).
//
// A client without a certificate is let through the handshake on purpose: Guard then refuses it with
// codes.Unauthenticated and a message saying what is missing, which a handshake failure cannot say.
package mtls

import (
	"crypto/tls"
	"crypto/x509"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/shepsdk"
)

// Identity is a system's side of mutual TLS: its certificate and key, and what it trusts.
type Identity struct {
	// ID is the participant id the certificate names (its CN), e.g. "shep".
	ID string
	// Cert is the certificate with its intermediates and private key.
	Cert tls.Certificate
	// Roots are НУЦ's root certificates, which every peer's chain must reach.
	Roots *x509.CertPool
	// Status checks the peers' certificates for revocation; nil skips the check (tests of other things).
	Status envelope.StatusChecker
}

// FromSigner makes an Identity of a system's key (as participant.Config loads it), its trust anchors
// and a revocation checker.
func FromSigner(s *envelope.Signer, roots []*x509.Certificate, status envelope.StatusChecker) *Identity {
	chain := [][]byte{s.Cert.Raw}
	for _, c := range s.Chain {
		chain = append(chain, c.Raw)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	return &Identity{
		ID:     envelope.HolderOf(s.Cert).Name,
		Cert:   tls.Certificate{Certificate: chain, PrivateKey: s.Key, Leaf: s.Cert},
		Roots:  pool,
		Status: status,
	}
}

// ServerConfig is the TLS of a server: it presents the identity's certificate and verifies a client
// certificate, when one is given, against the roots. Guard refuses the calls made without one.
func (id *Identity) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    id.Roots,
	}
}

// ClientConfig is the TLS of a client calling participant server: it presents the identity's
// certificate (when it has one) and accepts only a server whose system certificate names server and is
// not revoked.
func (id *Identity) ClientConfig(server string) *tls.Config {
	return shepsdk.ClientTLS(id.Cert, id.Roots, id.Status, server)
}

// Transport chooses the transport of the internal gRPC hops: mutual TLS, or plaintext when switched
// off (EGOV_INTERNAL_TLS=off, kept only to measure what TLS costs).
type Transport struct {
	// Off sends in plaintext and serves without TLS.
	Off bool
}

// Dial is the dial option for calling participant server as id.
func (t Transport) Dial(id *Identity, server string) grpc.DialOption {
	if t.Off {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	if id == nil {
		id = &Identity{}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(id.ClientConfig(server)))
}
