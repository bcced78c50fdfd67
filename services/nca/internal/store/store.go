// Package store keeps НУЦ's state in its PostgreSQL schema: the CA keys (sealed), the issued
// certificates with their revocation, and the CRLs.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/egov-suite/egov/internal/pgdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the schema's migrations.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// Errors.
var (
	ErrNotFound       = errors.New("no certificate with that serial")
	ErrAlreadyRevoked = errors.New("the certificate is already revoked")
)

// Store is the schema's queries.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool (working in the nca schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool exposes the pool for transactions spanning several calls.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// CA is a stored authority key.
type CA struct {
	Role      string
	Cert      []byte
	SealedKey []byte
}

// LoadCAs returns the stored authority keys by role.
func LoadCAs(ctx context.Context, q pgx.Tx) (map[string]CA, error) {
	rows, err := q.Query(ctx, `SELECT role, cert, sealed_key FROM ca`)
	if err != nil {
		return nil, fmt.Errorf("store: load CAs: %w", err)
	}
	cas, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CA])
	if err != nil {
		return nil, fmt.Errorf("store: load CAs: %w", err)
	}
	out := make(map[string]CA, len(cas))
	for _, c := range cas {
		out[c.Role] = c
	}
	return out, nil
}

// SaveCA stores an authority key.
func SaveCA(ctx context.Context, q pgx.Tx, c CA) error {
	if _, err := q.Exec(ctx, `INSERT INTO ca (role, cert, sealed_key) VALUES ($1, $2, $3)`, c.Role, c.Cert, c.SealedKey); err != nil {
		return fmt.Errorf("store: save CA %s: %w", c.Role, err)
	}
	return nil
}

// Certificate is an issued certificate's record.
type Certificate struct {
	Serial           string
	Issuer           string
	Profile          string
	Purpose          string
	SubjectDN        string
	IIN              *string
	BIN              *string
	SystemID         *string
	NotBefore        time.Time
	NotAfter         time.Time
	DER              []byte
	IssuedAt         time.Time
	RevokedAt        *time.Time
	RevocationReason *int32
}

const certColumns = `serial, issuer, profile, purpose, subject_dn, iin, bin, system_id, not_before, not_after, der,
	issued_at, revoked_at, revocation_reason`

// InsertCertificate records an issued certificate.
func (s *Store) InsertCertificate(ctx context.Context, c Certificate) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO certificates (`+certColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)`,
		c.Serial, c.Issuer, c.Profile, c.Purpose, c.SubjectDN, c.IIN, c.BIN, c.SystemID, c.NotBefore, c.NotAfter, c.DER, c.IssuedAt)
	if err != nil {
		return fmt.Errorf("store: insert certificate: %w", err)
	}
	return nil
}

// Revoke marks a certificate revoked at at, in tx.
func Revoke(ctx context.Context, tx pgx.Tx, serial string, reason int, at time.Time) (Certificate, error) {
	rows, err := tx.Query(ctx, `UPDATE certificates SET revoked_at = $2, revocation_reason = $3
		WHERE serial = $1 AND revoked_at IS NULL RETURNING `+certColumns, serial, at, reason)
	if err != nil {
		return Certificate{}, fmt.Errorf("store: revoke: %w", err)
	}
	c, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Certificate])
	if errors.Is(err, pgx.ErrNoRows) {
		var revoked bool
		err := tx.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM certificates WHERE serial = $1`, serial).Scan(&revoked)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return Certificate{}, ErrNotFound
		case err != nil:
			return Certificate{}, fmt.Errorf("store: revoke: %w", err)
		default:
			return Certificate{}, ErrAlreadyRevoked
		}
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("store: revoke: %w", err)
	}
	return c, nil
}

// Get returns a certificate by serial.
func (s *Store) Get(ctx context.Context, serial string) (Certificate, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+certColumns+` FROM certificates WHERE serial = $1`, serial)
	if err != nil {
		return Certificate{}, fmt.Errorf("store: get: %w", err)
	}
	c, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Certificate])
	if errors.Is(err, pgx.ErrNoRows) {
		return Certificate{}, ErrNotFound
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("store: get: %w", err)
	}
	return c, nil
}

// Filter narrows a listing.
type Filter struct {
	IIN     string
	Profile string
	// After is the (issued_at, serial) of the last row of the previous page.
	AfterTime   time.Time
	AfterSerial string
	Limit       int
}

// List returns certificates newest first, without their DER.
func (s *Store) List(ctx context.Context, f Filter) ([]Certificate, error) {
	after := f.AfterTime
	if after.IsZero() {
		after = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.pool.Query(ctx, `SELECT serial, issuer, profile, purpose, subject_dn, iin, bin, system_id, not_before,
			not_after, ''::bytea, issued_at, revoked_at, revocation_reason
		FROM certificates
		WHERE ($1 = '' OR iin = $1) AND ($2 = '' OR profile = $2) AND (issued_at, serial) < ($3, $4)
		ORDER BY issued_at DESC, serial DESC LIMIT $5`,
		f.IIN, f.Profile, after, f.AfterSerial, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Certificate])
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	return out, nil
}

// Revocation is one revoked serial.
type Revocation struct {
	Serial string
	At     time.Time
	Reason int32
}

// Revoked lists the revoked certificates of an issuer, in tx (so a CRL sees a consistent set).
func Revoked(ctx context.Context, q pgx.Tx, issuer string) ([]Revocation, error) {
	rows, err := q.Query(ctx, `SELECT serial, revoked_at, revocation_reason FROM certificates
		WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY serial`, issuer)
	if err != nil {
		return nil, fmt.Errorf("store: revoked: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Revocation])
	if err != nil {
		return nil, fmt.Errorf("store: revoked: %w", err)
	}
	return out, nil
}

// CRL is a stored revocation list.
type CRL struct {
	Issuer     string
	Number     int64
	DER        []byte
	ThisUpdate time.Time
	NextUpdate time.Time
}

// NextCRLNumber locks the issuer's CRL sequence for tx and returns the next number.
func NextCRLNumber(ctx context.Context, tx pgx.Tx, issuer string) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('nca.crl.' || $1))`, issuer); err != nil {
		return 0, fmt.Errorf("store: lock CRL: %w", err)
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(number), 0) + 1 FROM crls WHERE issuer = $1`, issuer).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: CRL number: %w", err)
	}
	return n, nil
}

// SaveCRL stores a CRL, in tx.
func SaveCRL(ctx context.Context, tx pgx.Tx, c CRL) error {
	_, err := tx.Exec(ctx, `INSERT INTO crls (issuer, number, der, this_update, next_update) VALUES ($1, $2, $3, $4, $5)`,
		c.Issuer, c.Number, c.DER, c.ThisUpdate, c.NextUpdate)
	if err != nil {
		return fmt.Errorf("store: save CRL: %w", err)
	}
	return nil
}

// LatestCRL returns the newest CRL of an issuer; ok is false when there is none.
func (s *Store) LatestCRL(ctx context.Context, issuer string) (CRL, bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT issuer, number, der, this_update, next_update FROM crls
		WHERE issuer = $1 ORDER BY number DESC LIMIT 1`, issuer)
	if err != nil {
		return CRL{}, false, fmt.Errorf("store: latest CRL: %w", err)
	}
	c, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[CRL])
	if errors.Is(err, pgx.ErrNoRows) {
		return CRL{}, false, nil
	}
	if err != nil {
		return CRL{}, false, fmt.Errorf("store: latest CRL: %w", err)
	}
	return c, true, nil
}

// Status returns a serial's revocation state as issued by issuer; found is false for an unknown serial.
func (s *Store) Status(ctx context.Context, issuer, serial string) (found bool, revokedAt *time.Time, reason *int32, err error) {
	err = s.pool.QueryRow(ctx, `SELECT revoked_at, revocation_reason FROM certificates WHERE serial = $1 AND issuer = $2`,
		serial, issuer).Scan(&revokedAt, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil, nil, nil
	}
	if err != nil {
		return false, nil, nil, fmt.Errorf("store: status: %w", err)
	}
	return true, revokedAt, reason, nil
}
