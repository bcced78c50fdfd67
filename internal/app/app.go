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

	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
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
	// Ports are the default HTTP and gRPC ports of `egov run` (EGOV_<NAME>_HTTP_ADDR/_GRPC_ADDR override).
	Ports Ports
	// GRPCServices are the fully qualified gRPC service names it serves, for the health service.
	GRPCServices []string
	// Start builds the service on env. It must not block: long-running work goes in Unit.Workers.
	Start func(ctx context.Context, env *Env) (*Unit, error)
}

// Env is what a service gets from the platform.
type Env struct {
	Log       *slog.Logger
	Telemetry *telemetry.Providers
	Bus       *natsbus.Bus
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
	// PKIURL is where certificate status is asked (config.Platform.PKIURL); in the dev mode НУЦ's
	// current address when unset.
	PKIURL string
	// Peers are the endpoints of every service of this process, by name (the dev mode registers the
	// registries with ШЭП at their addresses).
	Peers map[string]Endpoint
}

// Unit is a started service.
type Unit struct {
	// RegisterGRPC registers the service's gRPC services on the server the platform made for it.
	RegisterGRPC func(*grpc.Server)
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

// Ports are a service's default ports.
type Ports struct{ HTTP, GRPC int }

// Endpoint is where a service listens.
type Endpoint struct {
	HTTP string `json:"http"`
	GRPC string `json:"grpc"`
}

// Listeners holds a service's two listeners.
type Listeners struct {
	HTTP net.Listener
	GRPC net.Listener
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
	// Topology is applied to JetStream at start.
	Topology natsbus.Topology
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
	bus, err := natsbus.Connect(ctx, natsbus.ConnOptions{
		URL: o.Platform.NATSURL, User: o.Platform.NATSUser, Password: o.Platform.NATSPassword.Value(),
		Name: "egov-" + names(o.Services),
	}, o.Log)
	if err != nil {
		return nil, err
	}
	r.OnStop(serve.PhaseConsumers, "nats drain", bus.Drain)
	if err := o.Topology.Apply(ctx, bus.JS); err != nil {
		return nil, err
	}

	var all []*serve.Health
	var seeded []demo.Entry
	for _, d := range o.Services {
		h, unit, err := startService(ctx, r, o, d, bus, now)
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

func startService(ctx context.Context, r *serve.Runner, o Options, d Descriptor, bus *natsbus.Bus, now func() time.Time) (*serve.Health, *Unit, error) {
	lis, ok := o.Listeners[d.Name]
	if !ok || lis.HTTP == nil || lis.GRPC == nil {
		return nil, nil, errors.New("no listeners")
	}
	log := o.Log.With("service", d.Name)
	health := serve.NewHealth()
	r.OnStop(serve.PhaseNotReady, d.Name+" not ready", func(context.Context) error { health.SetStopping(); return nil })
	health.Add(
		serve.Check{Name: "nats", Fn: bus.Check},
		serve.Check{Name: "jetstream", Fn: func(ctx context.Context) error { return o.Topology.Check(ctx, bus.JS) }},
	)

	env := &Env{
		Log: log, Telemetry: o.Telemetry, Bus: bus, Now: now,
		Addr:   Endpoint{HTTP: lis.HTTP.Addr().String(), GRPC: lis.GRPC.Addr().String()},
		DevDir: o.SeedDir, SignerURL: o.Platform.SignerURL,
		Peers: map[string]Endpoint{},
	}
	maps.Copy(env.Peers, o.Peers)
	for name, l := range o.Listeners {
		if l.HTTP != nil && l.GRPC != nil {
			env.Peers[name] = Endpoint{HTTP: l.HTTP.Addr().String(), GRPC: l.GRPC.Addr().String()}
		}
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

	gs := grpc.NewServer(append([]grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(o.Telemetry.TracerProvider),
		otelgrpc.WithMeterProvider(o.Telemetry.MeterProvider),
		otelgrpc.WithPropagators(o.Telemetry.Propagator)))}, unit.GRPCOptions...)...)
	healthpb.RegisterHealthServer(gs, health.GRPCServer())
	reflection.Register(gs)
	if unit.RegisterGRPC != nil {
		unit.RegisterGRPC(gs)
	}
	serve.GRPC(r, d.Name+" grpc", lis.GRPC, gs)

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
	log.Info("started", "http", env.Addr.HTTP, "grpc", env.Addr.GRPC)
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
