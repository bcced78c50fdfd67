package natsbus_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/natsbus"
)

// pair is a certificate and its key, as PEM files in dir.
type pair struct {
	cert              *x509.Certificate
	key               *ecdsa.PrivateKey
	certFile, keyFile string
}

func issue(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *pair) *pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	p := &pair{cert: cert, key: key, certFile: filepath.Join(dir, name+".pem"), keyFile: filepath.Join(dir, name+"-key.pem")}
	require.NoError(t, os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return p
}

// TestConnectsOverTLS runs a NATS server that requires TLS with client certificates and a user, and
// connects with EGOV_NATS_CA / _CERT / _KEY's options: with them it connects; without the client
// certificate, or without the CA, it is refused.
func TestConnectsOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := issue(t, dir, "ca", &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil)
	srvCert := issue(t, dir, "server", &x509.Certificate{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca)
	client := issue(t, dir, "portal", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, ca)
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: srvCert.certFile, KeyFile: srvCert.keyFile, CaFile: ca.certFile, Verify: true})
	require.NoError(t, err)
	tc.MinVersion = tls.VersionTLS12
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		TLS: true, TLSVerify: true, TLSConfig: tc, NoLog: true, NoSigs: true,
		Users: []*server.User{natsbus.ChannelAccess("portal").NATSUser("pw")}})
	require.NoError(t, err)
	go ns.Start()
	t.Cleanup(func() { natsbus.StopEmbedded(ns) })
	require.True(t, ns.ReadyForConnections(10*time.Second))

	base := natsbus.ConnOptions{URL: ns.ClientURL(), User: "portal", Password: "pw", InboxPrefix: natsbus.InboxPrefix("portal")}
	tests := []struct {
		name string
		edit func(*natsbus.ConnOptions)
		ok   bool
	}{
		{name: "ok/CA, client certificate and user", edit: func(o *natsbus.ConnOptions) {
			o.CAFile, o.CertFile, o.KeyFile = ca.certFile, client.certFile, client.keyFile
		}, ok: true},
		{name: "fail/no client certificate", edit: func(o *natsbus.ConnOptions) { o.CAFile = ca.certFile }},
		{name: "fail/server not verified without the CA", edit: func(o *natsbus.ConnOptions) {
			o.CertFile, o.KeyFile = client.certFile, client.keyFile
		}},
		{name: "fail/certificate without its key", edit: func(o *natsbus.ConnOptions) {
			o.CAFile, o.CertFile = ca.certFile, client.certFile
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := base
			tt.edit(&o)
			bus, err := natsbus.Connect(t.Context(), o, discardLog())
			if !tt.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			defer bus.Conn.Close()
			require.True(t, bus.Conn.TLSRequired())
			require.NoError(t, bus.Check(t.Context()))
		})
	}
}
