package gateway

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/shep/internal/checkpoint"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// Options configure the gateway.
type Options struct {
	Pool     *pgxpool.Pool
	Verifier *envelope.Verifier
	// Signer is ШЭП's own system key: it signs the gateway's answers (rejections on the sync channel).
	Signer *envelope.Signer
	Bus    *natsbus.Bus
	// Redelivery of the recipients' consumers.
	Redelivery natsbus.Redelivery
	Now        func() time.Time
	Log        *slog.Logger
	Meter      metric.Meter
	Tracer     trace.Tracer
	// Workers bounds how many envelopes the router handles at once; 32 when zero.
	Workers int
	// DialProvider opens a connection to provider's sync endpoint at target (over mutual TLS, checking
	// that the server is provider).
	DialProvider func(target, provider string) (*grpc.ClientConn, error)
	// TSA time-stamps the message log's checkpoints (НУЦ's RFC 3161 service).
	TSA checkpoint.TimeStamper
	// Checkpoints verifies checkpoints: ШЭП's signature and НУЦ's time-stamp.
	Checkpoints *checkpoint.Verifier
	// CheckpointInterval is how often the log's head is checkpointed; a minute when zero.
	CheckpointInterval time.Duration
	// SweepInterval is how often interrupted sync calls are looked for, SweepGrace how long past its
	// service's timeout a call must be before it counts as interrupted; 30 s each when zero.
	SweepInterval, SweepGrace time.Duration
}

// Gateway is a running ШЭП.
type Gateway struct {
	o     Options
	store *store.Store
	id    string

	mu        sync.Mutex
	reg       *registry
	regAt     time.Time
	providers map[string]*grpc.ClientConn

	logq    chan logItem
	quit    chan struct{}
	stopped chan struct{}
	// writing and closed (under mu) let Close tell a running log writer from one that never started,
	// as when the process fails to start and is stopped before its workers ran.
	writing, closed bool

	// cpMu serialises this replica's checkpoints (replicas race on the checkpoint's number).
	cpMu sync.Mutex

	accepted    metric.Int64Counter
	rejected    metric.Int64Counter
	latency     metric.Float64Histogram
	checkpoints metric.Int64Counter
}

// registry is a snapshot of participants, services and grants.
type registry struct {
	participants map[string]store.Participant
	services     map[string]store.Service
	grants       map[[2]string]bool
}

// registryTTL bounds how long a replica serves a registry snapshot after another replica changed it.
const registryTTL = 2 * time.Second

// New returns a gateway.
func New(o Options) (*Gateway, error) {
	g := &Gateway{o: o, store: store.New(o.Pool), providers: map[string]*grpc.ClientConn{},
		logq: make(chan logItem, maxBatch), quit: make(chan struct{}), stopped: make(chan struct{})}
	if o.Workers <= 0 {
		g.o.Workers = 32
	}
	g.id = envelope.HolderOf(o.Signer.Cert).Name
	var err error
	if g.accepted, err = o.Meter.Int64Counter("egov.shep.envelopes.accepted", metric.WithDescription("Envelopes ШЭП accepted, by channel and service")); err != nil {
		return nil, err
	}
	if g.rejected, err = o.Meter.Int64Counter("egov.shep.envelopes.rejected", metric.WithDescription("Envelopes ШЭП rejected, by channel and code")); err != nil {
		return nil, err
	}
	// Buckets in seconds: the SDK's default boundaries (0, 5, 10, 25 … 10000) suit milliseconds, and put
	// every hop of ШЭП, a few milliseconds to a provider's deadline, in the first bucket.
	if g.latency, err = o.Meter.Float64Histogram("egov.shep.latency", metric.WithUnit("s"),
		metric.WithDescription("Time from arrival to routing (async) or to the provider's answer (sync), by service"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)); err != nil {
		return nil, err
	}
	if g.checkpoints, err = o.Meter.Int64Counter("egov.shep.log.checkpoints",
		metric.WithDescription("Attempts to checkpoint the message log, by outcome (made, nothing new, failed)")); err != nil {
		return nil, err
	}
	if _, err = o.Meter.Int64ObservableGauge("egov.shep.consumer.lag", metric.WithUnit("{message}"),
		metric.WithDescription("Messages routed to a recipient and not yet acknowledged by it (waiting or in its hands), by recipient"),
		metric.WithInt64Callback(g.observeLag)); err != nil {
		return nil, err
	}
	return g, nil
}

// observeLag reads, when the metrics are collected, every registered participant's consumer on
// SHEP_OUT: what waits for it and what it holds unacknowledged. A recipient that stopped taking its
// deliveries shows here long before its messages reach the dead letters.
func (g *Gateway) observeLag(ctx context.Context, o metric.Int64Observer) error {
	if g.o.Bus == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ps, err := g.store.Participants(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		cons, err := g.o.Bus.JS.Consumer(ctx, natsbus.StreamOut, natsbus.ConsumerName(p.ID))
		if err != nil {
			continue // not registered for async deliveries yet, or NATS away: nothing to report
		}
		info := cons.CachedInfo()
		o.Observe(int64(info.NumPending)+int64(info.NumAckPending), metric.WithAttributes(attribute.String("recipient", p.ID))) //nolint:gosec // message counts
	}
	return nil
}

// Store exposes the store to the admin API.
func (g *Gateway) Store() *store.Store { return g.store }

// InvalidateRegistry drops the cached registry after a change.
func (g *Gateway) InvalidateRegistry() {
	g.mu.Lock()
	g.reg = nil
	g.mu.Unlock()
}

func (g *Gateway) registry(ctx context.Context) (*registry, error) {
	g.mu.Lock()
	if g.reg != nil && g.o.Now().Sub(g.regAt) < registryTTL {
		r := g.reg
		g.mu.Unlock()
		return r, nil
	}
	g.mu.Unlock()
	ps, err := g.store.Participants(ctx)
	if err != nil {
		return nil, err
	}
	ss, err := g.store.Services(ctx)
	if err != nil {
		return nil, err
	}
	gs, err := g.store.Grants(ctx)
	if err != nil {
		return nil, err
	}
	r := &registry{participants: map[string]store.Participant{}, services: map[string]store.Service{}, grants: map[[2]string]bool{}}
	for _, p := range ps {
		r.participants[p.ID] = p
	}
	for _, s := range ss {
		r.services[s.ID] = s
	}
	for _, gr := range gs {
		r.grants[gr] = true
	}
	g.mu.Lock()
	g.reg, g.regAt = r, g.o.Now()
	g.mu.Unlock()
	return r, nil
}

// rejection is why an envelope was not accepted.
type rejection struct {
	code   string
	reason string
}

func (r *rejection) Error() string { return r.code + ": " + r.reason }

func reject(code, format string, args ...any) *rejection {
	return &rejection{code: code, reason: fmt.Sprintf(format, args...)}
}

// admitted is an envelope that passed every check, with where it goes.
type admitted struct {
	env       *envelopev1.Envelope
	raw       *envelopev1.SignedEnvelope
	sender    string
	recipient string
	service   store.Service
}

// admit runs every check of an incoming envelope. subjectSender is the participant the envelope came
// from as the transport knows it: whose NATS subject it arrived on (async), or whose certificate the
// sync call's TLS connection presented; "" when the transport does not say (EGOV_INTERNAL_TLS=off). The returned envelope, when any, is set even on rejection
// as far as it could be read.
func (g *Gateway) admit(ctx context.Context, channel string, se *envelopev1.SignedEnvelope, subjectSender string) (*admitted, *envelopev1.Envelope, *rejection) {
	if len(se.GetEnvelope())+len(se.GetSignature()) > envelope.MaxSize {
		return nil, nil, reject(CodeOversize, "%d bytes; at most %d", len(se.GetEnvelope())+len(se.GetSignature()), envelope.MaxSize)
	}
	if len(se.GetEnvelope()) == 0 {
		return nil, nil, reject(CodeMalformed, "empty envelope")
	}
	if len(se.GetSignature()) == 0 {
		e, _ := envelope.Unmarshal(se.GetEnvelope())
		return nil, e, reject(CodeUnsigned, "no signature")
	}
	e, res, err := g.o.Verifier.OpenEnvelope(ctx, se)
	if err != nil {
		partial, _ := envelope.Unmarshal(se.GetEnvelope())
		return nil, partial, reject(codeFor(err), "%v", err)
	}
	sender := res.Holder.Name
	reg, err := g.registry(ctx)
	if err != nil {
		return nil, e, reject(CodeInternal, "registry: %v", err)
	}
	p, ok := reg.participants[sender]
	if !ok {
		return nil, e, reject(CodeUnknownSender, "participant %q is not registered", sender)
	}
	if len(p.CertificateSHA256) > 0 {
		if sum := sha256.Sum256(res.Signer.Raw); string(sum[:]) != string(p.CertificateSHA256) {
			return nil, e, reject(CodeSenderMismatch, "participant %q signs with a certificate other than its registered one", sender)
		}
	}
	if subjectSender != "" && subjectSender != sender {
		if channel == "sync" {
			return nil, e, reject(CodeSenderMismatch, "sent by %s (its TLS certificate), signed by %s: a participant sends in its own name only", subjectSender, sender)
		}
		return nil, e, reject(CodeSenderMismatch, "published on %s's subject, signed by %s", subjectSender, sender)
	}
	if e.GetSender() == "" {
		return nil, e, reject(CodeBadHeader, "sender is empty")
	}
	if err := checkID("message_id", e.GetMessageId()); err != nil {
		return nil, e, reject(CodeBadHeader, "%v", err)
	}
	svc, ok := reg.services[e.GetServiceId()]
	if !ok {
		return nil, e, reject(CodeUnknownService, "service %q is not registered", e.GetServiceId())
	}
	if svc.Channel != channel {
		return nil, e, reject(CodeWrongChannel, "service %q is %s, called on the %s channel", svc.ID, svc.Channel, channel)
	}
	a := &admitted{env: e, raw: se, sender: sender, service: svc}
	switch e.GetType() {
	case envelopev1.MessageType_MESSAGE_TYPE_REQUEST, envelopev1.MessageType_MESSAGE_TYPE_UPDATE:
		if !reg.grants[[2]string{sender, svc.ID}] {
			return nil, e, reject(CodeACLDenied, "%s may not call %s", sender, svc.ID)
		}
		if e.GetType() == envelopev1.MessageType_MESSAGE_TYPE_UPDATE && e.GetCorrelationId() == "" {
			return nil, e, reject(CodeBadHeader, "an UPDATE must carry the correlation id of its REQUEST")
		}
		a.recipient = svc.Provider
	case envelopev1.MessageType_MESSAGE_TYPE_RESPONSE, envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION:
		if channel == "sync" {
			return nil, e, reject(CodeBadHeader, "the sync channel takes REQUESTs")
		}
		if svc.Provider != sender {
			return nil, e, reject(CodeACLDenied, "only the provider of %s answers on it", svc.ID)
		}
		if e.GetCorrelationId() == "" {
			return nil, e, reject(CodeBadHeader, "a %s must carry the correlation id of its REQUEST", e.GetType())
		}
		if _, ok := reg.participants[e.GetRecipient()]; !ok {
			return nil, e, reject(CodeUnknownRecipient, "recipient %q is not registered", e.GetRecipient())
		}
		if !reg.grants[[2]string{e.GetRecipient(), svc.ID}] {
			return nil, e, reject(CodeACLDenied, "%s is not a client of %s", e.GetRecipient(), svc.ID)
		}
		a.recipient = e.GetRecipient()
	default:
		return nil, e, reject(CodeBadHeader, "message type %v", e.GetType())
	}
	return a, e, nil
}

func checkID(name, v string) error {
	if v == "" || len(v) > 64 {
		return fmt.Errorf("%s must have 1 to 64 characters", name)
	}
	for _, r := range v {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return fmt.Errorf("%s %q: letters, digits, '-' and '_' only", name, v)
		}
	}
	return nil
}

// logEntry builds a message-log record; personal data stays behind the digests.
func (g *Gateway) logEntry(channel, event string, e *envelopev1.Envelope, se *envelopev1.SignedEnvelope, sender, recipient, session, code, reason string) store.LogRecord {
	r := store.LogRecord{
		At: g.o.Now(), Channel: channel, Event: event, Sender: sender, Recipient: recipient, SessionID: session,
		Code: code, Reason: truncate(reason, 500),
	}
	if se != nil {
		sum := sha256.Sum256(se.GetEnvelope())
		r.EnvelopeSHA256 = sum[:]
	}
	if e != nil {
		r.ServiceID, r.MessageID, r.MessageType = truncate(e.GetServiceId(), 64), truncate(e.GetMessageId(), 64), e.GetType().String()
		sum := sha256.Sum256(e.GetPayload())
		r.PayloadSHA256 = sum[:]
		if r.Recipient == "" {
			r.Recipient = e.GetRecipient()
		}
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// countRejection logs and counts a rejection.
func (g *Gateway) countRejection(ctx context.Context, channel string, rej *rejection) {
	g.rejected.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", channel), attribute.String("code", rej.code)))
	g.o.Log.InfoContext(ctx, "envelope rejected", "channel", channel, "code", rej.code, "reason", rej.reason)
}

func newSession() string { return uuid.NewString() }

// AllowPeer is the policy of ШЭП's participant API: any system registered as a participant may call.
func (g *Gateway) AllowPeer(ctx context.Context, p mtls.Peer) error {
	if !p.Holder.System {
		return status.Errorf(codes.PermissionDenied, "%s holds no system certificate: only ШЭП participants may call", p.Name())
	}
	reg, err := g.registry(ctx)
	if err != nil {
		return status.Error(codes.Unavailable, "ШЭП's registry is unavailable")
	}
	reg0, ok := reg.participants[p.Holder.Name]
	if !ok {
		return status.Errorf(codes.PermissionDenied, "%s is not a registered ШЭП participant", p.Name())
	}
	// A participant that pinned its certificate connects with that certificate only, as it signs.
	if len(reg0.CertificateSHA256) > 0 {
		if sum := sha256.Sum256(p.Cert.Raw); string(sum[:]) != string(reg0.CertificateSHA256) {
			return status.Errorf(codes.PermissionDenied, "%s presents a certificate other than its registered one (serial %s)",
				p.Name(), p.Cert.SerialNumber.Text(16))
		}
	}
	return nil
}
