package natsbus

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/egov-suite/egov/shepsdk"
)

// Consume runs handle for every message of cons, up to workers at once, until ctx ends (shepsdk.Consume:
// the suite's services and an outside participant take messages the same way).
func Consume(ctx context.Context, cons jetstream.Consumer, workers int, handle func(jetstream.Msg)) error {
	return shepsdk.Consume(ctx, cons, workers, handle)
}
