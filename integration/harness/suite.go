package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/egov-suite/egov/internal/demo"
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

	// natsPasswords are the NATS users' passwords: the administrator's (adminUser, used only by the
	// harness to create the streams, and by tests that play the outside world) and each service's.
	natsPasswords map[string]string
	natsUsers     []*server.User

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
	s.natsUsers, s.natsPasswords = suiteUsers(t)
	s.StartNATS()
	s.applyTopology()
	s.pgOpts = pgcluster.Options{Dir: filepath.Join(dir, "postgres"), Port: free[1], Durable: true, Database: "egov"}
	s.StartPostgres()

	s.Endpoints = Endpoints{NATS: s.nats.ClientURL(), Postgres: s.pg.URL(), Services: map[string]Endpoint{},
		NATSUsers: map[string]string{}}
	for _, u := range s.natsUsers {
		if u.Username != adminUser {
			s.Endpoints.NATSUsers[u.Username] = s.natsURL(u.Username)
		}
	}
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
	// nats-credentials.json beside it, as egov dev keeps it, so that egov loadgen reaches NATS.
	b, err := json.MarshalIndent(s.Endpoints, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "endpoints.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = json.MarshalIndent(s.natsPasswords, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nats-credentials.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// natsServices are the services that use NATS, each as its own user.
var natsServices = []string{"shep", "rshep", "portal", "tson"}

// adminUser is the NATS administrator of the suite's server, as in egov dev.
const adminUser = "egov"

// suiteUsers are the NATS users of the suite: the administrator, every service that uses NATS with its
// own restricted permissions (natsbus.Access, as the services declare it), and the demo's other ШЭП
// participants; each with a random password.
func suiteUsers(t testing.TB) ([]*server.User, map[string]string) {
	t.Helper()
	var nodes []string
	for _, id := range demo.Systems {
		if strings.HasPrefix(id, "rshep-") {
			nodes = append(nodes, id)
		}
	}
	byName := map[string]*server.User{adminUser: {Username: adminUser}}
	for _, id := range demo.Systems {
		byName[id] = natsbus.ParticipantUser(id, "")
	}
	for _, a := range []natsbus.Access{
		natsbus.RouterAccess("shep"), natsbus.NodeAccess("rshep", nodes),
		natsbus.ChannelAccess("portal"), natsbus.ChannelAccess("tson"),
	} {
		byName[a.User] = a.NATSUser("")
	}
	passwords := map[string]string{}
	var users []*server.User
	for name, u := range byName {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		u.Password = hex.EncodeToString(b)
		passwords[name] = u.Password
		users = append(users, u)
	}
	return users, passwords
}

// natsURL is the NATS URL with user's name and password.
func (s *Suite) natsURL(user string) string {
	return strings.Replace(s.nats.ClientURL(), "nats://", "nats://"+user+":"+s.natsPasswords[user]+"@", 1)
}

// AdminNATS is the NATS URL with the administrator's credentials, for a test playing the outside world
// (tampering with the object store behind the suite's back).
func (s *Suite) AdminNATS() string { return s.natsURL(adminUser) }

// NATSConnections are the NATS server's client connections, by connection name, each with the user it
// authenticated as.
func (s *Suite) NATSConnections(t testing.TB) map[string]string {
	t.Helper()
	s.mu.Lock()
	ns := s.nats
	s.mu.Unlock()
	conns, err := ns.Connz(&server.ConnzOptions{Username: true})
	if err != nil {
		t.Fatalf("harness: NATS connections: %v", err)
	}
	out := map[string]string{}
	for _, c := range conns.Conns {
		out[c.Name] = c.AuthorizedUser
	}
	return out
}

// applyTopology creates the suite's streams and buckets as the administrator, as a provisioning step
// does in production: the services' own users may not.
func (s *Suite) applyTopology() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := natsbus.Connect(ctx, natsbus.ConnOptions{URL: s.nats.ClientURL(), User: adminUser,
		Password: s.natsPasswords[adminUser], Name: "harness"}, slog.New(slog.DiscardHandler))
	if err != nil {
		s.t.Fatalf("harness: NATS: %v", err)
	}
	defer admin.Conn.Close()
	if err := natsbus.DefaultTopology(1).Apply(ctx, admin.JS); err != nil {
		s.t.Fatalf("harness: NATS topology: %v", err)
	}
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
	env := s.env
	if pw, ok := s.natsPasswords[name]; ok && slices.Contains(natsServices, name) {
		// Its own restricted user; the registries and НУЦ do not use NATS and get none.
		up := strings.ToUpper(name)
		env = append(slices.Clone(env), "EGOV_"+up+"_NATS_USER="+name, "EGOV_"+up+"_NATS_PASSWORD="+pw)
	}
	p := Start(s.t, env, "run", "--services", name)
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
	ns, err := natsbus.RunEmbedded(natsbus.EmbeddedOptions{Port: s.natsPort, StoreDir: s.natsStore, Users: s.natsUsers})
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
