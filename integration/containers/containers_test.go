// Package containers runs the suite in container mode: every service a container of the suite's image
// (`make image`'s deploy/Dockerfile around the static binary) on a private Docker network, with NATS and
// PostgreSQL in containers of locally built images (harness.Images); nothing is pulled. It needs Docker
// Engine (`make deps` installs and starts it as root); EGOV_CONTAINERS=off opts a machine out.
package containers

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/integration/scenarios"
	"github.com/egov-suite/egov/qakit"
)

// TestGuardianshipInContainers is the QA kit's own scenario in container mode: Асель applies on the
// portal for the automated regulation, every status reaches her once and in order, and the result
// carries a valid signature; the services run as the image's numeric non-root user.
func TestGuardianshipInContainers(t *testing.T) {
	c := harness.StartContainers(t, harness.ContainerOptions{})
	ctx := t.Context()

	insp, err := c.Service("shep", 0).Inspect(ctx)
	require.NoError(t, err)
	require.Equal(t, "65532:65532", insp.Config.User, "a numeric user, which runAsNonRoot can check")

	asel, err := c.Citizen(ctx, qakit.Citizen)
	require.NoError(t, err)
	app, err := asel.Apply(ctx, "/services/guardianship-certificate/27", qakit.Form{Fields: map[string]string{"ward_iin": qakit.WardIIN}})
	require.NoError(t, err)
	pg, err := asel.Until(ctx, app, 2*time.Minute, qakit.Closed)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}, qakit.Statuses(pg))
	_, err = c.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeEnvelope})
	require.NoError(t, err)
}

// TestScenariosInContainers runs the end-to-end scenario table (integration/scenarios) in container
// mode, every sub-test on one suite of containers; integration/e2e runs the same table in process mode.
func TestScenariosInContainers(t *testing.T) {
	c := harness.StartContainers(t, harness.ContainerOptions{})
	scenarios.Run(t, scenarios.NewEnv(t, &c.Target, c.AdminNATS()))
}
