package participant_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/participant"
)

type registryConfig struct {
	Registry participant.Registry `envPrefix:"EGOV_X_"`
}

func TestRegistryChoice(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) error {
		var c registryConfig
		require.NoError(t, config.Load(&c, env))
		return c.Registry.Validate("EGOV_X_")
	}
	require.NoError(t, load(map[string]string{}))
	require.NoError(t, load(map[string]string{"EGOV_X_SOURCE": "remote", "EGOV_X_REMOTE_TARGET": "registry:9030"}))
	require.ErrorContains(t, load(map[string]string{"EGOV_X_SOURCE": "remote"}), "EGOV_X_REMOTE_TARGET")
	require.ErrorContains(t, load(map[string]string{"EGOV_X_SOURCE": "ldap"}), `EGOV_X_SOURCE="ldap"`)
}

func TestLoadRefusesWhatIsNotTheParticipantsKey(t *testing.T) {
	t.Parallel()
	_, err := participant.Config{}.Load("gbdfl", nil)
	require.ErrorContains(t, err, "required")
	_, err = participant.Config{KeyFile: "/nonexistent.p12", TrustAnchors: "/nonexistent.pem"}.Load("gbdfl", nil)
	require.ErrorContains(t, err, "key file")
	c := participant.Config{}.WithDevDefaults("/data", "gbdfl")
	require.Equal(t, "/data/keys/system-gbdfl.p12", c.KeyFile)
	require.Equal(t, "/data/keys/root.pem", c.TrustAnchors)
}

// TestRemoteRegistryPlaintextOnlyOnThisHost: a remote registry's records are personal data, so without a
// CA file (TLS) only an adapter on the same host is dialled; any other target is refused with the
// variables to set.
func TestRemoteRegistryPlaintextOnlyOnThisHost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, target, want string
	}{
		{name: "ok/an adapter on loopback", target: "127.0.0.1:9030"},
		{name: "ok/localhost", target: "localhost:9030"},
		{name: "ok/IPv6 loopback", target: "[::1]:9030"},
		{name: "fail/a registry across the network", target: "registry.example.kz:443", want: "EGOV_X_REMOTE_CA_FILE"},
		{name: "fail/a private address is a network too", target: "10.0.0.7:9030", want: "is not on this host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := participant.Registry{Source: "remote", RemoteTarget: tt.target}
			conn, err := r.Dial("EGOV_X_", nil)
			if tt.want != "" {
				require.ErrorContains(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.NoError(t, conn.Close())
		})
	}
}
