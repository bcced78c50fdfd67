package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// TestCabinetReads: the МИО cabinet's reads follow the places and referrals through a release, an
// enrolment and a decline; a child is found by IIN, its latest entry when it registered again.
func TestCabinetReads(t *testing.T) {
	t.Parallel()
	s, pool, _ := setup(t, queue.Passport2012())
	ctx := t.Context()
	ids := kindergarten(t, s, "21", store.Group{AgeFrom: 2, AgeTo: 3, Capacity: 3}, store.Group{AgeFrom: 1, AgeTo: 2, Capacity: 2, Free: 1})
	kindergarten(t, s, "20", store.Group{AgeFrom: 3, AgeTo: 4, Capacity: 1})
	var res []store.Result
	for i := range 3 {
		res = append(res, register(t, s, child(i, 2), "", t0.Add(time.Duration(i)*time.Minute)))
	}

	ks, err := s.Kindergartens(ctx)
	require.NoError(t, err)
	require.Len(t, ks, 2)
	require.Equal(t, "20", ks[0].ID, "by id")
	require.Equal(t, "21", ks[1].ID)
	require.Equal(t, queue.Text{RU: "Ясли-сад № 21", KK: "№ 21 бөбекжай-бақша"}, ks[1].Name)
	require.Len(t, ks[1].Groups, 2)
	younger, older := ks[1].Groups[0], ks[1].Groups[1]
	require.Equal(t, store.GroupPlaces{Group: store.Group{ID: ids[1], AgeFrom: 1, AgeTo: 2, Capacity: 2, Free: 1}, Occupied: 1}, younger,
		"a free place no waiting child fits stays free")
	require.Equal(t, store.GroupPlaces{Group: store.Group{ID: ids[0], AgeFrom: 2, AgeTo: 3, Capacity: 3}, Occupied: 3}, older)

	offers, err := s.Release(ctx, ids[0], 2, "850101300002", t0.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, offers, 2)
	ks, err = s.Kindergartens(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, ks[1].Groups[1].Occupied)
	require.Equal(t, 2, ks[1].Groups[1].Offered)
	require.Zero(t, ks[1].Groups[1].Free)

	live, err := s.Referrals(ctx, 10)
	require.NoError(t, err)
	require.Len(t, live, 2)
	require.Equal(t, res[0].Entry.ChildIIN, live[0].ChildIIN, "the first child first")
	require.Equal(t, int64(1), live[0].Number)
	require.Equal(t, applicant, live[0].ApplicantIIN)
	require.Equal(t, "Ясли-сад № 21", live[0].Kindergarten.RU)
	require.Equal(t, ids[0], live[0].GroupID)
	require.Equal(t, 2, live[0].AgeFrom)
	require.Equal(t, t0.Add(time.Hour).AddDate(0, 1, 0), live[0].ExpiresAt.UTC())
	require.True(t, live[0].Live(t0.Add(2*time.Hour)))
	require.False(t, live[0].Live(live[0].ExpiresAt), "not after its month")

	require.NoError(t, s.Enroll(ctx, live[0].ID, t0.Add(2*time.Hour)))
	_, err = s.Decline(ctx, live[1].ID, "850101300002", t0.Add(2*time.Hour))
	require.NoError(t, err)
	live, err = s.Referrals(ctx, 10)
	require.NoError(t, err)
	require.Len(t, live, 1, "the declined place passed to the third child")
	require.Equal(t, res[2].Entry.ChildIIN, live[0].ChildIIN)
	ks, err = s.Kindergartens(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, ks[1].Groups[1].Occupied, "the enrolled child's place is occupied")
	require.Equal(t, 1, ks[1].Groups[1].Offered)

	// The declining child registers again: its IIN finds the new entry, and its referrals stay on the old one.
	again := register(t, s, child(1, 2), "", t0.Add(3*time.Hour))
	id, err := s.EntryOfChild(ctx, child(1, 2).IIN)
	require.NoError(t, err)
	require.Equal(t, again.Entry.ID, id)
	hist, err := s.ReferralsOf(ctx, res[1].Entry.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, "declined", hist[0].State)
	require.False(t, hist[0].Live(t0))

	_, err = s.EntryOfChild(ctx, "000000000000")
	require.ErrorIs(t, err, store.ErrNoEntry)
	invariants(t, pool)
}
