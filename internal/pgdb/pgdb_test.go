package pgdb_test

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var migrations = fstest.MapFS{
	"0001_cases.sql":   {Data: []byte(`CREATE TABLE cases (id bigserial PRIMARY KEY, number text UNIQUE NOT NULL);`)},
	"0002_history.sql": {Data: []byte(`CREATE TABLE history (case_id bigint REFERENCES cases (id), status text NOT NULL);`)},
	"README.md":        {Data: []byte("not a migration")},
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	pool, err := pgdb.Open(t.Context(), url, "rshep", 4)
	require.NoError(t, err)
	defer pool.Close()

	n, err := pgdb.Migrate(t.Context(), pool, "rshep", migrations)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = pgdb.Migrate(t.Context(), pool, "rshep", migrations)
	require.NoError(t, err)
	require.Zero(t, n)

	// The pool works in its schema: unqualified names resolve there.
	_, err = pool.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('55-2026-000001')`)
	require.NoError(t, err)
	var schema string
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 'cases'`).Scan(&schema))
	require.Equal(t, "rshep", schema)

	// A later migration is applied on its own.
	more := fstest.MapFS{"0003_idx.sql": {Data: []byte(`CREATE INDEX ON history (case_id);`)}}
	for k, v := range migrations {
		more[k] = v
	}
	n, err = pgdb.Migrate(t.Context(), pool, "rshep", more)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var g errgroup.Group
	applied := make([]int, 4)
	for i := range applied {
		g.Go(func() error {
			pool, err := pgdb.Open(t.Context(), url, "shep", 2)
			if err != nil {
				return err
			}
			defer pool.Close()
			applied[i], err = pgdb.Migrate(t.Context(), pool, "shep", migrations)
			return err
		})
	}
	require.NoError(t, g.Wait())
	total := 0
	for _, n := range applied {
		total += n
	}
	require.Equal(t, 2, total, "each migration runs exactly once across replicas")
}

func TestMigrateFailureLeavesNoHalfState(t *testing.T) {
	t.Parallel()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "nca", 2)
	require.NoError(t, err)
	defer pool.Close()
	bad := fstest.MapFS{
		"0001_ok.sql":     {Data: []byte(`CREATE TABLE a (x int);`)},
		"0002_broken.sql": {Data: []byte(`CREATE TABLE b (y int); SELECT * FROM no_such_table;`)},
	}
	n, err := pgdb.Migrate(t.Context(), pool, "nca", bad)
	require.ErrorContains(t, err, "0002_broken")
	require.Equal(t, 1, n)
	var exists bool
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT to_regclass('nca.b') IS NOT NULL`).Scan(&exists))
	require.False(t, exists, "the failed migration's table must be rolled back")
}

func TestMigrationNames(t *testing.T) {
	t.Parallel()
	tests := map[string]fstest.MapFS{
		"fail/no version": {"cases.sql": {Data: []byte("")}},
		"fail/zero":       {"0000_x.sql": {Data: []byte("")}},
		"fail/duplicate":  {"0001_a.sql": {Data: []byte("")}, "1_b.sql": {Data: []byte("")}},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := pgdb.LoadMigrations(fsys)
			require.Error(t, err)
		})
	}
	_, err := pgdb.Open(t.Context(), "postgres://x", "Bad-Schema", 1)
	require.ErrorContains(t, err, "schema name")
	_, err = pgdb.Open(t.Context(), "", "ok", 1)
	require.ErrorContains(t, err, "DATABASE_URL")
}

func TestInTx(t *testing.T) {
	t.Parallel()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "tson", 2)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pgdb.Migrate(t.Context(), pool, "tson", migrations)
	require.NoError(t, err)

	require.NoError(t, pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('A')`)
		return err
	}))
	boom := errors.New("boom")
	err = pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('B')`); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	err = pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('A')`)
		return err
	})
	require.True(t, pgdb.IsUniqueViolation(err))

	var numbers []string
	rows, err := pool.Query(t.Context(), `SELECT number FROM cases ORDER BY number`)
	require.NoError(t, err)
	numbers, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"A"}, numbers)
	require.NoError(t, pgdb.Check(pool)(t.Context()))
}

func TestInTxPipelined(t *testing.T) {
	t.Parallel()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "pipelined", 2)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pgdb.Migrate(t.Context(), pool, "pipelined", migrations)
	require.NoError(t, err)
	count := func() (n int) {
		require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM cases`).Scan(&n))
		return n
	}

	// Queued writes are visible to the transaction's next read and committed together.
	require.NoError(t, pgdb.InTxPipelined(t.Context(), pool, func(tx pgx.Tx) error {
		for _, n := range []string{"A", "B", "C"} {
			if _, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ($1)`, n); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(t.Context(), `SELECT count(*) FROM cases`).Scan(&n); err != nil {
			return err
		}
		require.Equal(t, 3, n)
		_, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('D')`)
		return err // sent with the commit
	}))
	require.Equal(t, 4, count())

	// A queued statement that fails surfaces at the next read, and nothing of the transaction stays.
	err = pgdb.InTxPipelined(t.Context(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('E')`); err != nil {
			return err
		}
		if _, err := tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('A')`); err != nil {
			return err
		}
		var n int
		return tx.QueryRow(t.Context(), `SELECT count(*) FROM cases`).Scan(&n)
	})
	require.True(t, pgdb.IsUniqueViolation(err), "%v", err)
	require.Equal(t, 4, count())

	// … and at the commit when no read follows it.
	err = pgdb.InTxPipelined(t.Context(), pool, func(tx pgx.Tx) error {
		_, _ = tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('F')`)
		_, _ = tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('B')`)
		return nil
	})
	require.True(t, pgdb.IsUniqueViolation(err), "%v", err)
	require.Equal(t, 4, count())

	// fn's own error rolls back what was queued without sending it.
	boom := errors.New("boom")
	err = pgdb.InTxPipelined(t.Context(), pool, func(tx pgx.Tx) error {
		_, _ = tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('G')`)
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, 4, count())

	// A batch and a query after queued writes see them.
	require.NoError(t, pgdb.InTxPipelined(t.Context(), pool, func(tx pgx.Tx) error {
		_, _ = tx.Exec(t.Context(), `INSERT INTO cases (number) VALUES ('H')`)
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO cases (number) VALUES ('I')`)
		if err := tx.SendBatch(t.Context(), b).Close(); err != nil {
			return err
		}
		rows, err := tx.Query(t.Context(), `SELECT number FROM cases WHERE number IN ('H', 'I') ORDER BY number`)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.Equal(t, []string{"H", "I"}, got)
		return err
	}))
	require.Equal(t, 6, count())
}
