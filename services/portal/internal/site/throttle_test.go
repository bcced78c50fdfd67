package site

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDelay: the wait after a failure past the limit grows, and never beyond the lock-out bound, so no
// count of failures keeps anyone out for longer.
func TestDelay(t *testing.T) {
	t.Parallel()
	s := &Site{o: Options{Lockout: 15 * time.Minute}}
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 5: 8 * time.Minute,
		6: 15 * time.Minute, 7: 15 * time.Minute, 1000: 15 * time.Minute} {
		require.Equal(t, want, s.delay(n), "failure %d past the limit", n)
	}
	short := &Site{o: Options{Lockout: 10 * time.Second}}
	require.Equal(t, 10*time.Second, short.delay(1), "a lock-out shorter than the first step bounds it too")
}

// TestAttempt: an attempt is counted before its password is checked; from the limit on it makes the
// counter wait, and while the counter waits an attempt is refused and not counted.
func TestAttempt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	s := &Site{o: Options{Window: 15 * time.Minute, Lockout: 15 * time.Minute}}
	tests := []struct {
		name     string
		c        counter
		wait     time.Duration
		failures int
		until    *time.Time
		start    time.Time
	}{
		{name: "ok/a new counter counts the attempt", c: counter{windowStart: now}, failures: 1, start: now},
		{name: "ok/below the limit no wait", c: counter{failures: 3, windowStart: now.Add(-time.Minute)}, failures: 4, start: now.Add(-time.Minute)},
		{name: "ok/the limit-th attempt passes and sets the first wait", c: counter{failures: 4, windowStart: now.Add(-time.Minute)},
			failures: 5, until: at(30 * time.Second), start: now.Add(-time.Minute)},
		{name: "ok/after a wait each attempt waits longer", c: counter{failures: 6, windowStart: now.Add(-5 * time.Minute), lockedUntil: at(-time.Second)},
			failures: 7, until: at(2 * time.Minute), start: now.Add(-5 * time.Minute)},
		{name: "ok/the window passed: counted afresh", c: counter{failures: 9, windowStart: now.Add(-16 * time.Minute), lockedUntil: at(-time.Second)},
			failures: 1, start: now},
		{name: "fail/while waiting, refused and not counted", c: counter{failures: 5, windowStart: now.Add(-time.Minute), lockedUntil: at(20 * time.Second)},
			wait: 20 * time.Second, failures: 5, until: at(20 * time.Second), start: now.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wait, next := s.attempt(tt.c, 5, now)
			require.Equal(t, tt.wait, wait)
			require.Equal(t, tt.failures, next.failures)
			require.Equal(t, tt.until, next.lockedUntil)
			require.Equal(t, tt.start, next.windowStart)
		})
	}
}

func TestWaitText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d          time.Duration
		lang, want string
	}{
		{30 * time.Second, "ru", "30 с"},
		{200 * time.Millisecond, "ru", "1 с"},
		{90 * time.Second, "ru", "2 мин"},
		{15 * time.Minute, "kk", "15 мин"},
	} {
		require.Equal(t, c.want, waitText(c.d, c.lang))
	}
}
