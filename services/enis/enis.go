// Package enis is ЕНИС (единая нотариальная информационная система), the notary register of powers of
// attorney — a stub behind a seam that lets the real register take its place. It serves
// egov.enis.v1.NotaryRegistryService directly and the ШЭП sync service ENIS_POWER_OF_ATTORNEY.
package enis

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
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/enis/internal/api"
	"github.com/egov-suite/egov/services/enis/internal/source"
	"github.com/egov-suite/egov/services/enis/internal/store"
	"github.com/egov-suite/egov/shepsdk"
)

// Config is ЕНИС's configuration.
type Config struct {
	// Participant is its ШЭП identity (EGOV_ENIS_KEY_FILE, …).
	Participant participant.Config `envPrefix:"EGOV_ENIS_"`
	// Registry is the data source: the stub, or a remote endpoint (EGOV_ENIS_SOURCE, EGOV_ENIS_REMOTE_TARGET).
	Registry participant.Registry `envPrefix:"EGOV_ENIS_"`
	// DevPersons sizes the population whose powers of attorney egov dev seeds (as ГБД ФЛ's).
	DevPersons int `env:"EGOV_GBDFL_DEV_PERSONS" envDefault:"2000"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := config.Load(&c, nil); err != nil {
		return c, err
	}
	return c, c.Registry.Validate("EGOV_ENIS_")
}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:         "enis",
		Title:        "ЕНИС, notary register (stub; ШЭП service ENIS_POWER_OF_ATTORNEY)",
		Schema:       "enis",
		Migrations:   store.Migrations(),
		Ports:        app.Ports{HTTP: 8040, GRPC: 9040},
		GRPCServices: []string{enisv1.NotaryRegistryService_ServiceDesc.ServiceName, shepv1.SyncChannelService_ServiceDesc.ServiceName},
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			st := store.New(env.DB)
			var src source.Source = source.Postgres{Store: st, Now: env.Now}
			client, ident, err := cfg.Participant.For(env, "enis").LoadTLS("enis", env.Now)
			if err != nil {
				return nil, fmt.Errorf("EGOV_ENIS_*: %w", err)
			}
			var closeRemote func() error
			if cfg.Registry.Remote() {
				conn, err := cfg.Registry.Dial("EGOV_ENIS_", ident)
				if err != nil {
					return nil, err
				}
				src, closeRemote = source.Remote{Client: enisv1.NewNotaryRegistryServiceClient(conn)}, conn.Close
			}
			srv := &api.Server{Source: src}
			provider := &shepsdk.Provider{Client: client, Handler: srv.Provider}
			unit := &app.Unit{
				// A registry answers ШЭП only: everyone else asks through ШЭП, which checks the grants.
				Identity: ident, AllowPeer: mtls.Only("shep"),
				RegisterGRPC: func(s *grpc.Server) {
					enisv1.RegisterNotaryRegistryServiceServer(s, srv)
					shepv1.RegisterSyncChannelServiceServer(s, provider)
				},
				Seed: func(ctx context.Context, _ string) ([]demo.Entry, error) {
					n, err := st.Count(ctx)
					if err != nil {
						return nil, err
					}
					if n == 0 {
						if n, err = st.Load(ctx, store.Generate(cfg.DevPersons, 1)); err != nil {
							return nil, err
						}
					}
					return []demo.Entry{{Service: "enis", Kind: "poa", Name: fmt.Sprintf("%d доверенностей", n),
						Role: fmt.Sprintf("Ахметова → Иванов: %s (действует), %s (истекла), %s (отменена)",
							demo.PowerOfAttorneyValid, demo.PowerOfAttorneyExpired, demo.PowerOfAttorneyRevoked)}}, nil
				},
			}
			if closeRemote != nil {
				unit.Close = func(context.Context) error { return closeRemote() }
			}
			return unit, nil
		},
	}
}

// Seed replaces the register's records in the database at url with the powers of attorney matching a
// ГБД ФЛ population of the same size and seed.
func Seed(ctx context.Context, url string, persons int, seed uint64) (int64, time.Duration, error) {
	pool, err := pgdb.Open(ctx, url, "enis", 4)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	if _, err := pgdb.Migrate(ctx, pool, "enis", store.Migrations()); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	n, err := store.New(pool).Load(ctx, store.Generate(persons, seed))
	return n, time.Since(start), err
}
