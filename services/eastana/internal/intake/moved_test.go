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

// movedQueue registers n children of age 3 through portal applications "m1".."mn" (queue numbers 1..n,
// ahead 0..n-1; a child of the demo queue without an application stands first, so ahead is 1..n) and
// adds a kindergarten with a group of age 3 of places places, all occupied; it returns the group.
func movedQueue(t *testing.T, in *intake.Intake, s *store.Store, reg register, n, places int) int64 {
	t.Helper()
	ctx := t.Context()
	_, err := s.Register(ctx, store.Registration{ListID: intake.City, ApplicantIIN: "900000000000", Channel: "office",
		Child: &queue.Child{IIN: "930801500009", BirthDate: t0.AddDate(-3, -2, 0), Representatives: []string{"900000000000"}}}, t0)
	require.NoError(t, err)
	for i := 1; i <= n; i++ {
		kid := fmt.Sprintf("2308015%05d", i)
		reg[kid] = person(kid, t0.AddDate(-3, -1, 0), false, parent)
		d, err := in.Receive(ctx, intake.Origin{Sender: "portal", CorrelationID: fmt.Sprint("c", i)},
			application(fmt.Sprint("m", i), kid, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(i), d.GetQueue().GetAhead())
	}
	ids, _, err := s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: places}}}, "МИО", t0)
	require.NoError(t, err)
	return ids[0]
}

// outbox records what a round sent, by application.
type outbox struct {
	mu   sync.Mutex
	sent []*applicationv1.StatusNotification
}

func (o *outbox) send(_ context.Context, to intake.Origin, n *applicationv1.StatusNotification) error {
	if to.Sender != "portal" || to.ApplicantIIN != parent || to.CorrelationID == "" {
		return fmt.Errorf("sent to %+v", to)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, n)
	return nil
}

// take returns what was sent since the last take, by application id, and fails the test if a case was
// sent two notifications.
func (o *outbox) take(t *testing.T) map[string]*applicationv1.StatusNotification {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	got := map[string]*applicationv1.StatusNotification{}
	for _, n := range o.sent {
		require.NotContains(t, got, n.GetApplicationId(), "sent twice")
		got[n.GetApplicationId()] = n
	}
	o.sent = nil
	return got
}

// aheads is each sent notification's count ahead, by application id, after checking it is a QUEUE_MOVED
// with the child's place.
func aheads(t *testing.T, got map[string]*applicationv1.StatusNotification) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for app, n := range got {
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, n.GetStatus(), app)
		require.Equal(t, "preschool-registration", n.GetServiceCode(), app)
		require.Equal(t, "71", n.GetRegion(), app)
		q := n.GetQueue()
		require.Equal(t, "astana", q.GetListId(), app)
		require.Equal(t, "general", q.GetKind(), app)
		require.Equal(t, app, fmt.Sprint("m", q.GetNumber()-1), "child m<i> has number i+1 (the demo child is 1)")
		require.Equal(t, fmt.Sprintf("Очередь продвинулась: номер %d, впереди %d", q.GetNumber(), q.GetAhead()), n.GetText().GetRu(), app)
		require.Equal(t, fmt.Sprintf("Кезек жылжыды: нөмірі %d, алдында %d", q.GetNumber(), q.GetAhead()), n.GetText().GetKk(), app)
		out[app] = q.GetAhead()
	}
	return out
}

// TestQueueMoved: places released before the children move them; a child is told once its count ahead
// has dropped by the step since it was last told, a smaller move waits (and adds up), a child under the
// step is told every change, never twice within the quiet interval, and each told case's notification is
// numbered on from its decision's 1.
func TestQueueMoved(t *testing.T) {
	t.Parallel()
	reg := register{}
	in, s := setup(t, reg)
	ctx := t.Context()
	// Twelve children with applications behind the demo child: ahead 1..12.
	group := movedQueue(t, in, s, reg, 12, 10)
	m := intake.Moved{Step: 3, Quiet: time.Hour, Limit: 100}
	out := &outbox{}
	round := func(at time.Time) map[string]int64 {
		t.Helper()
		n, err := in.MovedOnce(ctx, m, at, out.send)
		require.NoError(t, err)
		got := aheads(t, out.take(t))
		require.Len(t, got, n)
		return got
	}
	n, err := in.MovedOnce(ctx, m, t0.Add(2*time.Hour), out.send)
	require.NoError(t, err)
	require.Equal(t, 12, n, "nothing moved since the decisions: their counts learnt")
	require.Empty(t, out.take(t))
	require.Empty(t, round(t0.Add(2*time.Hour)))

	// Two places: the demo child and m1 get them; every other child moves by 2, less than the step. Those
	// now under the step (m2..m4: ahead 0..2) are told, the others not.
	at := t0.Add(3 * time.Hour)
	offers, err := s.Release(ctx, group, 2, "МИО", at)
	require.NoError(t, err)
	require.Len(t, offers, 2)
	require.Equal(t, map[string]int64{"m2": 0, "m3": 1, "m4": 2}, round(at))
	require.Empty(t, round(at), "told once")

	// One more place (m2's): m5..m12 have now moved 3 since their decisions, the step (m5 is under it as
	// well); m3 and m4 moved again under the step, but within the quiet hour of their last: they wait.
	_, err = s.Release(ctx, group, 1, "МИО", at.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"m5": 2, "m6": 3, "m7": 4, "m8": 5, "m9": 6, "m10": 7, "m11": 8, "m12": 9},
		round(at.Add(time.Minute)), "moved by the step since the decision (m6..m12), or now under it (m5)")
	require.Equal(t, map[string]int64{"m3": 0, "m4": 1}, round(at.Add(time.Hour)), "each change under the step, after the quiet hour")
	require.Empty(t, round(at.Add(2*time.Hour)))

	// The numbering: the decision was 1, m3's QUEUE_MOVED were 2 and 3; a referral event after them is 4.
	offers, err = s.Release(ctx, group, 1, "МИО", at.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, "230801500003", offers[0].ChildIIN)
	var events []*applicationv1.StatusNotification
	_, err = in.ForwardOnce(ctx, 100, func(_ context.Context, _ intake.Origin, n *applicationv1.StatusNotification) error {
		if n.GetApplicationId() == "m3" {
			events = append(events, n)
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, events[0].GetStatus())
	require.Equal(t, int64(4), events[0].GetSequence(), "after the decision and two QUEUE_MOVED")
	// m3 has left the waiting list: it is told nothing more. m4 (0), m5 (1) and m6 (2) are under the step;
	// m7 (told 4, now 3) moved less than the step.
	require.Equal(t, map[string]int64{"m4": 0, "m5": 1, "m6": 2}, round(at.Add(3*time.Hour)))
}

// TestQueueMovedSequence: a case's QUEUE_MOVED notifications continue its sequence from the decision.
func TestQueueMovedSequence(t *testing.T) {
	t.Parallel()
	reg := register{}
	in, s := setup(t, reg)
	ctx := t.Context()
	group := movedQueue(t, in, s, reg, 2, 2)
	m := intake.Moved{Step: 10, Limit: 100}
	out := &outbox{}
	for i, want := range []int64{2, 3} {
		at := t0.Add(time.Duration(i+1) * time.Hour)
		_, err := s.Release(ctx, group, 1, "МИО", at)
		require.NoError(t, err)
		_, err = in.MovedOnce(ctx, m, at, out.send)
		require.NoError(t, err)
		got := out.take(t)
		require.Contains(t, got, "m2")
		require.Equal(t, want, got["m2"].GetSequence())
		require.Equal(t, int64(1-i), got["m2"].GetQueue().GetAhead())
	}
}

// TestQueueMovedRedelivery: a send that fails leaves the notification kept; the next round sends it again
// byte for byte (the same sequence, place and time), though the list moved meanwhile, and only then makes
// the next one.
func TestQueueMovedRedelivery(t *testing.T) {
	t.Parallel()
	reg := register{}
	in, s := setup(t, reg)
	ctx := t.Context()
	group := movedQueue(t, in, s, reg, 5, 5)
	m := intake.Moved{Step: 10, Limit: 100}

	at := t0.Add(time.Hour)
	_, err := s.Release(ctx, group, 1, "МИО", at)
	require.NoError(t, err)
	// The first send goes out, the second fails: the first stays sent, the rest stay kept.
	failed := errors.New("ШЭП unreachable")
	var attempted []*applicationv1.StatusNotification
	n, err := in.MovedOnce(ctx, m, at, func(_ context.Context, _ intake.Origin, n *applicationv1.StatusNotification) error {
		attempted = append(attempted, n)
		if len(attempted) > 1 {
			return failed
		}
		return nil
	})
	require.ErrorIs(t, err, failed)
	require.Equal(t, 1, n)
	require.Len(t, attempted, 2)

	// The list moves again before the retry.
	later := at.Add(time.Hour)
	_, err = s.Release(ctx, group, 1, "МИО", later)
	require.NoError(t, err)
	out := &outbox{}
	n, err = in.MovedOnce(ctx, m, later, out.send)
	require.NoError(t, err)
	require.Len(t, out.sent, n)
	require.True(t, proto.Equal(attempted[1], out.sent[0]), "the failed one again, first: %v != %v", attempted[1], out.sent[0])
	require.Equal(t, map[string]int64{"m2": 1, "m3": 2, "m4": 3, "m5": 4}, aheads(t, out.take(t)),
		"the places of the first round, kept; m1's, sent then, not again; no new ones while they wait")
	// The next round tells each of them its place now (all under the step): the failed case on from its
	// resent notification.
	n, err = in.MovedOnce(ctx, m, later, out.send)
	require.NoError(t, err)
	got := out.take(t)
	require.Len(t, got, n)
	require.Equal(t, map[string]int64{"m2": 0, "m3": 1, "m4": 2, "m5": 3}, aheads(t, got))
	failedApp := attempted[1].GetApplicationId()
	require.Equal(t, attempted[1].GetSequence()+1, got[failedApp].GetSequence())
	require.Equal(t, attempted[1].GetQueue().GetAhead()-1, got[failedApp].GetQueue().GetAhead())
}

// TestQueueMovedTwoReplicasAtOnce: replica A has made the notifications and holds its transaction open
// (the forwarders' lock); replica B's round meanwhile waits for the lock, then finds them made: every
// notification is sent once, by one of the two.
func TestQueueMovedTwoReplicasAtOnce(t *testing.T) {
	t.Parallel()
	reg := register{}
	in, s := setup(t, reg)
	ctx := t.Context()
	group := movedQueue(t, in, s, reg, 4, 4)
	at := t0.Add(time.Hour)
	_, err := s.Release(ctx, group, 2, "МИО", at)
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
	out := &outbox{}
	done := make(chan error, 1)
	go func() {
		_, err := in.MovedOnce(ctx, a, at, out.send)
		done <- err
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("replica A ended before holding its transaction: %v", err)
	}
	bDone := make(chan error, 1)
	go func() {
		_, err := in.MovedOnce(ctx, intake.Moved{Step: 10, Limit: 100}, at, out.send)
		bDone <- err
	}()
	require.Eventually(t, func() bool {
		var n int
		err := in.DB.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&n)
		return err == nil && n > 0
	}, 30*time.Second, 5*time.Millisecond, "replica B waits for A's lock")
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, <-bDone)
	// The demo child and m1 took the places; m2..m4, under the step of 10, moved by 2: each told once.
	require.Equal(t, map[string]int64{"m2": 0, "m3": 1, "m4": 2}, aheads(t, out.take(t)))
}
