package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/internal/loadgen"
)

// BenchmarkEndToEnd is egov loadgen against the suite as production runs it, one process per service:
// b.N applications through the portal, ШЭП and РШЭП (West Kazakhstan's automated regulation) and back,
// with the same run's raw JetStream and gRPC baselines and each process's memory.
//
//	cd integration && EGOV_RACE=0 go test -run '^$' -bench EndToEnd -benchtime 2000x ./e2e
func BenchmarkEndToEnd(b *testing.B) {
	s := harness.StartSuite(b, harness.SuiteOptions{})
	b.ResetTimer()
	r, err := loadgen.Applications(b.Context(), loadgen.AppOptions{Endpoints: filepath.Join(s.Dir, "endpoints.json"),
		Applications: b.N, Concurrency: 8, Scenario: loadgen.ScenarioPortal, Service: "guardianship-certificate", Region: "27", Wait: 5 * time.Minute})
	b.StopTimer()
	require.NoError(b, err)
	b.Logf("\n%s", r)
	b.ReportMetric(r.PerSec, "applications/s")
	b.ReportMetric(float64(r.Registered.Quantile(.99).Microseconds())/1000, "p99-registered-ms")
	b.ReportMetric(r.ShepPerSec, "shep-envelopes/s")
	b.ReportMetric(r.JetStreamPerSec, "raw-jetstream-msg/s")
	b.ReportMetric(r.GRPCPerSec, "raw-grpc-req/s")
}
