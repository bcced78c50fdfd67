package harness

import (
	"testing"
	"time"

	"github.com/egov-suite/egov/qakit"
	"github.com/egov-suite/egov/qakit/qakittest"
)

// Order is the start order of the suite's services (qakit.Order).
var Order = qakit.Order

// SuiteOptions configure a process-per-service suite.
type SuiteOptions struct {
	// Env is added to every process's environment (EGOV_TRACE_EXPORTER=stdout, a catalogue folder …).
	Env []string
}

// Suite is the kit's process-per-service suite (qakit.Suite), its failures reported to the test.
type Suite struct {
	*qakit.Suite
	t testing.TB
}

// StartSuite starts NATS, PostgreSQL and every service in Order, each waited on at /readyz; all stop
// when the test ends.
func StartSuite(t testing.TB, o SuiteOptions) *Suite {
	t.Helper()
	return &Suite{Suite: qakittest.Start(t, qakit.Options{Build: buildOptions(), Env: o.Env}), t: t}
}

// NATSConnections are the NATS server's client connections, by connection name, each with the user it
// authenticated as.
func (s *Suite) NATSConnections(t testing.TB) map[string]string {
	t.Helper()
	c, err := s.Suite.NATSConnections()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return c
}

// Start runs a service's process (again) and waits until it is ready.
func (s *Suite) Start(name string) *Process {
	s.t.Helper()
	p, err := s.StartService(name)
	if err != nil {
		s.t.Fatalf("harness: %v\n%s", err, stderr(p))
	}
	return p
}

// Restart kills a service with SIGKILL and starts it again.
func (s *Suite) Restart(name string) {
	s.t.Helper()
	if p, err := s.Suite.Restart(name); err != nil {
		s.t.Fatalf("harness: %v\n%s", err, stderr(p))
	}
}

// RestartNATS stops the NATS server and starts it again on the same port and store.
func (s *Suite) RestartNATS(down time.Duration) {
	s.t.Helper()
	if err := s.Suite.RestartNATS(down); err != nil {
		s.t.Fatalf("harness: %v", err)
	}
}

// RestartPostgres stops PostgreSQL (fast shutdown: connections are cut) and starts it again.
func (s *Suite) RestartPostgres(down time.Duration) {
	s.t.Helper()
	if err := s.Suite.RestartPostgres(down); err != nil {
		s.t.Fatalf("harness: %v", err)
	}
}

func stderr(p *Process) string {
	if p == nil {
		return ""
	}
	return p.Stderr()
}
