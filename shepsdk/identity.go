package shepsdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/egov-suite/egov/envelope"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// Options are what Open needs of a participant: the files НУЦ (the national certification authority)
// gave it, and how to check certificate status.
type Options struct {
	// KeyFile is the PKCS#12 system key (`egov nca issue --profile system`), whose certificate's CN is
	// the participant id.
	KeyFile string
	// KeyPassword opens it.
	KeyPassword string
	// TrustAnchors is a PEM file with НУЦ's root certificate(s).
	TrustAnchors string
	// OCSPFreshness bounds the reuse of certificate status answers (5 minutes when zero).
	OCSPFreshness time.Duration
	// StatusOrigin, when set, replaces the origin of the certificates' OCSP and CRL URLs (НУЦ reached
	// under another address than the one it wrote into its certificates).
	StatusOrigin string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Open loads participant id's system key and НУЦ's roots and returns its client, verifying what it
// takes with revocation checks. Its Sync (DialSync) and JS (ConnectNATS) are the caller's to set.
func Open(id string, o Options) (*Client, error) {
	signer, roots, err := LoadIdentity(id, o.KeyFile, o.KeyPassword, o.TrustAnchors)
	if err != nil {
		return nil, err
	}
	signer.Now = o.Now
	fresh := o.OCSPFreshness
	if fresh == 0 {
		fresh = 5 * time.Minute
	}
	checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: fresh, Now: o.Now, Origin: o.StatusOrigin})
	if err != nil {
		return nil, err
	}
	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: roots, Status: checker, Now: o.Now})
	if err != nil {
		return nil, err
	}
	return &Client{ID: id, Signer: signer, Verifier: v, Roots: roots, Status: checker, Now: o.Now}, nil
}

// LoadIdentity opens the system key of participant id (it must be a system certificate whose CN is id)
// and the trust anchors.
func LoadIdentity(id, keyFile, password, trustAnchors string) (*envelope.Signer, []*x509.Certificate, error) {
	if keyFile == "" || trustAnchors == "" {
		return nil, nil, errors.New("the participant's key file and trust anchors are required")
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("key file: %w", err)
	}
	signer, err := envelope.LoadPKCS12(b, password)
	if err != nil {
		return nil, nil, fmt.Errorf("key file %s: %w", keyFile, err)
	}
	if h := envelope.HolderOf(signer.Cert); !h.System || h.Name != id {
		return nil, nil, fmt.Errorf("key file %s: not the system certificate of %q", keyFile, id)
	}
	roots, err := ReadCertificates(trustAnchors)
	if err != nil {
		return nil, nil, fmt.Errorf("trust anchors: %w", err)
	}
	return signer, roots, nil
}

// ReadCertificates reads every certificate of a PEM file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return out, nil
}

// Certificate is the participant's system key as a TLS certificate, with its chain.
func (c *Client) Certificate() tls.Certificate {
	chain := [][]byte{c.Signer.Cert.Raw}
	for _, x := range c.Signer.Chain {
		chain = append(chain, x.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: c.Signer.Key, Leaf: c.Signer.Cert}
}

func (c *Client) rootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, r := range c.Roots {
		pool.AddCert(r)
	}
	return pool
}

// ClientTLS is the TLS of the participant calling server (shepv1.ServerName for ШЭП): it presents the
// participant's system certificate and accepts only a server whose НУЦ-issued system certificate names
// server and is not revoked.
func (c *Client) ClientTLS(server string) *tls.Config {
	return ClientTLS(c.Certificate(), c.rootPool(), c.Status, server)
}

// ServerTLS is the TLS of a provider behind ШЭП: it presents the participant's system certificate and
// admits only a client whose НУЦ-issued system certificate names one of callers (ШЭП, shepv1.ServerName,
// when none is given) and is not revoked.
func (c *Client) ServerTLS(callers ...string) *tls.Config {
	if len(callers) == 0 {
		callers = []string{shepv1.ServerName}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Certificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    c.rootPool(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			return checkPeer(cs, c.Status, func(h envelope.Holder) bool { return h.System && slices.Contains(callers, h.Name) }, fmt.Sprint(callers))
		},
	}
}

// DialSync connects to ШЭП's sync channel at target (host:port) over mutual TLS and sets c.Sync; the
// caller closes the connection.
func (c *Client) DialSync(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(c.ClientTLS(shepv1.ServerName)))}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("shepsdk: dial ШЭП at %s: %w", target, err)
	}
	c.Sync = shepv1.NewSyncChannelServiceClient(conn)
	return conn, nil
}

// ClientTLS is the TLS of a system of the suite calling participant server: it presents cert (when it
// holds one) and accepts only a server whose system certificate, chained to roots, names server and,
// when status is set, is not revoked.
func ClientTLS(cert tls.Certificate, roots *x509.CertPool, status envelope.StatusChecker, server string) *tls.Config {
	c := &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    roots,
		ServerName: server,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return checkPeer(cs, status, func(h envelope.Holder) bool { return h.System && h.Name == server }, server)
		},
	}
	if len(cert.Certificate) > 0 {
		c.Certificates = []tls.Certificate{cert}
	}
	return c
}

// checkPeer checks the verified peer of a TLS connection: its certificate's holder must be one that
// want accepts, and the certificate must not be revoked.
func checkPeer(cs tls.ConnectionState, status envelope.StatusChecker, want func(envelope.Holder) bool, wanted string) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("shepsdk: the peer's certificate was not verified")
	}
	leaf := cs.VerifiedChains[0][0]
	if h := envelope.HolderOf(leaf); !want(h) {
		return fmt.Errorf("shepsdk: the peer presents %q's certificate, not the system certificate of %s", h.Name, wanted)
	}
	if status == nil || len(cs.VerifiedChains[0]) < 2 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := status.Status(ctx, leaf, cs.VerifiedChains[0][1])
	if err != nil {
		return fmt.Errorf("shepsdk: the status of %s's certificate: %w", wanted, err)
	}
	if st.Revoked {
		return fmt.Errorf("shepsdk: %s's certificate (serial %s) was revoked on %s", wanted, leaf.SerialNumber.Text(16), st.RevokedAt.UTC().Format(time.RFC3339))
	}
	return nil
}
