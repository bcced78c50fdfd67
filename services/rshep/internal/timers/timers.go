// Package timers keeps РШЭП's durable timers in PostgreSQL: a step's deadline, the warning before it,
// the escalation when it is missed. A timer is a row; replicas claim due rows with FOR UPDATE SKIP
// LOCKED, do the timer's work and mark it fired in one transaction, so each timer fires exactly once
// whatever the number of replicas, and none is lost when a replica dies mid-work (its transaction rolls
// back and another claims the row). The clock is injected: tests and the engine pass "now".
//
// A timer whose work fails does not hold up the timers due after it: the failure counts an attempt and
// puts the next one off (Backoff), and after MaxAttempts the timer is parked — out of the claim, its
// last error kept — where an operator sees it, instead of being retried hot forever.
package timers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/pgdb"
)

// Timer is one durable timer. (CaseID, Kind) is unique: rescheduling moves the existing timer.
type Timer struct {
	ID     int64
	CaseID string
	Kind   string
	// Scope is the region of the case: a replica claims only the scopes it serves.
	Scope   string
	DueAt   time.Time
	Payload json.RawMessage
	// Attempts counts the failed attempts at the timer's work so far.
	Attempts int
}

// Retry policy of a failing timer (and of РШЭП's outbox, which shares it).
const (
	// MaxAttempts failed attempts park the row.
	MaxAttempts = 10
	firstRetry  = 10 * time.Second
	maxRetry    = time.Hour
)

// Backoff is how long to wait after the attempt-th failure (from 1): doubling from ten seconds, at most an
// hour, so ten attempts span about two and a half hours.
func Backoff(attempt int) time.Duration {
	d := firstRetry
	for i := 1; i < attempt && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// Failure is a timer whose work failed: it is tried again after Backoff, or, when Parked, no more.
type Failure struct {
	Timer    Timer
	Attempts int
	Parked   bool
	Err      error
}

func (f *Failure) Error() string {
	what := "will retry"
	if f.Parked {
		what = "parked"
	}
	return fmt.Sprintf("timer %d (%s %s): attempt %d failed, %s: %v", f.Timer.ID, f.Timer.CaseID, f.Timer.Kind, f.Attempts, what, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// Failures are the failed timers reported in err (Claim joins them).
func Failures(err error) []*Failure {
	var out []*Failure
	var walk func(error)
	walk = func(err error) {
		if f, ok := err.(*Failure); ok { //nolint:errorlint // the joined list is walked by hand
			out = append(out, f)
			return
		}
		switch w := err.(type) { //nolint:errorlint // the tree of wrapped and joined errors is walked by hand
		case interface{ Unwrap() []error }:
			for _, e := range w.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(w.Unwrap())
		}
	}
	walk(err)
	return out
}

// Schedule sets (or moves) the timer of kind for a case, in the caller's transaction, so a case's state
// and its deadline change together. A fired or cancelled timer of the same kind is re-armed.
func Schedule(ctx context.Context, tx pgx.Tx, t Timer, now time.Time) error {
	if t.CaseID == "" || t.Kind == "" {
		return errors.New("timers: a timer needs a case and a kind")
	}
	payload := t.Payload
	if payload == nil {
		payload = json.RawMessage(`{}`)
	}
	// Re-arming starts the count of attempts afresh and releases a parked timer.
	_, err := tx.Exec(ctx, `INSERT INTO timers (case_id, kind, scope, due_at, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (case_id, kind) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, scope = excluded.scope,
			fired_at = NULL, fired_by = NULL, cancelled = false, attempts = 0, next_attempt_at = NULL, parked_at = NULL, last_error = ''`,
		t.CaseID, t.Kind, t.Scope, t.DueAt, payload, now)
	if err != nil {
		return fmt.Errorf("timers: schedule: %w", err)
	}
	return nil
}

// Cancel disarms the timer of kind for a case (e.g. the step finished in time), in the caller's
// transaction. Cancelling a timer that does not exist is not an error.
func Cancel(ctx context.Context, tx pgx.Tx, caseID, kind string) error {
	if _, err := tx.Exec(ctx, `UPDATE timers SET cancelled = true WHERE case_id = $1 AND kind = $2 AND fired_at IS NULL`, caseID, kind); err != nil {
		return fmt.Errorf("timers: cancel: %w", err)
	}
	return nil
}

// Fire does a timer's work inside the claiming transaction; an error rolls the work back and the timer
// is tried again after Backoff (or parked after MaxAttempts).
type Fire func(ctx context.Context, tx pgx.Tx, t Timer) error

// Claim fires up to limit timers due at now, each in its own transaction, and returns how many fired.
// worker names the replica in the fired_by column; scopes, when given, are the only scopes it claims
// (the regions the replica serves). A timer whose work fails is reported as a *Failure in the joined
// error, and the claim goes on with the timers after it.
func Claim(ctx context.Context, pool *pgxpool.Pool, now time.Time, limit int, worker string, fire Fire, scopes ...string) (int, error) {
	fired := 0
	var failures []error
	for fired+len(failures) < limit {
		var (
			t      Timer
			got    bool
			failed error
		)
		err := pgdb.InTxPipelined(ctx, pool, func(tx pgx.Tx) error {
			got, failed = false, nil
			err := tx.QueryRow(ctx, `SELECT id, case_id, kind, scope, due_at, payload, attempts FROM timers
				WHERE fired_at IS NULL AND NOT cancelled AND parked_at IS NULL AND due_at <= $1
					AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
					AND (coalesce(cardinality($2::text[]), 0) = 0 OR scope = ANY($2))
				ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, now, scopes).
				Scan(&t.ID, &t.CaseID, &t.Kind, &t.Scope, &t.DueAt, &t.Payload, &t.Attempts)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			got = true
			if err := fire(ctx, tx, t); err != nil {
				failed = err
				return err // roll the work back; the failure is recorded below
			}
			_, err = tx.Exec(ctx, `UPDATE timers SET fired_at = $2, fired_by = $3 WHERE id = $1`, t.ID, now, worker)
			return err
		})
		switch {
		case failed != nil && ctx.Err() == nil:
			f, rerr := recordFailure(ctx, pool, t, now, failed)
			if rerr != nil {
				return fired, fmt.Errorf("timers: %w", errors.Join(append(failures, f, rerr)...))
			}
			failures = append(failures, f)
			continue
		case err != nil:
			return fired, fmt.Errorf("timers: %w", errors.Join(append(failures, err)...))
		case !got:
			return fired, errors.Join(failures...)
		}
		fired++
	}
	return fired, errors.Join(failures...)
}

// recordFailure counts a failed attempt at t's work and puts the next one off, or parks t after the last.
func recordFailure(ctx context.Context, pool *pgxpool.Pool, t Timer, now time.Time, cause error) (*Failure, error) {
	f := &Failure{Timer: t, Attempts: t.Attempts + 1, Err: cause}
	f.Parked = f.Attempts >= MaxAttempts
	var parked *time.Time
	if f.Parked {
		parked = &now
	}
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	// fired_at IS NULL: another replica may have fired it since this one's transaction rolled back.
	_, err := pool.Exec(ctx, `UPDATE timers SET attempts = $2, next_attempt_at = $3, parked_at = $4, last_error = $5
		WHERE id = $1 AND fired_at IS NULL`, t.ID, f.Attempts, now.Add(Backoff(f.Attempts)), parked, msg)
	if err != nil {
		return f, fmt.Errorf("record the failure of timer %d: %w", t.ID, err)
	}
	return f, nil
}

// Parked lists the parked timers, the latest parked first.
func Parked(ctx context.Context, pool *pgxpool.Pool, limit int) ([]ParkedTimer, error) {
	rows, err := pool.Query(ctx, `SELECT id, case_id, kind, scope, due_at, attempts, parked_at, last_error FROM timers
		WHERE parked_at IS NOT NULL AND fired_at IS NULL AND NOT cancelled ORDER BY parked_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ParkedTimer, error) {
		var p ParkedTimer
		err := r.Scan(&p.ID, &p.CaseID, &p.Kind, &p.Scope, &p.DueAt, &p.Attempts, &p.ParkedAt, &p.LastError)
		return p, err
	})
}

// ParkedTimer is a timer given up after MaxAttempts.
type ParkedTimer struct {
	Timer
	ParkedAt  time.Time
	LastError string
}

// Release puts a parked timer back into the claim, its attempts counted afresh (after an operator fixed
// the cause). It reports whether the timer was parked.
func Release(ctx context.Context, pool *pgxpool.Pool, id int64) (bool, error) {
	tag, err := pool.Exec(ctx, `UPDATE timers SET parked_at = NULL, attempts = 0, next_attempt_at = NULL WHERE id = $1 AND parked_at IS NOT NULL`, id)
	if err != nil {
		return false, fmt.Errorf("timers: release %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Run claims due timers of scopes (all when none) every interval until ctx ends, taking "now" from the
// clock each round; onErr is told of every failure (the *Failure values among them by Failures).
func Run(ctx context.Context, pool *pgxpool.Pool, clock func() time.Time, interval time.Duration, worker string, fire Fire,
	onErr func(error), scopes ...string) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := Claim(ctx, pool, clock(), 100, worker, fire, scopes...)
			if err != nil && ctx.Err() == nil {
				onErr(err)
			}
			if n+len(Failures(err)) < 100 || (err != nil && len(Failures(err)) == 0) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
