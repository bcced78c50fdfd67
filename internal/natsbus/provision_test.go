package natsbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
)

// TestProvision: the administrator's one step creates the topology, reports it unchanged when run
// again, and puts back what someone changed.
func TestProvision(t *testing.T) {
	t.Parallel()
	ns := natstest.New(t)
	admin, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL()}, discardLog())
	require.NoError(t, err)
	t.Cleanup(admin.Conn.Close)
	topo := natsbus.DefaultTopology(1)
	outcomes := func(ps []natsbus.Provisioned) map[string]natsbus.Outcome {
		out := map[string]natsbus.Outcome{}
		for _, p := range ps {
			require.Equal(t, 1, p.Replicas, p.Name)
			out[p.Name] = p.Outcome
		}
		return out
	}

	first, err := topo.Provision(t.Context(), admin.JS)
	require.NoError(t, err)
	require.Len(t, first, len(topo.Streams)+len(topo.Buckets))
	for name, o := range outcomes(first) {
		require.Equal(t, natsbus.Created, o, "ok/first run creates %s", name)
	}

	again, err := topo.Provision(t.Context(), admin.JS)
	require.NoError(t, err)
	for name, o := range outcomes(again) {
		require.Equal(t, natsbus.Unchanged, o, "ok/second run leaves %s", name)
	}

	dlq := topo.Streams[2]
	require.Equal(t, natsbus.StreamDLQ, dlq.Name)
	dlq.MaxAge = time.Hour
	_, err = admin.JS.UpdateStream(t.Context(), dlq)
	require.NoError(t, err)
	require.ErrorContains(t, topo.Verify(t.Context(), admin.JS), "stream SHEP_DLQ differs from what the suite needs: max age is 1h0m0s, needs 720h0m0s")
	fixed, err := topo.Provision(t.Context(), admin.JS)
	require.NoError(t, err)
	require.Equal(t, natsbus.Updated, outcomes(fixed)[natsbus.StreamDLQ], "ok/a changed stream is put back")
	require.Equal(t, natsbus.Unchanged, outcomes(fixed)[natsbus.StreamIn])
	require.NoError(t, topo.Verify(t.Context(), admin.JS))
}

// TestVerifyAsRestrictedUser: a service verifies its streams with its own permissions and refuses what
// differs, naming each difference and the step that fixes it; it cannot change them itself.
func TestVerifyAsRestrictedUser(t *testing.T) {
	t.Parallel()
	const adminPW, portalPW = "admin-pw", "portal-pw"
	access := natsbus.ChannelAccess("portal")
	tests := []struct {
		name    string
		mutate  func(context.Context, jetstream.JetStream) error
		wantErr []string
	}{
		{name: "ok/as provisioned"},
		{name: "fail/missing stream", mutate: func(ctx context.Context, js jetstream.JetStream) error {
			return js.DeleteStream(ctx, natsbus.StreamOut)
		}, wantErr: []string{"stream SHEP_OUT", "stream not found", "egov nats provision --replicas N"}},
		{name: "fail/other subjects and size", mutate: func(ctx context.Context, js jetstream.JetStream) error {
			cfg := natsbus.DefaultTopology(1).Streams[0]
			cfg.Subjects = []string{"shep.in.portal"}
			cfg.MaxMsgSize = 1 << 20
			_, err := js.UpdateStream(ctx, cfg)
			return err
		}, wantErr: []string{"stream SHEP_IN differs", "subjects are shep.in.portal, need shep.in.>", "max message size is 1048576, needs 4194304"}},
		{name: "fail/missing bucket", mutate: func(ctx context.Context, js jetstream.JetStream) error {
			return js.DeleteObjectStore(ctx, natsbus.BucketAttachments)
		}, wantErr: []string{"bucket " + natsbus.BucketAttachments}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := natstest.NewWithUsers(t, []*server.User{{Username: "egov", Password: adminPW}, access.NATSUser(portalPW)})
			admin, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), User: "egov", Password: adminPW}, discardLog())
			require.NoError(t, err)
			t.Cleanup(admin.Conn.Close)
			topo := natsbus.DefaultTopology(1)
			require.NoError(t, topo.Apply(t.Context(), admin.JS))
			if tt.mutate != nil {
				require.NoError(t, tt.mutate(t.Context(), admin.JS))
			}
			portal, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), User: "portal", Password: portalPW,
				InboxPrefix: natsbus.InboxPrefix("portal")}, discardLog())
			require.NoError(t, err)
			t.Cleanup(portal.Conn.Close)
			err = access.Needs(topo).Require(t.Context(), portal.JS)
			if tt.wantErr == nil {
				require.NoError(t, err)
				_, err = portal.JS.CreateOrUpdateStream(t.Context(), topo.Streams[0])
				require.Error(t, err, "a service may not change the topology itself")
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				require.ErrorContains(t, err, want)
			}
		})
	}
}
