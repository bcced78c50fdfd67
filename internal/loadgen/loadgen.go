// Package loadgen is `egov loadgen`: load from a second process on loopback against a running suite
// (egov dev, or the services as separate processes), reading where everything is from endpoints.json.
// Every figure it prints comes with a baseline measured in the same run, on the same machine.
package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/egov-suite/egov/internal/devmode"
)

// ReadEndpoints reads an endpoints.json, as egov dev (or the e2e harness) writes it.
func ReadEndpoints(path string) (*devmode.Endpoints, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	var e devmode.Endpoints
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("loadgen: %s: %w", path, err)
	}
	return &e, nil
}

// Latencies are measured durations of one kind.
type Latencies []time.Duration

// Quantile returns the q-quantile (0..1), nearest rank.
func (l Latencies) Quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

// ms writes a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
