package harness

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// Account is the fault tests' accounting, in either mode: every application that was signed (at least
// accepted of them) reaches exactly one final state, its result; it has exactly one case and one
// registration number, and no number is given twice; and its citizen sees each status exactly once, in
// the order of the process — ШЭП's delivery receipt included, which a fault may delay but not lose. It
// waits up to three minutes for what the faults held back.
func Account(t testing.TB, db *pgxpool.Pool, accepted int64) {
	t.Helper()
	// Every signed application reaches its result: none is left on the way.
	var open int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM portal.applications
			WHERE status <> 'DRAFT' AND closed_at IS NULL`).Scan(&open))
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			diagnose(t, db)
			t.Fatalf("%d applications still open after the faults", open)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var signed, issued int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE status = 'RESULT_ISSUED')
		FROM portal.applications WHERE status <> 'DRAFT'`).Scan(&signed, &issued))
	t.Logf("signed %d, results issued %d", signed, issued)
	require.GreaterOrEqual(t, int64(signed), accepted, "every accepted application is recorded")
	require.Equal(t, signed, issued, "every signed application reached one final state: its result")

	// Exactly one case, one registration number, per application; no number twice.
	var apps, cases, numbers, orphans int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(DISTINCT application_id), count(*), count(DISTINCT registration_number)
		FROM rshep.cases`).Scan(&apps, &cases, &numbers))
	require.Equal(t, signed, apps)
	require.Equal(t, apps, cases, "one case per application")
	require.Equal(t, cases, numbers, "one number per case")
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM portal.applications a
		WHERE a.status <> 'DRAFT' AND NOT EXISTS (SELECT 1 FROM rshep.cases c WHERE c.application_id = a.id::text)`).Scan(&orphans))
	require.Zero(t, orphans)

	// Each status once, in the order of the process — ШЭП's delivery receipt included, which a fault may
	// delay behind the rest but not lose.
	want := []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}
	type seen struct {
		id       string
		statuses []string
	}
	var wrong []seen
	for {
		rows, err := db.Query(t.Context(), `SELECT a.id::text, array_agg(s.status ORDER BY s.seq, s.at) FROM portal.applications a
			JOIN portal.statuses s ON s.application_id = a.id WHERE a.status <> 'DRAFT' GROUP BY a.id`)
		require.NoError(t, err)
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seen, error) {
			var x seen
			err := r.Scan(&x.id, &x.statuses)
			return x, err
		})
		require.NoError(t, err)
		require.Len(t, all, signed)
		wrong = wrong[:0]
		for _, x := range all {
			if !slices.Equal(want, x.statuses) {
				wrong = append(wrong, x)
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, x := range wrong {
		require.Equal(t, want, x.statuses, "application %s", x.id)
	}
}

// diagnose logs where the open applications stand, in each system.
func diagnose(t testing.TB, db *pgxpool.Pool) {
	t.Helper()
	for _, q := range []string{
		`SELECT 'portal ' || status || ' sent=' || (sent_at IS NOT NULL)::text, count(*) FROM portal.applications WHERE closed_at IS NULL AND status <> 'DRAFT' GROUP BY 1`,
		`SELECT 'rshep case ' || status, count(*) FROM rshep.cases c WHERE c.closed_at IS NULL GROUP BY 1`,
		`SELECT 'rshep outbox unsent', count(*) FROM rshep.outbox WHERE sent_at IS NULL`,
		`SELECT 'portal applications without a case', count(*) FROM portal.applications a WHERE a.status <> 'DRAFT' AND a.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM rshep.cases c WHERE c.application_id = a.id::text)`,
		`SELECT 'rshep rejections', count(*) FROM rshep.rejections`,
	} {
		rows, err := db.Query(t.Context(), q)
		if err != nil {
			t.Logf("%s: %v", q, err)
			continue
		}
		for rows.Next() {
			var k string
			var n int
			if rows.Scan(&k, &n) == nil {
				t.Logf("%s: %d", k, n)
			}
		}
		rows.Close()
	}
}
