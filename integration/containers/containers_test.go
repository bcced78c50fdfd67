// Package containers runs the suite in container mode: every service a container of the suite's image
// (`make image`'s deploy/Dockerfile around the static binary) on a private Docker network, with NATS and
// PostgreSQL in containers of locally built images (harness.Images); nothing is pulled. It needs Docker
// Engine (`make deps` installs and starts it as root); EGOV_CONTAINERS=off opts a machine out.
package containers

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/integration/scenarios"
)

// TestScenariosInContainers runs the end-to-end scenario table (integration/scenarios: the QA kit's
// guardianship scenario, the portal's approval by the staff, an automatic refusal, a ЦОН application
// handed over, an office intake, a re-sent message counted once) in container mode, every sub-test on
// one suite of containers; integration/e2e's TestScenarios runs the same table in process mode. The
// services run as the image's numeric non-root user.
func TestScenariosInContainers(t *testing.T) {
	c := harness.StartContainers(t, harness.ContainerOptions{})
	insp, err := c.Service("shep", 0).Inspect(t.Context())
	require.NoError(t, err)
	require.Equal(t, "65532:65532", insp.Config.User, "a numeric user, which runAsNonRoot can check")
	scenarios.Run(t, scenarios.NewEnv(t, &c.Target, c.AdminNATS()))
}
