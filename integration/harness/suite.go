package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/egov-suite/egov/internal/freeport"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgcluster"
)

// Order is the start order of the suite's services, one OS process each: НУЦ first (it issues every
// key), then ШЭП, the registries, РШЭП and the channels.
var Order = []string{"nca", "shep", "gbdfl", "enis", "rshep", "portal", "tson"}

// SuiteOptions configure a process-per-service suite.
type SuiteOptions struct {
	// Env is added to every process's environment (EGOV_TRACE_EXPORTER=stdout, a catalogue folder …).
	Env []string
}

// Suite is the suite as production runs it: every service its own `egov run` process, against a real
// NATS server (with JetStream, on disk) and an ephemeral PostgreSQL cluster, with the demo data of
// `egov run --dev-dir`. Processes can be killed (-9) and started again; so can NATS and PostgreSQL.
type Suite struct {
	t   testing.TB
	Dir string
	// Endpoints are the same as egov dev writes.
	Endpoints Endpoints
	env       []string

	mu        sync.Mutex
	procs     map[string]*Process
	nats      *server.Server
	natsPort  int
	natsStore string
	pg        *pgcluster.Cluster
	pgOpts    pgcluster.Options
}

// ports reserves n distinct ports outside the kernel's ephemeral range (see internal/freeport): the
// processes bind them later, and a port merely closed after `listen :0` can meanwhile become the local
// port of any outgoing connection, or come back from the kernel a second time.
func ports(t testing.TB, n int) []int {
	t.Helper()
	p, err := freeport.Reserve(n)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return p
}

// StartSuite starts NATS, PostgreSQL and every service in Order, each waited on at /readyz.
func StartSuite(t testing.TB, o SuiteOptions) *Suite {
	t.Helper()
	dir, err := os.MkdirTemp("", "egov-suite-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	free := ports(t, 2+3*len(Order))
	s := &Suite{t: t, Dir: dir, procs: map[string]*Process{}, natsStore: filepath.Join(dir, "nats"), natsPort: free[0]}
	t.Cleanup(func() {
		s.mu.Lock()
		procs := s.procs
		s.mu.Unlock()
		for _, p := range procs {
			if !p.Exited() {
				_ = p.Interrupt(20 * time.Second)
			}
		}
		if s.nats != nil {
			natsbus.StopEmbedded(s.nats)
		}
		if s.pg != nil {
			_ = s.pg.Stop(context.Background())
		}
		os.RemoveAll(dir)
	})
	s.StartNATS()
	s.pgOpts = pgcluster.Options{Dir: filepath.Join(dir, "postgres"), Port: free[1], Durable: true, Database: "egov"}
	s.StartPostgres()

	s.Endpoints = Endpoints{NATS: s.nats.ClientURL(), Postgres: s.pg.URL(), Services: map[string]Endpoint{}}
	s.env = append([]string{"EGOV_NATS_URL=" + s.Endpoints.NATS, "DATABASE_URL=" + s.Endpoints.Postgres,
		"EGOV_DEV_DIR=" + dir, "EGOV_SHUTDOWN_TIMEOUT=10s"}, o.Env...)
	if slices.Contains(o.Env, "EGOV_INTERNAL_TLS=off") {
		s.Endpoints.InternalTLS = "off"
	}
	for i, name := range Order {
		s.assign(name, free[2+3*i], free[3+3*i], free[4+3*i])
	}
	for _, name := range Order {
		// A port can still be taken by another process between the reservation and the bind; on the
		// first start, before the later services learn the address, the service moves to new ports.
		for attempt := 0; ; attempt++ {
			p, err := s.start(name)
			if err == nil {
				break
			}
			if attempt < 2 && p.Exited() && freeport.InUse(p.Stderr()) {
				np := ports(t, 3)
				s.assign(name, np[0], np[1], np[2])
				continue
			}
			t.Fatalf("harness: %s: %v\n%s", name, err, p.Stderr())
		}
		if name == "nca" {
			s.waitFile(filepath.Join(dir, "keys", "manifest.json"))
		}
	}
	// endpoints.json as egov dev writes it, so that egov loadgen and scripts find the suite.
	b, err := json.MarshalIndent(s.Endpoints, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "endpoints.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Suite) waitFile(path string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("harness: %s did not appear", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assign gives a service its HTTP, gRPC and admin ports, in the endpoints and in every later process's
// environment (a later entry of the same variable wins). Only ШЭП and НУЦ open the admin port.
func (s *Suite) assign(name string, h, g, a int) {
	e := Endpoint{HTTP: "http://127.0.0.1:" + strconv.Itoa(h), GRPC: "127.0.0.1:" + strconv.Itoa(g)}
	if name == "shep" || name == "nca" {
		e.Admin = "127.0.0.1:" + strconv.Itoa(a)
	}
	s.Endpoints.Services[name] = e
	up := strings.ToUpper(name)
	s.env = append(s.env, fmt.Sprintf("EGOV_%s_HTTP_ADDR=127.0.0.1:%d", up, h), fmt.Sprintf("EGOV_%s_GRPC_ADDR=127.0.0.1:%d", up, g),
		fmt.Sprintf("EGOV_%s_ADMIN_ADDR=127.0.0.1:%d", up, a))
}

// Start runs a service's process (again) and waits until it is ready.
func (s *Suite) Start(name string) *Process {
	s.t.Helper()
	p, err := s.start(name)
	if err != nil {
		s.t.Fatalf("harness: %s: %v\n%s", name, err, p.Stderr())
	}
	return p
}

// start runs a service's process and waits until it is ready or has exited.
func (s *Suite) start(name string) (*Process, error) {
	p := Start(s.t, s.env, "run", "--services", name)
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := WaitReady(ctx, s.Endpoints.Services[name].HTTP, 90*time.Second); err != nil {
		if p.Exited() {
			return p, fmt.Errorf("exited before it was ready: %w", err)
		}
		return p, err
	}
	return p, nil
}

// Process is a service's current process.
func (s *Suite) Process(name string) *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

// Kill sends SIGKILL to a service's process, as a crash would.
func (s *Suite) Kill(name string) {
	s.Process(name).Kill()
}

// Restart kills a service with SIGKILL and starts it again.
func (s *Suite) Restart(name string) {
	s.t.Helper()
	s.Kill(name)
	s.Start(name)
}

// StartNATS starts the NATS server on its port and store.
func (s *Suite) StartNATS() {
	s.t.Helper()
	ns, err := natsbus.RunEmbedded(natsbus.EmbeddedOptions{Port: s.natsPort, StoreDir: s.natsStore})
	if err != nil {
		s.t.Fatalf("harness: NATS: %v", err)
	}
	s.nats = ns
}

// RestartNATS stops the NATS server and starts it again on the same port and store: the streams,
// consumers and messages on disk survive; the clients reconnect.
func (s *Suite) RestartNATS(down time.Duration) {
	s.t.Helper()
	natsbus.StopEmbedded(s.nats)
	time.Sleep(down)
	s.StartNATS()
}

// StartPostgres starts the PostgreSQL cluster.
func (s *Suite) StartPostgres() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := pgcluster.Start(ctx, s.pgOpts)
	if err != nil {
		s.t.Fatalf("harness: PostgreSQL: %v", err)
	}
	s.pg = pg
}

// RestartPostgres stops PostgreSQL (fast shutdown: connections are cut) and starts it again.
func (s *Suite) RestartPostgres(down time.Duration) {
	s.t.Helper()
	if err := s.pg.Stop(context.Background()); err != nil {
		s.t.Fatalf("harness: stop PostgreSQL: %v", err)
	}
	time.Sleep(down)
	s.StartPostgres()
}

// Logs are every process's standard error so far, by service, for a failure's report.
func (s *Suite) Logs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for name, p := range s.procs {
		out[name] = p.Stderr()
	}
	return out
}
