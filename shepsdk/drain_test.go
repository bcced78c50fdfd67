package shepsdk_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// TestReceiveDrainsAtShutdown: a delivery being handled when the receiver is stopped is finished, with
// a context that is not cancelled, and acknowledged; Receive returns only after it. (The handler used to
// get the cancelled context: its commit failed and the message came again after the back-off.)
func TestReceiveDrainsAtShutdown(t *testing.T) {
	t.Parallel()
	bus := natstest.Connect(t, natstest.New(t))
	ctx := t.Context()
	_, err := bus.JS.CreateOrUpdateConsumer(ctx, natsbus.StreamOut, natsbus.RecipientConsumer("welfare", natsbus.DefaultRedelivery))
	require.NoError(t, err)
	note, err := proto.Marshal(&shepv1.DeliveryNotification{MessageId: "m-1"})
	require.NoError(t, err)
	_, err = bus.JS.Publish(ctx, shepv1.OutSubject("welfare", shepv1.DeliveryService), note)
	require.NoError(t, err)

	started, release := make(chan struct{}), make(chan struct{})
	var handlerErr error
	c := &shepsdk.Client{ID: "welfare", JS: bus.JS}
	rctx, stop := context.WithCancel(ctx)
	received := make(chan error, 1)
	go func() {
		received <- c.Receive(rctx, func(hctx context.Context, d *shepsdk.Delivery) error {
			close(started)
			<-release
			// The handler's own commit, after the stop: it must still be allowed to run.
			handlerErr = hctx.Err()
			return hctx.Err()
		})
	}()
	<-started
	stop() // the shutdown begins while the delivery is in the handler
	close(release)
	require.NoError(t, <-received)
	require.NoError(t, handlerErr, "the handler in flight keeps a live context")

	cons, err := bus.JS.Consumer(ctx, natsbus.StreamOut, natsbus.ConsumerName("welfare"))
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	require.Zero(t, info.NumAckPending, "acknowledged, not left for redelivery")
	require.Zero(t, info.NumPending)
	require.EqualValues(t, 1, info.AckFloor.Consumer)
}
