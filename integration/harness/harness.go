// Package harness runs the real egov binary for black-box tests: it builds the binary once, starts
// processes with their own logs, waits on readiness, and stops them (gracefully or with kill -9).
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binary    string
	errBuild  error
)

// Binary builds the egov binary once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "egov-bin-")
		if err != nil {
			errBuild = err
			return
		}
		binary = filepath.Join(dir, "egov")
		// With the race detector unless EGOV_RACE=0 (benchmarks measure the binary as it ships).
		args := []string{"build", "-race", "-o", binary, "./cmd/egov"}
		if os.Getenv("EGOV_RACE") == "0" {
			args = []string{"build", "-o", binary, "./cmd/egov"}
		}
		cmd := exec.CommandContext(context.Background(), "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatalf("harness: %v", errBuild)
	}
	return binary
}

// Process is a running egov process whose output is kept for the test's log.
type Process struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// Start runs egov with args and env (added to the test's environment).
func Start(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), Binary(t), args...) // lives until stopped, not until a context ends
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{t: t, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("harness: start egov: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		// Ctrl-C first: egov dev stops the PostgreSQL server it started, which runs in a session of its
		// own and would outlive a SIGKILL of the process group; SIGKILL only if that hangs.
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("egov %v stdout:\n%s\nstderr:\n%s", args, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// Stdout is what the process printed so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr is what the process logged so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Interrupt sends SIGINT (Ctrl-C) and waits for the process to exit, returning its exit error.
func (p *Process) Interrupt(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(os.Interrupt)
	return p.wait(timeout)
}

// Wait waits for the process to exit on its own, returning its exit error.
func (p *Process) Wait(timeout time.Duration) error { return p.wait(timeout) }

// Kill sends SIGKILL to the process group and waits.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.wait(30 * time.Second)
}

func (p *Process) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("did not exit within %v", timeout)
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Endpoints mirrors <data-dir>/endpoints.json.
type Endpoints struct {
	NATS     string              `json:"nats"`
	Postgres string              `json:"postgres"`
	Services map[string]Endpoint `json:"services"`
	// NATSUsers are NATS URLs with each participant's own restricted user.
	NATSUsers map[string]string `json:"nats_users"`
	// Signer is the local signer's page (egov ncalayer), http://…/; its WebSocket is the same address.
	Signer string `json:"ncalayer"`
	// InternalTLS is "off" when the suite runs with EGOV_INTERNAL_TLS=off (egov loadgen then dials in
	// plaintext too).
	InternalTLS string `json:"internal_tls,omitempty"`
}

// Endpoint is where a service listens; Admin is its admin API (ШЭП, НУЦ), over mutual TLS with the
// administrator's key (keys/admin.p12).
type Endpoint struct {
	HTTP  string `json:"http"`
	GRPC  string `json:"grpc"`
	Admin string `json:"admin,omitempty"`
}

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
			t.Fatalf("harness: egov dev exited early: %v\n%s", p.err, p.Stderr())
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz %d: %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("not ready in time"), last)
		case <-time.After(25 * time.Millisecond):
		}
	}
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
