package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	nwtypes "github.com/moby/moby/api/types/network"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/qakit"
)

// ports are the services' container ports (the defaults of `egov run`, app.Ports of each service).
var ports = map[string][3]int{
	"nca": {8010, 9010, 9011}, "shep": {8020, 9020, 9021}, "gbdfl": {8030, 9030, 0}, "enis": {8040, 9040, 0},
	"rshep": {8050, 9050, 0}, "portal": {8060, 9060, 0}, "tson": {8070, 9070, 0},
	"eastana": {8080, 9080, 0},
}

// devMount is where the suite's dev folder (demo data, keys НУЦ issues) is mounted in every container.
const devMount = "/egov-dev"

// ContainerOptions configure a suite in container mode.
type ContainerOptions struct {
	// NATSNodes is 1 (one server) or 3 (a JetStream cluster, every stream R3).
	NATSNodes int
	// Replicas run more than one container of a service (ШЭП, РШЭП), each under the service's network
	// name; 1 when absent.
	Replicas map[string]int
	// Env is added to every service's environment.
	Env []string
}

// Containers is the suite in container mode: every service a container of the suite's image (as
// Kubernetes runs it: `egov run --services=<name>`) on a private network, with NATS and PostgreSQL
// containers of locally built images. The test reaches the services through their mapped ports; the
// services reach each other by name (nca, shep, …; replicas share their service's name).
type Containers struct {
	qakit.Target
	t        testing.TB
	net      *testcontainers.DockerNetwork
	env      map[string]string
	replicas int

	// NATS are the NATS servers, nats-0 … (one or three).
	NATS []testcontainers.Container
	// Postgres is the PostgreSQL server.
	Postgres testcontainers.Container

	mu       sync.Mutex
	services map[string][]testcontainers.Container
	users    []*server.User
	secrets  map[string]string
}

// StartContainers builds the images (once per test process), starts NATS, PostgreSQL and every service
// in Order, each waited on at /readyz; everything is removed when the test ends.
func StartContainers(t testing.TB, o ContainerOptions) *Containers {
	t.Helper()
	Images(t)
	ctx := t.Context()
	if o.NATSNodes == 0 {
		o.NATSNodes = 1
	}
	dir, err := os.MkdirTemp("", "egov-containers-")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	// The services run as user 65532 and НУЦ writes the demo keys here.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatalf("harness: %v", err)
	}
	c := &Containers{Target: qakit.Target{Dir: dir}, t: t, services: map[string][]testcontainers.Container{}, replicas: 1}
	if o.NATSNodes > 1 {
		c.replicas = 3
	}
	t.Cleanup(func() { c.close(dir) })
	c.net, err = tcnetwork.New(ctx)
	if err != nil {
		t.Fatalf("harness: network: %v", err)
	}
	if c.users, c.secrets, err = qakit.SuiteUsers(); err != nil {
		t.Fatalf("harness: %v", err)
	}
	c.startNATS(o.NATSNodes)
	c.startPostgres()
	c.applyTopology()

	var urls []string
	for i := range o.NATSNodes {
		urls = append(urls, fmt.Sprintf("nats://nats-%d:4222", i))
	}
	c.env = map[string]string{
		"EGOV_NATS_URL": strings.Join(urls, ","), "DATABASE_URL": "postgres://postgres@postgres:5432/postgres?sslmode=disable",
		"EGOV_DEV_DIR": devMount, "EGOV_SHUTDOWN_TIMEOUT": "10s", "EGOV_NCA_PUBLIC_URL": "http://nca:8010",
	}
	for _, kv := range o.Env {
		k, v, _ := strings.Cut(kv, "=")
		c.env[k] = v
	}
	pgHost, err := c.Postgres.PortEndpoint(ctx, "5432/tcp", "")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	c.Endpoints = qakit.Endpoints{Postgres: "postgres://postgres@" + pgHost + "/postgres?sslmode=disable",
		NATS: c.natsHost(0, ""), Services: map[string]qakit.Endpoint{}, NATSUsers: map[string]string{}}
	for _, u := range c.users {
		if u.Username != qakit.AdminUser {
			c.Endpoints.NATSUsers[u.Username] = c.natsHost(0, u.Username)
		}
	}
	for _, name := range Order {
		n := max(o.Replicas[name], 1)
		for range n {
			c.StartService(name)
		}
		if name == "nca" {
			if err := waitFor(ctx, filepath.Join(dir, "keys", "manifest.json")); err != nil {
				t.Fatalf("harness: %v", err)
			}
		}
	}
	if err := writeJSON(filepath.Join(dir, "endpoints.json"), c.Endpoints); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return c
}

// natsHost is nats-i's client URL as the test reaches it, with user's credentials when user is given.
func (c *Containers) natsHost(i int, user string) string {
	hp, err := c.NATS[i].PortEndpoint(c.t.Context(), "4222/tcp", "")
	if err != nil {
		c.t.Fatalf("harness: %v", err)
	}
	if user == "" {
		return "nats://" + hp
	}
	return "nats://" + user + ":" + c.secrets[user] + "@" + hp
}

// AdminNATS is the NATS URL (nats-0, as the test reaches it) with the administrator's credentials.
func (c *Containers) AdminNATS() string { return c.natsHost(0, qakit.AdminUser) }

// natsConfig is nats-server's configuration for node i of n (JSON, which its format accepts): the
// suite's users with the permissions natsbus.Access gives them, and the cluster's routes.
func natsConfig(i, n int, users []*server.User) ([]byte, error) {
	type subj struct {
		Allow []string `json:"allow,omitempty"`
		Deny  []string `json:"deny,omitempty"`
	}
	type perms struct {
		Publish   *subj `json:"publish,omitempty"`
		Subscribe *subj `json:"subscribe,omitempty"`
	}
	type user struct {
		User        string `json:"user"`
		Password    string `json:"password"`
		Permissions *perms `json:"permissions,omitempty"`
	}
	conv := func(p *server.SubjectPermission) *subj {
		if p == nil {
			return nil
		}
		return &subj{Allow: p.Allow, Deny: p.Deny}
	}
	var us []user
	for _, u := range users {
		x := user{User: u.Username, Password: u.Password}
		if u.Permissions != nil {
			x.Permissions = &perms{Publish: conv(u.Permissions.Publish), Subscribe: conv(u.Permissions.Subscribe)}
		}
		us = append(us, x)
	}
	cfg := map[string]any{
		"server_name": fmt.Sprintf("nats-%d", i), "port": 4222, "http_port": 8222, "max_payload": 4 << 20,
		"jetstream":     map[string]any{"store_dir": "/data", "max_file_store": 4 << 30, "max_memory_store": 256 << 20},
		"authorization": map[string]any{"users": us},
	}
	if n > 1 {
		var routes []string
		for j := range n {
			routes = append(routes, fmt.Sprintf("nats://nats-%d:6222", j))
		}
		cfg["cluster"] = map[string]any{"name": "egov", "port": 6222, "routes": routes}
	}
	// Unescaped: the format takes JSON, but not its \u escapes of '>' and '<'.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(cfg)
	return b.Bytes(), err
}

func (c *Containers) startNATS(n int) {
	c.t.Helper()
	c.NATS = make([]testcontainers.Container, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	// The nodes start together: a cluster node reports healthy only once it has found the others.
	for i := range n {
		wg.Go(func() {
			conf, err := natsConfig(i, n, c.users)
			if err != nil {
				errs[i] = err
				return
			}
			name := fmt.Sprintf("nats-%d", i)
			c.NATS[i], errs[i] = testcontainers.GenericContainer(c.t.Context(), testcontainers.GenericContainerRequest{
				ContainerRequest: testcontainers.ContainerRequest{
					Image: NATSImage, ExposedPorts: []string{"4222/tcp", "8222/tcp"}, HostConfigModifier: local("4222/tcp", "8222/tcp"),
					Networks: []string{c.net.Name}, NetworkAliases: map[string][]string{c.net.Name: {name}},
					Files: []testcontainers.ContainerFile{{Reader: strings.NewReader(string(conf)), ContainerFilePath: "/nats.conf", FileMode: 0o644}},
				},
				Started: true,
			})
			if errs[i] == nil {
				errs[i] = waitHTTP(c.t.Context(), c.NATS[i], "8222/tcp", "/healthz")
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			c.t.Fatalf("harness: nats-%d: %v", i, err)
		}
	}
}

func (c *Containers) startPostgres() {
	c.t.Helper()
	var err error
	c.Postgres, err = testcontainers.GenericContainer(c.t.Context(), testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: PostgresImage, ExposedPorts: []string{"5432/tcp"}, HostConfigModifier: local("5432/tcp"),
			Networks: []string{c.net.Name}, NetworkAliases: map[string][]string{c.net.Name: {"postgres"}},
		},
		Started: true,
	})
	if err == nil {
		err = waitPostgres(c.t.Context(), c.Postgres)
	}
	if err != nil {
		c.t.Fatalf("harness: postgres: %v%s", err, tail(c.Postgres))
	}
}

// waitPostgres waits until the server accepts a connection (initdb runs on the first start).
func waitPostgres(ctx context.Context, ctr testcontainers.Container) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	for {
		hp, err := ctr.PortEndpoint(ctx, "5432/tcp", "")
		if err == nil {
			var conn *pgx.Conn
			if conn, err = pgx.Connect(ctx, "postgres://postgres@"+hp+"/postgres?sslmode=disable"); err == nil {
				return conn.Close(ctx)
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// applyTopology creates the streams and buckets as the administrator, as a provisioning step does in
// production (R3 on a cluster).
func (c *Containers) applyTopology() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Minute)
	defer cancel()
	admin, err := natsbus.Connect(ctx, natsbus.ConnOptions{URL: c.natsHost(0, ""), User: qakit.AdminUser,
		Password: c.secrets[qakit.AdminUser], Name: "harness"}, slog.New(slog.DiscardHandler))
	if err != nil {
		c.t.Fatalf("harness: NATS: %v", err)
	}
	defer admin.Conn.Close()
	if err := natsbus.DefaultTopology(c.replicas).Apply(ctx, admin.JS); err != nil {
		c.t.Fatalf("harness: NATS topology: %v", err)
	}
}

// local publishes container ports on the host's IPv4 loopback only. Docker 20.10 (Debian 12's) picks
// the IPv4 and IPv6 host ports of one binding apart, and the client may read the one the other address
// family does not have; on one address the test finds the port it was told.
func local(ports ...string) func(*container.HostConfig) {
	return func(h *container.HostConfig) {
		if h.PortBindings == nil {
			h.PortBindings = nwtypes.PortMap{}
		}
		for _, p := range ports {
			h.PortBindings[nwtypes.MustParsePort(p)] = []nwtypes.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
		}
	}
}

// StartService starts one more container of a service and waits until it is ready; the endpoints
// name the latest one.
func (c *Containers) StartService(name string) testcontainers.Container {
	c.t.Helper()
	if _, ok := ports[name]; !ok {
		c.t.Fatalf("harness: no ports known for the service %q: add it to harness.ports", name)
	}
	env := maps.Clone(c.env)
	var exposed []string
	for _, s := range Order {
		p := ports[s]
		up := strings.ToUpper(s)
		host := s
		if s == name {
			host = "" // its own listeners, on every interface of the container
		}
		env["EGOV_"+up+"_HTTP_ADDR"] = host + ":" + strconv.Itoa(p[0])
		env["EGOV_"+up+"_GRPC_ADDR"] = host + ":" + strconv.Itoa(p[1])
		if p[2] != 0 {
			env["EGOV_"+up+"_ADMIN_ADDR"] = host + ":" + strconv.Itoa(p[2])
		}
	}
	for _, p := range ports[name] {
		if p != 0 {
			exposed = append(exposed, strconv.Itoa(p)+"/tcp")
		}
	}
	if pw, ok := c.secrets[name]; ok && slices.Contains([]string{"shep", "rshep", "portal", "tson", "eastana"}, name) {
		up := strings.ToUpper(name)
		env["EGOV_"+up+"_NATS_USER"], env["EGOV_"+up+"_NATS_PASSWORD"] = name, pw
	}
	ctr, err := testcontainers.GenericContainer(c.t.Context(), testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: EgovImage, Cmd: []string{"run", "--services", name},
			Env: env, ExposedPorts: exposed,
			Networks: []string{c.net.Name}, NetworkAliases: map[string][]string{c.net.Name: {name}},
			HostConfigModifier: func(h *container.HostConfig) {
				local(exposed...)(h)
				h.Binds = append(h.Binds, c.Dir+":"+devMount)
			},
		},
		Started: true,
	})
	if err == nil {
		err = waitHTTP(c.t.Context(), ctr, exposed[0], "/readyz")
	}
	if err != nil {
		c.t.Fatalf("harness: %s: %v%s", name, err, tail(ctr))
	}
	c.mu.Lock()
	c.services[name] = append(c.services[name], ctr)
	c.mu.Unlock()
	c.refresh(name, ctr)
	return ctr
}

// refresh points the endpoints of a service at a container's mapped ports (they change on a restart).
func (c *Containers) refresh(name string, ctr testcontainers.Container) {
	c.t.Helper()
	ctx := c.t.Context()
	p := ports[name]
	at := func(port int) string {
		hp, err := ctr.PortEndpoint(ctx, strconv.Itoa(port)+"/tcp", "")
		if err != nil {
			c.t.Fatalf("harness: %s: %v", name, err)
		}
		return hp
	}
	e := qakit.Endpoint{HTTP: "http://" + at(p[0]), GRPC: at(p[1])}
	if p[2] != 0 {
		e.Admin = at(p[2])
	}
	c.mu.Lock()
	c.Endpoints.Services[name] = e
	c.mu.Unlock()
}

// Service is the i-th container of a service.
func (c *Containers) Service(name string, i int) testcontainers.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.services[name][i]
}

// Kill sends SIGKILL to a container (docker kill), as a crash would.
func (c *Containers) Kill(ctr testcontainers.Container) {
	c.t.Helper()
	c.docker("kill", ctr.GetContainerID())
}

// Restart starts a stopped or killed container of a service again and waits until it is ready.
func (c *Containers) Restart(name string, ctr testcontainers.Container) {
	c.t.Helper()
	err := ctr.Start(c.t.Context())
	if err == nil {
		err = waitHTTP(c.t.Context(), ctr, strconv.Itoa(ports[name][0])+"/tcp", "/readyz")
	}
	if err != nil {
		c.t.Fatalf("harness: restart %s: %v%s", name, err, tail(ctr))
	}
	// Docker publishes a restarted container on new host ports.
	c.mu.Lock()
	latest := c.services[name][len(c.services[name])-1] == ctr
	c.mu.Unlock()
	if latest {
		c.refresh(name, ctr)
	}
}

// RestartNATS starts a stopped NATS node again and waits until it reports healthy (in a cluster: it
// has caught up with the others).
func (c *Containers) RestartNATS(i int) {
	c.t.Helper()
	if err := c.NATS[i].Start(c.t.Context()); err != nil {
		c.t.Fatalf("harness: nats-%d: %v%s", i, err, tail(c.NATS[i]))
	}
	c.WaitNATS(i)
}

// WaitNATS waits until a NATS node reports healthy.
func (c *Containers) WaitNATS(i int) {
	c.t.Helper()
	if err := waitHTTP(c.t.Context(), c.NATS[i], "8222/tcp", "/healthz"); err != nil {
		c.t.Fatalf("harness: nats-%d: %v%s", i, err, tail(c.NATS[i]))
	}
}

// Stop stops a container gracefully (SIGTERM, then SIGKILL after ten seconds).
func (c *Containers) Stop(ctr testcontainers.Container) {
	c.t.Helper()
	d := 10 * time.Second
	if err := ctr.Stop(c.t.Context(), &d); err != nil {
		c.t.Fatalf("harness: stop: %v", err)
	}
}

// Disconnect cuts a container off the suite's network (docker network disconnect); Connect brings it
// back under its names.
func (c *Containers) Disconnect(ctr testcontainers.Container) {
	c.t.Helper()
	c.docker("network", "disconnect", c.net.Name, ctr.GetContainerID())
}

// Connect attaches a container to the suite's network again with alias.
func (c *Containers) Connect(ctr testcontainers.Container, alias string) {
	c.t.Helper()
	c.docker("network", "connect", "--alias", alias, c.net.Name, ctr.GetContainerID())
}

func (c *Containers) docker(args ...string) {
	c.t.Helper()
	if out, err := exec.CommandContext(c.t.Context(), "docker", args...).CombinedOutput(); err != nil {
		c.t.Fatalf("harness: docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Logs are the tails of every container's log, for a failure's report.
func (c *Containers) Logs() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for name, cs := range c.services {
		for i, ctr := range cs {
			out[fmt.Sprintf("%s-%d", name, i)] = tail(ctr)
		}
	}
	for i, ctr := range c.NATS {
		out[fmt.Sprintf("nats-%d", i)] = tail(ctr)
	}
	return out
}

// tail is the end of a container's log.
func tail(ctr testcontainers.Container) string {
	if ctr == nil {
		return ""
	}
	r, err := ctr.Logs(context.Background())
	if err != nil {
		return ""
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return "\n" + string(b)
}

// close removes every container and the network, logging the containers' output when the test
// failed.
func (c *Containers) close(dir string) {
	if c.t.Failed() {
		for name, log := range c.Logs() {
			c.t.Logf("--- %s ---%s", name, log)
		}
	}
	ctx := context.Background()
	c.mu.Lock()
	var all []testcontainers.Container
	for _, cs := range c.services {
		all = append(all, cs...)
	}
	c.mu.Unlock()
	all = append(all, c.NATS...)
	all = append(all, c.Postgres)
	for _, ctr := range all {
		if ctr != nil {
			_ = ctr.Terminate(ctx)
		}
	}
	if c.net != nil {
		_ = c.net.Remove(ctx)
	}
	_ = os.RemoveAll(dir)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// waitHTTP waits until the container's port answers path with 200, or the container exits.
func waitHTTP(ctx context.Context, ctr testcontainers.Container, port, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	for {
		hp, err := ctr.PortEndpoint(ctx, port, "http")
		if err == nil {
			var res *http.Response
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hp+path, nil)
			if res, err = http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return nil
				}
				err = fmt.Errorf("%s%s: %s", hp, path, res.Status)
			}
		}
		last = err
		if st, err := ctr.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("the container exited (code %d) before %s answered: %w", st.ExitCode, path, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", path, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitFor waits until path exists (НУЦ's key manifest: every later service reads its keys).
func waitFor(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not appear: %w", filepath.Base(path), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
