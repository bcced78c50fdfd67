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
