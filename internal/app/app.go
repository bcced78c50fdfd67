// Package app assembles a process of the suite: it builds the platform (telemetry, NATS, PostgreSQL)
// once, starts the chosen services on it, each with its own gRPC and HTTP listeners, its own schema
// and its own readiness, and stops everything in order.
//
// Services describe themselves with a Descriptor; the one place that lists them is cmd/egov.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/telemetry"
)

// Descriptor describes a service to the process that runs it.
type Descriptor struct {
	// Name is the short Latin name and schema, e.g. "nca", "shep".
	Name string
	// Title says what it is, with its Russian name, e.g. "НУЦ, certification authority".
	Title string
	// Schema is the PostgreSQL schema it owns; empty for a service without a database.
	Schema string
	// Migrations are its embedded SQL migrations, applied to Schema at start.
	Migrations fs.FS
	// Ports are the default HTTP, gRPC and admin ports of `egov run` (EGOV_<NAME>_HTTP_ADDR/_GRPC_ADDR/
	// _ADMIN_ADDR override).
	Ports Ports
	// GRPCServices are the fully qualified gRPC service names it serves, for the health service.
	GRPCServices []string
	// NATS says what the service does on NATS, hence the permissions of its own NATS user
	// (natsbus.Access); nil for a service that does not use NATS, which gets no connection.
	NATS func() (natsbus.Access, error)
	// Start builds the service on env. It must not block: long-running work goes in Unit.Workers.
	Start func(ctx context.Context, env *Env) (*Unit, error)
}

// Env is what a service gets from the platform.
type Env struct {
	Log       *slog.Logger
	Telemetry *telemetry.Providers
	// Bus is the service's own NATS connection, as its own user; nil when the descriptor has no NATS.
	Bus *natsbus.Bus
	// DB is the service's pool, working in its own schema; nil when the descriptor has no schema.
	DB *pgxpool.Pool
	// Now is the clock; tests and the dev mode may replace it.
	Now func() time.Time
	// Addr is where the service listens, known before Start so that it can name its own URLs
	// (e.g. the OCSP URL the certification authority writes into certificates).
	Addr Endpoint
	// DevDir is the dev mode's data folder (demo keys under DevDir/keys), "" outside the dev mode.
	DevDir string
	// SignerURL is NCALayer's WebSocket address for the web pages.
	SignerURL string
	// SMTP is the mail server for e-mailed results (config.Platform.SMTP; the dev mode's own drop).
	SMTP config.SMTP
	// PKIURL is where certificate status is asked (config.Platform.PKIURL); in the dev mode НУЦ's
	// current address when unset.
	PKIURL string
	// Peers are the endpoints of every service of this process, by name (the dev mode registers the
	// registries with ШЭП at their addresses).
	Peers map[string]Endpoint
	// Transport is how the service dials other systems: mutual TLS with its system key, or plaintext
	// under EGOV_INTERNAL_TLS=off.
	Transport mtls.Transport
}

// GRPCClientStats traces and measures the service's outgoing gRPC calls, and carries their trace
// context in the metadata: without it a call starts a new trace at the server (the registry look-ups of
// a case, made through ШЭП, left the application's trace).
func (e *Env) GRPCClientStats() grpc.DialOption {
	if e.Telemetry == nil {
		return grpc.EmptyDialOption{}
	}
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(e.Telemetry.TracerProvider),
		otelgrpc.WithMeterProvider(e.Telemetry.MeterProvider), otelgrpc.WithPropagators(e.Telemetry.Propagator)))
}

// Unit is a started service.
type Unit struct {
	// RegisterGRPC registers the service's gRPC services on the server the platform made for it.
	RegisterGRPC func(*grpc.Server)
	// RegisterAdminGRPC registers the admin API on the admin listener's server, which admits an
	// administrator's certificate only (Platform.AdminIINs).
	RegisterAdminGRPC func(*grpc.Server)
	// Identity is the service's system key and trust anchors: its gRPC servers present it and verify
	// their callers with it. Required unless EGOV_INTERNAL_TLS=off.
	Identity *mtls.Identity
	// AllowPeer says which participants may call the gRPC services (health and reflection stay open to
	// any verified peer); nil allows any system participant.
	AllowPeer mtls.Policy
	// GRPCOptions are added to the options of that server (e.g. a larger receive limit).
	GRPCOptions []grpc.ServerOption
	// HTTP serves the service's pages and endpoints; /livez, /readyz and /metrics are added beside it.
	HTTP http.Handler
	// Checks join the platform's readiness checks (NATS, streams, database).
	Checks []serve.Check
	// Workers run until their context ends (consumers, timers).
	Workers map[string]func(ctx context.Context) error
	// Close releases the service's own resources after its servers have stopped.
	Close func(ctx context.Context) error
	// Seed, in the dev mode, makes the service's demo data (idempotently) with files under dir, and
	// returns what egov dev prints about it.
	Seed func(ctx context.Context, dir string) ([]demo.Entry, error)
}

// Ports are a service's default ports; Admin is zero for a service without an admin API.
type Ports struct{ HTTP, GRPC, Admin int }

// Endpoint is where a service listens.
type Endpoint struct {
	HTTP  string `json:"http"`
	GRPC  string `json:"grpc"`
	Admin string `json:"admin,omitempty"`
}

// Listeners holds a service's listeners; Admin is needed by a service with an admin API only.
type Listeners struct {
	HTTP  net.Listener
	GRPC  net.Listener
	Admin net.Listener
}

// Options configure a process.
type Options struct {
	Platform config.Platform
	Log      *slog.Logger
	// Telemetry providers, already set up and installed.
	Telemetry *telemetry.Providers
	// Services to run, in start order.
	Services []Descriptor
	// Listeners per service name, opened by the caller (so ":0" ports are known beforehand).
	Listeners map[string]Listeners
	// Topology is the suite's streams and buckets: applied at start with the platform's (administrator's)
	// NATS credentials when ApplyTopology is set; each service checks that its part exists.
	Topology      natsbus.Topology
	ApplyTopology bool
	// NATSUsers are the services' own NATS credentials, by service name (User and Password, or
	// CredsFile); a service without an entry connects with the platform's.
	NATSUsers map[string]natsbus.ConnOptions
	// Now is the clock given to services; time.Now when nil.
	Now func() time.Time
	// OnReady, when set, is called once every service's readiness checks have passed.
	OnReady func()
	// SeedDir, when set, has every service seed its demo data there once started.
	SeedDir string
	// Peers are the endpoints of services running in other processes, by name (egov run reads them from
	// their EGOV_<NAME>_HTTP_ADDR / _GRPC_ADDR); the services of this process are added to them.
	Peers map[string]Endpoint
}

// Start builds the platform and the services on r. Stop steps are added to r as each piece starts, so
// when Start fails half-way, r.Stop undoes what was started. With SeedDir set it returns the demo data
// the services seeded.
func Start(ctx context.Context, r *serve.Runner, o Options) ([]demo.Entry, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.ApplyTopology {
		if err := applyTopology(ctx, o); err != nil {
			return nil, err
		}
	}
	if o.Platform.InternalTLS == "off" {
		o.Log.Warn("EGOV_INTERNAL_TLS=off: the gRPC hops between systems and the admin APIs run in plaintext, without authentication; only to measure what TLS costs")
	}
	if o.SeedDir != "" && len(o.Platform.AdminIINs) == 0 {
		// The dev mode's administrator is the demo one, whose key НУЦ seeds as keys/admin.p12.
		o.Platform.AdminIINs, o.Platform.AdminBIN = []string{demo.Admin.IIN}, demo.Admin.BIN
	}

	var all []*serve.Health
	var seeded []demo.Entry
	for _, d := range o.Services {
		bus, needs, err := connectService(ctx, r, o, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		h, unit, err := startService(ctx, r, o, d, bus, needs, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		all = append(all, h)
		if o.SeedDir != "" && unit.Seed != nil {
			entries, err := unit.Seed(ctx, o.SeedDir)
			if err != nil {
				return nil, fmt.Errorf("%s: demo data: %w", d.Name, err)
			}
			seeded = append(seeded, entries...)
		}
	}
	if o.OnReady != nil {
		r.Go("ready", func(ctx context.Context) error {
			for {
				ready := true
				for _, h := range all {
					if ok, _ := h.Ready(ctx); !ok {
						ready = false
						break
					}
				}
				if ready {
					o.OnReady()
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	return seeded, nil
}

// platformNATS is how the platform's configuration reaches NATS: its URL and TLS, and the
// administrator's credentials.
func platformNATS(p config.Platform, name string) natsbus.ConnOptions {
	return natsbus.ConnOptions{
		URL: p.NATSURL, User: p.NATSUser, Password: p.NATSPassword.Value(), CredsFile: p.NATSCreds,
		CAFile: p.NATSCA, CertFile: p.NATSCert, KeyFile: p.NATSKey, Name: name,
	}
}

// applyTopology creates or updates the suite's streams and buckets as the administrator, on a
// connection of its own that is closed at once: no service keeps the administrator's rights.
func applyTopology(ctx context.Context, o Options) error {
	admin, err := natsbus.Connect(ctx, platformNATS(o.Platform, "egov-topology"), o.Log)
	if err != nil {
		return err
	}
	defer admin.Conn.Close()
	return o.Topology.Apply(ctx, admin.JS)
}

// connectService opens the service's own NATS connection as its own user, and checks that the streams
// and buckets it needs exist (a restricted user may not create them). A service without NATS gets none.
func connectService(ctx context.Context, r *serve.Runner, o Options, d Descriptor) (*natsbus.Bus, natsbus.Topology, error) {
	if d.NATS == nil {
		return nil, natsbus.Topology{}, nil
	}
	access, err := d.NATS()
	if err != nil {
		return nil, natsbus.Topology{}, err
	}
	co := platformNATS(o.Platform, "egov-"+d.Name)
	if own, ok := o.NATSUsers[d.Name]; ok {
		co.User, co.Password, co.CredsFile = own.User, own.Password, own.CredsFile
	} else if co.User != "" || co.CredsFile != "" {
		// The platform's credentials are the administrator's: the service would hold every permission.
		o.Log.Warn("the service connects to NATS with the administrator's credentials, not a user of its own: "+
			"give it EGOV_"+strings.ToUpper(d.Name)+"_NATS_USER and _NATS_PASSWORD (or _NATS_CREDS) with the permissions of natsbus.Access",
			"service", d.Name, "user", access.User)
	}
	co.InboxPrefix = natsbus.InboxPrefix(access.User)
	bus, err := natsbus.Connect(ctx, co, o.Log.With("service", d.Name))
	if err != nil {
		return nil, natsbus.Topology{}, err
	}
	r.OnStop(serve.PhaseConsumers, d.Name+" nats drain", bus.Drain)
	needs := access.Needs(o.Topology)
	if err := needs.Require(ctx, bus.JS); err != nil {
		return nil, natsbus.Topology{}, err
	}
	return bus, needs, nil
}

func startService(ctx context.Context, r *serve.Runner, o Options, d Descriptor, bus *natsbus.Bus, needs natsbus.Topology, now func() time.Time) (*serve.Health, *Unit, error) {
	lis, ok := o.Listeners[d.Name]
	if !ok || lis.HTTP == nil || lis.GRPC == nil {
		return nil, nil, errors.New("no listeners")
	}
	log := o.Log.With("service", d.Name)
	health := serve.NewHealth()
	r.OnStop(serve.PhaseNotReady, d.Name+" not ready", func(context.Context) error { health.SetStopping(); return nil })
	if bus != nil {
		health.Add(
			serve.Check{Name: "nats", Fn: bus.Check},
			serve.Check{Name: "jetstream", Fn: func(ctx context.Context) error { return needs.Check(ctx, bus.JS) }},
		)
	}

	env := &Env{
		Log: log, Telemetry: o.Telemetry, Bus: bus, Now: now,
		Addr:   Endpoint{HTTP: lis.HTTP.Addr().String(), GRPC: lis.GRPC.Addr().String()},
		DevDir: o.SeedDir, SignerURL: o.Platform.SignerURL, SMTP: o.Platform.SMTP,
		Peers:     map[string]Endpoint{},
		Transport: mtls.Transport{Off: o.Platform.InternalTLS == "off"},
	}
	maps.Copy(env.Peers, o.Peers)
	for name, l := range o.Listeners {
		if l.HTTP != nil && l.GRPC != nil {
			env.Peers[name] = Endpoint{HTTP: l.HTTP.Addr().String(), GRPC: l.GRPC.Addr().String()}
			if l.Admin != nil {
				env.Peers[name] = Endpoint{HTTP: l.HTTP.Addr().String(), GRPC: l.GRPC.Addr().String(), Admin: l.Admin.Addr().String()}
			}
		}
	}
	if lis.Admin != nil {
		env.Addr.Admin = lis.Admin.Addr().String()
	}
	env.PKIURL = o.Platform.PKIURL
	if nca := env.Peers["nca"].HTTP; env.PKIURL == "" && o.SeedDir != "" && nca != "" {
		env.PKIURL = "http://" + nca
	}
	if d.Schema != "" {
		pool, err := pgdb.Open(ctx, o.Platform.DatabaseURL.Value(), d.Schema, o.Platform.DatabaseMaxConns)
		if err != nil {
			return nil, nil, err
		}
		r.OnStop(serve.PhaseStores, d.Name+" pool", func(context.Context) error { pool.Close(); return nil })
		if d.Migrations != nil {
			n, err := pgdb.Migrate(ctx, pool, d.Schema, d.Migrations)
			if err != nil {
				return nil, nil, err
			}
			log.Info("migrations applied", "schema", d.Schema, "new", n)
		}
		health.Add(serve.Check{Name: "postgres", Fn: pgdb.Check(pool)})
		env.DB = pool
	}

	unit, err := d.Start(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if unit.Close != nil {
		r.OnStop(serve.PhaseStores, d.Name+" close", unit.Close)
	}
	health.Add(unit.Checks...)

	var status envelope.StatusChecker
	if unit.Identity != nil {
		status = unit.Identity.Status
	}
	allow := unit.AllowPeer
	if allow == nil {
		allow = mtls.AnySystem
	}
	tlsOpts, err := env.Transport.ServerOptions(unit.Identity, mtls.Guard{Policy: allow, Status: status, Open: mtls.OpenToAnyPeer})
	if err != nil {
		return nil, nil, err
	}
	stats := grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(o.Telemetry.TracerProvider),
		otelgrpc.WithMeterProvider(o.Telemetry.MeterProvider),
		otelgrpc.WithPropagators(o.Telemetry.Propagator)))
	gs := grpc.NewServer(append(append(tlsOpts, stats), unit.GRPCOptions...)...)
	healthpb.RegisterHealthServer(gs, health.GRPCServer())
	reflection.Register(gs)
	if unit.RegisterGRPC != nil {
		unit.RegisterGRPC(gs)
	}
	serve.GRPC(r, d.Name+" grpc", lis.GRPC, gs)
	if unit.RegisterAdminGRPC != nil {
		if lis.Admin == nil {
			return nil, nil, errors.New("no admin listener (EGOV_" + strings.ToUpper(d.Name) + "_ADMIN_ADDR)")
		}
		admins := mtls.Admins{BIN: o.Platform.AdminBIN, IINs: o.Platform.AdminIINs}
		adminOpts, err := env.Transport.ServerOptions(unit.Identity, mtls.Guard{Policy: admins.Policy, Status: status})
		if err != nil {
			return nil, nil, err
		}
		as := grpc.NewServer(append(adminOpts, stats)...)
		reflection.Register(as)
		unit.RegisterAdminGRPC(as)
		serve.GRPC(r, d.Name+" admin grpc", lis.Admin, as)
	}

	mux := http.NewServeMux()
	health.Register(mux)
	mux.Handle("GET /metrics", o.Telemetry.MetricsHandler())
	if unit.HTTP != nil {
		mux.Handle("/", otelhttp.NewHandler(unit.HTTP, d.Name,
			otelhttp.WithTracerProvider(o.Telemetry.TracerProvider),
			otelhttp.WithMeterProvider(o.Telemetry.MeterProvider),
			otelhttp.WithPropagators(o.Telemetry.Propagator)))
	}
	serve.HTTP(r, d.Name+" http", lis.HTTP, mux)

	r.Go(d.Name+" health", func(ctx context.Context) error {
		return health.Watch(ctx, time.Second, d.GRPCServices...)
	})
	for name, w := range unit.Workers {
		r.Go(d.Name+" "+name, w)
	}
	log.Info("started", "http", env.Addr.HTTP, "grpc", env.Addr.GRPC, "admin", env.Addr.Admin)
	return health, unit, nil
}

// Select returns the descriptors named in list (comma-separated; "all" for every one), in the order
// of all.
func Select(all []Descriptor, list string) ([]Descriptor, error) {
	if strings.TrimSpace(list) == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no services chosen; known: %s", names(all))
	}
	// Keep the start order of all; whatever is left in want is unknown.
	var out []Descriptor
	for _, d := range all {
		if want[d.Name] {
			out = append(out, d)
			delete(want, d.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("unknown service %q; known: %s", n, names(all))
	}
	return out, nil
}

func names(ds []Descriptor) string {
	ns := make([]string, len(ds))
	for i, d := range ds {
		ns[i] = d.Name
	}
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ",")
}
