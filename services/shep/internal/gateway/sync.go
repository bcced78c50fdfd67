package gateway

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/mtls"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// Metadata keys ШЭП sets when it forwards a sync request to a provider.
const (
	MetadataSession = shepv1.MetadataSession
	MetadataSender  = shepv1.MetadataSender
)

// SyncServer is the sync channel.
type SyncServer struct {
	shepv1.UnimplementedSyncChannelServiceServer
	g *Gateway
}

// Sync returns the sync channel's gRPC server.
func (g *Gateway) Sync() *SyncServer { return &SyncServer{g: g} }

// SendMessage admits a REQUEST, forwards the sender's signed envelope unchanged to the provider's
// endpoint with a deadline, checks the provider's signed answer (its signature, that the provider signed
// it, and that its request_hash is the hash of this very request) and returns it. Any failure comes back
// as a RESPONSE signed by ШЭП with a status code, never as a bare transport error.
func (s *SyncServer) SendMessage(ctx context.Context, req *shepv1.SendMessageRequest) (*shepv1.SendMessageResponse, error) {
	g := s.g
	start := g.o.Now()
	se := req.GetEnvelope()
	session := newSession()
	// The TLS peer is the sender: a participant cannot send in another's name.
	peerID := ""
	if p, ok := mtls.PeerFrom(ctx); ok {
		peerID = p.Holder.Name
	}
	a, e, rej := g.admit(ctx, "sync", se, peerID)
	if rej == nil && e.GetType() != envelopev1.MessageType_MESSAGE_TYPE_REQUEST {
		rej = reject(CodeBadHeader, "the sync channel takes REQUESTs, not %v", e.GetType())
	}
	sender := ""
	if e != nil {
		sender = e.GetSender()
	}
	if rej == nil {
		if e.GetCorrelationId() == "" {
			e.CorrelationId = e.GetMessageId()
		}
		err := g.record(ctx, g.logEntry("sync", "ACCEPTED", e, se, a.sender, a.recipient, session, CodeSuccess, ""), store.Op{
			Insert: &store.Message{Sender: a.sender, MessageID: e.GetMessageId(), CorrelationID: e.GetCorrelationId(),
				SessionID: session, ServiceID: a.service.ID, Recipient: a.recipient, State: "ON_DELIVERY", UpdatedAt: g.o.Now()}})
		switch {
		case errors.Is(err, store.ErrDuplicate):
			rej = reject(CodeDuplicate, "message id %s was already sent by %s", e.GetMessageId(), a.sender)
		case err != nil:
			g.o.Log.ErrorContext(ctx, "sync: cannot record", "err", err)
			rej = reject(CodeInternal, "the message log is unavailable")
		}
	}
	if rej != nil {
		g.countRejection(ctx, "sync", rej)
		if err := g.record(ctx, g.logEntry("sync", "REJECTED", e, se, sender, "", session, rej.code, rej.reason), store.Op{}); err != nil {
			g.o.Log.ErrorContext(ctx, "sync: cannot log a rejection", "err", err)
		}
		return g.answer(e, se, session, rej)
	}

	resp, rej := g.forward(ctx, a, session)
	state, code, reason := "DELIVERED", CodeSuccess, ""
	if rej != nil {
		state, code, reason = "NOT_DELIVERED", rej.code, rej.reason
		g.countRejection(ctx, "sync", rej)
	} else {
		g.accepted.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", "sync"), attribute.String("service", a.service.ID)))
	}
	g.latency.Record(ctx, g.o.Now().Sub(start).Seconds(), metric.WithAttributes(attribute.String("service", a.service.ID)))
	respEnv := e
	if resp != nil {
		respEnv = resp.env
	}
	// From: once the sweep (SweepInterrupted) has closed a call this replica took too long to record,
	// the late outcome changes nothing: a call has one final record.
	err := g.record(ctx, g.logEntry("sync", state, respEnv, se, a.sender, a.recipient, session, code, reason), store.Op{
		Update: &store.StateChange{Sender: a.sender, MessageID: e.GetMessageId(), State: state, Code: code, Reason: reason, At: g.o.Now(),
			From: "ON_DELIVERY"}})
	if errors.Is(err, store.ErrUnchanged) {
		g.o.Log.WarnContext(ctx, "sync: the outcome came after the call was closed as interrupted", "message_id", e.GetMessageId(), "state", state)
	} else if err != nil {
		g.o.Log.ErrorContext(ctx, "sync: cannot record the outcome", "err", err)
	}
	if rej != nil {
		return g.answer(e, se, session, rej)
	}
	return &shepv1.SendMessageResponse{Envelope: resp.raw}, nil
}

type providerAnswer struct {
	env *envelopev1.Envelope
	raw *envelopev1.SignedEnvelope
}

func (g *Gateway) forward(ctx context.Context, a *admitted, session string) (*providerAnswer, *rejection) {
	conn, err := g.provider(a.service.Endpoint, a.service.Provider)
	if err != nil {
		return nil, reject(CodeProviderUnavailable, "%s: %v", a.service.Endpoint, err)
	}
	timeout := time.Duration(a.service.TimeoutMS) * time.Millisecond
	cctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, MetadataSession, session, MetadataSender, a.sender), timeout)
	defer cancel()
	out, err := shepv1.NewSyncChannelServiceClient(conn).SendMessage(cctx, &shepv1.SendMessageRequest{Envelope: a.raw})
	if err != nil {
		if status.Code(err) == codes.DeadlineExceeded || errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return nil, reject(CodeProviderTimeout, "%s did not answer within %v", a.service.Provider, timeout)
		}
		return nil, reject(CodeProviderUnavailable, "%s: %v", a.service.Provider, status.Convert(err).Message())
	}
	re, res, err := g.o.Verifier.OpenEnvelope(ctx, out.GetEnvelope())
	if err != nil {
		return nil, reject(CodeBadResponse, "the provider's signature: %v", err)
	}
	switch {
	case res.Holder.Name != a.service.Provider:
		return nil, reject(CodeBadResponse, "answer signed by %s, not by the provider %s", res.Holder.Name, a.service.Provider)
	case re.GetType() != envelopev1.MessageType_MESSAGE_TYPE_RESPONSE:
		return nil, reject(CodeBadResponse, "answer of type %v", re.GetType())
	case !bytes.Equal(re.GetRequestHash(), envelope.Hash(a.raw.GetEnvelope())):
		return nil, reject(CodeBadResponse, "the answer's request_hash does not bind it to this request")
	}
	return &providerAnswer{env: re, raw: out.GetEnvelope()}, nil
}

func (g *Gateway) provider(target, provider string) (*grpc.ClientConn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := provider + "@" + target
	if c, ok := g.providers[key]; ok {
		return c, nil
	}
	c, err := g.o.DialProvider(target, provider)
	if err != nil {
		return nil, err
	}
	g.providers[key] = c
	return c, nil
}

// SweepInterrupted runs until ctx ends: every interval it closes the sync calls left «в доставке» by a
// replica that stopped (or lost its database) between forwarding a call and recording its outcome. Such
// a call's sender got no answer from ШЭП (its connection broke or timed out); the call is recorded
// NOT_DELIVERED with E_INTERNAL and the reason, once its service's timeout and grace have passed, so no
// replica still forwarding it can be overtaken. Every replica sweeps; the From condition makes one win.
func (g *Gateway) SweepInterrupted(ctx context.Context) error {
	interval, grace := g.o.SweepInterval, g.o.SweepGrace
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if grace <= 0 {
		grace = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := g.CloseInterrupted(ctx, grace); err != nil {
				g.o.Log.WarnContext(ctx, "sync: cannot close interrupted calls; retried at the next sweep", "err", err)
			}
		}
	}
}

// interruptedReason is the reason recorded for a call closed by the sweep.
const interruptedReason = "ШЭП stopped before it recorded the outcome of this call; the sender got no answer"

// CloseInterrupted records every interrupted sync call NOT_DELIVERED (see SweepInterrupted) and
// returns how many this replica closed.
func (g *Gateway) CloseInterrupted(ctx context.Context, grace time.Duration) (int, error) {
	calls, err := g.store.InterruptedCalls(ctx, g.o.Now(), grace)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, m := range calls {
		rec := store.LogRecord{At: g.o.Now(), Channel: "sync", Event: "NOT_DELIVERED", Sender: m.Sender, Recipient: m.Recipient,
			ServiceID: m.ServiceID, MessageID: m.MessageID, SessionID: m.SessionID, Code: CodeInternal, Reason: interruptedReason}
		err := g.record(ctx, rec, store.Op{Update: &store.StateChange{Sender: m.Sender, MessageID: m.MessageID,
			State: "NOT_DELIVERED", Code: CodeInternal, Reason: interruptedReason, At: g.o.Now(), From: "ON_DELIVERY"}})
		switch {
		case errors.Is(err, store.ErrUnchanged):
			// Another replica's sweep, or the late outcome, came first.
		case err != nil:
			return closed, err
		default:
			closed++
			g.o.Log.InfoContext(ctx, "sync: an interrupted call closed", "sender", m.Sender, "message_id", m.MessageID, "service", m.ServiceID)
		}
	}
	return closed, nil
}

// Close stops the log writer (after the servers and consumers have stopped) and closes the provider
// connections.
func (g *Gateway) Close() error {
	g.mu.Lock()
	g.closed = true
	writing := g.writing
	g.mu.Unlock()
	close(g.quit)
	if writing {
		<-g.stopped
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, c := range g.providers {
		errs = append(errs, c.Close())
	}
	g.providers = map[string]*grpc.ClientConn{}
	return errors.Join(errs...)
}

// answer is ШЭП's own signed RESPONSE carrying a rejection.
func (g *Gateway) answer(req *envelopev1.Envelope, se *envelopev1.SignedEnvelope, session string, rej *rejection) (*shepv1.SendMessageResponse, error) {
	e := &envelopev1.Envelope{
		MessageId: uuid.NewString(), SessionId: session, Sender: g.id, Type: envelopev1.MessageType_MESSAGE_TYPE_RESPONSE,
		MessageDate: timestamppb.New(g.o.Now()), RequestHash: envelope.Hash(se.GetEnvelope()),
		Status: &envelopev1.Status{Code: rej.code, Message: Message(rej.code) + ": " + truncate(rej.reason, 400)},
	}
	if req != nil {
		e.CorrelationId, e.ServiceId, e.Recipient = req.GetCorrelationId(), truncate(req.GetServiceId(), 64), truncate(req.GetSender(), 64)
		if e.CorrelationId == "" {
			e.CorrelationId = truncate(req.GetMessageId(), 64)
		}
	}
	signed, err := g.o.Signer.SignEnvelope(e)
	if err != nil {
		g.o.Log.Error("sync: cannot sign an answer", "err", err)
		return nil, status.Error(codes.Internal, Message(CodeInternal))
	}
	return &shepv1.SendMessageResponse{Envelope: signed}, nil
}
