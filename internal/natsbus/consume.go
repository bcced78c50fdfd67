package natsbus

import (
	"context"
	"errors"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Consume runs handle for every message of cons, up to workers at once, until ctx ends; the message
// iterator is drained then, and Consume returns once the handlers in flight are done. A closed iterator
// (shutdown drained the connection) is a clean stop, not an error.
func Consume(ctx context.Context, cons jetstream.Consumer, workers int, handle func(jetstream.Msg)) error {
	workers = max(workers, 1)
	it, err := cons.Messages(jetstream.PullMaxMessages(max(2*workers, 128)))
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		it.Drain()
	}()
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		m, err := it.Next()
		switch {
		case err == nil:
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				handle(m)
			}()
		case errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil:
			return nil
		default:
			return err
		}
	}
}
