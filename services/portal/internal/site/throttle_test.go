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
