// Package outbox sends a channel's signed applications to ШЭП. The signed envelope is stored in the
// same transaction that marks the application submitted (internal/applicant/store); the forwarder
// publishes stored envelopes until ШЭП has them. A crash between the two re-sends the very same
// message, which ШЭП's de-duplication drops.
package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/serve"
)

// Publisher publishes one message to ШЭП (shepsdk.Client).
type Publisher interface {
	Publish(ctx context.Context, msgID string, b []byte) error
}

// Forwarder publishes the outbox of one channel.
type Forwarder struct {
	DB  *pgxpool.Pool
	Pub Publisher
	// Tracer names the channel's spans (egov/<channel>).
	Tracer string
	Now    func() time.Time
	Log    *slog.Logger
	wake   chan struct{}
}

// New builds a forwarder.
func New(db *pgxpool.Pool, pub Publisher, channel string, now func() time.Time, log *slog.Logger) *Forwarder {
	if now == nil {
		now = time.Now
	}
	return &Forwarder{DB: db, Pub: pub, Tracer: "egov/" + channel, Now: now, Log: log, wake: make(chan struct{}, 1)}
}

// Poke wakes the forwarder after a submission.
func (f *Forwarder) Poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Forward publishes submitted applications to ШЭП until ctx ends: at once after a submission, and every
// interval for those a failure or another replica left behind.
func (f *Forwarder) Forward(ctx context.Context, interval time.Duration) error {
	return serve.Repeat(ctx, interval, f.wake, f.Log, "applications: publish",
		func(ctx context.Context) (int, error) { return f.ForwardOnce(ctx, 64) })
}

// ForwardOnce publishes up to limit unsent applications and returns how many it sent.
func (f *Forwarder) ForwardOnce(ctx context.Context, limit int) (int, error) {
	sent := 0
	err := pgdb.InTx(ctx, f.DB, func(tx pgx.Tx) error {
		sent = 0
		rows, err := tx.Query(ctx, `SELECT id, message_id, envelope, trace_context FROM applications WHERE envelope IS NOT NULL AND sent_at IS NULL
			ORDER BY submitted_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		type row struct {
			id, msgID, trace string
			b                []byte
		}
		rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.msgID, &x.b, &x.trace)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, x := range rs {
			// The publication continues the trace the application was signed in.
			pctx, span := otel.Tracer(f.Tracer).Start(natsbus.WithTraceParent(ctx, x.trace), "applicant.send", trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(attribute.String("egov.application_id", x.id), attribute.String("egov.message_id", x.msgID)))
			err := f.Pub.Publish(pctx, x.msgID, x.b)
			span.End()
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE applications SET sent_at = $2 WHERE id = $1`, x.id, f.Now()); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	return sent, err
}
