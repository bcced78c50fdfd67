package webkit

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/egov-suite/egov/internal/serve"
)

// StreamEvery is how often a stream asks whether something changed.
const StreamEvery = time.Second

// Stream answers with server-sent events (text/event-stream): an event "change" whenever newest gives
// a number greater than the last one sent (at first: after, the number the page was drawn with), and it
// ends when done reports true, when the browser goes away, or when the server begins to shut down (the
// browser's EventSource connects again, to another instance if need be). A page that listens reloads
// itself on the event; without JavaScript the same page is simply reloaded by hand, so the stream is an
// addition, never the only way to see a status.
//
// It polls (every StreamEvery) rather than listening to the database: one indexed query a second per
// open page is cheap at a channel's scale and needs no connection held per stream.
func (s *Site) Stream(w http.ResponseWriter, r *http.Request, after int64, newest func(ctx context.Context) (n int64, done bool, err error)) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// retry: how long the browser waits before connecting again after the stream ends.
	if _, err := fmt.Fprintf(w, "retry: 3000\n\n"); err != nil {
		return
	}
	_ = rc.Flush()
	tick := time.NewTicker(StreamEvery)
	defer tick.Stop()
	for {
		n, done, err := newest(r.Context())
		if err != nil {
			if r.Context().Err() == nil {
				s.o.Log.WarnContext(r.Context(), "web: stream", "path", r.URL.Path, "error", err)
			}
			return
		}
		if n > after {
			after = n
			if _, err := fmt.Fprintf(w, "event: change\ndata: %d\n\n", n); err != nil {
				return
			}
			_ = rc.Flush()
		}
		if done {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-serve.Stopping(r.Context()):
			return
		case <-tick.C:
		}
	}
}
