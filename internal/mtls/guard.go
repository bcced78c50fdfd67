package mtls

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/egov-suite/egov/envelope"
)

// Peer is the caller, as its verified certificate names it.
type Peer struct {
	// Holder is what the certificate says: a system's id in Name, a person's IIN and BIN.
	Holder envelope.Holder
	// Cert is the certificate, Issuer the one that signed it.
	Cert, Issuer *x509.Certificate
}

// Name is how messages name the peer: the system id, or "IIN <iin>" for a person.
func (p Peer) Name() string {
	if p.Holder.System || p.Holder.IIN == "" {
		return p.Holder.Name
	}
	return "IIN " + p.Holder.IIN
}

type peerKey struct{}

// PeerFrom returns the peer Guard admitted the call of, if any (none when TLS is off).
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// Policy says whether a peer may call; its error is the status the caller gets (PermissionDenied).
type Policy func(ctx context.Context, p Peer) error

// Only allows the system participants listed: the registries allow ШЭП only.
func Only(ids ...string) Policy {
	return func(_ context.Context, p Peer) error {
		if p.Holder.System && slices.Contains(ids, p.Holder.Name) {
			return nil
		}
		return status.Errorf(codes.PermissionDenied, "%s may not call this service: only %s may", p.Name(), strings.Join(ids, ", "))
	}
}

// AnySystem allows any system participant (the services with nothing but the health service).
func AnySystem(_ context.Context, p Peer) error {
	if p.Holder.System {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "%s holds no system certificate: only ШЭП participants may call", p.Name())
}

// Admins recognises an administrator: an employee's authentication certificate (НУЦ's employee
// profile, clientAuth) of the operator's organisation (bin) whose IIN is listed. An operations team
// signs in with the ЭЦП its staff already hold; who is an administrator is the operator's list, not a
// property of the certificate.
type Admins struct {
	// BIN is the operator's organisation; the certificate's OU must name it.
	BIN string
	// IINs are the administrators.
	IINs []string
}

// Policy is the admin listeners' policy.
func (a Admins) Policy(_ context.Context, p Peer) error {
	switch {
	case len(a.IINs) == 0 || a.BIN == "":
		return status.Error(codes.PermissionDenied, "no administrators are configured (EGOV_ADMIN_IINS and EGOV_ADMIN_BIN): the admin API refuses everyone")
	case p.Holder.System:
		return status.Errorf(codes.PermissionDenied, "%s presents a system certificate: the admin API takes an administrator's certificate", p.Name())
	case p.Holder.IIN == "" || p.Holder.BIN == "":
		return status.Errorf(codes.PermissionDenied, "%s: the admin API takes an employee's certificate of the operator (BIN %s)", p.Name(), a.BIN)
	case p.Holder.BIN != a.BIN:
		return status.Errorf(codes.PermissionDenied, "%s is an employee of BIN %s, not of the operator (BIN %s)", p.Name(), p.Holder.BIN, a.BIN)
	case !slices.Contains(a.IINs, p.Holder.IIN):
		return status.Errorf(codes.PermissionDenied, "%s is not an administrator", p.Name())
	}
	return nil
}

// Guard admits the calls of a server: the peer must have presented a certificate chained to НУЦ's
// roots, not revoked, and allowed by Policy. Methods under an Open prefix skip Policy (but not the
// certificate).
type Guard struct {
	// Policy decides who may call; nil allows every peer with a valid certificate.
	Policy Policy
	// Status checks the peer's certificate for revocation (the RevocationChecker caches answers for its
	// freshness bound, so a call costs a map look-up); nil skips it.
	Status envelope.StatusChecker
	// Open are method prefixes any verified peer may call, e.g. "/grpc.health.v1.Health/".
	Open []string
}

// OpenToAnyPeer are the method prefixes every service leaves to any verified peer: health and
// reflection.
var OpenToAnyPeer = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

func (g Guard) admit(ctx context.Context, method string) (context.Context, error) {
	p, err := PeerOf(ctx)
	if err != nil {
		return nil, err
	}
	if g.Status != nil && p.Issuer != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := g.Status.Status(sctx, p.Cert, p.Issuer)
		cancel()
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "the status of %s's certificate cannot be checked: %v", p.Name(), err)
		}
		if st.Revoked {
			return nil, status.Errorf(codes.Unauthenticated, "%s's certificate (serial %s) was revoked on %s",
				p.Name(), p.Cert.SerialNumber.Text(16), st.RevokedAt.UTC().Format(time.RFC3339))
		}
	}
	open := false
	for _, o := range g.Open {
		open = open || strings.HasPrefix(method, o)
	}
	if !open && g.Policy != nil {
		if err := g.Policy(ctx, p); err != nil {
			return nil, err
		}
	}
	return context.WithValue(ctx, peerKey{}, p), nil
}

// PeerOf reads the peer of a call from its verified TLS state; codes.Unauthenticated when there is none.
func PeerOf(ctx context.Context) (Peer, error) {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return Peer{}, status.Error(codes.Unauthenticated, "no peer information")
	}
	info, ok := pr.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Peer{}, status.Error(codes.Unauthenticated, "the call did not come over TLS: the internal API takes mutual TLS with a certificate issued by НУЦ")
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return Peer{}, status.Error(codes.Unauthenticated, "no client certificate: present a certificate issued by НУЦ (a system participant's, or an administrator's for the admin API)")
	}
	p := Peer{Cert: chains[0][0], Holder: envelope.HolderOf(chains[0][0])}
	if len(chains[0]) > 1 {
		p.Issuer = chains[0][1]
	}
	return p, nil
}

// Unary is the unary interceptor.
func (g Guard) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := g.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// Stream is the stream interceptor.
func (g Guard) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := g.admit(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, &stream{ServerStream: ss, ctx: ctx})
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// ServerOptions are a server's options for mutual TLS under g (none when t is off).
func (t Transport) ServerOptions(id *Identity, g Guard) ([]grpc.ServerOption, error) {
	if t.Off {
		return nil, nil
	}
	if id == nil {
		return nil, fmt.Errorf("mtls: the service has no system key for its TLS (EGOV_INTERNAL_TLS=off serves without)")
	}
	return []grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(id.ServerConfig())),
		// A call without a verified client certificate is refused when its headers arrive, before its
		// message is read: a server that takes large messages (ШЭП's 8 MiB) buffers nothing for a
		// stranger. The interceptors then check revocation and the service's policy.
		grpc.InTapHandle(func(ctx context.Context, _ *tap.Info) (context.Context, error) {
			if _, err := PeerOf(ctx); err != nil {
				return nil, err
			}
			return ctx, nil
		}),
		grpc.ChainUnaryInterceptor(g.Unary),
		grpc.ChainStreamInterceptor(g.Stream),
	}, nil
}
