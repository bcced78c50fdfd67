package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/shepsdk"
)

// Remote is TLS towards an endpoint outside the suite (a real registry, a team's adapter): its own CA,
// its server name, and the client certificate to present.
type Remote struct {
	// CAFile is a PEM file of the CA certificates the server's chain must reach; empty dials in
	// plaintext (an adapter on the same host).
	CAFile string
	// ServerName is the name the server's certificate must carry; the target's host when empty.
	ServerName string
	// Client is presented as the client certificate; nil presents none.
	Client *tls.Certificate
}

// OnThisHost reports whether target (host:port) is a loopback address or localhost: the only place a
// remote endpoint may be reached in plaintext.
func OnThisHost(target string) bool {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Dial is the dial option for the endpoint.
func (r Remote) Dial() (grpc.DialOption, error) {
	if r.CAFile == "" {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	b, err := os.ReadFile(r.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", r.CAFile)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: r.ServerName}
	if r.Client != nil {
		c.Certificates = []tls.Certificate{*r.Client}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(c)), nil
}

// LoadP12 reads a PKCS#12 key file as a TLS client certificate (the CLI's --p12).
func LoadP12(path, password string) (*tls.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := envelope.LoadPKCS12(b, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	chain := [][]byte{s.Cert.Raw}
	for _, c := range s.Chain {
		chain = append(chain, c.Raw)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: s.Key, Leaf: s.Cert}, nil
}

// ReadRoots reads the PEM certificates of a file into a pool.
func ReadRoots(path string) (*x509.CertPool, error) {
	certs, err := shepsdk.ReadCertificates(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// Admin is the identity of an administrator's CLI: the key file, and НУЦ's roots. It presents the
// key as its client certificate and checks that the server is the system it meant to reach.
func Admin(p12, password, roots string) (*Identity, error) {
	cert, err := LoadP12(p12, password)
	if err != nil {
		return nil, fmt.Errorf("the administrator's key: %w", err)
	}
	pool, err := ReadRoots(roots)
	if err != nil {
		return nil, fmt.Errorf("НУЦ's root: %w", err)
	}
	return &Identity{ID: envelope.HolderOf(cert.Leaf).Name, Cert: *cert, Roots: pool}, nil
}
