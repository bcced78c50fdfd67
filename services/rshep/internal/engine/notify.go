package engine

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/serve"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// notification builds the status notification of c; p may be nil (an unknown service).
func (e *Engine) notification(c *Case, p *catalog.Passport, status string, now time.Time) *applicationv1.StatusNotification {
	n := &applicationv1.StatusNotification{
		ApplicationId: c.ApplicationID, RegistrationNumber: c.Number, ServiceCode: c.ServiceCode, Region: c.Region,
		Status: applicationv1.CaseStatus(applicationv1.CaseStatus_value["CASE_STATUS_"+status]), Time: timestamppb.New(now),
		Sequence: c.NotifySeq,
	}
	if p != nil {
		for _, t := range p.Notices {
			if t.Status == status {
				n.Text = &applicationv1.LocalizedText{Ru: t.Text.RU, Kk: t.Text.KK}
			}
		}
	}
	if c.DueAt != nil {
		n.Deadline = timestamppb.New(*c.DueAt)
	}
	return n
}

// setStatus moves c to status and owes the channel its notification; more fills the notification.
func (e *Engine) setStatus(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, status string, now time.Time,
	more func(*applicationv1.StatusNotification)) error {
	c.Status = status
	c.NotifySeq++
	n := e.notification(c, p, status, now)
	if more != nil {
		more(n)
	}
	return e.enqueue(ctx, tx, c, n, now)
}

// enqueue writes the NOTIFICATION envelope of n to the outbox in tx.
func (e *Engine) enqueue(ctx context.Context, tx pgx.Tx, c *Case, n *applicationv1.StatusNotification, now time.Time) error {
	payload, err := proto.Marshal(n)
	if err != nil {
		return err
	}
	env := &envelopev1.Envelope{
		MessageId: uuid.NewString(), CorrelationId: c.CorrelationID, ServiceId: ServiceID(c.Region), ServiceVersion: "1",
		Sender: ParticipantID(c.Region), Recipient: c.ReplyTo, Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION,
		MessageDate: timestamppb.New(now), UserId: c.ApplicantIIN, Region: c.Region, CaseId: c.Number,
		PayloadType: string(n.ProtoReflect().Descriptor().FullName()), Payload: payload,
	}
	b, err := envelope.Marshal(env)
	if err != nil {
		return err
	}
	// The notification continues the application's trace (the case's), whoever caused it.
	_, err = tx.Exec(ctx, `INSERT INTO outbox (message_id, region, envelope, created_at, trace_context)
		VALUES ($1, $2, $3, $4, coalesce((SELECT nullif(trace_context, '') FROM cases WHERE id = $5), $6))`,
		env.GetMessageId(), c.Region, b, now, c.ID, natsbus.TraceParent(ctx))
	return err
}

// poke wakes the forwarder after a commit.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Forward publishes the outbox to ШЭП until ctx ends: on every commit that owes a notification, and every
// interval in case another replica wrote it. A publication that fails is retried at the next round; the
// message id makes a repeat harmless.
func (e *Engine) Forward(ctx context.Context, interval time.Duration) error {
	return serve.Repeat(ctx, interval, e.wake, e.o.Log, "outbox: publish",
		func(ctx context.Context) (int, error) { return e.ForwardOnce(ctx, 256) })
}

// ForwardOnce publishes up to limit pending notifications and returns how many it sent.
func (e *Engine) ForwardOnce(ctx context.Context, limit int) (int, error) {
	sent := 0
	err := pgdb.InTx(ctx, e.o.DB, func(tx pgx.Tx) error {
		sent = 0
		rows, err := tx.Query(ctx, `SELECT id, region, envelope, trace_context FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		type row struct {
			id     int64
			region string
			b      []byte
			trace  string
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.region, &r.b, &r.trace); err != nil {
				return err
			}
			todo = append(todo, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var done []int64
		for _, r := range todo {
			node, ok := e.o.Nodes[r.region]
			if !ok {
				continue // another replica serves that region
			}
			env, err := envelope.Unmarshal(r.b)
			if err != nil {
				return fmt.Errorf("outbox %d: %w", r.id, err)
			}
			sctx, span := otel.Tracer("egov/rshep").Start(natsbus.WithTraceParent(ctx, r.trace), "rshep.notify",
				trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attribute.String("egov.message_id", env.GetMessageId())))
			err = node.Send(sctx, env)
			span.End()
			if err != nil {
				if len(done) == 0 {
					return err
				}
				break // keep what was sent; the rest goes next round
			}
			done = append(done, r.id)
		}
		if len(done) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET sent_at = $2 WHERE id = ANY($1)`, done, e.o.Now()); err != nil {
				return err
			}
		}
		sent = len(done)
		return nil
	})
	return sent, err
}
