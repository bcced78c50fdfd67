// Package cases registers applications (заявки) at РШЭП: each gets a registration number (регистрационный
// номер, assigned by АРМ РШЭП) unique per region and year, exactly once even when ШЭП delivers the
// application twice, or when the channel sends the same signed application again in a new envelope.
package cases

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/calendar"
)

// Application identifies what is registered.
type Application struct {
	// Sender and MessageID are the envelope's: a redelivery of the envelope finds its registration.
	Sender, MessageID string
	// Digest is the SHA-256 of the signed application's content (the bytes the person signed, which hold
	// the application's own id): the same application in a new envelope — a re-send after a restart —
	// finds its registration by it. Empty, only the envelope is the key.
	Digest []byte
	// Provider is the provider's key (its BIN, or its name when the passport gives none).
	Provider    string
	ServiceCode string
	Region      string
}

// Registration is a registered case.
type Registration struct {
	ID     int64
	Number string
	At     time.Time
	// New is false when the application had been registered before (a redelivery).
	New bool
}

// Register gives the application its registration number in tx, or returns the number it already has.
// Numbers read "<region>-<year>-<sequence>", e.g. "55-2026-000042", the sequence counting per region and
// year (Kazakhstan time): the number names the region, so every provider of the region draws from one
// register, and a number finds one case of the region.
func Register(ctx context.Context, tx pgx.Tx, a Application, now time.Time) (Registration, error) {
	if a.Sender == "" || a.MessageID == "" || a.Provider == "" || a.Region == "" {
		return Registration{}, errors.New("cases: an application needs its sender, message id, provider and region")
	}
	// Concurrent deliveries of one application (two replicas, a redelivery racing the first, the same
	// application in two envelopes) wait for each other here, so the counter moves once and no number is
	// skipped. The lock is the application's when its digest is known, else the envelope's.
	key := a.Sender + "/" + a.MessageID
	if len(a.Digest) > 0 {
		key = "sha256:" + hex.EncodeToString(a.Digest)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key); err != nil {
		return Registration{}, fmt.Errorf("cases: lock: %w", err)
	}
	var r Registration
	err := tx.QueryRow(ctx, `SELECT id, registration_number, registered_at FROM cases
		WHERE (sender = $1 AND message_id = $2) OR application_sha256 = $3 ORDER BY id LIMIT 1`,
		a.Sender, a.MessageID, a.Digest).Scan(&r.ID, &r.Number, &r.At)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Registration{}, fmt.Errorf("cases: %w", err)
	}
	year := now.In(calendar.Zone).Year()
	var seq int64
	if err := tx.QueryRow(ctx, `INSERT INTO region_counters (region, year, last) VALUES ($1, $2, 1)
		ON CONFLICT (region, year) DO UPDATE SET last = region_counters.last + 1 RETURNING last`,
		a.Region, year).Scan(&seq); err != nil {
		return Registration{}, fmt.Errorf("cases: number: %w", err)
	}
	r = Registration{Number: fmt.Sprintf("%s-%d-%06d", a.Region, year, seq), At: now, New: true}
	err = tx.QueryRow(ctx, `INSERT INTO cases (sender, message_id, provider, service_code, region, registration_number, registered_at, application_sha256)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		a.Sender, a.MessageID, a.Provider, a.ServiceCode, a.Region, r.Number, now, a.Digest).Scan(&r.ID)
	if err != nil {
		return Registration{}, fmt.Errorf("cases: register: %w", err)
	}
	return r, nil
}
