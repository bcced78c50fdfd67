package timers_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/services/rshep/internal/schema"
	"github.com/egov-suite/egov/services/rshep/internal/timers"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)

func setup(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.URL(t)
	pool, err := pgdb.Open(t.Context(), url, "rshep", 8)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "rshep", schema.Migrations())
	require.NoError(t, err)
	_, err = pool.Exec(t.Context(), `CREATE TABLE fired (timer_id bigint PRIMARY KEY, worker text NOT NULL)`)
	require.NoError(t, err)
	return pool, url
}

func schedule(t testing.TB, pool *pgxpool.Pool, n int, due time.Time) {
	t.Helper()
	require.NoError(t, pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) error {
		for i := range n {
			if err := timers.Schedule(t.Context(), tx, timers.Timer{CaseID: fmt.Sprintf("55-2026-%06d", i), Kind: "deadline", DueAt: due}, t0); err != nil {
				return err
			}
		}
		return nil
	}))
}

// record is the timer's work: a row whose primary key would refuse a second firing.
func record(worker string) timers.Fire {
	return func(ctx context.Context, tx pgx.Tx, t timers.Timer) error {
		_, err := tx.Exec(ctx, `INSERT INTO fired (timer_id, worker) VALUES ($1, $2)`, t.ID, worker)
		return err
	}
}

// TestTwoEnginesFireEachTimerOnce: two engine instances, each with its own pool, claim the same due
// timers at once; every timer fires exactly once and both instances take part.
func TestTwoEnginesFireEachTimerOnce(t *testing.T) {
	t.Parallel()
	pool, url := setup(t)
	schedule(t, pool, 400, t0.Add(time.Hour))
	var g errgroup.Group
	counts := make([]int, 2)
	// Each engine's first timer waits until the other engine holds one too: two claims in flight at once,
	// which only SKIP LOCKED lets through.
	var both sync.WaitGroup
	both.Add(2)
	for i := range counts {
		g.Go(func() error {
			p, err := pgdb.Open(t.Context(), url, "rshep", 4)
			if err != nil {
				return err
			}
			defer p.Close()
			name := fmt.Sprintf("engine-%d", i)
			var first sync.Once
			counts[i], err = timers.Claim(t.Context(), p, t0.Add(2*time.Hour), 1000, name,
				func(ctx context.Context, tx pgx.Tx, tm timers.Timer) error {
					first.Do(func() { both.Done(); both.Wait() })
					return record(name)(ctx, tx, tm)
				})
			return err
		})
	}
	require.NoError(t, g.Wait())
	require.Equal(t, 400, counts[0]+counts[1])
	var fired, engines int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT worker) FROM fired`).Scan(&fired, &engines))
	require.Equal(t, 400, fired)
	require.Equal(t, 2, engines, "both instances claimed timers")
	n, err := timers.Claim(t.Context(), pool, t0.Add(3*time.Hour), 1000, "late", record("late"))
	require.NoError(t, err)
	require.Zero(t, n, "nothing fires twice")
}

func TestDueCancelRescheduleAndFailure(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := t.Context()
	require.NoError(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		for _, tm := range []timers.Timer{
			{CaseID: "a", Kind: "deadline", DueAt: t0.Add(time.Hour)},
			{CaseID: "b", Kind: "deadline", DueAt: t0.Add(2 * time.Hour)},
			{CaseID: "c", Kind: "warning", DueAt: t0.Add(30 * time.Minute)},
		} {
			if err := timers.Schedule(ctx, tx, tm, t0); err != nil {
				return err
			}
		}
		return timers.Cancel(ctx, tx, "c", "warning")
	}))
	n, err := timers.Claim(ctx, pool, t0.Add(59*time.Minute), 10, "w", record("w"))
	require.NoError(t, err)
	require.Zero(t, n, "not yet due; the cancelled one never fires")

	// A failing timer's work rolls its claim back: it fires on a later round, after its back-off.
	boom := errors.New("registry down")
	_, err = timers.Claim(ctx, pool, t0.Add(61*time.Minute), 10, "w", func(context.Context, pgx.Tx, timers.Timer) error { return boom })
	require.ErrorIs(t, err, boom)
	n, err = timers.Claim(ctx, pool, t0.Add(61*time.Minute), 10, "w", record("w"))
	require.NoError(t, err)
	require.Zero(t, n, "not before its back-off")
	n, err = timers.Claim(ctx, pool, t0.Add(61*time.Minute).Add(timers.Backoff(1)), 10, "w", record("w"))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Rescheduling an extension moves b's deadline; re-arming a fired timer makes it fire again.
	require.NoError(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := timers.Schedule(ctx, tx, timers.Timer{CaseID: "b", Kind: "deadline", DueAt: t0.Add(5 * time.Hour)}, t0); err != nil {
			return err
		}
		return timers.Schedule(ctx, tx, timers.Timer{CaseID: "a", Kind: "deadline", DueAt: t0.Add(4 * time.Hour)}, t0)
	}))
	n, err = timers.Claim(ctx, pool, t0.Add(3*time.Hour), 10, "w", record("w2"))
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = pool.Exec(ctx, `DELETE FROM fired`)
	require.NoError(t, err)
	n, err = timers.Claim(ctx, pool, t0.Add(6*time.Hour), 10, "w", record("w3"))
	require.NoError(t, err)
	require.Equal(t, 2, n)

	require.Error(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		return timers.Schedule(ctx, tx, timers.Timer{Kind: "deadline"}, t0)
	}))
}

// TestFailingTimerDoesNotBlockTheOthers: the earliest timer's work always fails. The timers due after it
// fire in the same claim; the failing one is tried again only after its back-off, each back-off longer,
// and after the last attempt it is parked: listed, and no longer tried, until released.
func TestFailingTimerDoesNotBlockTheOthers(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := t.Context()
	require.NoError(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		for i, c := range []string{"bad", "b", "c"} {
			if err := timers.Schedule(ctx, tx, timers.Timer{CaseID: c, Kind: "deadline", DueAt: t0.Add(time.Duration(i) * time.Minute)}, t0); err != nil {
				return err
			}
		}
		return nil
	}))
	boom := errors.New("ЕНИС is down")
	tries := 0
	fire := func(ctx context.Context, tx pgx.Tx, tm timers.Timer) error {
		if tm.CaseID == "bad" {
			tries++
			return boom
		}
		return record("w")(ctx, tx, tm)
	}
	now := t0.Add(time.Hour)
	n, err := timers.Claim(ctx, pool, now, 10, "w", fire)
	require.Equal(t, 2, n, "the timers after the failing one fire")
	require.ErrorIs(t, err, boom)
	fs := timers.Failures(err)
	require.Len(t, fs, 1)
	require.Equal(t, "bad", fs[0].Timer.CaseID)
	require.Equal(t, 1, fs[0].Attempts)
	require.False(t, fs[0].Parked)

	for attempt := 2; attempt <= timers.MaxAttempts; attempt++ {
		// Just before the back-off ends nothing is tried; at its end the next attempt is made.
		now = now.Add(timers.Backoff(attempt - 1))
		n, err = timers.Claim(ctx, pool, now.Add(-time.Second), 10, "w", fire)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, attempt-1, tries, "no attempt before the back-off ends")
		n, err = timers.Claim(ctx, pool, now, 10, "w", fire)
		require.Zero(t, n)
		fs = timers.Failures(err)
		require.Len(t, fs, 1)
		require.Equal(t, attempt, fs[0].Attempts)
		require.Equal(t, attempt == timers.MaxAttempts, fs[0].Parked)
	}
	require.Greater(t, timers.Backoff(5), timers.Backoff(4), "each back-off longer")
	require.Equal(t, time.Hour, timers.Backoff(timers.MaxAttempts), "bounded")

	// Parked: listed with its last error, and not tried again however late it gets.
	parked, err := timers.Parked(ctx, pool, 10)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, "bad", parked[0].CaseID)
	require.Equal(t, timers.MaxAttempts, parked[0].Attempts)
	require.Contains(t, parked[0].LastError, "ЕНИС is down")
	n, err = timers.Claim(ctx, pool, now.Add(1000*time.Hour), 10, "w", fire)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, timers.MaxAttempts, tries)

	// Released once the cause is fixed, it fires.
	ok, err := timers.Release(ctx, pool, parked[0].ID)
	require.NoError(t, err)
	require.True(t, ok)
	n, err = timers.Claim(ctx, pool, now, 10, "w", record("w"))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	parked, err = timers.Parked(ctx, pool, 10)
	require.NoError(t, err)
	require.Empty(t, parked)
}

// TestClaimTakesOnlyItsScopes: a replica serving region 59 never claims (locks) the timers of 55, and
// one that names no scope takes all.
func TestClaimTakesOnlyItsScopes(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	ctx := t.Context()
	require.NoError(t, pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
		for i := range 6 {
			scope := []string{"55", "59"}[i%2]
			if err := timers.Schedule(ctx, tx, timers.Timer{CaseID: fmt.Sprintf("%s-%d", scope, i), Kind: "deadline", Scope: scope, DueAt: t0}, t0); err != nil {
				return err
			}
		}
		return nil
	}))
	var seen []string
	n, err := timers.Claim(ctx, pool, t0, 1, "r59", func(ctx context.Context, tx pgx.Tx, tm timers.Timer) error {
		seen = append(seen, tm.Scope)
		return record("r59")(ctx, tx, tm)
	}, "59")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = timers.Claim(ctx, pool, t0, 10, "r59", func(ctx context.Context, tx pgx.Tx, tm timers.Timer) error {
		seen = append(seen, tm.Scope)
		return record("r59")(ctx, tx, tm)
	}, "59")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []string{"59", "59", "59"}, seen)
	n, err = timers.Claim(ctx, pool, t0, 10, "all", record("all"))
	require.NoError(t, err)
	require.Equal(t, 3, n, "the rest, of 55")
}

func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	pool, _ := setup(t)
	schedule(t, pool, 3, t0)
	ctx, cancel := context.WithCancel(t.Context())
	var fired atomic.Int32
	done := make(chan error)
	go func() {
		done <- timers.Run(ctx, pool, func() time.Time { return t0.Add(time.Minute) }, 10*time.Millisecond, "run",
			func(ctx context.Context, tx pgx.Tx, tm timers.Timer) error {
				fired.Add(1)
				return record("run")(ctx, tx, tm)
			},
			func(err error) { t.Errorf("timers: %v", err) })
	}()
	require.Eventually(t, func() bool { return fired.Load() == 3 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// BenchmarkClaim measures timers fired per second by two engine instances on one database.
func BenchmarkClaim(b *testing.B) {
	pool, url := setup(b)
	schedule(b, pool, b.N, t0)
	b.ResetTimer()
	var g errgroup.Group
	for i := range 2 {
		g.Go(func() error {
			p, err := pgdb.Open(b.Context(), url, "rshep", 4)
			if err != nil {
				return err
			}
			defer p.Close()
			_, err = timers.Claim(b.Context(), p, t0.Add(time.Hour), b.N, fmt.Sprintf("e%d", i), record(fmt.Sprintf("e%d", i)))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "timers/s")
}
