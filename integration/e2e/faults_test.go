package e2e

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/qakit"
)

// TestFaultsLoseNothing submits applications without pause while, one after the other, ШЭП, РШЭП and
// the portal are killed with SIGKILL and started again, the NATS server restarts and PostgreSQL
// restarts. Afterwards every application that was signed reaches exactly one final state, has exactly
// one registration number, and its citizen sees each status exactly once, in order.
func TestFaultsLoseNothing(t *testing.T) {
	// A compact redelivery schedule, so that what the faults held back arrives within the test's wait:
	// messages stranded in a killed process's pull buffer wait out the ack wait, and a delivery that met
	// several faults in a row would otherwise sit in the default schedule's 2- and 10-minute steps. It
	// moves the time things arrive, not whether they do.
	w := start(t, "EGOV_SHEP_REDELIVERY=1s,2s,5s,10s,20s,30s,30s,30s", "EGOV_SHEP_ACK_WAIT=10s")
	citizen := w.citizen(t, "citizen-akhmetova")

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var accepted, failed atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// West Kazakhstan's automated regulation: no staff needed to reach the result.
				pg, err := citizen.Submit(ctx, "/services/guardianship-certificate/27", qakit.Form{
					Path: "/services/guardianship-certificate/27", Fields: map[string]string{"ward_iin": ward}})
				if err == nil && pg.Status == 200 {
					var id string
					if id, err = qakit.Application(pg); err == nil {
						pg, err = citizen.SignPage(ctx, pg, "/applications/"+id+"/sign", citizen.Sign, nil)
					}
				}
				if err != nil || pg.Status != 200 {
					failed.Add(1) // the portal, ШЭП, NATS or PostgreSQL is down: try again
					time.Sleep(100 * time.Millisecond)
					continue
				}
				accepted.Add(1)
			}
		}()
	}
	pause := func() { time.Sleep(2 * time.Second) }
	pause()
	for _, name := range []string{"shep", "rshep", "portal"} {
		t.Logf("kill -9 %s", name)
		w.s.Restart(name)
		pause()
	}
	t.Log("restart NATS")
	w.s.RestartNATS(time.Second)
	pause()
	t.Log("restart PostgreSQL")
	w.s.RestartPostgres(time.Second)
	pause()
	stop()
	wg.Wait()
	t.Logf("applications accepted %d, attempts that met a fault %d", accepted.Load(), failed.Load())
	require.Positive(t, accepted.Load())

	// Every signed application reaches its result: none is left on the way.
	var open int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM portal.applications
			WHERE status <> 'DRAFT' AND closed_at IS NULL`).Scan(&open))
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			w.diagnose(t)
			t.Fatalf("%d applications still open after the faults", open)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var signed, issued int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE status = 'RESULT_ISSUED')
		FROM portal.applications WHERE status <> 'DRAFT'`).Scan(&signed, &issued))
	t.Logf("signed %d, results issued %d", signed, issued)
	require.GreaterOrEqual(t, int64(signed), accepted.Load(), "every accepted application is recorded")
	require.Equal(t, signed, issued, "every signed application reached one final state: its result")

	// Exactly one case, one registration number, per application; no number twice.
	var apps, cases, numbers, orphans int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(DISTINCT application_id), count(*), count(DISTINCT registration_number)
		FROM rshep.cases`).Scan(&apps, &cases, &numbers))
	require.Equal(t, signed, apps)
	require.Equal(t, apps, cases, "one case per application")
	require.Equal(t, cases, numbers, "one number per case")
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM portal.applications a
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
		rows, err := w.db.Query(t.Context(), `SELECT a.id::text, array_agg(s.status ORDER BY s.seq, s.at) FROM portal.applications a
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
func (w *world) diagnose(t *testing.T) {
	t.Helper()
	for _, q := range []string{
		`SELECT 'portal ' || status || ' sent=' || (sent_at IS NOT NULL)::text, count(*) FROM portal.applications WHERE closed_at IS NULL AND status <> 'DRAFT' GROUP BY 1`,
		`SELECT 'rshep case ' || status, count(*) FROM rshep.cases c WHERE c.closed_at IS NULL GROUP BY 1`,
		`SELECT 'rshep outbox unsent', count(*) FROM rshep.outbox WHERE sent_at IS NULL`,
		`SELECT 'portal applications without a case', count(*) FROM portal.applications a WHERE a.status <> 'DRAFT' AND a.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM rshep.cases c WHERE c.application_id = a.id::text)`,
		`SELECT 'rshep rejections', count(*) FROM rshep.rejections`,
	} {
		rows, err := w.db.Query(t.Context(), q)
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
