package serve

import (
	"context"
	"log/slog"
	"time"
)

// Repeat runs a worker that drains a queue until ctx ends: once is called until it reports nothing done,
// then Repeat waits for wake (a commit that queued work) or the interval (work another replica queued,
// or a failure to retry). A failing round is logged and tried again at the next one.
func Repeat(ctx context.Context, interval time.Duration, wake <-chan struct{}, log *slog.Logger, what string,
	once func(context.Context) (int, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := once(ctx)
			if err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, what+": failed; retrying", "error", err)
				}
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
	}
}
