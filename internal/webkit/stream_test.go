package webkit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStream: the stream sends an event for each number newer than the page's, none for what the page
// had already, and ends when the source says it is done or fails.
func TestStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		after  int64
		steps  []int64 // what newest gives, call by call; the last one is done
		fail   bool
		events []string
	}{
		{"ok/each change once", 1, []int64{1, 1, 2, 2, 4}, false, []string{"2", "4"}},
		{"ok/nothing new", 5, []int64{5, 3}, false, nil},
		{"fail/the source fails: the stream ends", 0, []int64{1}, true, []string{"1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.Stream(w, r, tc.after, func(context.Context) (int64, bool, error) {
					i := int(calls.Add(1)) - 1
					if i >= len(tc.steps) {
						if tc.fail {
							return 0, false, errors.New("database gone")
						}
						return tc.steps[len(tc.steps)-1], true, nil
					}
					return tc.steps[i], !tc.fail && i == len(tc.steps)-1, nil
				})
			}))
			t.Cleanup(srv.Close)
			resp, err := http.Get(srv.URL)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			var events []string
			sc := bufio.NewScanner(resp.Body)
			first := true
			for sc.Scan() {
				line := sc.Text()
				if first {
					require.Equal(t, "retry: 3000", line)
					first = false
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok {
					events = append(events, v)
				}
			}
			require.NoError(t, sc.Err())
			require.Equal(t, tc.events, events)
		})
	}
}
