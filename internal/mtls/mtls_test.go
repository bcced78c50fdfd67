package mtls_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/serve"
)

const (
	operatorBIN = "990840000012"
	adminIIN    = "810109300001"
	otherIIN    = "880512400011"
)

// serveAs serves the gRPC health service as the system id under policy, over mutual TLS on a real
// socket, and returns its address. The policy covers the health service here (no Open prefixes), so
// that a plain health check stands for any guarded call.
func serveAs(t *testing.T, ca *ncatest.Authority, id string, policy mtls.Policy) string {
	t.Helper()
	ident := ca.TLS(ca.System(t, id))
	opts, err := mtls.Transport{}.ServerOptions(ident, mtls.Guard{Policy: policy, Status: ident.Status})
	require.NoError(t, err)
	gs := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func check(t *testing.T, addr, server string, id *mtls.Identity) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, mtls.Transport{}.Dial(id, server))
	require.NoError(t, err)
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	return err
}

func TestGuardRegistryAllowsShepOnly(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	addr := serveAs(t, ca, "gbdfl", mtls.Only("shep"))
	revoked := ca.System(t, "shep")
	ca.Revoke(revoked.Cert, 1)
	stranger := ncatest.New(t) // another authority: its certificates do not chain to the root

	tests := []struct {
		name   string
		server string
		id     *mtls.Identity
		code   codes.Code
		msg    string
	}{
		{name: "ok/shep", server: "gbdfl", id: ca.TLS(ca.System(t, "shep"))},
		{name: "fail/no client certificate", server: "gbdfl", id: ca.Anonymous(), code: codes.Unauthenticated, msg: "no client certificate"},
		{name: "fail/the portal calls the registry directly", server: "gbdfl", id: ca.TLS(ca.System(t, "portal")),
			code: codes.PermissionDenied, msg: "portal may not call this service: only shep may"},
		{name: "fail/a person's certificate", server: "gbdfl", id: ca.TLS(ca.Employee(t, otherIIN, operatorBIN)),
			code: codes.PermissionDenied, msg: "IIN " + otherIIN + " may not call"},
		{name: "fail/revoked certificate", server: "gbdfl", id: ca.TLS(revoked), code: codes.Unauthenticated, msg: "was revoked"},
		// The server refuses the chain in the handshake; under TLS 1.3 the client may read that as the
		// server's alert or, when it wrote first, as the connection reset or closed under its write.
		{name: "fail/certificate of another authority", server: "gbdfl", id: withRoots(stranger.TLS(stranger.System(t, "shep")), ca.Root.Cert),
			code: codes.Unavailable, msg: "tls|connection reset by peer|broken pipe"},
		{name: "fail/the server is not the participant dialled", server: "enis", id: ca.TLS(ca.System(t, "shep")),
			code: codes.Unavailable, msg: "enis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := check(t, addr, tt.server, tt.id)
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			msg := status.Convert(err).Message()
			require.True(t, slices.ContainsFunc(strings.Split(tt.msg, "|"), func(m string) bool { return strings.Contains(msg, m) }),
				"%q holds none of %q", msg, tt.msg)
		})
	}
}

// withRoots makes id trust root (so that the handshake reaches the server's check of id's chain).
func withRoots(id *mtls.Identity, root *x509.Certificate) *mtls.Identity {
	id.Roots = x509.NewCertPool()
	id.Roots.AddCert(root)
	return id
}

func TestGuardAdmins(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	admins := mtls.Admins{BIN: operatorBIN, IINs: []string{adminIIN}}
	addr := serveAs(t, ca, "nca", admins.Policy)
	nobody := serveAs(t, ca, "shep", mtls.Admins{}.Policy)
	noBIN := serveAs(t, ca, "enis", mtls.Admins{IINs: []string{adminIIN}}.Policy)

	tests := []struct {
		name string
		addr string
		id   *mtls.Identity
		code codes.Code
		msg  string
	}{
		{name: "ok/the administrator", addr: addr, id: ca.TLS(ca.Employee(t, adminIIN, operatorBIN))},
		{name: "fail/no client certificate", addr: addr, id: ca.Anonymous(), code: codes.Unauthenticated, msg: "no client certificate"},
		{name: "fail/a participant's certificate", addr: addr, id: ca.TLS(ca.System(t, "portal")), code: codes.PermissionDenied,
			msg: "portal presents a system certificate"},
		{name: "fail/an employee not listed", addr: addr, id: ca.TLS(ca.Employee(t, otherIIN, operatorBIN)), code: codes.PermissionDenied,
			msg: "is not an administrator"},
		{name: "fail/the administrator's IIN at another organisation", addr: addr, id: ca.TLS(ca.Employee(t, adminIIN, "041240000016")),
			code: codes.PermissionDenied, msg: "not of the operator"},
		{name: "fail/no administrators configured", addr: nobody, id: ca.TLS(ca.Employee(t, adminIIN, operatorBIN)),
			code: codes.PermissionDenied, msg: "no administrators are configured"},
		{name: "fail/administrators listed without the operator's BIN", addr: noBIN, id: ca.TLS(ca.Employee(t, adminIIN, operatorBIN)),
			code: codes.PermissionDenied, msg: "no administrators are configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server := "nca"
			switch tt.addr {
			case nobody:
				server = "shep"
			case noBIN:
				server = "enis"
			}
			err := check(t, tt.addr, server, tt.id)
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.msg)
		})
	}
}

// TestPeerFrom: the guard hands the handler the peer it admitted, named by its certificate.
func TestPeerFrom(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	ident := ca.TLS(ca.System(t, "shep"))
	seen := make(chan string, 1)
	opts, err := mtls.Transport{}.ServerOptions(ident, mtls.Guard{Policy: func(ctx context.Context, p mtls.Peer) error { return nil }})
	require.NoError(t, err)
	gs := grpc.NewServer(append(opts, grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		// Sent, not asserted, here: this runs on the server's goroutine, where FailNow must not be called.
		if p, ok := mtls.PeerFrom(ctx); ok {
			seen <- p.Name()
		} else {
			seen <- "(no peer)"
		}
		return h(ctx, req)
	}))...)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	require.NoError(t, check(t, lis.Addr().String(), "shep", ca.TLS(ca.System(t, "tson"))))
	require.Equal(t, "tson", <-seen)
	_, ok := mtls.PeerFrom(t.Context())
	require.False(t, ok, "no peer outside a guarded call")
}

// TestServerNeedsIdentity: with TLS on, a server without a system key does not start.
func TestServerNeedsIdentity(t *testing.T) {
	t.Parallel()
	_, err := mtls.Transport{}.ServerOptions(nil, mtls.Guard{})
	require.ErrorContains(t, err, "no system key")
	opts, err := mtls.Transport{Off: true}.ServerOptions(nil, mtls.Guard{})
	require.NoError(t, err)
	require.Empty(t, opts)
}

// TestRemote: a remote registry is reached over TLS with its own CA file and server name, presenting
// the client certificate given; a bad CA file is a clear error.
func TestRemote(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	addr := serveAs(t, ca, "gbdfl", mtls.Only("shep"))
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}), 0o600))
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("nothing"), 0o600))
	shep := ca.TLS(ca.System(t, "shep")).Cert

	tests := []struct {
		name   string
		remote mtls.Remote
		err    string
		code   codes.Code
	}{
		{name: "ok/CA file, server name and client certificate", remote: mtls.Remote{CAFile: rootFile, ServerName: "gbdfl", Client: &shep}},
		{name: "fail/no client certificate", remote: mtls.Remote{CAFile: rootFile, ServerName: "gbdfl"}, code: codes.Unauthenticated},
		{name: "fail/another server name", remote: mtls.Remote{CAFile: rootFile, ServerName: "enis", Client: &shep}, code: codes.Unavailable},
		{name: "fail/missing CA file", remote: mtls.Remote{CAFile: filepath.Join(dir, "none.pem")}, err: "CA file"},
		{name: "fail/CA file without a certificate", remote: mtls.Remote{CAFile: notPEM}, err: "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opt, err := tt.remote.Dial()
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			conn, err := grpc.NewClient(addr, opt)
			require.NoError(t, err)
			defer conn.Close()
			_, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
			require.Equal(t, tt.code, status.Code(err), "%v", err)
		})
	}
}
