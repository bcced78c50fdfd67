package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/natsbus"
)

// TestApplyTopology: only the administrator (or a process on a server without users) creates the
// streams; a restricted service must start with its own permissions only; a process whose services do
// not use NATS does not connect at all.
func TestApplyTopology(t *testing.T) {
	t.Parallel()
	portal := app.Descriptor{Name: "portal", NATS: func() (natsbus.Access, error) { return natsbus.ChannelAccess("portal"), nil }}
	nca := app.Descriptor{Name: "nca"}
	own := map[string]natsbus.ConnOptions{"portal": {User: "portal", Password: "p"}}
	tests := []struct {
		name     string
		platform config.Platform
		chosen   []app.Descriptor
		users    map[string]natsbus.ConnOptions
		want     bool
	}{
		{name: "fail/restricted service does not try to create streams", chosen: []app.Descriptor{portal}, users: own},
		{name: "ok/administrator's credentials apply the topology", platform: config.Platform{NATSUser: "egov"}, chosen: []app.Descriptor{portal}, users: own, want: true},
		{name: "ok/administrator's credentials file applies the topology", platform: config.Platform{NATSCreds: "admin.creds"}, chosen: []app.Descriptor{portal}, users: own, want: true},
		{name: "ok/a server without users: as before", chosen: []app.Descriptor{portal}, want: true},
		{name: "fail/no service uses NATS: no connection at all", platform: config.Platform{NATSUser: "egov"}, chosen: []app.Descriptor{nca}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, applyTopology(tt.platform, tt.chosen, tt.users))
		})
	}
}
