package cases_test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/services/rshep/internal/cases"
	"github.com/egov-suite/egov/services/rshep/internal/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "rshep", 8)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "rshep", schema.Migrations())
	require.NoError(t, err)
	return pool
}

func register(t testing.TB, pool *pgxpool.Pool, a cases.Application, now time.Time) cases.Registration {
	t.Helper()
	var r cases.Registration
	require.NoError(t, pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) (err error) {
		r, err = cases.Register(t.Context(), tx, a, now)
		return err
	}))
	return r
}

func app(id string) cases.Application {
	return cases.Application{Sender: "portal", MessageID: id, Provider: "041240000016", ServiceCode: "guardianship-certificate", Region: "55"}
}

func TestRegistrationNumberOncePerApplication(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	first := register(t, pool, app("m1"), now)
	require.True(t, first.New)
	require.Equal(t, "55-2026-000001", first.Number)
	again := register(t, pool, app("m1"), now.Add(time.Minute))
	require.False(t, again.New, "a redelivered application keeps its number")
	require.Equal(t, first.Number, again.Number)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, "55-2026-000002", register(t, pool, app("m2"), now).Number)

	other := app("m3")
	other.Provider = "990840000012"
	require.Equal(t, "55-2026-000003", register(t, pool, other, now).Number,
		"the region's providers draw from one register: a number names the region, and finds one case of it")
	elsewhere := app("m5")
	elsewhere.Region = "59"
	require.Equal(t, "59-2026-000001", register(t, pool, elsewhere, now).Number, "each region counts its own")
	// A new year starts a new count; the year is Kazakhstan's (UTC+5): 31 Dec 20:00 UTC is already 1 January.
	require.Equal(t, "55-2027-000001", register(t, pool, app("m4"), time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC)).Number)

	require.Error(t, pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) error {
		_, err := cases.Register(t.Context(), tx, cases.Application{Sender: "portal"}, now)
		return err
	}))
}

// TestConcurrentRegistrationsAndRedeliveries: many applications, each delivered twice at once, get
// contiguous numbers, one each.
func TestConcurrentRegistrationsAndRedeliveries(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	byApp := map[string]map[string]bool{}
	var g errgroup.Group
	g.SetLimit(8)
	for i := range 200 {
		for range 2 {
			g.Go(func() error {
				id := fmt.Sprintf("m%d", i)
				var r cases.Registration
				err := pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) (err error) {
					r, err = cases.Register(t.Context(), tx, app(id), now)
					return err
				})
				if err != nil {
					// Two deliveries racing: the loser's insert meets the unique key; ШЭП redelivers it.
					err = pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) (err error) {
						r, err = cases.Register(t.Context(), tx, app(id), now)
						return err
					})
					if err != nil {
						return err
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if byApp[id] == nil {
					byApp[id] = map[string]bool{}
				}
				byApp[id][r.Number] = true
				return nil
			})
		}
	}
	require.NoError(t, g.Wait())
	var numbers []string
	for id, ns := range byApp {
		require.Len(t, ns, 1, "application %s got one number", id)
		for n := range ns {
			numbers = append(numbers, n)
		}
	}
	sort.Strings(numbers)
	require.Len(t, numbers, 200)
	for i, n := range numbers {
		require.Equal(t, fmt.Sprintf("55-2026-%06d", i+1), n, "contiguous and unique")
	}
}

// digest is a stand-in for the SHA-256 of an application's signed content.
func digest(id string) []byte {
	d := sha256.Sum256([]byte("application " + id))
	return d[:]
}

// TestSameApplicationInNewEnvelopeKeepsItsNumber: the channel sends the same signed application again in
// a new envelope (a new message id): it finds its registration; another application does not.
func TestSameApplicationInNewEnvelopeKeepsItsNumber(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	first := app("m1")
	first.Digest = digest("a1")
	r1 := register(t, pool, first, now)
	require.True(t, r1.New)
	for _, tc := range []struct {
		name   string
		a      cases.Application
		wantID bool
	}{
		{"ok/same application, new envelope", cases.Application{Sender: "portal", MessageID: "m2", Digest: digest("a1"), Provider: first.Provider,
			ServiceCode: first.ServiceCode, Region: first.Region}, true},
		{"ok/same application, another sender's envelope", cases.Application{Sender: "tson", MessageID: "m3", Digest: digest("a1"),
			Provider: first.Provider, ServiceCode: first.ServiceCode, Region: first.Region}, true},
		{"ok/the first envelope again", first, true},
		{"ok/another application", cases.Application{Sender: "portal", MessageID: "m4", Digest: digest("a2"), Provider: first.Provider,
			ServiceCode: first.ServiceCode, Region: first.Region}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { // in order: the last case counts on the numbers before it
			r := register(t, pool, tc.a, now.Add(time.Minute))
			if tc.wantID {
				require.Equal(t, r1.ID, r.ID)
				require.Equal(t, r1.Number, r.Number)
				require.False(t, r.New)
				return
			}
			require.True(t, r.New)
			require.Equal(t, "55-2026-000002", r.Number)
		})
	}
}

// TestConcurrentEnvelopesOfOneApplication: each of many applications arrives in two envelopes at once
// (the first and the channel's re-send): one number each, contiguous.
func TestConcurrentEnvelopesOfOneApplication(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	byApp := map[string]map[string]bool{}
	var g errgroup.Group
	g.SetLimit(8)
	for i := range 100 {
		for copyNo := range 2 {
			g.Go(func() error {
				id := fmt.Sprintf("a%d", i)
				a := app(fmt.Sprintf("m%d-%d", i, copyNo))
				a.Digest = digest(id)
				var r cases.Registration
				if err := pgdb.InTx(t.Context(), pool, func(tx pgx.Tx) (err error) {
					r, err = cases.Register(t.Context(), tx, a, now)
					return err
				}); err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				if byApp[id] == nil {
					byApp[id] = map[string]bool{}
				}
				byApp[id][r.Number] = true
				return nil
			})
		}
	}
	require.NoError(t, g.Wait())
	var numbers []string
	for id, ns := range byApp {
		require.Len(t, ns, 1, "application %s got one number", id)
		for n := range ns {
			numbers = append(numbers, n)
		}
	}
	sort.Strings(numbers)
	require.Len(t, numbers, 100)
	for i, n := range numbers {
		require.Equal(t, fmt.Sprintf("55-2026-%06d", i+1), n, "contiguous and unique")
	}
}

// TestRegionalRegisterContinuesProvidersNumbers: the migration to one register per region continues
// after the highest number any of the region's providers gave, so no number is given twice.
func TestRegionalRegisterContinuesProvidersNumbers(t *testing.T) {
	t.Parallel()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "rshep", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	before := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(schema.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path >= "0011" {
			return err
		}
		b, err := fs.ReadFile(schema.Migrations(), path)
		before[path] = &fstest.MapFile{Data: b}
		return err
	}))
	_, err = pgdb.Migrate(t.Context(), pool, "rshep", before)
	require.NoError(t, err)
	// Two providers of region 27 counted apart before.
	_, err = pool.Exec(t.Context(), `INSERT INTO cases (sender, message_id, provider, service_code, region, registration_number, registered_at)
		VALUES ('portal', 'a', 'p1', 's1', '27', '27-2026-000035', now()), ('portal', 'b', 'p2', 's2', '27', '27-2026-000012', now()),
		       ('portal', 'c', 'p1', 's1', '55', '55-2026-000004', now())`)
	require.NoError(t, err)
	_, err = pgdb.Migrate(t.Context(), pool, "rshep", schema.Migrations())
	require.NoError(t, err)

	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	a := app("n1")
	a.Region = "27"
	require.Equal(t, "27-2026-000036", register(t, pool, a, now).Number)
	require.Equal(t, "55-2026-000005", register(t, pool, app("n2"), now).Number)
}
