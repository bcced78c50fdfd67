package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

func TestMain(m *testing.M) {
	// The crash test runs this binary again as the process it kills.
	if url := os.Getenv(crashEnv); url != "" {
		os.Exit(crashHelper(url, os.Getenv(crashModeEnv)))
	}
	pgtest.Main(m)
}

var t0 = time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)

const (
	list      = "astana"
	applicant = "850101400001"
)

func open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pool, err := pgdb.Open(ctx, url, "eastana", 8)
	if err != nil {
		return nil, err
	}
	if _, err := pgdb.Migrate(ctx, pool, "eastana", schema.Migrations()); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func setup(t testing.TB, policy queue.Policy) (*store.Store, *pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.URL(t)
	pool, err := open(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := store.New(pool, policy)
	require.NoError(t, err)
	require.NoError(t, s.AddList(t.Context(), list))
	return s, pool, url
}

// child is the i-th test child, born ageYears before t0 (and i days earlier, so children differ).
func child(i, ageYears int) *queue.Child {
	return &queue.Child{
		IIN:             fmt.Sprintf("2%05d5%05d", ageYears, i),
		BirthDate:       t0.AddDate(-ageYears, 0, -(i%200)-1),
		Representatives: []string{applicant},
	}
}

func register(t testing.TB, s *store.Store, c *queue.Child, category string, at time.Time) store.Result {
	t.Helper()
	res, err := s.Register(t.Context(), store.Registration{ListID: list, ApplicantIIN: applicant, Child: c, Category: category, Channel: "eastana"}, at)
	require.NoError(t, err)
	return res
}

func kindergarten(t testing.TB, s *store.Store, id string, groups ...store.Group) []int64 {
	t.Helper()
	ids, _, err := s.AddKindergarten(t.Context(), store.Kindergarten{ID: id, ListID: list,
		Name: queue.Text{RU: "Ясли-сад № " + id, KK: "№ " + id + " бөбекжай-бақша"}, Groups: groups}, "МИО", t0)
	require.NoError(t, err)
	return ids
}

// invariants checks what must hold whatever happened: a live referral per offered place and none
// elsewhere, one live referral per child, numbers of a list dense from 1 and unique, every offered child
// holding exactly one live referral.
func invariants(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	var bad int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM seats s WHERE
		(s.state = 'offered') <> EXISTS (SELECT 1 FROM offers o WHERE o.seat_id = s.id AND o.state = 'offered')`).Scan(&bad))
	require.Zero(t, bad, "places whose state disagrees with their referrals")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM entries e WHERE
		(e.state = 'offered') <> EXISTS (SELECT 1 FROM offers o WHERE o.entry_id = e.id AND o.state = 'offered')`).Scan(&bad))
	require.Zero(t, bad, "children whose state disagrees with their referrals")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT seat_id FROM offers WHERE state = 'offered' GROUP BY seat_id HAVING count(*) > 1) x`).Scan(&bad))
	require.Zero(t, bad, "a place offered twice")
	var n, maxNumber, distinct int64
	var next int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), coalesce(max(number), 0), count(DISTINCT number), (SELECT next_number FROM lists WHERE id = $1)
		FROM entries WHERE list_id = $1`, list).Scan(&n, &maxNumber, &distinct, &next))
	require.Equal(t, n, maxNumber, "numbers dense from 1")
	require.Equal(t, n, distinct, "no number reused")
	require.Equal(t, n+1, next, "the counter is past the last number")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT list_id, kind, number / $1 AS block, count(*) AS waiting FROM entries WHERE state = 'waiting' GROUP BY 1, 2, 3) e
		FULL JOIN waiting_blocks b USING (list_id, kind, block) WHERE coalesce(e.waiting, 0) <> coalesce(b.waiting, 0)`, store.Block).Scan(&bad))
	require.Zero(t, bad, "blocks of waiting children that disagree with the list")
}

// noneSkipped checks, for children all of one age and kind, that every child offered a place was
// registered before every child still waiting.
func noneSkipped(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	var lastOffered, firstWaiting *int64
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT
		(SELECT max(e.number) FROM entries e JOIN offers o ON o.entry_id = e.id),
		(SELECT min(number) FROM entries WHERE state = 'waiting')`).Scan(&lastOffered, &firstWaiting))
	if lastOffered != nil && firstWaiting != nil {
		require.Less(t, *lastOffered, *firstWaiting, "a child was passed over")
	}
}

func states(t testing.TB, pool *pgxpool.Pool, table string) map[string]int {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT state, count(*) FROM `+table+` GROUP BY state`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// TestTicketReferralDeclineExpireEnroll walks a list through the regulation's results: tickets while no
// place is free, a referral when one is released, the place passing on when the referral is declined or
// left unregistered for a month, the enrolment, and a referral at once when a place is free on the day of
// registration.
func TestTicketReferralDeclineExpireEnroll(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	groups := kindergarten(t, s, "17", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 2})

	var res []store.Result
	for i := range 4 {
		r := register(t, s, child(i, 2), "", t0.Add(time.Duration(i)*time.Minute))
		require.Nil(t, r.Referral, "no place free: a registration ticket")
		require.Equal(t, int64(i+1), r.Entry.Number)
		res = append(res, r)
	}
	p, err := s.Position(ctx, res[2].Entry.ID)
	require.NoError(t, err)
	require.Equal(t, int64(2), p.Ahead)

	day := t0.Add(time.Hour)
	offers, err := s.Release(ctx, groups[0], 1, "МИО", day)
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.Equal(t, int64(1), offers[0].Number, "the first child")
	require.Equal(t, day.AddDate(0, 1, 0), offers[0].ExpiresAt, "valid a month")
	p, err = s.Position(ctx, res[2].Entry.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), p.Ahead, "moved up")

	next, err := s.Decline(ctx, offers[0].ID, "МИО", day.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, next, 1)
	require.Equal(t, int64(2), next[0].Number, "declined: the place passes to the next")
	_, err = s.Decline(ctx, offers[0].ID, "МИО", day.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrOfferNotActive)

	expired, offered, err := s.Expire(ctx, "timer", next[0].ExpiresAt.Add(-time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, expired, "not before the month ends")
	require.Empty(t, offered)
	expired, offered, err = s.Expire(ctx, "timer", next[0].ExpiresAt, 10)
	require.NoError(t, err)
	require.Len(t, expired, 1)
	require.Len(t, offered, 1)
	require.Equal(t, int64(3), offered[0].Number, "expired: the place passes to the next")
	require.ErrorIs(t, s.Enroll(ctx, next[0].ID, next[0].ExpiresAt), store.ErrOfferNotActive, "an expired referral cannot be registered")

	require.NoError(t, s.Enroll(ctx, offered[0].ID, day.AddDate(0, 1, 1)))
	require.ErrorIs(t, s.Enroll(ctx, offered[0].ID, day.AddDate(0, 1, 1)), store.ErrOfferNotActive)

	// The declining parent registers again: a new number at the end, never the old one.
	again := register(t, s, child(0, 2), "", day.AddDate(0, 1, 2))
	require.Equal(t, int64(5), again.Entry.Number)

	// A place free on the day of registration: the child gets a referral, not a ticket, if none before it fits.
	groups3 := kindergarten(t, s, "18", store.Group{AgeFrom: 3, AgeTo: 4, Capacity: 3, Free: 1})
	require.Len(t, groups3, 1)
	r := register(t, s, child(10, 3), "", day.AddDate(0, 1, 3))
	require.NotNil(t, r.Referral)
	require.Equal(t, "offered", r.Entry.State)

	ev, err := s.Events(ctx, res[0].Entry.ID)
	require.NoError(t, err)
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []string{"registered", "offered", "declined"}, kinds)
	ev, err = s.Events(ctx, res[2].Entry.ID)
	require.NoError(t, err)
	require.Equal(t, "enrolled", ev[len(ev)-1].Kind)

	require.Equal(t, map[string]int{"occupied": 4, "offered": 1}, states(t, pool, "seats"))
	require.Equal(t, map[string]int{"declined": 1, "expired": 1, "enrolled": 1, "waiting": 2, "offered": 1}, states(t, pool, "entries"))
	invariants(t, pool)
}

func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	register(t, s, child(1, 2), "", t0)
	cases := []struct {
		name string
		reg  store.Registration
		want error
	}{
		{name: "fail/child listed already", reg: store.Registration{ListID: list, ApplicantIIN: applicant, Child: child(1, 2), Channel: "portal"}, want: queue.RefuseAlreadyListed},
		{name: "fail/child not in ГБД ФЛ", reg: store.Registration{ListID: list, ApplicantIIN: applicant, Channel: "portal"}, want: queue.RefuseChildNotFound},
		{name: "fail/seven years old", reg: store.Registration{ListID: list, ApplicantIIN: applicant, Child: child(2, 7), Channel: "portal"}, want: queue.RefuseTooOld},
		{name: "fail/not the parent", reg: store.Registration{ListID: list, ApplicantIIN: "850101400002", Child: child(3, 2), Channel: "portal"}, want: queue.RefuseNotParent},
		{name: "fail/category off in the 2012 passport", reg: store.Registration{ListID: list, ApplicantIIN: applicant, Child: child(4, 2), Category: "orphan", Channel: "portal"},
			want: queue.RefuseUnknownCategory},
		{name: "fail/no such list", reg: store.Registration{ListID: "almaty", ApplicantIIN: applicant, Child: child(5, 2), Channel: "portal"}, want: store.ErrNoList},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Register(ctx, tc.reg, t0.Add(time.Minute))
			require.ErrorIs(t, err, tc.want)
		})
	}
	// One child once in the city: a district's list refuses a child the city's list holds.
	require.NoError(t, s.AddList(ctx, "astana/esil"))
	_, err := s.Register(ctx, store.Registration{ListID: "astana/esil", ApplicantIIN: applicant, Child: child(1, 2), Channel: "office"}, t0)
	require.ErrorIs(t, err, queue.RefuseAlreadyListed)
	// Nothing of the refusals stayed: the next child gets number 2.
	require.Equal(t, int64(2), register(t, s, child(6, 2), "", t0.Add(time.Hour)).Entry.Number)
	invariants(t, pool)
}

// TestPlaceGoesToTheFirstChildOfItsAge: a place of the group of three-year-olds passes over the younger
// children registered before and goes to the first three-year-old; the younger ones keep their turn for
// their own age.
func TestPlaceGoesToTheFirstChildOfItsAge(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	g := kindergarten(t, s, "5", store.Group{AgeFrom: 3, AgeTo: 4, Capacity: 5}, store.Group{AgeFrom: 1, AgeTo: 2, Capacity: 5})
	register(t, s, child(1, 1), "", t0)
	register(t, s, child(2, 1), "", t0)
	three := register(t, s, child(3, 3), "", t0)
	register(t, s, child(4, 3), "", t0)
	offers, err := s.Release(ctx, g[0], 1, "МИО", t0)
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.Equal(t, three.Entry.ID, offers[0].EntryID)
	offers, err = s.Release(ctx, g[1], 1, "МИО", t0)
	require.NoError(t, err)
	require.Len(t, offers, 1)
	require.Equal(t, int64(1), offers[0].Number)

	// A place of the group of five-year-olds fits nobody: it stays free, and is offered once a child fits.
	g5 := kindergarten(t, s, "6", store.Group{AgeFrom: 5, AgeTo: 6, Capacity: 1, Free: 1})
	require.Len(t, g5, 1)
	five := register(t, s, child(5, 5), "", t0)
	require.NotNil(t, five.Referral)
	invariants(t, pool)
}

// TestPriorityCategories: under the national rules the extraordinary right goes first and the primary
// right gets one place in four; under the 2012 passport (TestRegisterRefusals) categories are refused.
func TestPriorityCategories(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.NationalRules())
	ctx := t.Context()
	g := kindergarten(t, s, "9", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 20})
	for i := range 8 {
		register(t, s, child(i, 2), "", t0)
	}
	for i := 8; i < 12; i++ {
		register(t, s, child(i, 2), "large_family", t0)
	}
	orphan := register(t, s, child(12, 2), "orphan", t0)
	offers, err := s.Release(ctx, g[0], 9, "МИО", t0)
	require.NoError(t, err)
	var got []int64
	for _, o := range offers {
		got = append(got, o.Number)
	}
	// 13 (extraordinary), then general 1, 2, 3, primary 9, general 4, 5, 6, primary 10.
	require.Equal(t, []int64{orphan.Entry.Number, 1, 2, 3, 9, 4, 5, 6, 10}, got)
	invariants(t, pool)
}

func TestReleaseRefusals(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	g := kindergarten(t, s, "3", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 2, Free: 1})
	_, err := s.Release(ctx, g[0], 2, "МИО", t0)
	var re *store.ReleaseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 1, re.Occupied)
	require.Contains(t, re.Text().RU, "занято только 1")
	require.NotEmpty(t, re.Text().KK)
	require.Equal(t, map[string]int{"occupied": 1, "free": 1}, states(t, pool, "seats"), "a refused release changes nothing")
	_, err = s.Release(ctx, 999, 1, "МИО", t0)
	require.ErrorIs(t, err, store.ErrNoGroup)
	_, err = s.Release(ctx, g[0], 0, "МИО", t0)
	require.ErrorAs(t, err, &re)
}

// TestPlaceBeyondTheFirstCandidates: the allocation reads the first waiting children once and matches
// places among them; a place that fits none of them still goes to the first fitting child after them.
func TestPlaceBeyondTheFirstCandidates(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	g := kindergarten(t, s, "11", store.Group{AgeFrom: 3, AgeTo: 4, Capacity: 2}, store.Group{AgeFrom: 1, AgeTo: 2, Capacity: 1})
	for i := range 150 {
		register(t, s, child(i, 1), "", t0)
	}
	register(t, s, child(150, 3), "", t0)
	register(t, s, child(151, 3), "", t0)
	// Two places of three-year-olds and one of one-year-olds in one allocation: the candidates read are
	// the first 8×3+100 = 124 children, all one year old.
	_, err := pool.Exec(t.Context(), `UPDATE seats SET state = 'free', freed_at = $1`, t0)
	require.NoError(t, err)
	offers, err := s.Allocate(t.Context(), list, "МИО", t0)
	require.NoError(t, err)
	got := map[int64]bool{}
	for _, o := range offers {
		got[o.Number] = true
	}
	require.Equal(t, map[int64]bool{1: true, 151: true, 152: true}, got)
	require.Len(t, g, 2)
	invariants(t, pool)
}

func TestMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want string
		ok   bool
	}{
		{name: "ok/refusal", err: fmt.Errorf("register: %w", queue.RefuseTooOld), want: "до 7 лет", ok: true},
		{name: "ok/release", err: &store.ReleaseError{Asked: 3, Occupied: 1}, want: "занято только 1", ok: true},
		{name: "ok/referral no longer valid", err: fmt.Errorf("enroll: %w", store.ErrOfferNotActive), want: "истёк месяц", ok: true},
		{name: "ok/no list", err: store.ErrNoList, want: "Такой очереди нет", ok: true},
		{name: "fail/not the user's", err: context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text, ok := store.Message(tc.err)
			require.Equal(t, tc.ok, ok)
			if !tc.ok {
				return
			}
			require.Contains(t, text.RU, tc.want)
			require.NotEmpty(t, text.KK)
		})
	}
}

// TestRemoveAgedOut: a child who turns 7 while waiting leaves the list on the next sweep (recorded), the
// day before the birthday it stays, and the positions of the others move up.
func TestRemoveAgedOut(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	old := &queue.Child{IIN: "190901500001", BirthDate: time.Date(2019, 9, 3, 0, 0, 0, 0, time.UTC), Representatives: []string{applicant}}
	first := register(t, s, old, "", t0)
	second := register(t, s, child(1, 2), "", t0)
	p, err := s.Position(ctx, second.Entry.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), p.Ahead)

	n, err := s.RemoveAgedOut(ctx, time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Zero(t, n, "the day before the seventh birthday")
	n, err = s.RemoveAgedOut(ctx, time.Date(2026, 9, 3, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ev, err := s.Events(ctx, first.Entry.ID)
	require.NoError(t, err)
	require.Equal(t, "removed", ev[len(ev)-1].Kind)
	p, err = s.Position(ctx, second.Entry.ID)
	require.NoError(t, err)
	require.Zero(t, p.Ahead, "moved up")
	invariants(t, pool)
}
