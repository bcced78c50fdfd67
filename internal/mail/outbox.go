package mail

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/serve"
)

// Table is the outbox table a service using Outbox holds in its schema, created by Migrations.
const Table = "mail_outbox"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create the outbox table; a service that e-mails unions them into its schema's migrations
// (pgdb.Union), as it does the web sessions'.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// Transport sends one composed message to one recipient (Sender over SMTP).
type Transport interface {
	Send(ctx context.Context, to string, msg []byte) error
}

// Outbox keeps the deliveries of a service: a row is written in the transaction that issues what it
// delivers (Enqueue), and the worker (Run) sends each row once, committing the row as sent right after
// the server accepted it. A failed send is retried after a back-off; a refusal for good (5xx) or the
// last attempt parks the row for an operator. Between the server's acceptance and the commit a crash
// would send the message again: it carries the same Message-ID, so the recipient's mail system can tell.
type Outbox struct {
	DB        *pgxpool.Pool
	Transport Transport
	// From is the From header of the messages composed by Enqueue.
	From string
	Now  func() time.Time
	Log  *slog.Logger
	// MaxAttempts before a row is parked (10 when 0).
	MaxAttempts int
	// SendTimeout bounds one SMTP conversation (2 minutes when 0): a server that stops answering
	// costs an attempt, not the worker.
	SendTimeout time.Duration

	wake chan struct{}
}

// NewOutbox builds the outbox of a service sending through t.
func NewOutbox(db *pgxpool.Pool, t Transport, from string, now func() time.Time, log *slog.Logger) *Outbox {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Outbox{DB: db, Transport: t, From: from, Now: now, Log: log, wake: make(chan struct{}, 1)}
}

// Enqueue composes m (its From is the outbox's) and owes its delivery in tx, once per key: the same key
// enqueued again (a redelivered decision) is nothing. It reports whether the row is new.
func (o *Outbox) Enqueue(ctx context.Context, tx pgx.Tx, key string, m Message) (bool, error) {
	m.From = o.From
	if m.Date.IsZero() {
		m.Date = o.Now()
	}
	b, err := Compose(m)
	if err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO mail_outbox (key, recipient, recipient_masked, message, message_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING`, key, m.To, Mask(m.To), b, m.ID, m.Date)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Poke wakes the worker after a commit that enqueued a message.
func (o *Outbox) Poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends the outbox until ctx ends: when poked, and every interval (another replica's rows, the
// back-offs that ran out).
func (o *Outbox) Run(ctx context.Context, interval time.Duration) error {
	return serve.Repeat(ctx, interval, o.wake, o.Log, "mail outbox: send",
		func(ctx context.Context) (int, error) { return o.SendOnce(ctx, 64) })
}

// SendOnce sends up to limit due rows, each in its own transaction (a replica holds only the row it is
// sending), and returns how many were sent. A failed row counts an attempt and waits out its back-off
// while the next rows go on; the failures are returned joined.
func (o *Outbox) SendOnce(ctx context.Context, limit int) (int, error) {
	sent := 0
	var failures []error
	skip := []int64{} // (never nil: NULL would match no row) rows failed in this round: not claimed again before their back-off anyway
	for range limit {
		var done, claimed bool
		err := pgdb.InTx(ctx, o.DB, func(tx pgx.Tx) error {
			done, claimed = false, false
			now := o.Now()
			var (
				id            int64
				key, to, mask string
				msg           []byte
				attempts      int
			)
			err := tx.QueryRow(ctx, `SELECT id, key, recipient, recipient_masked, message, attempts FROM mail_outbox
				WHERE sent_at IS NULL AND parked_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $1) AND NOT id = ANY($2)
				ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, now, skip).Scan(&id, &key, &to, &mask, &msg, &attempts)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			claimed = true
			timeout := o.SendTimeout
			if timeout <= 0 {
				timeout = 2 * time.Minute
			}
			sctx, cancel := context.WithTimeout(ctx, timeout)
			err = o.Transport.Send(sctx, to, msg)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err() // shutting down: not the row's failure
				}
				skip = append(skip, id)
				f, ferr := o.failed(ctx, tx, id, key, mask, attempts+1, now, err)
				failures = append(failures, f)
				return ferr
			}
			// Delivered: the address and the message are not kept any longer (the documents stay with
			// the case); the mask and the Message-ID remain for an operator.
			if _, err := tx.Exec(ctx, `UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, recipient = NULL, message = NULL,
				last_error = '' WHERE id = $1`, id, now); err != nil {
				return err
			}
			o.Log.InfoContext(ctx, "e-mail delivered", "outbox", id, "key", key, "to", mask)
			done = true
			return nil
		})
		if err != nil {
			return sent, errors.Join(append(failures, err)...)
		}
		if !claimed {
			break
		}
		if done {
			sent++
		}
	}
	return sent, errors.Join(failures...)
}

// failed records a failed attempt: the next one after a back-off, or none (parked) after the last or
// after a refusal for good.
func (o *Outbox) failed(ctx context.Context, tx pgx.Tx, id int64, key, mask string, attempts int, now time.Time, cause error) (failure, err error) {
	limit := o.MaxAttempts
	if limit <= 0 {
		limit = 10
	}
	parked := attempts >= limit || Permanent(cause)
	var parkedAt *time.Time
	if parked {
		parkedAt = &now
	}
	msg := cause.Error() // Sender's errors are masked already
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if _, err := tx.Exec(ctx, `UPDATE mail_outbox SET attempts = $2, next_attempt_at = $3, parked_at = $4, last_error = $5 WHERE id = $1`,
		id, attempts, now.Add(Backoff(attempts)), parkedAt, msg); err != nil {
		return nil, err
	}
	attrs := []any{"outbox", id, "key", key, "to", mask, "attempts", attempts, "error", msg}
	if parked {
		o.Log.ErrorContext(ctx, "e-mail parked: not sent again until an operator releases it", attrs...)
		return fmt.Errorf("mail outbox %d: parked after %d attempts: %s", id, attempts, msg), nil
	}
	o.Log.WarnContext(ctx, "e-mail not sent; will retry", append(attrs, "retry_in", Backoff(attempts))...)
	return fmt.Errorf("mail outbox %d: attempt %d failed: %s", id, attempts, msg), nil
}

// Backoff is the wait after the n-th failed attempt: 30 s, doubling, at most an hour.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Delivery is a row of the outbox as an operator sees it: never the address, only its mask.
type Delivery struct {
	ID        int64
	Key       string
	To        string // masked
	MessageID string
	Attempts  int
	LastError string
	SentAt    *time.Time
	ParkedAt  *time.Time
}

// Deliveries lists the rows whose key starts with prefix, oldest first.
func (o *Outbox) Deliveries(ctx context.Context, prefix string) ([]Delivery, error) {
	rows, err := o.DB.Query(ctx, `SELECT id, key, recipient_masked, message_id, attempts, last_error, sent_at, parked_at
		FROM mail_outbox WHERE starts_with(key, $1) ORDER BY id`, prefix)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.ID, &d.Key, &d.To, &d.MessageID, &d.Attempts, &d.LastError, &d.SentAt, &d.ParkedAt)
		return d, err
	})
}
