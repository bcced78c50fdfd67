// Package pgdb opens PostgreSQL pools, applies each service's embedded migrations to its own schema,
// and runs transactions.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open returns a pool whose connections work in schema (search_path) and trace their queries.
func Open(ctx context.Context, url, schema string, maxConns int32) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("pgdb: no database URL (set DATABASE_URL)")
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("pgdb: schema name %q: want lower-case letters, digits and '_'", schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgdb: parse database URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "egov-" + schema
	// A span per query, not per pool acquisition (a wait, rarely of interest, and otelpgx copies the
	// pool's whole configuration for each); the server's address is the same for every query, so it is
	// computed once here instead of from that copy.
	cfg.ConnConfig.Tracer = otelpgx.NewTracer(
		otelpgx.WithDisableAcquireTracer(),
		otelpgx.WithDisableConnectionDetailsInAttributes(),
		otelpgx.WithTracerAttributes(
			attribute.String("server.address", cfg.ConnConfig.Host),
			attribute.Int("server.port", int(cfg.ConnConfig.Port)),
			attribute.String("db.namespace", cfg.ConnConfig.Database+"."+schema),
		),
	)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: %w", err)
	}
	return pool, nil
}

// Check pings the database: a readiness check.
func Check(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error { return pool.Ping(ctx) }
}

// InTx runs fn in a transaction and commits when fn returns nil; otherwise it rolls back and returns
// fn's error. A serialization failure or deadlock is retried up to three times, so fn must not have
// effects outside the transaction.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return InTxOptions(ctx, pool, pgx.TxOptions{}, fn)
}

// InTxOptions is InTx with an isolation level and access mode.
func InTxOptions(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = pgx.BeginTxFunc(ctx, pool, opts, fn)
		if !retryable(err) {
			return err
		}
	}
	return fmt.Errorf("pgdb: gave up after 4 attempts: %w", err)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// IsUniqueViolation reports whether err is a unique-constraint violation (SQLSTATE 23505).
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
