package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/telemetry"
)

// TestServicesConnectAsTheirOwnUsers runs a process with a channel (the portal's permissions) and a
// service without NATS against a server that enforces users, as egov run does in production.
func TestServicesConnectAsTheirOwnUsers(t *testing.T) {
	t.Parallel()
	const adminPW, portalPW = "admin-pw", "portal-pw"
	tests := []struct {
		name string
		// provisioned: the streams exist before the process starts (an administrator made them).
		provisioned bool
		// changed: after provisioning, someone changed SHEP_IN's message size limit.
		changed bool
		// admin: the process is given the administrator's credentials and applies the topology.
		admin   bool
		wantErr []string
	}{
		{name: "ok/restricted service starts when its streams exist", provisioned: true},
		{name: "ok/administrator applies the topology, then leaves", admin: true},
		{name: "fail/restricted service missing its stream refuses to start", wantErr: []string{
			"portal:", "stream " + natsbus.StreamIn, "may not create or change it", "egov nats provision",
		}},
		{name: "fail/restricted service finding its stream changed refuses to start", provisioned: true, changed: true, wantErr: []string{
			"portal:", "stream " + natsbus.StreamIn + " differs", "max message size is 1024, needs 4194304", "egov nats provision",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := natstest.NewWithUsers(t, []*server.User{
				{Username: "egov", Password: adminPW},
				natsbus.ChannelAccess("portal").NATSUser(portalPW),
			})
			if tt.provisioned {
				admin, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), User: "egov", Password: adminPW}, discard())
				require.NoError(t, err)
				require.NoError(t, natsbus.DefaultTopology(1).Apply(t.Context(), admin.JS))
				if tt.changed {
					cfg := natsbus.DefaultTopology(1).Streams[0]
					cfg.MaxMsgSize = 1024
					_, err := admin.JS.UpdateStream(t.Context(), cfg)
					require.NoError(t, err)
				}
				admin.Conn.Close()
			}
			// The services here have no system key: this test is about their NATS users, not their TLS.
			p := config.Platform{NATSURL: ns.ClientURL(), InternalTLS: "off"}
			if tt.admin {
				p.NATSUser, p.NATSPassword = "egov", config.Secret(adminPW)
			}
			envs := map[string]*app.Env{}
			svc := func(name string, access *natsbus.Access) app.Descriptor {
				d := app.Descriptor{Name: name, Start: func(_ context.Context, env *app.Env) (*app.Unit, error) {
					envs[name] = env
					return &app.Unit{}, nil
				}}
				if access != nil {
					d.NATS = func() (natsbus.Access, error) { return *access, nil }
				}
				return d
			}
			portal := natsbus.ChannelAccess("portal")
			services := []app.Descriptor{svc("portal", &portal), svc("registry", nil)}
			tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "egov-test", SampleRatio: 1})
			require.NoError(t, err)
			listeners := map[string]app.Listeners{}
			for _, d := range services {
				h, err := serve.Listen("127.0.0.1:0")
				require.NoError(t, err)
				g, err := serve.Listen("127.0.0.1:0")
				require.NoError(t, err)
				listeners[d.Name] = app.Listeners{HTTP: h, GRPC: g}
			}
			r := serve.NewRunner(discard(), 10*time.Second)
			_, err = app.Start(t.Context(), r, app.Options{
				Platform: p, Log: discard(), Telemetry: tel, Services: services, Listeners: listeners,
				Topology: natsbus.DefaultTopology(1), ApplyTopology: tt.admin,
				NATSUsers: map[string]natsbus.ConnOptions{"portal": {User: "portal", Password: portalPW}},
			})
			t.Cleanup(func() {
				_ = r.Stop()
				for _, l := range listeners {
					l.HTTP.Close()
					l.GRPC.Close()
				}
			})
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					require.ErrorContains(t, err, want)
				}
				require.NotContains(t, envs, "portal", "the service was not started")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, envs["portal"].Bus)
			require.Nil(t, envs["registry"].Bus, "a service without NATS gets no connection")
			require.NoError(t, portal.Needs(natsbus.DefaultTopology(1)).Check(t.Context(), envs["portal"].Bus.JS), "its streams exist")

			// The server removes a closed connection asynchronously: wait for the topology's to go.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				conns, err := ns.Connz(&server.ConnzOptions{Username: true})
				require.NoError(c, err)
				users := map[string]string{}
				for _, cn := range conns.Conns {
					users[cn.Name] = cn.AuthorizedUser
				}
				require.Equal(c, map[string]string{"egov-portal": "portal"}, users,
					"one connection, the portal's own user; the administrator's topology connection is closed")
			}, 10*time.Second, 20*time.Millisecond)
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
