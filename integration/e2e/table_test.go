package e2e

import (
	"testing"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/integration/scenarios"
)

// TestScenarios runs the end-to-end scenario table (integration/scenarios) in process mode, every
// sub-test on one suite; integration/containers runs the same table in container mode.
func TestScenarios(t *testing.T) {
	s := harness.StartSuite(t, harness.SuiteOptions{})
	scenarios.Run(t, scenarios.NewEnv(t, &s.Target, s.AdminNATS()))
}
