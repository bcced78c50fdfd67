package shep_test

import (
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/apptest"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/internal/serve"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep"
	"github.com/egov-suite/egov/shepsdk"
)

func TestMain(m *testing.M) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	pgtest.Main(m)
}

// suite is a running ШЭП with participants around it, all on real sockets, NATS and PostgreSQL.
type suite struct {
	ca *ncatest.Authority
	// shepKey is ШЭП's own key.
	shepKey *envelope.Signer
	ns      *server.Server
	rn      *apptest.Running
	admin   shepv1.ShepAdminServiceClient
	// syncCl is the sync channel as the participant "portal"; conns are its and the admin API's connections.
	syncCl shepv1.SyncChannelServiceClient
	conns  []*grpc.ClientConn
	dbURL  string
	grpc   string
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func start(t testing.TB) *suite { return startWith(t, nil) }

// startWith is start with the configuration changed by change. Checkpoints of the message log are made
// on request (CheckpointLog) unless change shortens their interval.
func startWith(t testing.TB, change func(*shep.Config)) *suite {
	t.Helper()
	ca := ncatest.New(t)
	dir, key := shepKeyFiles(t, ca)

	cfg := shep.Config{KeyFile: filepath.Join(dir, "shep.p12"), KeyPassword: "secret1", TrustAnchors: filepath.Join(dir, "root.pem"),
		OCSPFreshness: 5 * time.Minute, Redelivery: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, AckWait: 2 * time.Second,
		CheckpointInterval: 24 * time.Hour}
	if change != nil {
		change(&cfg)
	}
	ns := natstest.New(t)
	url := pgtest.URL(t)
	rn, err := apptest.StartWith(t, apptest.Options{NATSURL: ns.ClientURL(), DBURL: url,
		Env: map[string]string{"EGOV_ADMIN_IINS": adminIIN, "EGOV_ADMIN_BIN": operatorBIN}}, shep.Descriptor(cfg))
	require.NoError(t, err)
	conn := rn.DialAdmin(t, "shep", ca.TLS(ca.Employee(t, adminIIN, operatorBIN)))
	s := &suite{ca: ca, shepKey: key, ns: ns, rn: rn, admin: shepv1.NewShepAdminServiceClient(conn), dbURL: url, grpc: rn.Endpoints["shep"].GRPC,
		spans: rn.Spans, tp: rn.Telemetry.TracerProvider}
	for _, id := range []string{"portal", "tson", "rshep-55", "gbdfl"} {
		_, err := s.admin.PutParticipant(t.Context(), &shepv1.PutParticipantRequest{Participant: &shepv1.Participant{Id: id}})
		require.NoError(t, err)
	}
	_, err = s.admin.PutService(t.Context(), &shepv1.PutServiceRequest{Service: &shepv1.Service{
		Id: "GUARDIANSHIP_55", Provider: "rshep-55", Channel: shepv1.Channel_CHANNEL_ASYNC, Region: "55"}})
	require.NoError(t, err)
	for _, sender := range []string{"portal", "tson"} {
		_, err = s.admin.Grant(t.Context(), &shepv1.GrantRequest{Sender: sender, ServiceId: "GUARDIANSHIP_55"})
		require.NoError(t, err)
	}
	syncConn := s.conn(t, "portal")
	s.syncCl, s.conns = shepv1.NewSyncChannelServiceClient(syncConn), []*grpc.ClientConn{conn, syncConn}
	return s
}

// The operator's administrator (the demo one's IIN) and the operator's BIN.
const (
	adminIIN    = "810109300001"
	operatorBIN = "990840000012"
)

// conn connects to ШЭП's participant listener as id, with a fresh system certificate of id.
func (s *suite) conn(t testing.TB, id string) *grpc.ClientConn {
	t.Helper()
	return s.rn.Dial(t, "shep", s.ca.TLS(s.ca.System(t, id)))
}

// syncAs is the sync channel as participant id.
func (s *suite) syncAs(t testing.TB, id string) shepv1.SyncChannelServiceClient {
	t.Helper()
	return shepv1.NewSyncChannelServiceClient(s.conn(t, id))
}

// shepFiles writes ШЭП's key file (password "secret1") and the root to a folder and returns it.
func shepFiles(t testing.TB, ca *ncatest.Authority) string {
	t.Helper()
	dir, _ := shepKeyFiles(t, ca)
	return dir
}

// shepKeyFiles is shepFiles that also returns ШЭП's key.
func shepKeyFiles(t testing.TB, ca *ncatest.Authority) (string, *envelope.Signer) {
	t.Helper()
	dir := t.TempDir()
	key := ca.System(t, "shep")
	p12, err := pki.PKCS12(key.Key, key.Cert, key.Chain, "secret1")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shep.p12"), p12, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}), 0o600))
	return dir, key
}

// participant returns a client for id, signing with a fresh system key unless signer is given; it
// reaches ШЭП over mutual TLS with a fresh certificate of id.
func (s *suite) participant(t testing.TB, id string, signer *envelope.Signer) *shepsdk.Client {
	t.Helper()
	if signer == nil {
		signer = s.ca.System(t, id)
	}
	bus, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: s.ns.ClientURL(), Name: id}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(bus.Conn.Close)
	return &shepsdk.Client{ID: id, Signer: signer, Verifier: s.ca.Verifier(t, s.ca.Checker(time.Minute)), Sync: s.syncAs(t, id), JS: bus.JS}
}

// provide serves a sync service for participant id behind ШЭП and registers it.
func (s *suite) provide(t testing.TB, id, service string, timeout time.Duration, h shepsdk.ProviderHandler) *shepsdk.Client {
	t.Helper()
	c := s.participant(t, id, nil)
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(append(s.providerTLS(t, c.Signer), grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(s.tp))))...)
	shepv1.RegisterSyncChannelServiceServer(gs, &shepsdk.Provider{Client: c, Handler: h})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	_, err = s.admin.PutService(t.Context(), &shepv1.PutServiceRequest{Service: &shepv1.Service{
		Id: service, Provider: id, Channel: shepv1.Channel_CHANNEL_SYNC, Endpoint: lis.Addr().String(), TimeoutMs: int32(timeout / time.Millisecond)}})
	require.NoError(t, err)
	return c
}

// providerTLS are the server options of a provider behind ШЭП: mutual TLS as signer, ШЭП only.
func (s *suite) providerTLS(t testing.TB, signer *envelope.Signer) []grpc.ServerOption {
	t.Helper()
	ident := s.ca.TLS(signer)
	opts, err := mtls.Transport{}.ServerOptions(ident, mtls.Guard{Policy: mtls.Only("shep"), Status: ident.Status})
	require.NoError(t, err)
	return opts
}

func personLookup(ctx context.Context, req *envelopev1.Envelope) (*shepsdk.Answer, error) {
	var in gbdflv1.GetPersonRequest
	if err := proto.Unmarshal(req.GetPayload(), &in); err != nil {
		return nil, err
	}
	if in.GetIin() == "000000000000" {
		return &shepsdk.Answer{Status: &envelopev1.Status{Code: shepv1.CodeNotFound, Message: "Нет данных в ГБД ФЛ"}}, nil
	}
	return &shepsdk.Answer{Payload: &gbdflv1.GetPersonResponse{Person: &gbdflv1.Person{Iin: in.GetIin(), Surname: "Ахметова"}}}, nil
}

func TestSyncRoundTrip(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.provide(t, "gbdfl", gbdflv1.ServicePerson, 5*time.Second, personLookup)
	_, err := s.admin.Grant(t.Context(), &shepv1.GrantRequest{Sender: "tson", ServiceId: gbdflv1.ServicePerson})
	require.NoError(t, err)
	tson := s.participant(t, "tson", nil)

	req, err := tson.Request(gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "880512400011"})
	require.NoError(t, err)
	resp, err := tson.Call(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, "gbdfl", resp.GetSender())
	require.NotEmpty(t, resp.GetSessionId(), "ШЭП assigns the session")
	require.Equal(t, req.GetMessageId(), resp.GetCorrelationId())
	var person gbdflv1.GetPersonResponse
	require.NoError(t, proto.Unmarshal(resp.GetPayload(), &person))
	require.Equal(t, "Ахметова", person.GetPerson().GetSurname())

	// A business "not found" is the provider's status, passed through.
	req, err = tson.Request(gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "000000000000"})
	require.NoError(t, err)
	_, err = tson.Call(t.Context(), req)
	var se *shepsdk.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, shepv1.CodeNotFound, se.Code)

	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk())
	require.EqualValues(t, 4, v.GetRecords(), "ACCEPTED and DELIVERED for each call")

	// The latency histogram is in seconds with sub-second buckets: with the SDK's default boundaries
	// (meant for milliseconds) every call fell in the first one.
	metrics := s.metrics(t)
	require.Regexp(t, `egov_shep_latency_seconds_bucket\{[^}]*service="GBDFL_PERSON",le="0\.005"\} \d+`, metrics)
	require.Regexp(t, `egov_shep_latency_seconds_count\{[^}]*service="GBDFL_PERSON"[^}]*\} 2\n`, metrics)
	// ШЭП's own signature checks and OCSP answers are on its page: the envelopes it verified, timed.
	require.Regexp(t, `egov_signature_checks_total\{[^}]*outcome="ok"[^}]*purpose="envelope"[^}]*\} [1-9]`, metrics)
	require.Regexp(t, `egov_signature_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} [1-9]`, metrics)
	require.Regexp(t, `egov_ocsp_answers_total\{[^}]*status="good"[^}]*\} [1-9]`, metrics)
	require.Regexp(t, `egov_ocsp_cache_total\{[^}]*result="hit"[^}]*\} [1-9]`, metrics)
}

// metrics is ШЭП's /metrics page.
func (s *suite) metrics(t *testing.T) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.rn.Endpoints["shep"].HTTP+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(b)
}

func TestSyncRejections(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.provide(t, "gbdfl", gbdflv1.ServicePerson, 5*time.Second, personLookup)
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })
	s.provide(t, "rshep-55", "SLOW", 200*time.Millisecond, func(context.Context, *envelopev1.Envelope) (*shepsdk.Answer, error) {
		// Ignore the deadline ШЭП passes on, as a hung provider would: answering at the deadline could
		// race ШЭП's own timeout.
		select {
		case <-slow:
		case <-time.After(10 * time.Second):
		}
		return &shepsdk.Answer{}, nil
	})
	_, err := s.admin.PutService(t.Context(), &shepv1.PutServiceRequest{Service: &shepv1.Service{
		Id: "DOWN", Provider: "gbdfl", Channel: shepv1.Channel_CHANNEL_SYNC, Endpoint: "127.0.0.1:1", TimeoutMs: 500}})
	require.NoError(t, err)
	liar := s.participant(t, "gbdfl", nil)
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(s.providerTLS(t, liar.Signer)...)
	shepv1.RegisterSyncChannelServiceServer(gs, liarProvider{c: liar})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	_, err = s.admin.PutService(t.Context(), &shepv1.PutServiceRequest{Service: &shepv1.Service{
		Id: "LIAR", Provider: "gbdfl", Channel: shepv1.Channel_CHANNEL_SYNC, Endpoint: lis.Addr().String()}})
	require.NoError(t, err)
	for _, svc := range []string{gbdflv1.ServicePerson, "SLOW", "DOWN", "LIAR"} {
		_, err = s.admin.Grant(t.Context(), &shepv1.GrantRequest{Sender: "tson", ServiceId: svc})
		require.NoError(t, err)
	}

	tson := s.participant(t, "tson", nil)
	revokedKey := s.ca.System(t, "tson")
	s.ca.Revoke(revokedKey.Cert, 1)
	expiredKey := s.ca.IssueAt(t, pki.Request{Profile: pki.System, Validity: time.Hour, Subject: pki.Subject{SystemID: "tson"}},
		pki.ECDSAP256, time.Now().Add(-3*time.Hour))
	person := s.ca.Person(t, "880512400011", pki.Sign)
	stranger := s.ca.System(t, "stranger")

	envelopeFor := func(sender, service string, typ envelopev1.MessageType) *envelopev1.Envelope {
		e, err := tson.Request(service, &gbdflv1.GetPersonRequest{Iin: "880512400011"})
		require.NoError(t, err)
		e.Sender, e.Type = sender, typ
		return e
	}
	signed := func(signer *envelope.Signer, e *envelopev1.Envelope) *envelopev1.SignedEnvelope {
		se, err := signer.SignEnvelope(e)
		require.NoError(t, err)
		return se
	}
	replay := signed(tson.Signer, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST))
	_, err = tson.Sync.SendMessage(t.Context(), &shepv1.SendMessageRequest{Envelope: replay})
	require.NoError(t, err)
	tampered := signed(tson.Signer, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST))
	tampered.Envelope[len(tampered.Envelope)-1] ^= 1
	big := envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)
	big.Payload = make([]byte, envelope.MaxSize)

	tests := []struct {
		name string
		se   *envelopev1.SignedEnvelope
		code string
	}{
		{"fail/unsigned", &envelopev1.SignedEnvelope{Envelope: signed(tson.Signer, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)).GetEnvelope()}, shepv1.CodeUnsigned},
		{"fail/badly signed", tampered, shepv1.CodeBadSignature},
		{"fail/malformed", &envelopev1.SignedEnvelope{Envelope: []byte{0xff, 0xff}, Signature: []byte{0x30}}, shepv1.CodeMalformed},
		{"fail/revoked sender", signed(revokedKey, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeCertRevoked},
		{"fail/expired sender", signed(expiredKey, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeCertExpired},
		{"fail/person key", signed(person, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeCertUsage},
		{"fail/impersonation", signed(stranger, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeSenderMismatch},
		{"fail/unregistered sender", signed(stranger, envelopeFor("stranger", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeUnknownSender},
		{"fail/unknown service", signed(tson.Signer, envelopeFor("tson", "NO_SUCH", envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeUnknownService},
		{"fail/async service", signed(tson.Signer, envelopeFor("tson", "GUARDIANSHIP_55", envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeWrongChannel},
		{"fail/ACL denial", signed(s.ca.System(t, "portal"), envelopeFor("portal", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeACLDenied},
		{"fail/sent in another participant's name", signed(s.ca.System(t, "portal"), envelopeFor("portal", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeSenderMismatch},
		{"fail/not a request", signed(tson.Signer, envelopeFor("tson", gbdflv1.ServicePerson, envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION)), shepv1.CodeBadHeader},
		{"fail/oversize", &envelopev1.SignedEnvelope{Envelope: make([]byte, envelope.MaxSize), Signature: []byte{1}}, shepv1.CodeOversize},
		{"fail/replayed message id", replay, shepv1.CodeDuplicate},
		{"fail/provider down", signed(tson.Signer, envelopeFor("tson", "DOWN", envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeProviderUnavailable},
		{"fail/provider timeout", signed(tson.Signer, envelopeFor("tson", "SLOW", envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeProviderTimeout},
		{"fail/answer not bound", signed(tson.Signer, envelopeFor("tson", "LIAR", envelopev1.MessageType_MESSAGE_TYPE_REQUEST)), shepv1.CodeBadResponse},
	}
	verifier := s.ca.Verifier(t, s.ca.Checker(time.Minute))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The TLS connection presents tson's certificate, the portal's for the ACL case: an envelope
			// signed by the portal but sent on tson's connection is refused.
			from := "tson"
			if tt.name == "fail/ACL denial" {
				from = "portal"
			}
			out, err := s.syncAs(t, from).SendMessage(t.Context(), &shepv1.SendMessageRequest{Envelope: tt.se})
			require.NoError(t, err, "a rejection is an answer, not a transport error")
			e, res, err := verifier.OpenEnvelope(t.Context(), out.GetEnvelope())
			require.NoError(t, err, "ШЭП signs its answers")
			require.Equal(t, "shep", res.Holder.Name)
			require.Equal(t, tt.code, e.GetStatus().GetCode(), e.GetStatus().GetMessage())
			require.NotEmpty(t, e.GetStatus().GetMessage())
			require.Equal(t, envelope.Hash(tt.se.GetEnvelope()), e.GetRequestHash())
		})
	}
	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk())
	db, err := pgx.Connect(t.Context(), s.dbURL)
	require.NoError(t, err)
	defer db.Close(t.Context())
	var rejected int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM shep.message_log WHERE event = 'REJECTED'`).Scan(&rejected))
	require.Equal(t, 15, rejected, "every rejection before routing is logged")
	var plain int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM shep.message_log WHERE reason LIKE '%880512400011%'`).Scan(&plain))
	require.Zero(t, plain, "no IIN in plain log columns")
	// Each failed check counts under its own code: the revoked sender's under CERT_REVOKED.
	require.Regexp(t, `egov_signature_checks_total\{[^}]*outcome="CERT_REVOKED"[^}]*purpose="envelope"[^}]*\} 1\n`, s.metrics(t))
	require.Regexp(t, `egov_ocsp_answers_total\{[^}]*status="revoked"[^}]*\} [1-9]`, s.metrics(t))
}

// liarProvider answers with a valid signature but a request_hash of another request.
type liarProvider struct {
	shepv1.UnimplementedSyncChannelServiceServer
	c *shepsdk.Client
}

func (l liarProvider) SendMessage(_ context.Context, _ *shepv1.SendMessageRequest) (*shepv1.SendMessageResponse, error) {
	se, err := l.c.Signer.SignEnvelope(&envelopev1.Envelope{MessageId: uuid.NewString(), Sender: "gbdfl",
		Type: envelopev1.MessageType_MESSAGE_TYPE_RESPONSE, RequestHash: envelope.Hash([]byte("another request")),
		MessageDate: timestamppb.Now(), Status: &envelopev1.Status{Code: shepv1.CodeSuccess}})
	return &shepv1.SendMessageResponse{Envelope: se}, err
}

// inbox collects what a participant receives.
type inbox struct {
	mu            sync.Mutex
	envelopes     []*envelopev1.Envelope
	notifications []*shepv1.DeliveryNotification
}

func (s *suite) receive(t *testing.T, c *shepsdk.Client, fail func(*envelopev1.Envelope) bool) *inbox {
	t.Helper()
	in := &inbox{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Receive(ctx, func(_ context.Context, d *shepsdk.Delivery) error {
			if d.Envelope != nil && fail != nil && fail(d.Envelope) {
				return io.ErrUnexpectedEOF
			}
			in.mu.Lock()
			defer in.mu.Unlock()
			if d.Envelope != nil {
				for _, e := range in.envelopes {
					if e.GetMessageId() == d.Envelope.GetMessageId() && e.GetSender() == d.Envelope.GetSender() {
						return nil // idempotent on message id, as a recipient must be
					}
				}
				in.envelopes = append(in.envelopes, d.Envelope)
			} else {
				in.notifications = append(in.notifications, d.Notification)
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return in
}

func (in *inbox) count() (int, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.envelopes), len(in.notifications)
}

func (in *inbox) notification(id string, state shepv1.MessageState) *shepv1.DeliveryNotification {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range in.notifications {
		if n.GetMessageId() == id && n.GetState() == state {
			return n
		}
	}
	return nil
}

func TestAsyncRoutingReceiptsAndAnswers(t *testing.T) {
	t.Parallel()
	s := start(t)
	portal, rshep := s.participant(t, "portal", nil), s.participant(t, "rshep-55", nil)
	portalIn, rshepIn := s.receive(t, portal, nil), s.receive(t, rshep, nil)

	req, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{Iin: "880512400011"})
	require.NoError(t, err)
	req.UserId = "KZ880512400011"
	for range 3 { // a re-send with the same message id is delivered once
		require.NoError(t, portal.Send(t.Context(), req))
	}
	require.Eventually(t, func() bool {
		return portalIn.notification(req.GetMessageId(), shepv1.MessageState_MESSAGE_STATE_DELIVERED) != nil
	},
		10*time.Second, 10*time.Millisecond, "the sender learns its message was delivered")
	n, _ := rshepIn.count()
	require.Equal(t, 1, n)

	st, err := shepv1.NewAsyncChannelServiceClient(s.conn(t, "portal")).GetMessageStatus(t.Context(), &shepv1.GetMessageStatusRequest{Sender: "portal", MessageId: req.GetMessageId()})
	require.NoError(t, err)
	require.Equal(t, shepv1.MessageState_MESSAGE_STATE_DELIVERED, st.GetNotification().GetState())
	require.Equal(t, "rshep-55", st.GetNotification().GetRecipient())

	// The provider answers with a NOTIFICATION on the same conversation.
	note := &envelopev1.Envelope{MessageId: uuid.NewString(), CorrelationId: req.GetMessageId(), ServiceId: "GUARDIANSHIP_55",
		Sender: "rshep-55", Recipient: "portal", Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION, MessageDate: timestamppb.Now()}
	require.NoError(t, rshep.Send(t.Context(), note))
	require.Eventually(t, func() bool { n, _ := portalIn.count(); return n == 1 }, 10*time.Second, 10*time.Millisecond)

	// A participant not granted the service cannot be sent a notification for it.
	_, err = s.admin.Revoke(t.Context(), &shepv1.RevokeRequest{Sender: "tson", ServiceId: "GUARDIANSHIP_55"})
	require.NoError(t, err)
	bad := proto.Clone(note).(*envelopev1.Envelope)
	bad.MessageId, bad.Recipient = uuid.NewString(), "tson"
	require.NoError(t, rshep.Send(t.Context(), bad))
	require.Eventually(t, func() bool {
		_, k := rshepIn.count()
		return rshepIn.notification(bad.GetMessageId(), shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED) != nil && k > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, shepv1.CodeACLDenied, rshepIn.notification(bad.GetMessageId(), shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED).GetStatus().GetCode())
}

func TestAsyncRejections(t *testing.T) {
	t.Parallel()
	s := start(t)
	portal, tson, rshep := s.participant(t, "portal", nil), s.participant(t, "tson", nil), s.participant(t, "rshep-55", nil)
	portalIn, rshepIn := s.receive(t, portal, nil), s.receive(t, rshep, nil)

	// Garbage on the subject.
	_, err := portal.JS.PublishMsg(t.Context(), natsbus.NewMsg(t.Context(), natsbus.InSubject("portal"), "garbage-1", []byte("not an envelope")))
	require.NoError(t, err)
	// Signed by tson, published on the portal's subject.
	e, err := tson.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{})
	require.NoError(t, err)
	se, err := tson.Signer.SignEnvelope(e)
	require.NoError(t, err)
	b, err := proto.Marshal(se)
	require.NoError(t, err)
	_, err = portal.JS.PublishMsg(t.Context(), natsbus.NewMsg(t.Context(), natsbus.InSubject("portal"), "spoof-1", b))
	require.NoError(t, err)
	// Unknown service, and a replayed id outside JetStream's duplicate window (a new Nats-Msg-Id).
	unknown, err := portal.Request("NO_SUCH", &gbdflv1.GetPersonRequest{})
	require.NoError(t, err)
	require.NoError(t, portal.Send(t.Context(), unknown))
	first, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{})
	require.NoError(t, err)
	require.NoError(t, portal.Send(t.Context(), first))
	require.Eventually(t, func() bool { n, _ := rshepIn.count(); return n == 1 }, 10*time.Second, 10*time.Millisecond)
	again, err := portal.Signer.SignEnvelope(first)
	require.NoError(t, err)
	b, err = proto.Marshal(again)
	require.NoError(t, err)
	_, err = portal.JS.PublishMsg(t.Context(), natsbus.NewMsg(t.Context(), natsbus.InSubject("portal"), "another-msg-id", b))
	require.NoError(t, err)

	codes := func() map[string]bool {
		portalIn.mu.Lock()
		defer portalIn.mu.Unlock()
		out := map[string]bool{}
		for _, n := range portalIn.notifications {
			if n.GetState() == shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED {
				out[n.GetStatus().GetCode()] = true
			}
		}
		return out
	}
	require.Eventually(t, func() bool {
		c := codes()
		return c[shepv1.CodeMalformed] && c[shepv1.CodeSenderMismatch] && c[shepv1.CodeUnknownService] && c[shepv1.CodeDuplicate]
	}, 10*time.Second, 10*time.Millisecond, "the sender is told why: %v", codes())
	// Each refusal names the bytes it refused, so the sender can tell a refusal of its message from one
	// of a copy under the same id.
	refused := func(code string) []byte {
		portalIn.mu.Lock()
		defer portalIn.mu.Unlock()
		for _, n := range portalIn.notifications {
			if n.GetStatus().GetCode() == code {
				return n.GetRefusedSha256()
			}
		}
		return nil
	}
	garbage, replay := sha256.Sum256([]byte("not an envelope")), sha256.Sum256(b)
	require.Equal(t, garbage[:], refused(shepv1.CodeMalformed))
	require.Equal(t, replay[:], refused(shepv1.CodeDuplicate))
	n, _ := rshepIn.count()
	require.Equal(t, 1, n, "nothing rejected was routed; the replay was not delivered twice")
	// The first copy's receipt may still be on its way: wait for DELIVERED, which the replay must not undo.
	require.Eventually(t, func() bool {
		st, err := shepv1.NewAsyncChannelServiceClient(s.conn(t, "portal")).GetMessageStatus(t.Context(), &shepv1.GetMessageStatusRequest{Sender: "portal", MessageId: first.GetMessageId()})
		return err == nil && st.GetNotification().GetState() == shepv1.MessageState_MESSAGE_STATE_DELIVERED
	}, 10*time.Second, 10*time.Millisecond, "the replay did not disturb the first")
}

func TestPoisonDeadLetterReplayDeliveredOnce(t *testing.T) {
	t.Parallel()
	s := start(t)
	portal, rshep := s.participant(t, "portal", nil), s.participant(t, "rshep-55", nil)
	portalIn := s.receive(t, portal, nil)
	var broken atomic.Bool
	broken.Store(true)
	var attempts atomic.Int32
	rshepIn := s.receive(t, rshep, func(*envelopev1.Envelope) bool { attempts.Add(1); return broken.Load() })

	req, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{Iin: "880512400011"})
	require.NoError(t, err)
	require.NoError(t, portal.Send(t.Context(), req))
	require.Eventually(t, func() bool {
		return portalIn.notification(req.GetMessageId(), shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED) != nil
	},
		20*time.Second, 20*time.Millisecond, "after the last attempt the sender is told")
	require.EqualValues(t, 3, attempts.Load(), "MaxDeliver is one more than the back-off delays")

	dl, err := s.admin.ListDeadLetters(t.Context(), &shepv1.ListDeadLettersRequest{Recipient: "rshep-55"})
	require.NoError(t, err)
	require.Len(t, dl.GetDeadLetters(), 1)
	d := dl.GetDeadLetters()[0]
	require.Equal(t, req.GetMessageId(), d.GetMessageId())
	require.Equal(t, "portal", d.GetSender())
	require.EqualValues(t, 3, d.GetDeliveries())

	broken.Store(false)
	_, err = s.admin.ReplayDeadLetter(t.Context(), &shepv1.ReplayDeadLetterRequest{Sequence: d.GetSequence()})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return portalIn.notification(req.GetMessageId(), shepv1.MessageState_MESSAGE_STATE_DELIVERED) != nil
	},
		10*time.Second, 10*time.Millisecond)
	n, _ := rshepIn.count()
	require.Equal(t, 1, n, "delivered once")
	dl, err = s.admin.ListDeadLetters(t.Context(), &shepv1.ListDeadLettersRequest{})
	require.NoError(t, err)
	require.Empty(t, dl.GetDeadLetters())
	_, err = s.admin.ReplayDeadLetter(t.Context(), &shepv1.ReplayDeadLetterRequest{Sequence: d.GetSequence()})
	require.Error(t, err, "a replayed dead letter is gone")
}

func TestLogTamperingIsFound(t *testing.T) {
	t.Parallel()
	s := start(t)
	portal, rshep := s.participant(t, "portal", nil), s.participant(t, "rshep-55", nil)
	portalIn := s.receive(t, portal, nil)
	s.receive(t, rshep, nil)
	for range 3 {
		req, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{})
		require.NoError(t, err)
		require.NoError(t, portal.Send(t.Context(), req))
	}
	require.Eventually(t, func() bool { _, k := portalIn.count(); return k == 3 }, 10*time.Second, 10*time.Millisecond)
	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk())
	require.EqualValues(t, 6, v.GetRecords())

	db, err := pgx.Connect(t.Context(), s.dbURL)
	require.NoError(t, err)
	defer db.Close(t.Context())
	_, err = db.Exec(t.Context(), `UPDATE shep.message_log SET code = 'forged' WHERE seq = 3`)
	require.ErrorContains(t, err, "append-only", "the table refuses updates")
	_, err = db.Exec(t.Context(), `ALTER TABLE shep.message_log DISABLE TRIGGER message_log_no_update;
		UPDATE shep.message_log SET recipient = 'elsewhere' WHERE seq = 3`)
	require.NoError(t, err, "a superuser can still tamper…")
	v, err = s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.False(t, v.GetOk(), "…and the chain shows it")
	require.EqualValues(t, 3, v.GetFirstBroken())
	require.Contains(t, v.GetProblem(), "hash")

	_, err = db.Exec(t.Context(), `UPDATE shep.message_log SET recipient = 'rshep-55' WHERE seq = 3; DELETE FROM shep.message_log WHERE seq = 4`)
	require.NoError(t, err)
	v, err = s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.EqualValues(t, 5, v.GetFirstBroken(), "a deleted record breaks the sequence")
}

// TestOneTracePerConversation: a span per hop, and the trace carried through gRPC metadata and NATS
// headers, so one request is one trace.
func TestOneTracePerConversation(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.provide(t, "gbdfl", gbdflv1.ServicePerson, 5*time.Second, personLookup)
	_, err := s.admin.Grant(t.Context(), &shepv1.GrantRequest{Sender: "tson", ServiceId: gbdflv1.ServicePerson})
	require.NoError(t, err)
	tson := s.participant(t, "tson", nil)
	conn, err := grpc.NewClient(s.grpc, mtls.Transport{}.Dial(s.ca.TLS(s.ca.System(t, "tson")), "shep"),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(s.tp))))
	require.NoError(t, err)
	defer conn.Close()
	tson.Sync = shepv1.NewSyncChannelServiceClient(conn)

	ctx, root := s.tp.Tracer("test").Start(t.Context(), "tson look-up")
	req, err := tson.Request(gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "880512400011"})
	require.NoError(t, err)
	_, err = tson.Call(ctx, req)
	require.NoError(t, err)
	root.End()
	tid := root.SpanContext().TraceID()
	rpcSpans := func() []string {
		var kinds []string
		for _, sp := range s.spans.Ended() {
			if sp.SpanContext().TraceID() == tid && sp.Name() == "egov.shep.v1.SyncChannelService/SendMessage" {
				kinds = append(kinds, sp.SpanKind().String())
			}
		}
		sort.Strings(kinds)
		return kinds
	}
	// A server span ends just after its answer is sent, so the last one may still be closing.
	require.Eventually(t, func() bool { return len(rpcSpans()) == 4 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"client", "client", "server", "server"}, rpcSpans(),
		"tson → ШЭП and ШЭП → ГБД ФЛ, each a client and a server span of one trace")

	// Async: the portal's trace continues in ШЭП's router and reaches the recipient's handler.
	portal, rshep := s.participant(t, "portal", nil), s.participant(t, "rshep-55", nil)
	got := make(chan trace.SpanContext, 1)
	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = rshep.Receive(rctx, func(ctx context.Context, d *shepsdk.Delivery) error {
			if d.Envelope != nil {
				got <- trace.SpanContextFromContext(ctx)
			}
			return nil
		})
	}()
	actx, send := s.tp.Tracer("test").Start(t.Context(), "portal submit")
	app1, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{})
	require.NoError(t, err)
	require.NoError(t, portal.Send(actx, app1))
	send.End()
	select {
	case sc := <-got:
		require.Equal(t, send.SpanContext().TraceID(), sc.TraceID())
	case <-time.After(time.Minute):
		t.Fatal("not delivered")
	}
	require.Eventually(t, func() bool {
		for _, sp := range s.spans.Ended() {
			if sp.Name() == "shep.route" && sp.Parent().SpanID() == send.SpanContext().SpanID() {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "ШЭП's routing span is a child of the sender's")
}

// TestStartFailureAfterSHEPStopsCleanly: when a service after ШЭП fails to start, the process stops what
// had started — ШЭП's log writer never ran, and stopping must not wait for it.
func TestStartFailureAfterSHEPStopsCleanly(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	dir := shepFiles(t, ca)
	cfg := shep.Config{KeyFile: filepath.Join(dir, "shep.p12"), KeyPassword: "secret1", TrustAnchors: filepath.Join(dir, "root.pem"),
		OCSPFreshness: time.Minute, Redelivery: []time.Duration{time.Second}, AckWait: time.Second}
	broken := app.Descriptor{Name: "broken", Start: func(context.Context, *app.Env) (*app.Unit, error) {
		return nil, errors.New("cannot start")
	}}
	done := make(chan error, 1)
	go func() {
		_, err := apptest.Start(t, natstest.New(t).ClientURL(), pgtest.URL(t), shep.Descriptor(cfg), broken)
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "cannot start")
	case <-time.After(time.Minute):
		t.Fatal("stopping after a failed start hung")
	}
}

// TestTransportAuth: ШЭП's participant API takes registered participants only, each identified by its
// TLS certificate, and its admin API, on its own listener, administrators only.
func TestTransportAuth(t *testing.T) {
	t.Parallel()
	s := start(t)
	revoked := s.ca.System(t, "tson")
	s.ca.Revoke(revoked.Cert, 1)
	admin := s.ca.TLS(s.ca.Employee(t, adminIIN, operatorBIN))
	pinned := s.ca.System(t, "pinned")
	sum := sha256.Sum256(pinned.Cert.Raw)
	_, err := s.admin.PutParticipant(t.Context(), &shepv1.PutParticipantRequest{Participant: &shepv1.Participant{Id: "pinned", CertificateSha256: sum[:]}})
	require.NoError(t, err)
	send := func(conn *grpc.ClientConn) error {
		_, err := shepv1.NewSyncChannelServiceClient(conn).SendMessage(t.Context(), &shepv1.SendMessageRequest{})
		return err
	}
	grant := func(conn *grpc.ClientConn) error {
		_, err := shepv1.NewShepAdminServiceClient(conn).Grant(t.Context(), &shepv1.GrantRequest{Sender: "portal", ServiceId: "GUARDIANSHIP_55"})
		return err
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{name: "ok/a registered participant calls ШЭП", call: func() error { return send(s.conn(t, "tson")) }},
		{name: "fail/no client certificate", call: func() error { return send(s.rn.Dial(t, "shep", s.ca.Anonymous())) },
			code: codes.Unauthenticated, msg: "no client certificate"},
		{name: "fail/an unregistered system", call: func() error { return send(s.conn(t, "stranger")) },
			code: codes.PermissionDenied, msg: "stranger is not a registered ШЭП participant"},
		{name: "ok/a participant with its pinned certificate", call: func() error { return send(s.rn.Dial(t, "shep", s.ca.TLS(pinned))) }},
		{name: "fail/a participant with another certificate than its pinned one", call: func() error { return send(s.conn(t, "pinned")) },
			code: codes.PermissionDenied, msg: "pinned presents a certificate other than its registered one"},
		{name: "fail/a revoked system certificate", call: func() error { return send(s.rn.Dial(t, "shep", s.ca.TLS(revoked))) },
			code: codes.Unauthenticated, msg: "was revoked"},
		{name: "fail/another participant's message status", call: func() error {
			_, err := shepv1.NewAsyncChannelServiceClient(s.conn(t, "tson")).GetMessageStatus(t.Context(),
				&shepv1.GetMessageStatusRequest{Sender: "portal", MessageId: "m-1"})
			return err
		}, code: codes.PermissionDenied, msg: "tson may not read the messages of portal"},
		{name: "fail/the admin API is not on the participants' listener", call: func() error { return grant(s.conn(t, "tson")) },
			code: codes.Unimplemented},
		{name: "fail/admin without a client certificate", call: func() error { return grant(s.rn.DialAdmin(t, "shep", s.ca.Anonymous())) },
			code: codes.Unauthenticated, msg: "no client certificate"},
		{name: "fail/admin with a participant's certificate", call: func() error {
			return grant(s.rn.DialAdmin(t, "shep", s.ca.TLS(s.ca.System(t, "portal"))))
		}, code: codes.PermissionDenied, msg: "portal presents a system certificate"},
		{name: "ok/admin with the administrator's certificate", call: func() error { return grant(s.rn.DialAdmin(t, "shep", admin)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.msg)
		})
	}
}

// connect makes the suite's connections to ШЭП now and waits until they are up.
func (s *suite) connect() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range s.conns {
		c.Connect()
		for st := c.GetState(); st != connectivity.Ready; st = c.GetState() {
			if !c.WaitForStateChange(ctx, st) {
				return
			}
		}
	}
}

// TestConsumerLagMetric: what ШЭП routed to a recipient and the recipient has not yet taken shows, by
// recipient, on /metrics; it falls back to zero once the recipient takes it.
func TestConsumerLagMetric(t *testing.T) {
	t.Parallel()
	s := start(t)
	portal, rshep := s.participant(t, "portal", nil), s.participant(t, "rshep-55", nil)
	for i := range 2 {
		req, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{Iin: "880512400011"})
		require.NoError(t, err)
		req.UserId = "KZ880512400011"
		req.MessageId = fmt.Sprintf("lag-%d", i)
		require.NoError(t, portal.Send(t.Context(), req))
	}
	lag := regexp.MustCompile(`egov_shep_consumer_lag\{[^}]*recipient="rshep-55"[^}]*\} (\d+)`)
	value := func() string {
		if m := lag.FindStringSubmatch(s.metrics(t)); m != nil {
			return m[1]
		}
		return ""
	}
	require.Eventually(t, func() bool { return value() == "2" }, 10*time.Second, 20*time.Millisecond,
		"fail/two routed, none taken: the recipient lags by two")
	rshepIn := s.receive(t, rshep, nil)
	require.Eventually(t, func() bool { n, _ := rshepIn.count(); return n == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return value() == "0" }, 10*time.Second, 20*time.Millisecond, "ok/taken and acknowledged")
}
