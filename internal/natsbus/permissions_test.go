package natsbus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
)

// TestParticipantCannotReachAnother proves the isolation the regulations assume: the portal reaches
// РШЭП only through ШЭП.
func TestParticipantCannotReachAnother(t *testing.T) {
	t.Parallel()
	ns := natstest.NewWithUsers(t, []*server.User{
		{Username: "shep", Password: "s"},
		natsbus.ParticipantUser("portal", "p"),
		natsbus.ParticipantUser("rshep-55", "r"),
	})
	ctx := t.Context()
	admin, err := natsbus.Connect(ctx, natsbus.ConnOptions{URL: ns.ClientURL(), User: "shep", Password: "s"}, discardLog())
	require.NoError(t, err)
	defer admin.Conn.Close()
	require.NoError(t, natsbus.DefaultTopology(1).Apply(ctx, admin.JS))
	for _, p := range []string{"portal", "rshep-55"} {
		_, err := admin.JS.CreateOrUpdateConsumer(ctx, natsbus.StreamOut, natsbus.RecipientConsumer(p, natsbus.DefaultRedelivery))
		require.NoError(t, err)
	}
	_, err = admin.JS.Publish(ctx, natsbus.OutSubject("rshep-55", "X"), []byte("for rshep"))
	require.NoError(t, err)
	_, err = admin.JS.Publish(ctx, natsbus.OutSubject("portal", "X"), []byte("for portal"))
	require.NoError(t, err)

	var mu sync.Mutex
	var violations []error
	portal, err := natsbus.ConnectParticipant(ctx, ns.ClientURL(), "portal", "p")
	require.NoError(t, err)
	defer portal.Conn.Close()
	portal.Conn.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		defer mu.Unlock()
		violations = append(violations, err)
	})

	// Allowed: publish to its own inbound subject (acknowledged by JetStream) and pull its own deliveries.
	_, err = portal.JS.Publish(ctx, natsbus.InSubject("portal"), []byte("to ШЭП"))
	require.NoError(t, err)
	own, err := portal.JS.Consumer(ctx, natsbus.StreamOut, natsbus.ConsumerName("portal"))
	require.NoError(t, err)
	msg, err := own.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	require.Equal(t, "for portal", string(msg.Data()))
	require.NoError(t, msg.Ack())

	// Denied: publishing to another participant's inbound subject or straight to its deliveries.
	for _, subj := range []string{natsbus.InSubject("rshep-55"), natsbus.OutSubject("rshep-55", "X"), "shep.dlq.rshep-55.X"} {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := portal.JS.Publish(short, subj, []byte("bypass"), jetstream.WithRetryAttempts(0))
		cancel()
		require.Error(t, err, subj)
	}
	// Denied: subscribing to another's deliveries, or pulling from its consumer.
	sub, err := portal.Conn.SubscribeSync(natsbus.OutFilter("rshep-55"))
	require.NoError(t, err) // the violation arrives asynchronously
	_, err = sub.NextMsg(200 * time.Millisecond)
	require.Error(t, err)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = portal.JS.Consumer(short, natsbus.StreamOut, natsbus.ConsumerName("rshep-55"))
	cancel()
	require.Error(t, err)

	require.Eventually(t, func() bool {
		_ = portal.Conn.Flush()
		mu.Lock()
		defer mu.Unlock()
		for _, v := range violations {
			if errors.Is(v, nats.ErrPermissionViolation) {
				return true
			}
		}
		return false
	}, 5*time.Second, 20*time.Millisecond, "the server reports the permission violations")

	// The messages meant for РШЭП are still there, untouched.
	s, err := admin.JS.Stream(ctx, natsbus.StreamOut)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, info.State.Msgs)
	in, err := admin.JS.Stream(ctx, natsbus.StreamIn)
	require.NoError(t, err)
	inInfo, err := in.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, inInfo.State.Msgs, "only the portal's own message reached shep.in")
}
