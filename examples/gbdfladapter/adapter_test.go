package gbdfladapter_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/egov-suite/egov/examples/gbdfladapter"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/gbdfl/conformance"
)

// remoteRegister is a fake of the outside register (it is outside the suite, so a fake is what an
// integration team tests its adapter against): the conformance suite's default people, in the remote
// API's own shape.
func remoteRegister(t *testing.T) *httptest.Server {
	t.Helper()
	parent := conformance.Defaults.KnownIIN
	child1, child2 := "150310500018", "120921600010"
	people := map[string]gbdfladapter.RemotePerson{
		parent: {IIN: parent, LastName: "Ахметова", FirstName: "Асель", MiddleName: "Маратовна", BirthDate: "12.05.1988",
			Gender: "F", Citizenship: "KZ", Region: "55", Address: "г. Павлодар, ул. Лермонтова, 45", Children: []string{child1}},
		child1: {IIN: child1, LastName: "Ахметов", FirstName: "Алихан", BirthDate: "10.03.2015", Gender: "M", Region: "55",
			Incapable: true, Parents: []string{parent}},
		child2: {IIN: child2, LastName: "Сапарова", FirstName: "Дана", BirthDate: "21.09.2012", Gender: "F", Region: "55",
			Incapable: true, Guardians: []string{parent}},
	}
	children := map[string][]string{parent: {child1, child2}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /persons/{iin}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := people[r.PathValue("iin")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("GET /persons/{iin}/children", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := people[r.PathValue("iin")]; !ok {
			http.NotFound(w, r)
			return
		}
		var out []gbdfladapter.RemotePerson
		for _, c := range children[r.PathValue("iin")] {
			out = append(out, people[c])
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// authority is the adapter team's own CA: it issues the adapter's server certificate and, in this
// test, the client certificate of the suite's ГБД ФЛ (in production НУЦ issues that one).
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newAuthority(t *testing.T) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "adapter team CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &authority{cert: cert, key: key, pool: pool}
}

func (a *authority) issue(t *testing.T, name string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serve runs the adapter over TLS in front of reg, admitting the client "gbdfl" of ca, and returns its address.
func serve(t *testing.T, ca *authority, reg gbdfladapter.Registry) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(gbdfladapter.ServerTLS(ca.issue(t, "gbdfl-adapter", x509.ExtKeyUsageServerAuth), ca.pool, "gbdfl"))
	gbdflv1.RegisterPersonRegistryServiceServer(gs, &gbdfladapter.Server{Registry: reg})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// dial connects as the conformance command does (--ca-file, --server-name), presenting client when set.
func dial(t *testing.T, addr string, ca *authority, client *tls.Certificate) gbdflv1.PersonRegistryServiceClient {
	t.Helper()
	c := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.pool, ServerName: "gbdfl-adapter"}
	if client != nil {
		c.Certificates = []tls.Certificate{*client}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(c)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return gbdflv1.NewPersonRegistryServiceClient(conn)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t)
	addr := serve(t, ca, gbdfladapter.HTTPRegistry{Base: remoteRegister(t).URL})
	client := ca.issue(t, "gbdfl", x509.ExtKeyUsageClientAuth)
	results := conformance.Run(t.Context(), dial(t, addr, ca, &client), conformance.Defaults)
	require.NotEmpty(t, results)
	for _, r := range results {
		require.NoError(t, r.Err, r.Name)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(down.Close)
	good := ca.issue(t, "gbdfl", x509.ExtKeyUsageClientAuth)
	stranger := ca.issue(t, "someone-else", x509.ExtKeyUsageClientAuth)
	tests := []struct {
		name     string
		base     string
		client   *tls.Certificate
		wantCode codes.Code
		wantText string
	}{
		{name: "fail/the remote register is down", base: down.URL, client: &good, wantCode: codes.Unavailable, wantText: "удалённый реестр недоступен"},
		// Refused in the handshake: the client sees only that the connection failed, and the remote
		// register is never asked.
		{name: "fail/no client certificate", base: remoteRegister(t).URL, wantCode: codes.Unavailable},
		{name: "fail/a client the adapter does not serve", base: remoteRegister(t).URL, client: &stranger, wantCode: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := &counting{Registry: gbdfladapter.HTTPRegistry{Base: tt.base}}
			addr := serve(t, ca, reg)
			_, err := dial(t, addr, ca, tt.client).GetPerson(t.Context(), &gbdflv1.GetPersonRequest{Iin: conformance.Defaults.KnownIIN})
			require.Equal(t, tt.wantCode, status.Code(err), err)
			require.Contains(t, err.Error(), tt.wantText)
			if tt.client != &good {
				require.Zero(t, reg.calls.Load(), "a refused client reached the remote register")
			}
		})
	}
}

// counting counts the calls that reach the remote register.
type counting struct {
	gbdfladapter.Registry
	calls atomic.Int64
}

func (c *counting) Person(ctx context.Context, iin string) (*gbdfladapter.RemotePerson, error) {
	c.calls.Add(1)
	return c.Registry.Person(ctx, iin)
}

func TestValidIIN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, iin string
		ok        bool
	}{
		{"ok/known person", conformance.Defaults.KnownIIN, true},
		{"ok/second pass of the check digit", "150310500018", true},
		{"fail/check digit", "880512400012", false},
		{"fail/11 digits", "88051240001", false},
		{"fail/letters", "88O5124OOO11", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.ok, gbdfladapter.ValidIIN(tt.iin) == nil)
		})
	}
}
