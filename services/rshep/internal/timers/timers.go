// Package timers keeps РШЭП's durable timers in PostgreSQL: a step's deadline, the warning before it,
// the escalation when it is missed. A timer is a row; replicas claim due rows with FOR UPDATE SKIP
// LOCKED, do the timer's work and mark it fired in one transaction, so each timer fires exactly once
// whatever the number of replicas, and none is lost when a replica dies mid-work (its transaction rolls
// back and another claims the row). The clock is injected: tests and the engine pass "now".
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
	ID      int64
	CaseID  string
	Kind    string
	DueAt   time.Time
	Payload json.RawMessage
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
	_, err := tx.Exec(ctx, `INSERT INTO timers (case_id, kind, due_at, payload, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (case_id, kind) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload,
			fired_at = NULL, fired_by = NULL, cancelled = false`,
		t.CaseID, t.Kind, t.DueAt, payload, now)
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

// Fire does a timer's work inside the claiming transaction; an error rolls the claim back and the
// timer fires again later.
type Fire func(ctx context.Context, tx pgx.Tx, t Timer) error

// Claim fires up to limit timers due at now, each in its own transaction, and returns how many fired.
// worker names the replica in the fired_by column.
func Claim(ctx context.Context, pool *pgxpool.Pool, now time.Time, limit int, worker string, fire Fire) (int, error) {
	fired := 0
	for fired < limit {
		var got bool
		err := pgdb.InTxPipelined(ctx, pool, func(tx pgx.Tx) error {
			got = false
			var t Timer
			err := tx.QueryRow(ctx, `SELECT id, case_id, kind, due_at, payload FROM timers
				WHERE fired_at IS NULL AND NOT cancelled AND due_at <= $1
				ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, now).Scan(&t.ID, &t.CaseID, &t.Kind, &t.DueAt, &t.Payload)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := fire(ctx, tx, t); err != nil {
				return fmt.Errorf("timer %d (%s %s): %w", t.ID, t.CaseID, t.Kind, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE timers SET fired_at = $2, fired_by = $3 WHERE id = $1`, t.ID, now, worker); err != nil {
				return err
			}
			got = true
			return nil
		})
		if err != nil {
			return fired, fmt.Errorf("timers: %w", err)
		}
		if !got {
			return fired, nil
		}
		fired++
	}
	return fired, nil
}

// Run claims due timers every interval until ctx ends, taking "now" from the clock each round.
func Run(ctx context.Context, pool *pgxpool.Pool, clock func() time.Time, interval time.Duration, worker string, fire Fire, onErr func(error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := Claim(ctx, pool, clock(), 100, worker, fire)
			if err != nil && ctx.Err() == nil {
				onErr(err)
			}
			if n < 100 || err != nil {
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
