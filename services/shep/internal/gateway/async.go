package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/natsbus"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// Durable consumer names of ШЭП's own workers.
const (
	routerConsumer = "shep-router"
	dlqConsumer    = "shep-dead-letters"
)

// EnsureRecipient creates (or updates) the durable consumer through which a participant takes its
// deliveries.
func (g *Gateway) EnsureRecipient(ctx context.Context, participant string) error {
	if err := natsbus.ValidToken(participant); err != nil {
		return err
	}
	_, err := g.o.Bus.JS.CreateOrUpdateConsumer(ctx, natsbus.StreamOut, natsbus.RecipientConsumer(participant, g.o.Redelivery))
	return err
}

// Route consumes shep.in.> until ctx ends: every envelope is admitted or rejected, logged, and routed;
// every delivery receipt updates the message's state and is passed to the sender. Replicas share the
// durable consumer, each message going to one of them.
func (g *Gateway) Route(ctx context.Context) error {
	cons, err := g.o.Bus.JS.CreateOrUpdateConsumer(ctx, natsbus.StreamIn, jetstream.ConsumerConfig{
		Durable: routerConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 2000,
		Description: "ШЭП routes what participants send",
	})
	if err != nil {
		return fmt.Errorf("router consumer: %w", err)
	}
	return natsbus.Consume(ctx, cons, g.o.Workers, func(m jetstream.Msg) { g.handleIn(ctx, m) })
}

func (g *Gateway) handleIn(ctx context.Context, m jetstream.Msg) {
	ctx = natsbus.Extract(ctx, m.Headers())
	participant := strings.TrimPrefix(m.Subject(), natsbus.SubjectInPrefix)
	ctx, span := g.o.Tracer.Start(ctx, "shep.route", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("egov.participant", participant)))
	defer span.End()
	if m.Headers().Get(natsbus.HeaderKind) == natsbus.KindDelivery {
		g.handleReceipt(ctx, participant, m)
		return
	}
	start := g.o.Now()
	meta, err := m.Metadata()
	if err != nil {
		_ = m.Term()
		return
	}
	se := new(envelopev1.SignedEnvelope)
	if err := proto.Unmarshal(m.Data(), se); err != nil {
		g.refuse(ctx, m, participant, nil, nil, reject(CodeMalformed, "the bytes on %s are not a signed envelope: %v", m.Subject(), err))
		return
	}
	a, e, rej := g.admit(ctx, "async", se, participant)
	if rej != nil {
		g.refuse(ctx, m, participant, e, se, rej)
		return
	}
	if e.GetCorrelationId() == "" {
		e.CorrelationId = e.GetMessageId()
	}
	span.SetAttributes(attribute.String("egov.service", a.service.ID), attribute.String("egov.message_id", e.GetMessageId()))
	session := newSession()
	err = g.record(ctx, g.logEntry("async", "ACCEPTED", e, se, a.sender, a.recipient, session, CodeSuccess, ""), store.Op{
		Insert: &store.Message{Sender: a.sender, MessageID: e.GetMessageId(), CorrelationID: e.GetCorrelationId(),
			SessionID: session, ServiceID: a.service.ID, Recipient: a.recipient, State: "ON_DELIVERY", UpdatedAt: g.o.Now(),
			InSeq: int64(meta.Sequence.Stream)}})
	if errors.Is(err, store.ErrDuplicate) {
		prev, gerr := g.store.GetMessage(ctx, a.sender, e.GetMessageId())
		if gerr != nil {
			g.retry(ctx, m, gerr)
			return
		}
		if prev.InSeq != int64(meta.Sequence.Stream) {
			// The sender used the id again: refuse this copy, keep the first.
			g.refuse(ctx, m, participant, e, se, reject(CodeDuplicate, "message id %s was already sent by %s", e.GetMessageId(), a.sender))
			return
		}
		// ШЭП's own redelivery after a crash between commit and publish: publish again (the out
		// stream drops the copy if the first publish got through).
		session = prev.SessionID
	} else if err != nil {
		g.retry(ctx, m, err)
		return
	}
	out := natsbus.NewMsg(ctx, natsbus.OutSubject(a.recipient, a.service.ID), outMsgID(a.sender, e.GetMessageId()), m.Data())
	out.Header.Set(natsbus.HeaderSender, a.sender)
	out.Header.Set(natsbus.HeaderSession, session)
	if _, err := g.o.Bus.JS.PublishMsg(ctx, out); err != nil {
		g.retry(ctx, m, err)
		return
	}
	g.accepted.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", "async"), attribute.String("service", a.service.ID)))
	g.latency.Record(ctx, g.o.Now().Sub(start).Seconds(), metric.WithAttributes(attribute.String("service", a.service.ID)))
	_ = m.Ack()
}

func outMsgID(sender, messageID string) string { return sender + "/" + messageID }

// retry puts a message back for a later attempt: the failure was ШЭП's (database, NATS), not the
// sender's.
func (g *Gateway) retry(ctx context.Context, m jetstream.Msg, err error) {
	g.o.Log.WarnContext(ctx, "async: will retry", "subject", m.Subject(), "err", err)
	_ = m.NakWithDelay(time.Second)
}

// refuse logs a rejection, tells the sender, and removes the message.
func (g *Gateway) refuse(ctx context.Context, m jetstream.Msg, participant string, e *envelopev1.Envelope, se *envelopev1.SignedEnvelope, rej *rejection) {
	g.countRejection(ctx, "async", rej)
	if err := g.record(ctx, g.logEntry("async", "REJECTED", e, se, participant, "", "", rej.code, rej.reason), store.Op{}); err != nil {
		g.retry(ctx, m, err)
		return
	}
	// The digest of the refused bytes lets the sender tell a refusal of its message from one of a copy
	// under the same id (corrupted on the way, or published by someone else).
	refused := sha256.Sum256(m.Data())
	n := &shepv1.DeliveryNotification{State: shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED, Sender: participant,
		Status: &envelopev1.Status{Code: rej.code, Message: Message(rej.code) + ": " + truncate(rej.reason, 400)}, Time: timestamppb.New(g.o.Now()),
		RefusedSha256: refused[:]}
	if e != nil {
		n.MessageId, n.CorrelationId, n.Recipient = e.GetMessageId(), e.GetCorrelationId(), e.GetRecipient()
	}
	if err := natsbus.ValidToken(participant); err == nil {
		if err := g.notify(ctx, participant, n, "rejected/"+strconv.FormatUint(seqOf(m), 10)); err != nil {
			g.retry(ctx, m, err)
			return
		}
	}
	_ = m.TermWithReason(rej.code)
}

func seqOf(m jetstream.Msg) uint64 {
	meta, err := m.Metadata()
	if err != nil {
		return 0
	}
	return meta.Sequence.Stream
}

// notify sends a delivery notification to a sender at shep.out.<sender>.shep-delivery.
func (g *Gateway) notify(ctx context.Context, sender string, n *shepv1.DeliveryNotification, id string) error {
	b, err := proto.Marshal(n)
	if err != nil {
		return err
	}
	_, err = g.o.Bus.JS.PublishMsg(ctx, natsbus.NewMsg(ctx, natsbus.OutSubject(sender, natsbus.DeliveryService), "notify/"+id, b))
	return err
}

// handleReceipt takes a recipient's DELIVERED receipt: only the message's recipient may give it.
func (g *Gateway) handleReceipt(ctx context.Context, participant string, m jetstream.Msg) {
	n := new(shepv1.DeliveryNotification)
	if err := proto.Unmarshal(m.Data(), n); err != nil || n.GetMessageId() == "" || n.GetSender() == "" {
		g.o.Log.InfoContext(ctx, "async: malformed delivery receipt", "participant", participant)
		_ = m.TermWithReason(CodeMalformed)
		return
	}
	msg, err := g.store.GetMessage(ctx, n.GetSender(), n.GetMessageId())
	if errors.Is(err, store.ErrNotFound) || (err == nil && msg.Recipient != participant) {
		g.o.Log.InfoContext(ctx, "async: delivery receipt for a message the participant did not receive", "participant", participant)
		_ = m.TermWithReason(CodeSenderMismatch)
		return
	}
	if err != nil {
		g.retry(ctx, m, err)
		return
	}
	// A receipt seen before (a repeat, or a retry after the notification below failed) is not logged
	// again, but the sender is still told: the notification's message id makes a second one harmless,
	// while skipping it could leave the sender never knowing.
	if msg.State != "DELIVERED" {
		rec := store.LogRecord{At: g.o.Now(), Channel: "async", Event: "DELIVERED", Sender: msg.Sender, Recipient: participant,
			ServiceID: msg.ServiceID, MessageID: msg.MessageID, SessionID: msg.SessionID, Code: CodeSuccess}
		// Unless: two copies of the receipt (the recipient's re-send after a NATS fault, which a restarted
		// server's duplicate window no longer drops) handled at once by two workers or replicas would
		// both have read ON_DELIVERY above; the second finds DELIVERED under the row lock and logs nothing.
		err = g.record(ctx, rec, store.Op{Update: &store.StateChange{Sender: msg.Sender, MessageID: msg.MessageID,
			State: "DELIVERED", Code: CodeSuccess, At: g.o.Now(), Unless: "DELIVERED"}})
		if err != nil && !errors.Is(err, store.ErrUnchanged) {
			g.retry(ctx, m, err)
			return
		}
	}
	out := &shepv1.DeliveryNotification{MessageId: msg.MessageID, CorrelationId: msg.CorrelationID, SessionId: msg.SessionID,
		State: shepv1.MessageState_MESSAGE_STATE_DELIVERED, Status: &envelopev1.Status{Code: CodeSuccess, Message: Message(CodeSuccess)},
		Time: timestamppb.New(g.o.Now()), Sender: msg.Sender, Recipient: participant}
	if err := g.notify(ctx, msg.Sender, out, "delivered/"+msg.Sender+"/"+msg.MessageID); err != nil {
		g.retry(ctx, m, err)
		return
	}
	_ = m.Ack()
}

// maxDeliveriesAdvisory is the part of JetStream's advisory ШЭП reads.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// DeadLetters consumes the max-deliveries advisories until ctx ends: each given-up message moves from
// SHEP_OUT to shep.dlq.<recipient>.<service>, its state becomes NOT_DELIVERED, and its sender is told.
func (g *Gateway) DeadLetters(ctx context.Context) error {
	cons, err := g.o.Bus.JS.CreateOrUpdateConsumer(ctx, natsbus.StreamAdvisories, jetstream.ConsumerConfig{
		Durable: dlqConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		Description: "ШЭП moves given-up deliveries to the dead-letter stream",
	})
	if err != nil {
		return fmt.Errorf("dead-letter consumer: %w", err)
	}
	return natsbus.Consume(ctx, cons, 1, func(m jetstream.Msg) {
		var adv maxDeliveriesAdvisory
		if err := json.Unmarshal(m.Data(), &adv); err != nil || adv.Stream != natsbus.StreamOut {
			_ = m.Term()
			return
		}
		if err := g.bury(ctx, adv); err != nil {
			g.retry(ctx, m, err)
			return
		}
		_ = m.Ack()
	})
}

func (g *Gateway) bury(ctx context.Context, adv maxDeliveriesAdvisory) error {
	out, err := g.o.Bus.JS.Stream(ctx, natsbus.StreamOut)
	if err != nil {
		return err
	}
	raw, err := out.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // already moved (another replica, or a retry of this advisory)
	}
	if err != nil {
		return err
	}
	recipient, service := splitOut(raw.Subject)
	sender, messageID := raw.Header.Get(natsbus.HeaderSender), messageIDOf(raw)
	dl := nats.NewMsg(natsbus.DLQSubject(recipient, service))
	dl.Data = raw.Data
	for k, v := range raw.Header {
		dl.Header[k] = v
	}
	dl.Header.Set(nats.MsgIdHdr, "dlq/"+strconv.FormatUint(adv.StreamSeq, 10))
	dl.Header.Set(natsbus.HeaderDeliveries, strconv.Itoa(adv.Deliveries))
	if _, err := g.o.Bus.JS.PublishMsg(ctx, dl); err != nil {
		return err
	}
	if sender != "" && messageID != "" {
		rec := store.LogRecord{At: g.o.Now(), Channel: "async", Event: "DEAD_LETTERED", Sender: sender, Recipient: recipient,
			ServiceID: service, MessageID: messageID, SessionID: raw.Header.Get(natsbus.HeaderSession), Code: CodeDeadLetter,
			Reason: fmt.Sprintf("%d deliveries", adv.Deliveries)}
		err := g.record(ctx, rec, store.Op{Update: &store.StateChange{Sender: sender, MessageID: messageID, State: "NOT_DELIVERED",
			Code: CodeDeadLetter, Reason: rec.Reason, At: g.o.Now(), IgnoreMissing: true}})
		if err != nil {
			return err
		}
		n := &shepv1.DeliveryNotification{MessageId: messageID, SessionId: rec.SessionID, State: shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED,
			Status: &envelopev1.Status{Code: CodeDeadLetter, Message: Message(CodeDeadLetter)}, Time: timestamppb.New(g.o.Now()),
			Sender: sender, Recipient: recipient}
		if err := g.notify(ctx, sender, n, "dead/"+strconv.FormatUint(adv.StreamSeq, 10)); err != nil {
			return err
		}
	}
	if err := out.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return err
	}
	g.o.Log.WarnContext(ctx, "delivery given up; moved to the dead-letter stream", "recipient", recipient, "service", service,
		"deliveries", adv.Deliveries)
	return nil
}

func splitOut(subject string) (recipient, service string) {
	rest := strings.TrimPrefix(subject, natsbus.SubjectOutPrefix)
	recipient, service, _ = strings.Cut(rest, ".")
	return recipient, service
}

// DeadLetter is a message in the dead-letter stream.
type DeadLetter struct {
	Seq        uint64
	Recipient  string
	Service    string
	Sender     string
	MessageID  string
	Deliveries int
	DeadAt     time.Time
}

// ListDeadLetters lists the dead-letter stream, oldest first, for one recipient or all.
func (g *Gateway) ListDeadLetters(ctx context.Context, recipient string) ([]DeadLetter, error) {
	s, err := g.o.Bus.JS.Stream(ctx, natsbus.StreamDLQ)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d := deadLetter(raw)
		if recipient == "" || d.Recipient == recipient {
			out = append(out, d)
		}
	}
	return out, nil
}

func deadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	rest := strings.TrimPrefix(raw.Subject, natsbus.SubjectDLQPrefix)
	recipient, service, _ := strings.Cut(rest, ".")
	deliveries, _ := strconv.Atoi(raw.Header.Get(natsbus.HeaderDeliveries))
	return DeadLetter{Seq: raw.Sequence, Recipient: recipient, Service: service, Sender: raw.Header.Get(natsbus.HeaderSender),
		MessageID: messageIDOf(raw), Deliveries: deliveries, DeadAt: raw.Time}
}

// messageIDOf reads the sender's message id from the envelope of a dead letter.
func messageIDOf(raw *jetstream.RawStreamMsg) string {
	se := new(envelopev1.SignedEnvelope)
	if proto.Unmarshal(raw.Data, se) != nil {
		return ""
	}
	e := new(envelopev1.Envelope)
	if proto.Unmarshal(se.GetEnvelope(), e) != nil {
		return ""
	}
	return e.GetMessageId()
}

// ReplayDeadLetter sends a dead letter to its recipient again and removes it from the dead-letter
// stream. The recipient, idempotent on message id, processes it once.
func (g *Gateway) ReplayDeadLetter(ctx context.Context, seq uint64) error {
	s, err := g.o.Bus.JS.Stream(ctx, natsbus.StreamDLQ)
	if err != nil {
		return err
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return err
	}
	d := deadLetter(raw)
	m := nats.NewMsg(natsbus.OutSubject(d.Recipient, d.Service))
	m.Data = raw.Data
	for k, v := range raw.Header {
		m.Header[k] = v
	}
	m.Header.Del(natsbus.HeaderDeliveries)
	m.Header.Set(nats.MsgIdHdr, "replay/"+strconv.FormatUint(seq, 10))
	if _, err := g.o.Bus.JS.PublishMsg(ctx, m); err != nil {
		return err
	}
	if d.Sender != "" && d.MessageID != "" {
		rec := store.LogRecord{At: g.o.Now(), Channel: "async", Event: "REPLAYED", Sender: d.Sender, Recipient: d.Recipient,
			ServiceID: d.Service, MessageID: d.MessageID, SessionID: raw.Header.Get(natsbus.HeaderSession), Code: CodeSuccess}
		err := g.record(ctx, rec, store.Op{Update: &store.StateChange{Sender: d.Sender, MessageID: d.MessageID, State: "ON_DELIVERY",
			At: g.o.Now(), IgnoreMissing: true}})
		if err != nil {
			return err
		}
	}
	return s.DeleteMsg(ctx, seq)
}

// MessageStatus returns a message's delivery notification as of now.
func (g *Gateway) MessageStatus(ctx context.Context, sender, messageID string) (*shepv1.DeliveryNotification, error) {
	m, err := g.store.GetMessage(ctx, sender, messageID)
	if err != nil {
		return nil, err
	}
	state := map[string]shepv1.MessageState{
		"ON_DELIVERY": shepv1.MessageState_MESSAGE_STATE_ON_DELIVERY, "DELIVERED": shepv1.MessageState_MESSAGE_STATE_DELIVERED,
		"NOT_DELIVERED": shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED, "DELIVERY_STOPPED": shepv1.MessageState_MESSAGE_STATE_DELIVERY_STOPPED,
	}[m.State]
	n := &shepv1.DeliveryNotification{MessageId: m.MessageID, CorrelationId: m.CorrelationID, SessionId: m.SessionID, State: state,
		Time: timestamppb.New(m.UpdatedAt), Sender: m.Sender, Recipient: m.Recipient}
	if m.Code != "" {
		n.Status = &envelopev1.Status{Code: m.Code, Message: Message(m.Code)}
	}
	return n, nil
}
