// Package harness runs the real egov binary for black-box tests, through the QA kit (qakit): it builds
// the binary once, starts processes with their own logs, waits on readiness, and stops them
// (gracefully or with kill -9). The kit holds the code; the harness binds it to a *testing.T and adds
// what only these tests need (egov dev, edited catalogues, log lines).
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/egov-suite/egov/qakit"
)

// Binary is the egov binary the tests run: EGOV_BIN, else built once per test process, with the race
// detector unless EGOV_RACE=0 (benchmarks measure the binary as it ships).
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := qakit.Binary(context.Background(), buildOptions())
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return bin
}

func buildOptions() qakit.BuildOptions {
	return qakit.BuildOptions{Race: os.Getenv("EGOV_RACE") != "0"}
}

// Process is a running egov process whose output is kept for the test's log.
type Process = qakit.Process

// Start runs egov with args and env (added to the test's environment); it is stopped when the test
// ends, and its output logged if the test failed.
func Start(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	p, err := qakit.StartProcess(Binary(t), env, args...)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		p.Stop(30 * time.Second)
		if t.Failed() {
			t.Logf("egov %v stdout:\n%s\nstderr:\n%s", args, p.Stdout(), p.Stderr())
		}
	})
	return p
}

// Endpoints mirrors <data-dir>/endpoints.json.
type Endpoints = qakit.Endpoints

// Endpoint is where a service listens.
type Endpoint = qakit.Endpoint

// Dev is a running `egov dev`.
type Dev struct {
	*Process
	DataDir   string
	Endpoints Endpoints
	// Ready is how long after the process started every service answered /readyz with 200.
	Ready time.Duration
}

// StartDev runs `egov dev` on dataDir with free ports and waits until endpoints.json is written and
// every service's /readyz answers 200.
func StartDev(t testing.TB, dataDir string, env ...string) *Dev {
	t.Helper()
	_ = os.Remove(filepath.Join(dataDir, "endpoints.json"))
	start := time.Now()
	p := Start(t, env, "dev", "--data-dir", dataDir, "--base-port", "0")
	d := &Dev{Process: p, DataDir: dataDir}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if p.Exited() {
			t.Fatalf("harness: egov dev exited early: %v\n%s", p.Err(), p.Stderr())
		}
		if b, err := os.ReadFile(filepath.Join(dataDir, "endpoints.json")); err == nil {
			if err := json.Unmarshal(b, &d.Endpoints); err != nil {
				t.Fatalf("harness: endpoints.json: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("harness: no endpoints.json after 90s\n%s", p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, e := range d.Endpoints.Services {
		if err := WaitReady(t.Context(), e.HTTP, time.Until(deadline)); err != nil {
			t.Fatalf("harness: %s: %v", name, err)
		}
	}
	d.Ready = time.Since(start)
	return d
}

// WaitReady polls base+"/readyz" until it answers 200.
func WaitReady(ctx context.Context, base string, timeout time.Duration) error {
	return qakit.WaitReady(ctx, base, timeout)
}

// Lines returns the JSON log lines of a process's stderr, decoded.
func Lines(s string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewBufferString(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
