package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// holdAt returns a store on pool whose first transaction to reach point stops there, holding what it has
// written and the list's lock, until release is closed; held is closed when it stops.
func holdAt(t testing.TB, pool *pgxpool.Pool, point string) (s *store.Store, held, release chan struct{}) {
	t.Helper()
	s, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.SetHook(func(ctx context.Context, p string) error {
		if p != point {
			return nil
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return nil
		}
		close(held)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	return s, held, release
}

// waitHeld returns once the first party holds its transaction open, and fails the test if it ended
// instead.
func waitHeld(t testing.TB, held <-chan struct{}, done <-chan error) {
	t.Helper()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the first party ended before holding its transaction: %v", err)
	}
}

// waitForLockWaiter returns once a session of the database waits for a lock: the second party of an
// interleaving has reached the list's lock the first one holds.
func waitForLockWaiter(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	}, 30*time.Second, 5*time.Millisecond)
}

// TestTwoEmployeesReleaseAtOnce: employee A has released two places of a group and offered them, and
// holds its transaction open; employee B releases places of the same group meanwhile. B waits for A and
// then sees A's result: the places go to the next children, none twice, none passed over; B asking for
// more than A left occupied is refused and changes nothing.
func TestTwoEmployeesReleaseAtOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		second int
		ok     bool
	}{
		{name: "ok/both releases offered in turn", second: 1, ok: true},
		{name: "fail/second asks for more than is left occupied", second: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plain, pool, _ := setup(t, queue.Passport2012())
			ctx := t.Context()
			g := kindergarten(t, plain, "1", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 3})
			for i := range 6 {
				register(t, plain, child(i, 2), "", t0)
			}
			a, held, release := holdAt(t, pool, "commit")
			var offersA, offersB []store.Offer
			doneA := make(chan error, 1)
			go func() {
				var err error
				offersA, err = a.Release(ctx, g[0], 2, "employee A", t0)
				doneA <- err
			}()
			waitHeld(t, held, doneA)
			var errB error
			done := make(chan struct{})
			go func() {
				defer close(done)
				offersB, errB = plain.Release(ctx, g[0], tc.second, "employee B", t0)
			}()
			waitForLockWaiter(t, pool)
			close(release)
			require.NoError(t, <-doneA)
			<-done

			require.Len(t, offersA, 2)
			require.Equal(t, []int64{1, 2}, []int64{offersA[0].Number, offersA[1].Number})
			if tc.ok {
				require.NoError(t, errB)
				require.Len(t, offersB, 1)
				require.Equal(t, int64(3), offersB[0].Number, "B saw A's offers: the next child")
				require.Equal(t, map[string]int{"offered": 3}, states(t, pool, "seats"))
			} else {
				var re *store.ReleaseError
				require.ErrorAs(t, errB, &re)
				require.Equal(t, 1, re.Occupied, "B counted after A's release")
				require.Equal(t, map[string]int{"offered": 2, "occupied": 1}, states(t, pool, "seats"))
			}
			invariants(t, pool)
			noneSkipped(t, pool)
		})
	}
}

// TestTwoAllocatorsAtOnce: two replicas allocate the same list's free places at once. Replica A holds
// its transaction after offering the first place; replica B, on its own connection pool, starts
// meanwhile. Every place is offered once, to the first children in order, and B offers nothing A did.
func TestTwoAllocatorsAtOnce(t *testing.T) {
	t.Parallel()
	plain, pool, url := setup(t, queue.Passport2012())
	ctx := t.Context()
	for i := range 30 {
		register(t, plain, child(i, 4), "", t0)
	}
	// The places are free before any child of their age waits (the group is for five-year-olds); on the
	// day the children turn five both replicas run the allocation.
	kindergarten(t, plain, "2", store.Group{AgeFrom: 5, AgeTo: 6, Capacity: 20, Free: 10})
	day := t0.AddDate(1, 0, 0)

	a, held, release := holdAt(t, pool, "offered")
	poolB, err := open(ctx, url)
	require.NoError(t, err)
	defer poolB.Close()
	b, err := store.New(poolB, queue.Passport2012())
	require.NoError(t, err)

	var eg errgroup.Group
	var offersA, offersB []store.Offer
	doneA := make(chan error, 1)
	go func() {
		var err error
		offersA, err = a.Allocate(ctx, list, "replica A", day)
		doneA <- err
	}()
	waitHeld(t, held, doneA)
	eg.Go(func() (err error) {
		offersB, err = b.Allocate(ctx, list, "replica B", day)
		return err
	})
	waitForLockWaiter(t, pool)
	close(release)
	require.NoError(t, <-doneA)
	require.NoError(t, eg.Wait())

	require.Len(t, offersA, 10)
	require.Empty(t, offersB, "B saw every place offered")
	for i, o := range offersA {
		require.Equal(t, int64(i+1), o.Number)
	}
	invariants(t, pool)
	noneSkipped(t, pool)
}

// TestManyAtOnce: registrations, releases, declines and allocations from eight goroutines on two pools,
// unforced: whatever the interleaving, the invariants hold and no child is passed over.
func TestManyAtOnce(t *testing.T) {
	t.Parallel()
	plain, pool, url := setup(t, queue.Passport2012())
	ctx := t.Context()
	g := kindergarten(t, plain, "3", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 40})
	poolB, err := open(ctx, url)
	require.NoError(t, err)
	defer poolB.Close()
	other, err := store.New(poolB, queue.Passport2012())
	require.NoError(t, err)
	stores := []*store.Store{plain, other}

	var eg errgroup.Group
	for w := range 4 {
		eg.Go(func() error {
			for i := range 25 {
				if _, err := stores[w%2].Register(ctx, store.Registration{ListID: list, ApplicantIIN: applicant, Child: child(w*100+i, 2), Channel: "portal"}, t0); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for w := range 2 {
		eg.Go(func() error {
			for range 10 {
				offers, err := stores[w].Release(ctx, g[0], 1, fmt.Sprintf("employee %d", w), t0)
				if err != nil {
					return err
				}
				for _, o := range offers {
					if o.Number%3 == 0 {
						if _, err := stores[w].Decline(ctx, o.ID, "employee", t0); err != nil && !errors.Is(err, store.ErrOfferNotActive) {
							return err
						}
					}
				}
			}
			return nil
		})
		eg.Go(func() error {
			for range 10 {
				if _, err := stores[w].Allocate(ctx, list, fmt.Sprintf("replica %d", w), t0); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, eg.Wait())
	_, err = plain.Allocate(ctx, list, "last", t0)
	require.NoError(t, err)

	var entries int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM entries`).Scan(&entries))
	require.Equal(t, 100, entries)
	seats := states(t, pool, "seats")
	require.Equal(t, 20, seats["offered"], "every released place offered: there were children enough")
	require.Zero(t, seats["free"])
	invariants(t, pool)
	// Declined children left the list; among the rest, the offered ones were registered first.
	var passed int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM entries w WHERE w.state = 'waiting'
		AND w.number < (SELECT max(e.number) FROM entries e WHERE e.state = 'offered')`).Scan(&passed))
	require.Zero(t, passed, "a waiting child registered before an offered one")
}

// The crash test runs the test binary again with these set; TestMain sends it to crashHelper.
const (
	crashEnv     = "EASTANA_QUEUE_CRASH_DATABASE"
	crashModeEnv = "EASTANA_QUEUE_CRASH_MODE"
)

// crashHelper is the process the crash test kills: it starts a change of the list, says so on stdout in
// the middle of its transaction, and waits on stdin (which never comes) to be killed.
func crashHelper(url, mode string) int {
	ctx := context.Background()
	pool, err := open(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := store.New(pool, queue.Passport2012())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	offered := 0
	s.SetHook(func(_ context.Context, point string) error {
		if mode == "release" && point == "offered" {
			offered++
			if offered < 2 {
				return nil
			}
		} else if point != "commit" {
			return nil
		}
		fmt.Println("in the middle")
		_, _ = io.Copy(io.Discard, os.Stdin)
		return errors.New("stdin closed")
	})
	switch mode {
	case "release":
		var group int64
		if err := pool.QueryRow(ctx, `SELECT min(id) FROM groups`).Scan(&group); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		_, err = s.Release(ctx, group, 5, "crashing employee", t0)
	case "register":
		_, err = s.Register(ctx, store.Registration{ListID: list, ApplicantIIN: applicant, Child: child(900, 2), Channel: "office"}, t0)
	}
	fmt.Fprintln(os.Stderr, "crash helper was not killed:", err)
	return 3
}

// TestCrashInTheMiddle kills (SIGKILL) a process in the middle of a change of the list: after it has
// offered two of the five places it released, and after it has taken a queue number. Nothing of either
// stays; the list's lock is free again; the next employee's release offers the places to the first
// children, and the next registration gets the number the dead one never committed.
func TestCrashInTheMiddle(t *testing.T) {
	t.Parallel()
	plain, pool, url := setup(t, queue.Passport2012())
	ctx := t.Context()
	g := kindergarten(t, plain, "4", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 5})
	for i := range 10 {
		register(t, plain, child(i, 2), "", t0)
	}

	for _, mode := range []string{"release", "register"} {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+url, crashModeEnv+"="+mode)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n')
		require.NoError(t, err, "the helper reached the middle of its transaction")
		require.Equal(t, "in the middle\n", line)
		require.NoError(t, cmd.Process.Kill())
		require.Error(t, cmd.Wait(), "killed")
		_ = stdin.Close()
	}

	require.Equal(t, map[string]int{"occupied": 5}, states(t, pool, "seats"), "the dead release left nothing")
	require.Equal(t, map[string]int{"waiting": 10}, states(t, pool, "entries"), "the dead registration left nothing")
	var offers int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM offers`).Scan(&offers))
	require.Zero(t, offers)
	invariants(t, pool)

	got, err := plain.Release(ctx, g[0], 5, "next employee", t0)
	require.NoError(t, err)
	require.Len(t, got, 5)
	for i, o := range got {
		require.Equal(t, int64(i+1), o.Number)
	}
	require.Equal(t, int64(11), register(t, plain, child(900, 2), "", t0).Entry.Number, "the uncommitted number is the next one, once")
	invariants(t, pool)
	noneSkipped(t, pool)
}

// TestTwoReplicasExpireAtOnce: replica A has expired a referral and offered its place to the next child,
// and holds its transaction; replica B's expiry round starts meanwhile. B waits, then finds the referral
// closed and leaves it: the place passes on once.
func TestTwoReplicasExpireAtOnce(t *testing.T) {
	t.Parallel()
	plain, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	g := kindergarten(t, plain, "7", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 1})
	for i := range 3 {
		register(t, plain, child(i, 2), "", t0)
	}
	first, err := plain.Release(ctx, g[0], 1, "МИО", t0)
	require.NoError(t, err)
	require.Len(t, first, 1)
	due := first[0].ExpiresAt

	a, held, release := holdAt(t, pool, "commit")
	type round struct{ expired, offered []store.Offer }
	var ra, rb round
	doneA := make(chan error, 1)
	go func() {
		var err error
		ra.expired, ra.offered, err = a.Expire(ctx, "replica A", due, 10)
		doneA <- err
	}()
	waitHeld(t, held, doneA)
	doneB := make(chan error, 1)
	go func() {
		var err error
		rb.expired, rb.offered, err = plain.Expire(ctx, "replica B", due, 10)
		doneB <- err
	}()
	waitForLockWaiter(t, pool)
	close(release)
	require.NoError(t, <-doneA)
	require.NoError(t, <-doneB)

	require.Len(t, ra.expired, 1)
	require.Len(t, ra.offered, 1)
	require.Equal(t, int64(2), ra.offered[0].Number)
	require.Empty(t, rb.expired, "B left the referral A closed")
	require.Empty(t, rb.offered)
	require.Equal(t, map[string]int{"expired": 1, "offered": 1, "waiting": 1}, states(t, pool, "entries"))
	invariants(t, pool)
}

// TestRunExpiry: the worker expires a referral once its month has passed and the place goes on.
func TestRunExpiry(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	g := kindergarten(t, s, "8", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 1})
	register(t, s, child(1, 2), "", t0)
	register(t, s, child(2, 2), "", t0)
	offers, err := s.Release(t.Context(), g[0], 1, "МИО", t0)
	require.NoError(t, err)
	require.Len(t, offers, 1)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		done <- s.RunExpiry(ctx, func() time.Time { return offers[0].ExpiresAt }, 10*time.Millisecond, "timer",
			func(err error) { t.Errorf("expiry: %v", err) })
	}()
	require.Eventually(t, func() bool {
		var n int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM entries WHERE state = 'expired'`).Scan(&n)
		return err == nil && n == 1
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, map[string]int{"expired": 1, "offered": 1}, states(t, pool, "entries"))
	invariants(t, pool)
}
