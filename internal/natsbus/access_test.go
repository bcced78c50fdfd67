package natsbus_test

import (
	"context"
	"strings"
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

// TestServiceUsersDoOnlyTheirPart runs each service's own NATS user (as egov dev and the harness make
// them from natsbus.Access) against a real server: what the service does is allowed, and what would let
// it bypass ШЭП, read another's deliveries or change the topology is refused by the server.
func TestServiceUsersDoOnlyTheirPart(t *testing.T) {
	t.Parallel()
	accesses := []natsbus.Access{
		natsbus.ChannelAccess("portal"),
		natsbus.NodeAccess("rshep", []string{"rshep-55"}),
		natsbus.RouterAccess("shep"),
	}
	users := []*server.User{{Username: "egov", Password: "admin"}}
	for _, a := range accesses {
		users = append(users, a.NATSUser(a.User+"-pw"))
	}
	ns := natstest.NewWithUsers(t, users)
	ctx := t.Context()
	admin, err := natsbus.Connect(ctx, natsbus.ConnOptions{URL: ns.ClientURL(), User: "egov", Password: "admin"}, discardLog())
	require.NoError(t, err)
	t.Cleanup(admin.Conn.Close)
	require.NoError(t, natsbus.DefaultTopology(1).Apply(ctx, admin.JS))
	for _, p := range []string{"portal", "rshep-55"} {
		_, err := admin.JS.CreateOrUpdateConsumer(ctx, natsbus.StreamOut, natsbus.RecipientConsumer(p, natsbus.DefaultRedelivery))
		require.NoError(t, err)
	}
	_, err = admin.JS.Publish(ctx, natsbus.OutSubject("rshep-55", "X"), []byte("for rshep"))
	require.NoError(t, err)
	files, err := admin.JS.ObjectStore(ctx, natsbus.BucketAttachments)
	require.NoError(t, err)
	_, err = files.PutBytes(ctx, "scan", []byte("скан"))
	require.NoError(t, err)

	tests := []struct {
		user string
		name string
		do   func(ctx context.Context, js jetstream.JetStream) error
		// denied is a subject the server names in its permission violation; "" when allowed.
		denied string
	}{
		{user: "portal", name: "ok/publish to its own shep.in", do: publish(natsbus.InSubject("portal"))},
		{user: "portal", name: "ok/store an attachment", do: func(ctx context.Context, js jetstream.JetStream) error {
			s, err := js.ObjectStore(ctx, natsbus.BucketAttachments)
			if err != nil {
				return err
			}
			_, err = s.PutBytes(ctx, "upload", []byte("заявление"))
			return err
		}},
		{user: "portal", name: "ok/read its own consumer", do: consumer("recipient-portal")},
		{user: "portal", name: "fail/publish to another participant's shep.in", do: publish(natsbus.InSubject("rshep-55")), denied: "shep.in.rshep-55"},
		{user: "portal", name: "fail/publish straight to another's deliveries", do: publish(natsbus.OutSubject("rshep-55", "X")), denied: "shep.out.rshep-55"},
		{user: "portal", name: "fail/read another participant's consumer", do: consumer("recipient-rshep-55"), denied: "CONSUMER.INFO.SHEP_OUT.recipient-rshep-55"},
		{user: "portal", name: "fail/create a consumer reading every delivery", do: func(ctx context.Context, js jetstream.JetStream) error {
			_, err := js.CreateOrUpdateConsumer(ctx, natsbus.StreamOut, jetstream.ConsumerConfig{Durable: "all", FilterSubject: "shep.out.>"})
			return err
		}, denied: "CONSUMER.CREATE.SHEP_OUT"},
		{user: "portal", name: "fail/create a stream", do: createStream, denied: "STREAM.CREATE.EVIL"},
		{user: "portal", name: "fail/purge the attachments", do: purge("OBJ_" + natsbus.BucketAttachments), denied: "STREAM.PURGE.OBJ_attachments"},
		{user: "rshep", name: "ok/pull from a region's consumer", do: consumer("recipient-rshep-55")},
		{user: "rshep", name: "ok/read an attachment", do: func(ctx context.Context, js jetstream.JetStream) error {
			s, err := js.ObjectStore(ctx, natsbus.BucketAttachments)
			if err != nil {
				return err
			}
			_, err = s.GetBytes(ctx, "scan")
			return err
		}},
		{user: "rshep", name: "ok/store an office scan", do: func(ctx context.Context, js jetstream.JetStream) error {
			s, err := js.ObjectStore(ctx, natsbus.BucketAttachments)
			if err != nil {
				return err
			}
			_, err = s.PutBytes(ctx, "office-scan", []byte("paper"))
			return err
		}},
		{user: "rshep", name: "fail/purge the attachments", do: purge("OBJ_" + natsbus.BucketAttachments), denied: "STREAM.PURGE.OBJ_attachments"},
		{user: "rshep", name: "fail/read the portal's consumer", do: consumer("recipient-portal"), denied: "CONSUMER.INFO.SHEP_OUT.recipient-portal"},
		{user: "shep", name: "ok/create a recipient's consumer", do: func(ctx context.Context, js jetstream.JetStream) error {
			_, err := js.CreateOrUpdateConsumer(ctx, natsbus.StreamOut, natsbus.RecipientConsumer("tson", natsbus.DefaultRedelivery))
			return err
		}},
		{user: "shep", name: "ok/route to a recipient", do: publish(natsbus.OutSubject("portal", "X"))},
		{user: "shep", name: "ok/move a given-up message to the dead letters", do: func(ctx context.Context, js jetstream.JetStream) error {
			if _, err := js.CreateOrUpdateConsumer(ctx, natsbus.StreamAdvisories, jetstream.ConsumerConfig{Durable: "dead", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
				return err
			}
			out, err := js.Stream(ctx, natsbus.StreamOut)
			if err != nil {
				return err
			}
			raw, err := out.GetMsg(ctx, 1)
			if err != nil {
				return err
			}
			if _, err := js.Publish(ctx, natsbus.DLQSubject("rshep-55", "X"), raw.Data); err != nil {
				return err
			}
			dlq, err := js.Stream(ctx, natsbus.StreamDLQ)
			if err != nil {
				return err
			}
			if _, err := dlq.GetMsg(ctx, 1); err != nil {
				return err
			}
			return dlq.DeleteMsg(ctx, 1)
		}},
		{user: "shep", name: "fail/create a stream", do: createStream, denied: "STREAM.CREATE.EVIL"},
		{user: "shep", name: "fail/delete a stream", do: func(ctx context.Context, js jetstream.JetStream) error {
			return js.DeleteStream(ctx, natsbus.StreamOut)
		}, denied: "STREAM.DELETE.SHEP_OUT"},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var violations []string
			bus, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), User: tt.user, Password: tt.user + "-pw",
				InboxPrefix: natsbus.InboxPrefix(tt.user)}, discardLog())
			require.NoError(t, err)
			t.Cleanup(bus.Conn.Close)
			bus.Conn.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				mu.Lock()
				defer mu.Unlock()
				violations = append(violations, err.Error())
			})
			if tt.denied == "" {
				require.NoError(t, tt.do(t.Context(), bus.JS))
				return
			}
			// A denied request gets no answer: a short wait suffices, its length is no measure.
			short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			require.Error(t, tt.do(short, bus.JS))
			require.Eventually(t, func() bool {
				_ = bus.Conn.Flush()
				mu.Lock()
				defer mu.Unlock()
				for _, v := range violations {
					if strings.Contains(v, "Permissions Violation") && strings.Contains(v, tt.denied) {
						return true
					}
				}
				return false
			}, 10*time.Second, 10*time.Millisecond, "the server reports the violation on %s", tt.denied)
		})
	}
}

func publish(subject string) func(context.Context, jetstream.JetStream) error {
	return func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.Publish(ctx, subject, []byte("x"), jetstream.WithRetryAttempts(0))
		return err
	}
}

func consumer(name string) func(context.Context, jetstream.JetStream) error {
	return func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.Consumer(ctx, natsbus.StreamOut, name)
		return err
	}
}

func purge(stream string) func(context.Context, jetstream.JetStream) error {
	return func(ctx context.Context, js jetstream.JetStream) error {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		return s.Purge(ctx)
	}
}

func createStream(ctx context.Context, js jetstream.JetStream) error {
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVIL", Subjects: []string{"evil.>"}})
	return err
}
