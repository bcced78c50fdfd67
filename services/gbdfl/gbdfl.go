// Package gbdfl is ГБД ФЛ (государственная база данных «Физические лица»), the population register —
// here a stub with a synthetic population, behind a seam that lets the real register take its place.
// It serves egov.gbdfl.v1.PersonRegistryService directly and the ШЭП sync services GBDFL_PERSON and
// GBDFL_CHILDREN.
package gbdfl

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/participant"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/population"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/gbdfl/internal/api"
	"github.com/egov-suite/egov/services/gbdfl/internal/source"
	"github.com/egov-suite/egov/services/gbdfl/internal/store"
	"github.com/egov-suite/egov/shepsdk"
)

// Config is ГБД ФЛ's configuration.
type Config struct {
	// Participant is its ШЭП identity (EGOV_GBDFL_KEY_FILE, …).
	Participant participant.Config `envPrefix:"EGOV_GBDFL_"`
	// Registry is the data source: the stub, or a remote endpoint (EGOV_GBDFL_SOURCE, EGOV_GBDFL_REMOTE_TARGET).
	Registry participant.Registry `envPrefix:"EGOV_GBDFL_"`
	// DevPersons is the size of the population egov dev seeds into an empty register.
	DevPersons int `env:"EGOV_GBDFL_DEV_PERSONS" envDefault:"2000"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := config.Load(&c, nil); err != nil {
		return c, err
	}
	return c, c.Registry.Validate("EGOV_GBDFL_")
}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:         "gbdfl",
		Title:        "ГБД ФЛ, population register (stub; ШЭП services GBDFL_PERSON, GBDFL_CHILDREN)",
		Schema:       "gbdfl",
		Migrations:   store.Migrations(),
		Ports:        app.Ports{HTTP: 8030, GRPC: 9030},
		GRPCServices: []string{gbdflv1.PersonRegistryService_ServiceDesc.ServiceName, shepv1.SyncChannelService_ServiceDesc.ServiceName},
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			st := store.New(env.DB)
			var src source.Source = source.Postgres{Store: st}
			client, ident, err := cfg.Participant.For(env, "gbdfl").LoadTLS("gbdfl", env.Now)
			if err != nil {
				return nil, fmt.Errorf("EGOV_GBDFL_*: %w", err)
			}
			var closeRemote func() error
			if cfg.Registry.Remote() {
				conn, err := cfg.Registry.Dial("EGOV_GBDFL_", ident)
				if err != nil {
					return nil, err
				}
				src, closeRemote = source.Remote{Client: gbdflv1.NewPersonRegistryServiceClient(conn)}, conn.Close
			}
			srv := &api.Server{Source: src}
			provider := &shepsdk.Provider{Client: client, Handler: srv.Provider}
			unit := &app.Unit{
				// A registry answers ШЭП only: everyone else asks through ШЭП, which checks the grants.
				Identity: ident, AllowPeer: mtls.Only("shep"),
				RegisterGRPC: func(s *grpc.Server) {
					gbdflv1.RegisterPersonRegistryServiceServer(s, srv)
					shepv1.RegisterSyncChannelServiceServer(s, provider)
				},
				Seed: func(ctx context.Context, _ string) ([]demo.Entry, error) {
					n, err := st.Count(ctx)
					if err != nil {
						return nil, err
					}
					if n == 0 {
						start := time.Now()
						if n, _, err = st.Load(ctx, population.Generate(cfg.DevPersons, 1)); err != nil {
							return nil, err
						}
						env.Log.Info("population seeded", "persons", n, "took", time.Since(start))
					}
					return []demo.Entry{{Service: "gbdfl", Kind: "persons", Name: fmt.Sprintf("%d persons", n),
						Role: "ИИН без записи (отказ): " + demo.MissingIIN}}, nil
				},
			}
			if closeRemote != nil {
				unit.Close = func(context.Context) error { return closeRemote() }
			}
			return unit, nil
		},
	}
}

// SeedStats reports a population load.
type SeedStats struct {
	Persons, Links int64
	Took           time.Duration
}

// Seed replaces the register's population in the database at url with a synthetic one of about persons
// people, deterministic for seed, loaded with COPY in one transaction.
func Seed(ctx context.Context, url string, persons int, seed uint64) (SeedStats, error) {
	pool, err := pgdb.Open(ctx, url, "gbdfl", 4)
	if err != nil {
		return SeedStats{}, err
	}
	defer pool.Close()
	if _, err := pgdb.Migrate(ctx, pool, "gbdfl", store.Migrations()); err != nil {
		return SeedStats{}, err
	}
	start := time.Now()
	p, l, err := store.New(pool).Load(ctx, population.Generate(persons, seed))
	return SeedStats{Persons: p, Links: l, Took: time.Since(start)}, err
}
