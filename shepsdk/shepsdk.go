// Package shepsdk is a participant's side of ШЭП (шлюз электронного правительства, the e-government
// gateway), for an information system outside the repository and for the suite's own systems alike:
// call a sync service, send an async envelope, take deliveries (acknowledging after the caller's own
// commit and sending the delivery receipt), and serve a sync service as a provider. Every envelope it
// sends is signed with the participant's system key; every one it takes is verified.
//
// Its API holds only public types: the envelope package, the generated contracts under proto/, gRPC and
// the nats.go JetStream API. ШЭП's names (status codes, subjects, headers) are those of shepv1.
package shepsdk

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// Client is one participant's connection to ШЭП.
type Client struct {
	// ID is the participant id (the CN of Signer's certificate).
	ID string
	// Signer is the participant's system key.
	Signer *envelope.Signer
	// Verifier checks what arrives.
	Verifier *envelope.Verifier
	// Roots are НУЦ's root certificates, which the TLS peers' chains must reach (ClientTLS, ServerTLS).
	Roots []*x509.Certificate
	// Status checks the TLS peers' certificates for revocation; nil skips the check.
	Status envelope.StatusChecker
	// Sync is ШЭП's sync channel.
	Sync shepv1.SyncChannelServiceClient
	// JS is JetStream on the participant's NATS connection (see Connect); nil for a participant that
	// uses the sync channel only.
	JS jetstream.JetStream
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Workers handle deliveries at once (1 when zero). More than one is for a handler that is idempotent
	// and safe under concurrency, and does not need the deliveries in order.
	Workers int
}

// errNoJetStream is the error of an async call on a client made for the sync channel only.
var errNoJetStream = errors.New("shepsdk: the client has no NATS connection (set Client.JS, see Connect)")

func (c *Client) js() (jetstream.JetStream, error) {
	if c.JS == nil {
		return nil, errNoJetStream
	}
	return c.JS, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// StatusError is a non-success status in an answer, from ШЭП or the provider.
type StatusError struct {
	Code    string
	Message string
	// Envelope is the answer that carried it.
	Envelope *envelopev1.Envelope
}

func (e *StatusError) Error() string { return e.Code + ": " + e.Message }

// Request builds a REQUEST envelope from this participant to service with payload.
func (c *Client) Request(service string, payload proto.Message) (*envelopev1.Envelope, error) {
	b, err := proto.Marshal(payload)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	return &envelopev1.Envelope{
		MessageId: id, CorrelationId: id, ServiceId: service, ServiceVersion: "1", Sender: c.ID,
		Type: envelopev1.MessageType_MESSAGE_TYPE_REQUEST, MessageDate: timestamppb.New(c.now()),
		PayloadType: string(payload.ProtoReflect().Descriptor().FullName()), Payload: b,
	}, nil
}

// Call sends a REQUEST on the sync channel and returns the provider's RESPONSE after checking its
// signature and that it answers this very request. A non-success status is a *StatusError.
func (c *Client) Call(ctx context.Context, req *envelopev1.Envelope) (*envelopev1.Envelope, error) {
	se, err := c.Signer.SignEnvelope(req)
	if err != nil {
		return nil, err
	}
	out, err := c.Sync.SendMessage(ctx, &shepv1.SendMessageRequest{Envelope: se})
	if err != nil {
		return nil, fmt.Errorf("shepsdk: %w", err)
	}
	resp, _, err := c.Verifier.OpenEnvelope(ctx, out.GetEnvelope())
	if err != nil {
		return nil, fmt.Errorf("shepsdk: the answer: %w", err)
	}
	if !bytes.Equal(resp.GetRequestHash(), envelope.Hash(se.GetEnvelope())) {
		return nil, errors.New("shepsdk: the answer's request_hash does not match the request")
	}
	if st := resp.GetStatus(); st.GetCode() != shepv1.CodeSuccess {
		return resp, &StatusError{Code: st.GetCode(), Message: st.GetMessage(), Envelope: resp}
	}
	return resp, nil
}

// Send signs e and publishes it to shep.in.<self>; the message id de-duplicates a re-send.
func (c *Client) Send(ctx context.Context, e *envelopev1.Envelope) error {
	se, err := c.Signer.SignEnvelope(e)
	if err != nil {
		return err
	}
	b, err := proto.Marshal(se)
	if err != nil {
		return err
	}
	return c.Publish(ctx, e.GetMessageId(), b)
}

// Publish publishes an envelope signed before (a SignedEnvelope, binary) under its message id: an
// outbox re-sends the very bytes it stored, and ШЭП drops the repeat.
func (c *Client) Publish(ctx context.Context, messageID string, signed []byte) error {
	js, err := c.js()
	if err != nil {
		return err
	}
	_, err = js.PublishMsg(ctx, NewMsg(ctx, shepv1.InSubject(c.ID), messageID, signed))
	return err
}

// Delivery is one message taken from ШЭП.
type Delivery struct {
	// Envelope is set for a routed envelope, verified.
	Envelope *envelopev1.Envelope
	// Signed is its signed form, as the sender signed it.
	Signed *envelopev1.SignedEnvelope
	// Notification is set for a delivery notification about a message this participant sent.
	Notification *shepv1.DeliveryNotification
	// Session is the session ШЭП assigned.
	Session string
	// Attempt counts deliveries of this message, from 1.
	Attempt uint64
}

// Handler processes a delivery; it returns nil once its own commit is done. An error makes ШЭП deliver
// again after the back-off, until the last attempt, after which the message goes to the dead letters.
type Handler func(ctx context.Context, d *Delivery) error

// Receive takes deliveries until ctx ends. An envelope whose signature fails is not passed to handle:
// it is left to be retried and, in the end, dead-lettered, where an operator sees it. When ctx ends the
// consumer is drained, not cancelled: no new delivery is pulled, and a delivery being handled finishes
// with a context that is not cancelled (its commit and ack go through) before Receive returns; the
// process's shutdown timeout bounds the wait.
func (c *Client) Receive(ctx context.Context, handle Handler) error {
	js, err := c.js()
	if err != nil {
		return err
	}
	cons, err := js.Consumer(ctx, shepv1.StreamOut, shepv1.ConsumerName(c.ID))
	if err != nil {
		return fmt.Errorf("shepsdk: consumer of %s: %w", c.ID, err)
	}
	// A failed delivery is asked for again after the consumer's own back-off.
	backoff := cons.CachedInfo().Config.BackOff
	hctx := context.WithoutCancel(ctx)
	return Consume(ctx, cons, max(c.Workers, 1), func(m jetstream.Msg) { c.take(hctx, js, m, handle, backoff) })
}

// ReceiveUntilDone is Receive for a service's lifetime: while ШЭП has not yet registered the participant
// (no consumer yet), or after the connection failed, it waits and tries again, until ctx ends. It
// reports the waits to log (slog.Default when nil).
func (c *Client) ReceiveUntilDone(ctx context.Context, log *slog.Logger, handle Handler) error {
	if log == nil {
		log = slog.Default()
	}
	for {
		err := c.Receive(ctx, handle)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // stopping: the error is the cancellation
		}
		log.WarnContext(ctx, "shepsdk: waiting for ШЭП to register the participant", "participant", c.ID, "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// Ready checks that ШЭП has made the participant's consumer, for a service's readiness.
func (c *Client) Ready(ctx context.Context) error {
	js, err := c.js()
	if err != nil {
		return err
	}
	_, err = js.Consumer(ctx, shepv1.StreamOut, shepv1.ConsumerName(c.ID))
	return err
}

func (c *Client) take(ctx context.Context, js jetstream.JetStream, m jetstream.Msg, handle Handler, backoff []time.Duration) {
	ctx = Extract(ctx, m.Headers())
	meta, err := m.Metadata()
	if err != nil {
		_ = m.Nak()
		return
	}
	d := &Delivery{Session: m.Headers().Get(shepv1.HeaderSession), Attempt: meta.NumDelivered}
	if m.Subject() == shepv1.OutSubject(c.ID, shepv1.DeliveryService) {
		d.Notification = new(shepv1.DeliveryNotification)
		if err := proto.Unmarshal(m.Data(), d.Notification); err != nil {
			_ = m.Term()
			return
		}
		if err := handle(ctx, d); err != nil {
			_ = m.NakWithDelay(RetryDelay(backoff, d.Attempt))
			return
		}
		_ = m.Ack()
		return
	}
	// A message that cannot be read or verified is asked for again after the back-off (a certificate
	// status that could not be had is transient) and, in the end, dead-lettered, where an operator sees it.
	retry := func() { _ = m.NakWithDelay(RetryDelay(backoff, d.Attempt)) }
	d.Signed = new(envelopev1.SignedEnvelope)
	if err := proto.Unmarshal(m.Data(), d.Signed); err != nil {
		retry()
		return
	}
	if d.Envelope, _, err = c.Verifier.OpenEnvelope(ctx, d.Signed); err != nil {
		retry()
		return
	}
	if err := handle(ctx, d); err != nil {
		retry() // a short outage (the recipient's database restarting) must not spend every delivery
		return
	}
	// The delivery receipt goes out before the acknowledgement: a crash between the two delivers the
	// message again, the handler's idempotency absorbs it, and the receipt's message id makes the second
	// receipt a duplicate JetStream drops. The other order could lose the receipt for good.
	receipt := &shepv1.DeliveryNotification{MessageId: d.Envelope.GetMessageId(), CorrelationId: d.Envelope.GetCorrelationId(),
		SessionId: d.Session, State: shepv1.MessageState_MESSAGE_STATE_DELIVERED, Time: timestamppb.New(c.now()),
		Sender: d.Envelope.GetSender(), Recipient: c.ID}
	b, err := proto.Marshal(receipt)
	if err != nil {
		retry()
		return
	}
	r := NewMsg(ctx, shepv1.InSubject(c.ID), "receipt/"+d.Envelope.GetSender()+"/"+d.Envelope.GetMessageId(), b)
	r.Header.Set(shepv1.HeaderKind, shepv1.KindDelivery)
	if _, err := js.PublishMsg(ctx, r); err != nil {
		retry()
		return
	}
	_ = m.DoubleAck(ctx) // not acknowledged: it comes again, and the handler's idempotency absorbs it
}

// Answer is what a provider's handler returns: a payload, or a business status.
type Answer struct {
	Payload proto.Message
	// Status, when set, is the business outcome (e.g. a registry's "not found", shepv1.CodeNotFound);
	// success when nil.
	Status *envelopev1.Status
}

// ProviderHandler answers a verified REQUEST.
type ProviderHandler func(ctx context.Context, req *envelopev1.Envelope) (*Answer, error)

// Provider serves a sync service behind ШЭП: it verifies each request's signature (the calling
// participant's), calls the handler, and signs a RESPONSE bound to the request by its hash.
type Provider struct {
	shepv1.UnimplementedSyncChannelServiceServer
	Client  *Client
	Handler ProviderHandler
}

// SendMessage implements the provider side of the sync channel.
func (p *Provider) SendMessage(ctx context.Context, in *shepv1.SendMessageRequest) (*shepv1.SendMessageResponse, error) {
	c := p.Client
	se := in.GetEnvelope()
	resp := &envelopev1.Envelope{
		MessageId: uuid.NewString(), Sender: c.ID, Type: envelopev1.MessageType_MESSAGE_TYPE_RESPONSE,
		MessageDate: timestamppb.New(c.now()), RequestHash: envelope.Hash(se.GetEnvelope()),
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(shepv1.MetadataSession); len(v) > 0 {
			resp.SessionId = v[0]
		}
	}
	req, _, err := c.Verifier.OpenEnvelope(ctx, se)
	if err != nil {
		resp.Status = &envelopev1.Status{Code: shepv1.CodeBadSignature, Message: err.Error()}
	} else {
		resp.CorrelationId, resp.ServiceId, resp.Recipient, resp.UserId, resp.CaseId =
			req.GetCorrelationId(), req.GetServiceId(), req.GetSender(), req.GetUserId(), req.GetCaseId()
		ans, err := p.Handler(ctx, req)
		switch {
		case err != nil:
			resp.Status = &envelopev1.Status{Code: shepv1.CodeProvider, Message: err.Error()}
		case ans.Status != nil:
			resp.Status = ans.Status
		default:
			resp.Status = &envelopev1.Status{Code: shepv1.CodeSuccess, Message: "Сообщение успешно обработано"}
		}
		if err == nil && ans.Payload != nil {
			b, merr := proto.Marshal(ans.Payload)
			if merr != nil {
				return nil, merr
			}
			resp.PayloadType, resp.Payload = string(ans.Payload.ProtoReflect().Descriptor().FullName()), b
		}
	}
	signed, err := c.Signer.SignEnvelope(resp)
	if err != nil {
		return nil, err
	}
	return &shepv1.SendMessageResponse{Envelope: signed}, nil
}
