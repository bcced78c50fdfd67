package intake_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

func TestMovedDue(t *testing.T) {
	t.Parallel()
	m := intake.Moved{Step: 10}
	for _, c := range []struct {
		name        string
		told, ahead int64
		want        bool
	}{
		{"ok/moved by the step", 40, 30, true},
		{"ok/moved beyond the step", 40, 12, true},
		{"ok/under the step, by one", 9, 8, true},
		{"ok/fell under the step by less than the step", 14, 9, true},
		{"ok/to the front", 1, 0, true},
		{"fail/a smaller move", 40, 31, false},
		{"fail/no move", 40, 40, false},
		{"fail/no move at the front", 0, 0, false},
		{"fail/a smaller move onto the step", 15, 10, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, m.Due(c.told, c.ahead))
		})
	}
}

// movedQueue registers n children of age 3 through portal applications "m1".."mn", each signed as a
// ticket by the МИО employee (queue numbers 2..n+1: a child of the demo queue without an application stands
// first, so ahead is 1..n), sends their decisions, and adds a kindergarten with a group of age 3 of places
// places, all occupied; it returns the group.
func movedQueue(t *testing.T, w *world, reg register, n, places int) int64 {
	t.Helper()
	ctx := t.Context()
	_, err := w.s.Register(ctx, store.Registration{ListID: intake.City, ApplicantIIN: "900000000000", Channel: "office",
		Child: &queue.Child{IIN: "930801500009", BirthDate: t0.AddDate(-3, -2, 0), Representatives: []string{"900000000000"}}}, t0)
	require.NoError(t, err)
	for i := 1; i <= n; i++ {
		kid := fmt.Sprintf("2308015%05d", i)
		reg[kid] = person(kid, t0.AddDate(-3, -1, 0), false, parent)
		id := fmt.Sprint("m", i)
		_, err := w.in.Receive(ctx, intake.Origin{Sender: "portal", CorrelationID: fmt.Sprint("c", i)},
			application(id, kid, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		_, err = w.sign(t, w.caseOf(t, "portal", id).ID, w.mio, w.key, t0.Add(time.Minute+time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
	ch := &channel{}
	_, err = w.in.ForwardOnce(ctx, 1000, ch.send)
	require.NoError(t, err)
	decisions := ch.take(t, applicationv1.CaseStatus_CASE_STATUS_QUEUED)
	require.Len(t, decisions, n)
	for i := 1; i <= n; i++ {
		require.Equal(t, int64(i), decisions[fmt.Sprint("m", i)].GetQueue().GetAhead(), "the decision's count")
	}
	ids, _, err := w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: places}}}, "МИО", t0)
	require.NoError(t, err)
	return ids[0]
}

// channel is the channel's side of ШЭП: what the forward worker sent.
type channel struct {
	mu   sync.Mutex
	sent []*applicationv1.StatusNotification
}

func (c *channel) send(_ context.Context, to intake.Origin, n *applicationv1.StatusNotification) error {
	if to.Sender != "portal" || to.ApplicantIIN != parent || to.CorrelationID == "" {
		return fmt.Errorf("sent to %+v", to)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, n)
	return nil
}

// take returns the notifications of status sent since the last take, by application id, and fails the
// test if a case was sent two of them or one out of its sequence.
func (c *channel) take(t *testing.T, status applicationv1.CaseStatus) map[string]*applicationv1.StatusNotification {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]*applicationv1.StatusNotification{}
	last := map[string]int64{}
	for _, n := range c.sent {
		require.Greater(t, n.GetSequence(), last[n.GetApplicationId()], "in the case's order")
		last[n.GetApplicationId()] = n.GetSequence()
		if n.GetStatus() != status {
			continue
		}
		require.NotContains(t, got, n.GetApplicationId(), "sent twice")
		got[n.GetApplicationId()] = n
	}
	c.sent = nil
	return got
}

// aheads is each QUEUE_MOVED's count ahead, by application id, after checking it carries the child's
// place and the case's number.
func aheads(t *testing.T, got map[string]*applicationv1.StatusNotification) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for app, n := range got {
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, n.GetStatus(), app)
		require.Equal(t, "preschool-registration", n.GetServiceCode(), app)
		require.Equal(t, "71", n.GetRegion(), app)
		require.Regexp(t, `^ЕА-2026-\d{6}$`, n.GetRegistrationNumber(), app)
		q := n.GetQueue()
		require.Equal(t, "astana", q.GetListId(), app)
		require.Equal(t, "general", q.GetKind(), app)
		require.Equal(t, app, fmt.Sprint("m", q.GetNumber()-1), "child m<i> has number i+1 (the demo child is 1)")
		require.Equal(t, fmt.Sprintf("Очередь продвинулась: номер в очереди %d, перед вами %d", q.GetNumber(), q.GetAhead()), n.GetText().GetRu(), app)
		require.Equal(t, fmt.Sprintf("Кезек жылжыды: кезектегі нөмірі %d, алдыңызда %d", q.GetNumber(), q.GetAhead()), n.GetText().GetKk(), app)
		out[app] = q.GetAhead()
	}
	return out
}

// TestQueueMoved: places released before the children move them; a child is told once its count ahead
// has dropped by the step since it was last told, a smaller move waits (and adds up), a child under the
// step is told every change, never twice within the quiet interval, and each told case's notification is
// numbered on from its decision's 2.
func TestQueueMoved(t *testing.T) {
	t.Parallel()
	reg := register{}
	w := setup(t, reg)
	ctx := t.Context()
	// Twelve children with applications behind the demo child: ahead 1..12.
	group := movedQueue(t, w, reg, 12, 10)
	m := intake.Moved{Step: 3, Quiet: time.Hour, Limit: 100}
	ch := &channel{}
	round := func(at time.Time) map[string]int64 {
		t.Helper()
		_, err := w.in.MovedOnce(ctx, m, at)
		require.NoError(t, err)
		_, err = w.in.ForwardOnce(ctx, 1000, ch.send)
		require.NoError(t, err)
		return aheads(t, ch.take(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED))
	}
	n, err := w.in.MovedOnce(ctx, m, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 12, n, "nothing moved since the decisions: their counts learnt")
	require.Empty(t, round(t0.Add(2*time.Hour)))

	// Two places: the demo child and m1 get them; every other child moves by 2, less than the step. Those
	// now under the step (m2..m4: ahead 0..2) are told, the others not.
	at := t0.Add(3 * time.Hour)
	offers, err := w.s.Release(ctx, group, 2, "МИО", at)
	require.NoError(t, err)
	require.Len(t, offers, 2)
	require.Equal(t, map[string]int64{"m2": 0, "m3": 1, "m4": 2}, round(at))
	require.Empty(t, round(at), "told once")

	// One more place (m2's): m5..m12 have now moved 3 since their decisions, the step (m5 is under it as
	// well); m3 and m4 moved again under the step, but within the quiet hour of their last: they wait.
	_, err = w.s.Release(ctx, group, 1, "МИО", at.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"m5": 2, "m6": 3, "m7": 4, "m8": 5, "m9": 6, "m10": 7, "m11": 8, "m12": 9},
		round(at.Add(time.Minute)), "moved by the step since the decision (m6..m12), or now under it (m5)")
	require.Equal(t, map[string]int64{"m3": 0, "m4": 1}, round(at.Add(time.Hour)), "each change under the step, after the quiet hour")
	require.Empty(t, round(at.Add(2*time.Hour)))

	// The numbering: the decision was 2, m3's QUEUE_MOVED were 3 and 4; the referral after them is 5.
	offers, err = w.s.Release(ctx, group, 1, "МИО", at.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, "230801500003", offers[0].ChildIIN)
	_, err = w.in.ForwardOnce(ctx, 1000, ch.send)
	require.NoError(t, err)
	referrals := ch.take(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED)
	require.Contains(t, referrals, "m3")
	require.Equal(t, int64(5), referrals["m3"].GetSequence(), "after the decision and two QUEUE_MOVED")
	st, err := w.in.Statuses(ctx, w.caseOf(t, "portal", "m3").ID)
	require.NoError(t, err)
	var statuses []applicationv1.CaseStatus
	for _, n := range st {
		statuses = append(statuses, n.GetStatus())
	}
	require.Equal(t, []applicationv1.CaseStatus{applicationv1.CaseStatus_CASE_STATUS_REGISTERED, applicationv1.CaseStatus_CASE_STATUS_QUEUED,
		applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED,
		applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED}, statuses, "kept for the cabinets")
	// m3 has left the waiting list: it is told nothing more. m4 (0), m5 (1) and m6 (2) are under the step;
	// m7 (told 4, now 3) moved less than the step.
	require.Equal(t, map[string]int64{"m4": 0, "m5": 1, "m6": 2}, round(at.Add(3*time.Hour)))
}

// TestQueueMovedAwaitsDecision: a case whose result the employee has not signed is told nothing (its
// decision will report the place as it is then); a case of the cabinets keeps its QUEUE_MOVED without a
// send.
func TestQueueMovedAwaitsDecision(t *testing.T) {
	t.Parallel()
	reg := register{}
	w := setup(t, reg)
	ctx := t.Context()
	group := movedQueue(t, w, reg, 1, 2)
	for i, from := range []intake.Origin{{Sender: "portal", CorrelationID: "c-unsigned"}, {Sender: intake.Local}} {
		kid := fmt.Sprintf("2308016%05d", i)
		reg[kid] = person(kid, t0.AddDate(-3, -1, 0), false, parent)
		_, err := w.in.Receive(ctx, from, application(fmt.Sprint("x", i), kid, applicationv1.Channel_CHANNEL_EASTANA), t0.Add(time.Minute))
		require.NoError(t, err)
	}
	local := w.caseOf(t, intake.Local, "x1")
	_, err := w.sign(t, local.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	ch := &channel{}
	_, err = w.in.ForwardOnce(ctx, 1000, ch.send)
	require.NoError(t, err)
	require.Empty(t, ch.sent, "the cabinets' decision is kept, not sent")

	// Two places released one by one (the demo child's, then m1's), a round after each: m1 and the
	// cabinets' x1 are told, the unsigned x0 never, and x1's only kept.
	m := intake.Moved{Step: 10, Limit: 100}
	for i, want := range []map[string]int64{{"m1": 0}, {}} {
		at := t0.Add(time.Duration(2+i) * time.Hour)
		_, err = w.s.Release(ctx, group, 1, "МИО", at)
		require.NoError(t, err)
		_, err = w.in.MovedOnce(ctx, m, at)
		require.NoError(t, err)
		_, err = w.in.ForwardOnce(ctx, 1000, ch.send)
		require.NoError(t, err)
		require.Equal(t, want, aheads(t, ch.take(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED)), "round %d", i)
	}
	st, err := w.in.Statuses(ctx, local.ID)
	require.NoError(t, err)
	require.Len(t, st, 4)
	for i, ahead := range []int64{2, 1} {
		n := st[2+i]
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, n.GetStatus(), "kept for the cabinets")
		require.Equal(t, int64(3+i), n.GetSequence())
		require.Equal(t, ahead, n.GetQueue().GetAhead(), "behind m1 (until its referral) and x0")
	}
	unsigned, err := w.in.Statuses(ctx, w.caseOf(t, "portal", "x0").ID)
	require.NoError(t, err)
	require.Len(t, unsigned, 1, "REGISTERED only")
}

// TestQueueMovedRedelivery: a QUEUE_MOVED whose send fails is sent again byte for byte (the same
// sequence, place and time), though the list moved and the case's next one was made meanwhile, and before
// that next one.
func TestQueueMovedRedelivery(t *testing.T) {
	t.Parallel()
	reg := register{}
	w := setup(t, reg)
	ctx := t.Context()
	group := movedQueue(t, w, reg, 3, 3)
	m := intake.Moved{Step: 10, Limit: 100}

	at := t0.Add(time.Hour)
	_, err := w.s.Release(ctx, group, 1, "МИО", at)
	require.NoError(t, err)
	_, err = w.in.MovedOnce(ctx, m, at)
	require.NoError(t, err)
	// The first send goes out, the second fails. (The outbox sends case by case, each in its order.)
	failed := errors.New("ШЭП unreachable")
	var attempted []*applicationv1.StatusNotification
	_, err = w.in.ForwardOnce(ctx, 100, func(_ context.Context, _ intake.Origin, n *applicationv1.StatusNotification) error {
		attempted = append(attempted, n)
		if len(attempted) > 1 {
			return failed
		}
		return nil
	})
	require.ErrorIs(t, err, failed)
	require.Len(t, attempted, 2)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, attempted[1].GetStatus())

	// The list moves again and the next QUEUE_MOVED are made before the retry.
	later := at.Add(time.Hour)
	_, err = w.s.Release(ctx, group, 1, "МИО", later)
	require.NoError(t, err)
	_, err = w.in.MovedOnce(ctx, m, later)
	require.NoError(t, err)
	ch := &channel{}
	_, err = w.in.ForwardOnce(ctx, 100, ch.send)
	require.NoError(t, err)
	// The failed case's notifications in its order: the failed one again, the same bytes, then the next.
	var mine []*applicationv1.StatusNotification
	for _, n := range ch.sent {
		if n.GetApplicationId() == attempted[1].GetApplicationId() {
			mine = append(mine, n)
		}
	}
	require.Len(t, mine, 2)
	require.True(t, proto.Equal(attempted[1], mine[0]), "the failed one again, byte for byte")
	b1, err := proto.Marshal(attempted[1])
	require.NoError(t, err)
	b2, err := proto.Marshal(mine[0])
	require.NoError(t, err)
	require.Equal(t, b1, b2)
	next := mine[1]
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, next.GetStatus())
	require.Equal(t, attempted[1].GetSequence()+1, next.GetSequence())
	require.Equal(t, attempted[1].GetQueue().GetAhead()-1, next.GetQueue().GetAhead())
	for _, n := range ch.sent {
		require.False(t, n.GetApplicationId() == attempted[0].GetApplicationId() && n.GetSequence() == attempted[0].GetSequence(),
			"the one sent is not sent again")
	}
}

// TestQueueMovedTwoReplicasAtOnce: replica A has made the notifications and holds its transaction open
// (the forwarders' lock); replica B's round meanwhile waits for the lock, then finds them made: every
// notification is made once, by one of the two.
func TestQueueMovedTwoReplicasAtOnce(t *testing.T) {
	t.Parallel()
	reg := register{}
	w := setup(t, reg)
	ctx := t.Context()
	group := movedQueue(t, w, reg, 4, 4)
	at := t0.Add(time.Hour)
	_, err := w.s.Release(ctx, group, 2, "МИО", at)
	require.NoError(t, err)

	held, release := make(chan struct{}), make(chan struct{})
	a := intake.Moved{Step: 10, Limit: 100}
	a.SetHook(func(ctx context.Context, point string) error {
		if point != "moved: made" {
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
	done := make(chan error, 1)
	go func() {
		_, err := w.in.MovedOnce(ctx, a, at)
		done <- err
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("replica A ended before holding its transaction: %v", err)
	}
	bDone := make(chan error, 1)
	go func() {
		_, err := w.in.MovedOnce(ctx, intake.Moved{Step: 10, Limit: 100}, at)
		bDone <- err
	}()
	require.Eventually(t, func() bool {
		var n int
		err := w.in.DB.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&n)
		return err == nil && n > 0
	}, 30*time.Second, 5*time.Millisecond, "replica B waits for A's lock")
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, <-bDone)
	ch := &channel{}
	_, err = w.in.ForwardOnce(ctx, 1000, ch.send)
	require.NoError(t, err)
	// The demo child and m1 took the places; m2..m4, under the step of 10, moved by 2: each told once.
	require.Equal(t, map[string]int64{"m2": 0, "m3": 1, "m4": 2}, aheads(t, ch.take(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED)))
}
