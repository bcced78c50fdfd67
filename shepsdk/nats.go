package shepsdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// ConnectNATS dials ШЭП's NATS as participant's user (the user ШЭП's operator made for it, restricted to
// its own subjects and consumer), with the inbox prefix that user may subscribe to, reconnecting
// forever after a loss. opts add to the connection's options (TLS: nats.RootCAs, nats.ClientCert; a
// credentials file: nats.UserCredentials, with an empty password). Close the connection when done.
func ConnectNATS(url, participant, password string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	base := []nats.Option{nats.Name("egov-" + participant), nats.CustomInboxPrefix(shepv1.InboxPrefix(participant)),
		nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if password != "" {
		base = append(base, nats.UserInfo(participant, password))
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("shepsdk: connect %s as %s: %w", url, participant, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("shepsdk: jetstream: %w", err)
	}
	return nc, js, nil
}

// Consume runs handle for every message of cons, up to workers at once, until ctx ends; the message
// iterator is drained then, and Consume returns once the handlers in flight are done. A closed iterator
// (shutdown drained the connection) is a clean stop, not an error.
func Consume(ctx context.Context, cons jetstream.Consumer, workers int, handle func(jetstream.Msg)) error {
	workers = max(workers, 1)
	// A missed heartbeat (the consumer's server cut off for a while, a node restarting) is not the end of
	// the stream: the iterator asks again and goes on (the library's documented way), where returning it as
	// an error stopped the whole process — both ШЭП replicas at once when their NATS node was partitioned.
	it, err := cons.Messages(jetstream.PullMaxMessages(max(2*workers, 128)), jetstream.WithMessagesErrOnMissingHeartbeat(false))
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

// RetryDelay is how long to wait before the next delivery after attempt (counted from 1) failed, by the
// consumer's back-off: a recipient that cannot take a message now (its database restarting, say) asks
// for it again after the back-off, not at once, so that a short outage does not spend every delivery.
func RetryDelay(backoff []time.Duration, attempt uint64) time.Duration {
	if len(backoff) == 0 {
		return time.Second
	}
	i := int(min(attempt, uint64(len(backoff)))) - 1 //nolint:gosec // bounded by len(backoff)
	return backoff[max(i, 0)]
}

// headerCarrier adapts nats.Header to the OpenTelemetry propagation carrier.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }

func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

var _ propagation.TextMapCarrier = headerCarrier(nil)

// Inject writes the trace context of ctx into h (traceparent, tracestate, baggage), using the
// process's global propagator.
func Inject(ctx context.Context, h nats.Header) {
	otel.GetTextMapPropagator().Inject(ctx, headerCarrier(h))
}

// Extract returns ctx carrying the trace context found in h.
func Extract(ctx context.Context, h nats.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, headerCarrier(h))
}

// NewMsg returns a message for subject with the message id (for JetStream de-duplication) and the
// trace context of ctx in its headers.
func NewMsg(ctx context.Context, subject, msgID string, data []byte) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = data
	if msgID != "" {
		m.Header.Set(nats.MsgIdHdr, msgID)
	}
	Inject(ctx, m.Header)
	return m
}
