// Package store keeps the ЕНИС stub's powers of attorney in its PostgreSQL schema.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"time"

	"github.com/egov-suite/egov/internal/pgdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the schema's migrations.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// ErrNotFound means no power of attorney matches the number and both parties.
var ErrNotFound = errors.New("no such power of attorney")

// PowerOfAttorney is a stored record.
type PowerOfAttorney struct {
	Number            string
	IssuedOn          time.Time
	ValidUntil        time.Time
	NotaryName        string
	NotaryLicence     string
	PrincipalIIN      string
	RepresentativeIIN string
	ServiceCodes      []string
	GeneralScope      bool
	Revoked           bool
}

// Store is the schema's queries.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool (working in the enis schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Get finds a power of attorney by its number and both parties.
func (s *Store) Get(ctx context.Context, number, principal, representative string) (PowerOfAttorney, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, issued_on, valid_until, notary_name, notary_licence, principal_iin,
			representative_iin, service_codes, general_scope, revoked
		FROM powers_of_attorney WHERE number = $1 AND principal_iin = $2 AND representative_iin = $3`, number, principal, representative)
	if err != nil {
		return PowerOfAttorney{}, fmt.Errorf("store: %w", err)
	}
	p, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[PowerOfAttorney])
	if errors.Is(err, pgx.ErrNoRows) {
		return PowerOfAttorney{}, ErrNotFound
	}
	return p, err
}

// Count returns how many records are stored.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM powers_of_attorney`).Scan(&n)
	return n, err
}

// Load replaces every record with those of gen, by COPY, in one transaction.
func (s *Store) Load(ctx context.Context, gen iter.Seq[PowerOfAttorney]) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `TRUNCATE powers_of_attorney`); err != nil {
		return 0, err
	}
	var rows [][]any
	for p := range gen {
		if p.ServiceCodes == nil {
			p.ServiceCodes = []string{}
		}
		rows = append(rows, []any{p.Number, p.IssuedOn, p.ValidUntil, p.NotaryName, p.NotaryLicence, p.PrincipalIIN,
			p.RepresentativeIIN, p.ServiceCodes, p.GeneralScope, p.Revoked})
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"powers_of_attorney"}, []string{"number", "issued_on", "valid_until", "notary_name",
		"notary_licence", "principal_iin", "representative_iin", "service_codes", "general_scope", "revoked"}, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, fmt.Errorf("store: copy: %w", err)
	}
	return n, tx.Commit(ctx)
}
