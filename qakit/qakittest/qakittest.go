// Package qakittest binds the QA kit to a test: a suite started for the test and stopped after it, or
// the one already running that EGOV_ENDPOINTS names.
package qakittest

import (
	"os"
	"testing"

	"github.com/egov-suite/egov/qakit"
)

// Suite is the suite a QA test drives: the one already running whose endpoints.json EGOV_ENDPOINTS
// names (e.g. `egov dev`'s .egov/endpoints.json), else one started in process mode for the test (the
// egov binary from EGOV_BIN, else built from source) and stopped when the test ends.
func Suite(t testing.TB, env ...string) *qakit.Target {
	t.Helper()
	if path := os.Getenv("EGOV_ENDPOINTS"); path != "" {
		target, err := qakit.Attach(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return target
	}
	return &Start(t, qakit.Options{Env: env}).Target
}

// Start starts a suite in process mode for the test and stops it when the test ends; on a failure the
// test's log gets the tail of every process's log.
func Start(t testing.TB, o qakit.Options) *qakit.Suite {
	t.Helper()
	s, err := qakit.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for name, log := range s.Logs() {
				if len(log) > 6000 {
					log = log[len(log)-6000:]
				}
				t.Logf("--- %s ---\n%s", name, log)
			}
		}
		s.Close()
	})
	return s
}
