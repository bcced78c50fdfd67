package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/integration/scenarios"
)

// TestScenarios starts the suite in process mode and runs the end-to-end scenario table
// (integration/scenarios) on it, every sub-test on the one suite; integration/containers'
// TestScenariosInContainers runs the same table in container mode.
func TestScenarios(t *testing.T) {
	s := harness.StartSuite(t, harness.SuiteOptions{})
	e := scenarios.NewEnv(t, &s.Target, s.AdminNATS())
	t.Run("ok/the portal lists the passports", func(t *testing.T) {
		c, err := s.Citizen(t.Context(), "citizen-akhmetova")
		require.NoError(t, err)
		pg, err := c.Get(t.Context(), "/services")
		require.NoError(t, err)
		require.Contains(t, pg.Body, "guardianship-certificate")
	})
	scenarios.Run(t, e)
}
