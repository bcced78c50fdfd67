package engine

import (
	"context"
	"errors"
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
	"github.com/egov-suite/egov/services/rshep/internal/timers"
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

// enqueue writes the NOTIFICATION envelope of n to the outbox in tx: to the channel the application
// came from and, for an application made at a ЦОН, a copy to the citizen's personal cabinet (Cabinet).
func (e *Engine) enqueue(ctx context.Context, tx pgx.Tx, c *Case, n *applicationv1.StatusNotification, now time.Time) error {
	if c.ReplyTo == "" {
		return nil // an office application: no channel waits for its statuses
	}
	if err := e.enqueueTo(ctx, tx, c, c.ReplyTo, n, now); err != nil {
		return err
	}
	if e.o.Cabinet != "" && c.Channel == "tson" && c.ReplyTo != e.o.Cabinet && c.ApplicantIIN != "" {
		return e.enqueueTo(ctx, tx, c, e.o.Cabinet, n, now)
	}
	return nil
}

func (e *Engine) enqueueTo(ctx context.Context, tx pgx.Tx, c *Case, recipient string, n *applicationv1.StatusNotification, now time.Time) error {
	payload, err := proto.Marshal(n)
	if err != nil {
		return err
	}
	env := &envelopev1.Envelope{
		MessageId: uuid.NewString(), CorrelationId: c.CorrelationID, ServiceId: ServiceID(c.Region), ServiceVersion: "1",
		Sender: ParticipantID(c.Region), Recipient: recipient, Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION,
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

// poke wakes the forwarder, and the mail worker, after a commit.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
	if e.o.Mail != nil {
		e.o.Mail.Poke()
	}
}

// Forward publishes the outbox to ШЭП until ctx ends: on every commit that owes a notification, and every
// interval in case another replica wrote it. A publication that fails is retried after a back-off; the
// message id makes a repeat harmless.
func (e *Engine) Forward(ctx context.Context, interval time.Duration) error {
	return serve.Repeat(ctx, interval, e.wake, e.o.Log, "outbox: publish",
		func(ctx context.Context) (int, error) { return e.ForwardOnce(ctx, 256) })
}

// ForwardOnce publishes up to limit pending notifications of the engine's regions and returns how many it
// sent. It claims only its regions' rows, so a replica never holds rows another replica would send. A
// notification that cannot be published counts an attempt and waits out a back-off while the rows after
// it go on; after the last attempt (at once when its bytes cannot be read) it is parked, logged and
// counted, for an operator to see.
func (e *Engine) ForwardOnce(ctx context.Context, limit int) (int, error) {
	sent := 0
	var failures []error
	err := pgdb.InTx(ctx, e.o.DB, func(tx pgx.Tx) error {
		sent, failures = 0, nil
		now := e.o.Now()
		rows, err := tx.Query(ctx, `SELECT id, region, envelope, trace_context, attempts FROM outbox
			WHERE sent_at IS NULL AND parked_at IS NULL AND region = ANY($2) AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit, e.Regions(), now)
		if err != nil {
			return err
		}
		type row struct {
			id       int64
			region   string
			b        []byte
			trace    string
			attempts int
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.region, &r.b, &r.trace, &r.attempts); err != nil {
				return err
			}
			todo = append(todo, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var done []int64
		// Several failures in a row are likelier ШЭП's or NATS's than the rows': the round stops there, and
		// the rows not tried keep their attempts (those that failed wait out their back-off, so they never
		// hold up the next round).
		streak := 0
		for _, r := range todo {
			if streak == 3 {
				break
			}
			env, err := envelope.Unmarshal(r.b)
			if err == nil {
				sctx, span := otel.Tracer("egov/rshep").Start(natsbus.WithTraceParent(ctx, r.trace), "rshep.notify",
					trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attribute.String("egov.message_id", env.GetMessageId())))
				err = e.o.Nodes[r.region].Send(sctx, env)
				span.End()
				if err == nil {
					done = append(done, r.id)
					streak = 0
					continue
				}
				if ctx.Err() != nil {
					break // shutting down: not the row's failure
				}
			} else {
				r.attempts = timers.MaxAttempts - 1 // unreadable bytes stay unreadable: park at once
			}
			f, ferr := e.outboxFailed(ctx, tx, r.id, r.region, r.attempts+1, now, err)
			if ferr != nil {
				return ferr
			}
			failures = append(failures, f)
			streak++
		}
		if len(done) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET sent_at = $2 WHERE id = ANY($1)`, done, now); err != nil {
				return err
			}
		}
		sent = len(done)
		return nil
	})
	if err != nil {
		return sent, err
	}
	return sent, errors.Join(failures...)
}

// outboxFailed records a failed attempt to publish outbox row id: the next attempt after the back-off,
// or none (parked) after the last.
func (e *Engine) outboxFailed(ctx context.Context, tx pgx.Tx, id int64, region string, attempts int, now time.Time,
	cause error) (failure, err error) {
	parked := attempts >= timers.MaxAttempts
	var parkedAt *time.Time
	if parked {
		parkedAt = &now
	}
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox SET attempts = $2, next_attempt_at = $3, parked_at = $4, last_error = $5 WHERE id = $1`,
		id, attempts, now.Add(timers.Backoff(attempts)), parkedAt, msg); err != nil {
		return nil, err
	}
	attrs := []any{"outbox", id, "region", region, "attempts", attempts, "error", cause}
	if parked {
		e.add(ctx, e.count.outboxParked, region, "")
		e.o.Log.ErrorContext(ctx, "notification parked after its last attempt; release it once the cause is fixed", attrs...)
		return fmt.Errorf("outbox %d: parked after %d attempts: %w", id, attempts, cause), nil
	}
	e.add(ctx, e.count.outboxFailures, region, "")
	e.o.Log.WarnContext(ctx, "notification not published; will retry", append(attrs, "retry_in", timers.Backoff(attempts))...)
	return fmt.Errorf("outbox %d: attempt %d failed: %w", id, attempts, cause), nil
}
