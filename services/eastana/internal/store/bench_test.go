package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// City size of the benchmark: Astana's list, of the order of a hundred thousand children, and its
// kindergartens, each with six age groups (1 to 7 years) of 25 places.
const (
	cityChildren      = 100_000
	cityKindergartens = 300
	groupPlaces       = 25
)

// cityChild is the i-th child of the city list: ages spread evenly over 0 to 7 years on t0.
func cityChild(i int) *queue.Child {
	return &queue.Child{
		IIN:             fmt.Sprintf("3%011d", i),
		BirthDate:       t0.AddDate(0, 0, -1-(i*7)%(7*365)),
		Representatives: []string{applicant},
	}
}

// loadCity fills a list with cityChildren waiting children (numbers 1..cityChildren, loaded with COPY: the
// benchmark measures the operations on a list of that size, not its loading) and cityKindergartens
// kindergartens, every place occupied; it returns the groups' ids.
func loadCity(b *testing.B, s *store.Store, pool *pgxpool.Pool) []int64 {
	b.Helper()
	ctx := b.Context()
	rows := make([][]any, cityChildren)
	for i := range rows {
		c := cityChild(i)
		rows[i] = []any{list, int64(i + 1), c.IIN, c.BirthDate, applicant, "", "general", "portal", t0.Add(time.Duration(i) * time.Second), "waiting"}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"entries"},
		[]string{"list_id", "number", "child_iin", "birth_date", "applicant_iin", "category", "kind", "channel", "registered_at", "state"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE lists SET next_number = $2 WHERE id = $1`, list, cityChildren+1); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO waiting_blocks (list_id, kind, block, waiting)
		SELECT list_id, kind, number / $1, count(*) FROM entries WHERE state = 'waiting' GROUP BY 1, 2, 3`, store.Block); err != nil {
		b.Fatal(err)
	}
	var groups []int64
	for k := range cityKindergartens {
		var gs []store.Group
		for age := 1; age < 7; age++ {
			gs = append(gs, store.Group{AgeFrom: age, AgeTo: age + 1, Capacity: groupPlaces})
		}
		ids, _, err := s.AddKindergarten(ctx, store.Kindergarten{ID: fmt.Sprintf("ddo-%03d", k), ListID: list,
			Name: queue.Text{RU: fmt.Sprintf("Детский сад № %d", k+1), KK: fmt.Sprintf("№ %d балабақша", k+1)}, Groups: gs}, "МИО", t0)
		if err != nil {
			b.Fatal(err)
		}
		groups = append(groups, ids...)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return groups
}

// BenchmarkCity measures the list's operations on a city-sized list, each beside a baseline of the same
// run on the same tables: registering beside a bare INSERT of an entry; looking up a position beside a
// bare primary-key look-up of the entry; allocating 1,000 freed places beside 1,000 bare index look-ups
// of a waiting child and inserts of an offer in one transaction; the QUEUE_MOVED sweep over every waiting
// child with an application beside a bare scan of the waiting children joined to their applications.
//
//	go test -run '^$' -bench City -benchtime 3s ./services/eastana/internal/store/
func BenchmarkCity(b *testing.B) {
	s, pool, _ := setup(b, queue.Passport2012())
	groups := loadCity(b, s, pool)
	ctx := b.Context()
	next := cityChildren // children registered by the benchmark have IINs after the loaded ones

	b.Run("register", func(b *testing.B) {
		for b.Loop() {
			next++
			if _, err := s.Register(ctx, store.Registration{ListID: list, ApplicantIIN: applicant, Child: cityChild(next), Channel: "portal"}, t0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
	})
	b.Run("register/baseline-insert", func(b *testing.B) {
		for b.Loop() {
			next++
			c := cityChild(next)
			// Numbers far above the list's own, so the two benchmarks never collide.
			if _, err := pool.Exec(ctx, `INSERT INTO entries (list_id, number, child_iin, birth_date, applicant_iin, category, kind, channel, registered_at, state)
				VALUES ($1, $2, $3, $4, $5, '', 'general', 'portal', $6, 'removed')`, list, int64(10_000_000+next), c.IIN, c.BirthDate, applicant, t0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
	})

	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("position", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Position(ctx, int64(1+rng.IntN(cityChildren))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "look-ups/s")
	})
	b.Run("position/baseline-index", func(b *testing.B) {
		for b.Loop() {
			var number int64
			if err := pool.QueryRow(ctx, `SELECT number FROM entries WHERE id = $1`, int64(1+rng.IntN(cityChildren))).Scan(&number); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "look-ups/s")
	})

	// Each round frees 1,000 places (outside the timer) and allocates them in one sweep, or releases them
	// one by one as employees do, each release allocating its place.
	free1000 := func(b *testing.B) {
		b.StopTimer()
		defer b.StartTimer()
		if _, err := pool.Exec(ctx, `UPDATE seats SET state = 'free', freed_at = $1 WHERE id IN (
			SELECT id FROM seats WHERE state = 'occupied' ORDER BY random() LIMIT 1000)`, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("allocate-1000", func(b *testing.B) {
		offered := 0
		for b.Loop() {
			free1000(b)
			offers, err := s.Allocate(ctx, list, "bench", t0)
			if err != nil {
				b.Fatal(err)
			}
			offered += len(offers)
		}
		b.ReportMetric(float64(offered)/b.Elapsed().Seconds(), "places/s")
	})
	b.Run("allocate-1000/release-each", func(b *testing.B) {
		offered := 0
		for b.Loop() {
			for i := range 1000 {
				offers, err := s.Release(ctx, groups[(offered+i*7)%len(groups)], 1, "bench", t0)
				if err != nil {
					b.Fatal(err)
				}
				offered += len(offers)
			}
		}
		b.ReportMetric(float64(offered)/b.Elapsed().Seconds(), "places/s")
	})
	b.Run("allocate-1000/baseline-lookup-insert", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			var seats []int64
			rows, err := pool.Query(ctx, `SELECT id FROM seats WHERE state = 'occupied' ORDER BY random() LIMIT 1000`)
			if err == nil {
				seats, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			// Rolled back, so every round starts from the same tables.
			tx, err := pool.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for i, seat := range seats {
				var entry int64
				if err := tx.QueryRow(ctx, `SELECT id FROM entries WHERE list_id = $1 AND state = 'waiting' AND kind = 'general'
					AND number > $2 ORDER BY number LIMIT 1`, list, int64(i*50)).Scan(&entry); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO offers (seat_id, entry_id, offered_at, expires_at, state, offered_by)
					VALUES ($1, $2, $3, $3, 'declined', 'baseline')`, seat, entry, t0); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Rollback(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "places/s")
	})

	// QUEUE_MOVED: every waiting child left has an application whose decision went out (as in the city,
	// where every child came through a channel), told the count ahead it has now, so that a sweep with
	// nothing due measures the comparison alone; a sweep with 1,000 cases due (their told count raised by
	// the step, outside the timer) measures the notifications made and put in the outbox as well.
	if _, err := pool.Exec(ctx, `INSERT INTO applications (sender, application_id, correlation_id, applicant_iin, entry_id, notification,
			received_at, service_code, region, number, state, decision, signed_at, notify_seq, told_ahead)
		SELECT 'portal', 'bench-' || id, 'bench-' || id, applicant_iin, id, '', $1, 'preschool-registration', '71', 'ЕА-2026-' || id,
			'issued', 'registration_ticket', $1, 2, row_number() OVER (PARTITION BY list_id, kind ORDER BY number) - 1
		FROM entries WHERE state = 'waiting'`, t0); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE applications`); err != nil {
		b.Fatal(err)
	}
	in := &intake.Intake{Store: s, DB: pool}
	moved := intake.Moved{Step: 10, Limit: 1000}
	b.Run("moved-sweep", func(b *testing.B) {
		for b.Loop() {
			if n, err := in.MovedOnce(ctx, moved, t0.Add(time.Hour)); err != nil || n != 0 {
				b.Fatalf("nothing is due: %d, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sweeps/s")
	})
	b.Run("moved-sweep/1000-due", func(b *testing.B) {
		made := 0
		for b.Loop() {
			b.StopTimer()
			if _, err := pool.Exec(ctx, `UPDATE applications SET told_ahead = told_ahead + $1 WHERE entry_id IN (
				SELECT id FROM entries WHERE state = 'waiting' ORDER BY random() LIMIT 1000)`, moved.Step); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			n, err := in.MovedOnce(ctx, moved, t0.Add(time.Hour))
			if err != nil || n != 1000 {
				b.Fatalf("1,000 due: %d made, %v", n, err)
			}
			made += n
		}
		b.ReportMetric(float64(made)/b.Elapsed().Seconds(), "notifications/s")
	})
	b.Run("moved-sweep/baseline-scan", func(b *testing.B) {
		for b.Loop() {
			var n int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM applications a JOIN entries e ON e.id = a.entry_id
				WHERE e.state = 'waiting'`).Scan(&n); err != nil || n == 0 {
				b.Fatalf("%d waiting children with an application: %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
	})
}
