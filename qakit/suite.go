package qakit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/freeport"
	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgcluster"
)

// Order is the start order of the suite's services, one OS process each: НУЦ first (it issues every
// key), then ШЭП, the registries, РШЭП, the channels and ИС Е-Астана.
var Order = []string{"nca", "shep", "gbdfl", "enis", "rshep", "portal", "tson", "eastana"}

// Mode is how Start runs the suite.
type Mode string

// ModeProcess runs every service as its own `egov run` process on this machine. It is the kit's only
// mode: the container mode is the integration module's (harness.StartContainers), because it needs
// testcontainers-go, which the public kit does not carry; it yields a Target all the same.
const ModeProcess Mode = "process"

// Options configure a suite Start runs.
type Options struct {
	// Mode is ModeProcess ("" means it).
	Mode Mode
	// Build says which egov binary runs.
	Build BuildOptions
	// Env is added to every process's environment (EGOV_TRACE_EXPORTER=stdout, a catalogue folder …).
	Env []string
}

// Suite is the suite as production runs it: every service its own `egov run` process, against a real
// NATS server (with JetStream, on disk) and an ephemeral PostgreSQL cluster, with the demo data of
// `egov run --dev-dir`. Processes can be killed (-9) and started again; so can NATS and PostgreSQL.
// Its dev folder holds endpoints.json as `egov dev` writes it, so that Attach, `egov loadgen` and
// scripts find it.
type Suite struct {
	Target
	env []string
	bin string

	// natsPasswords are the NATS users' passwords: the administrator's (adminUser, used only by the
	// kit to create the streams, and by tests that play the outside world) and each service's.
	natsPasswords map[string]string
	natsUsers     []*server.User

	mu        sync.Mutex
	procs     map[string]*Process
	nats      *server.Server
	natsPort  int
	natsStore string
	pg        *pgcluster.Cluster
	pgOpts    pgcluster.Options
	// stopMail stops the mail drop and waits for it.
	stopMail func()
}

// startMail runs the mail drop on a loopback port, storing each message under dir.
func (s *Suite) startMail(dir string) error {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("qakit: the mail drop: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		_ = l.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	drop := &mail.Drop{Dir: dir, Log: slog.New(slog.DiscardHandler)}
	go func() {
		defer close(done)
		_ = drop.Serve(ctx, l) // its failures show as the letters a test waits for and does not get
	}()
	s.stopMail = func() { cancel(); <-done }
	s.Endpoints.SMTP, s.Endpoints.MailDir = "smtp://"+l.Addr().String(), dir
	return nil
}

// Start starts NATS, PostgreSQL and every service in Order, each waited on at /readyz. Close stops
// them and removes the suite's folder.
func Start(ctx context.Context, o Options) (s *Suite, err error) {
	if o.Mode != "" && o.Mode != ModeProcess {
		return nil, fmt.Errorf("qakit: mode %q is not supported; only %q runs the suite so far", o.Mode, ModeProcess)
	}
	bin, err := Binary(ctx, o.Build)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "egov-suite-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	free, err := freeport.Reserve(2 + 3*len(Order))
	if err != nil {
		return nil, fmt.Errorf("qakit: %w", err)
	}
	s = &Suite{Target: Target{Dir: dir}, bin: bin, procs: map[string]*Process{}, natsStore: filepath.Join(dir, "nats"), natsPort: free[0]}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.failure())
			s.Close()
			s = nil
		}
	}()
	if s.natsUsers, s.natsPasswords, err = suiteUsers(); err != nil {
		return s, err
	}
	if err := s.StartNATS(); err != nil {
		return s, err
	}
	if err := s.applyTopology(ctx); err != nil {
		return s, err
	}
	s.pgOpts = pgcluster.Options{Dir: filepath.Join(dir, "postgres"), Port: free[1], Durable: true, Database: "egov"}
	if err := s.StartPostgres(); err != nil {
		return s, err
	}
	s.Endpoints = Endpoints{NATS: s.nats.ClientURL(), Postgres: s.pg.URL(), Services: map[string]Endpoint{},
		NATSUsers: map[string]string{}}
	for _, u := range s.natsUsers {
		if u.Username != adminUser {
			s.Endpoints.NATSUsers[u.Username] = s.natsURL(u.Username)
		}
	}
	s.env = append([]string{"EGOV_NATS_URL=" + s.Endpoints.NATS, "DATABASE_URL=" + s.Endpoints.Postgres,
		"EGOV_DEV_DIR=" + dir, "EGOV_SHUTDOWN_TIMEOUT=10s"}, o.Env...)
	// The mail drop, as egov dev runs it: every result the services e-mail lands in <dir>/mail for the
	// tests to read, unless the caller names its own server.
	if !slices.ContainsFunc(o.Env, func(v string) bool { return strings.HasPrefix(v, "EGOV_SMTP_ADDR=") }) {
		if err := s.startMail(filepath.Join(dir, "mail")); err != nil {
			return s, err
		}
		s.env = append(s.env, "EGOV_SMTP_ADDR="+strings.TrimPrefix(s.Endpoints.SMTP, "smtp://"))
	}
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
			p, err := s.StartService(name)
			if err == nil {
				break
			}
			if attempt < 2 && p != nil && p.Exited() && freeport.InUse(p.Stderr()) {
				np, err := freeport.Reserve(3)
				if err != nil {
					return s, fmt.Errorf("qakit: %w", err)
				}
				s.assign(name, np[0], np[1], np[2])
				continue
			}
			return s, err
		}
		if name == "nca" {
			if err := waitFile(ctx, filepath.Join(dir, "keys", "manifest.json")); err != nil {
				return s, err
			}
		}
	}
	// endpoints.json as egov dev writes it, and nats-credentials.json beside it, as egov dev keeps it,
	// so that Attach and egov loadgen find the suite and reach NATS.
	if err := writeJSON(filepath.Join(dir, "endpoints.json"), s.Endpoints); err != nil {
		return s, err
	}
	return s, writeJSON(filepath.Join(dir, "nats-credentials.json"), s.natsPasswords)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// failure is the tail of every process's log, for the error of a start that failed.
func (s *Suite) failure() error {
	var errs []error
	for name, log := range s.Logs() {
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		errs = append(errs, fmt.Errorf("--- %s ---\n%s", name, log))
	}
	return errors.Join(errs...)
}

// Close stops every process (Ctrl-C, then SIGKILL), NATS and PostgreSQL, and removes the suite's folder.
func (s *Suite) Close() {
	s.mu.Lock()
	procs := s.procs
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.Stop(20 * time.Second) })
	}
	wg.Wait()
	if s.stopMail != nil {
		s.stopMail()
	}
	if s.nats != nil {
		natsbus.StopEmbedded(s.nats)
	}
	if s.pg != nil {
		_ = s.pg.Stop(context.Background())
	}
	_ = os.RemoveAll(s.Dir)
}

// natsServices are the services that use NATS, each as its own user.
var natsServices = []string{"shep", "rshep", "portal", "tson", "eastana"}

// adminUser is the NATS administrator of the suite's server, as in egov dev.
const adminUser = "egov"

// AdminUser is the NATS administrator's name among SuiteUsers.
const AdminUser = adminUser

// SuiteUsers are the NATS users of a suite as Start makes them, with their passwords by name: for a
// harness that runs NATS elsewhere (a container) and writes them into its configuration.
func SuiteUsers() ([]*server.User, map[string]string, error) { return suiteUsers() }

// suiteUsers are the NATS users of the suite: the administrator, every service that uses NATS with its
// own restricted permissions (natsbus.Access, as the services declare it), and the demo's other ШЭП
// participants; each with a random password.
func suiteUsers() ([]*server.User, map[string]string, error) {
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
		{User: "eastana", Participants: []string{"eastana"}}, // as services/eastana declares it
	} {
		byName[a.User] = a.NATSUser("")
	}
	passwords := map[string]string{}
	var users []*server.User
	for name, u := range byName {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		u.Password = hex.EncodeToString(b)
		passwords[name] = u.Password
		users = append(users, u)
	}
	return users, passwords, nil
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
func (s *Suite) NATSConnections() (map[string]string, error) {
	s.mu.Lock()
	ns := s.nats
	s.mu.Unlock()
	conns, err := ns.Connz(&server.ConnzOptions{Username: true})
	if err != nil {
		return nil, fmt.Errorf("qakit: NATS connections: %w", err)
	}
	out := map[string]string{}
	for _, c := range conns.Conns {
		out[c.Name] = c.AuthorizedUser
	}
	return out, nil
}

// applyTopology creates the suite's streams and buckets as the administrator, as a provisioning step
// does in production: the services' own users may not.
func (s *Suite) applyTopology(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	admin, err := natsbus.Connect(ctx, natsbus.ConnOptions{URL: s.nats.ClientURL(), User: adminUser,
		Password: s.natsPasswords[adminUser], Name: "qakit"}, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("qakit: NATS: %w", err)
	}
	defer admin.Conn.Close()
	if err := natsbus.DefaultTopology(1).Apply(ctx, admin.JS); err != nil {
		return fmt.Errorf("qakit: NATS topology: %w", err)
	}
	return nil
}

// waitFile waits until path exists (НУЦ's key manifest: every later service reads its keys).
func waitFile(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("qakit: %s did not appear: %w", filepath.Base(path), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
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

// StartService runs a service's process (again) and waits until it is ready or has exited; the
// process is returned with the error, for its log.
func (s *Suite) StartService(name string) (*Process, error) {
	env := s.env
	if pw, ok := s.natsPasswords[name]; ok && slices.Contains(natsServices, name) {
		// Its own restricted user; the registries and НУЦ do not use NATS and get none.
		up := strings.ToUpper(name)
		env = append(slices.Clone(env), "EGOV_"+up+"_NATS_USER="+name, "EGOV_"+up+"_NATS_PASSWORD="+pw)
	}
	p, err := StartProcess(s.bin, env, "run", "--services", name)
	if err != nil {
		return nil, err
	}
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
			return p, fmt.Errorf("qakit: %s exited before it was ready: %w", name, err)
		}
		return p, fmt.Errorf("qakit: %s: %w", name, err)
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
	if p := s.Process(name); p != nil {
		p.Kill()
	}
}

// Restart kills a service with SIGKILL and starts it again.
func (s *Suite) Restart(name string) (*Process, error) {
	s.Kill(name)
	return s.StartService(name)
}

// StartNATS starts the NATS server on its port and store.
func (s *Suite) StartNATS() error {
	ns, err := natsbus.RunEmbedded(natsbus.EmbeddedOptions{Port: s.natsPort, StoreDir: s.natsStore, Users: s.natsUsers})
	if err != nil {
		return fmt.Errorf("qakit: NATS: %w", err)
	}
	s.mu.Lock()
	s.nats = ns
	s.mu.Unlock()
	return nil
}

// RestartNATS stops the NATS server and starts it again on the same port and store after down: the
// streams, consumers and messages on disk survive; the clients reconnect.
func (s *Suite) RestartNATS(down time.Duration) error {
	natsbus.StopEmbedded(s.nats)
	time.Sleep(down)
	return s.StartNATS()
}

// StartPostgres starts the PostgreSQL cluster.
func (s *Suite) StartPostgres() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := pgcluster.Start(ctx, s.pgOpts)
	if err != nil {
		return fmt.Errorf("qakit: PostgreSQL: %w", err)
	}
	s.pg = pg
	return nil
}

// RestartPostgres stops PostgreSQL (fast shutdown: connections are cut) and starts it again after down.
func (s *Suite) RestartPostgres(down time.Duration) error {
	if err := s.pg.Stop(context.Background()); err != nil {
		return fmt.Errorf("qakit: stop PostgreSQL: %w", err)
	}
	time.Sleep(down)
	return s.StartPostgres()
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
