// Package shep is ШЭП (шлюз «электронного правительства»), the e-government gateway every system talks
// through: a registry of participants and services with a deny-by-default ACL, a sync channel (gRPC)
// and an async channel (NATS JetStream) with delivery states, retries and dead letters, and an
// append-only, hash-chained message log.
package shep

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/participant"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep/internal/checkpoint"
	"github.com/egov-suite/egov/services/shep/internal/gateway"
	"github.com/egov-suite/egov/services/shep/internal/grpcapi"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// Config is ШЭП's configuration.
type Config struct {
	// KeyFile is ШЭП's own PKCS#12 system key (participant "shep"); in the dev mode the seeded one.
	KeyFile string `env:"EGOV_SHEP_KEY_FILE"`
	// KeyPassword opens it.
	KeyPassword config.Secret `env:"EGOV_SHEP_KEY_PASSWORD"`
	// TrustAnchors is a PEM file with НУЦ's root certificate(s).
	TrustAnchors string `env:"EGOV_SHEP_TRUST_ANCHORS"`
	// OCSPFreshness bounds how long a certificate status answer is reused.
	OCSPFreshness time.Duration `env:"EGOV_SHEP_OCSP_FRESHNESS" envDefault:"5m"`
	// Redelivery is the back-off between deliveries to a recipient; the count bounds the deliveries
	// (one more than the delays) before a message goes to the dead-letter stream.
	Redelivery []time.Duration `env:"EGOV_SHEP_REDELIVERY" envDefault:"1s,5s,30s,2m,10m"`
	// AckWait bounds how long a recipient may hold a message unacknowledged.
	AckWait time.Duration `env:"EGOV_SHEP_ACK_WAIT" envDefault:"30s"`
	// Workers bounds the envelopes the async router handles at once.
	Workers int `env:"EGOV_SHEP_WORKERS" envDefault:"32"`
	// CheckpointInterval is how often the message log's head is signed and time-stamped (when it grew).
	CheckpointInterval time.Duration `env:"EGOV_SHEP_LOG_CHECKPOINT_INTERVAL" envDefault:"1m"`
	// SyncSweep is how often the sync calls a stopped replica left «в доставке» are closed, and how long
	// past its service's timeout a call must be to count as left (gateway.SweepInterrupted).
	SyncSweep time.Duration `env:"EGOV_SHEP_SYNC_SWEEP" envDefault:"30s"`
	// TSAURL is НУЦ's time-stamping service; by default /tsa at the PKI origin (EGOV_PKI_URL, or the host
	// of the OCSP URL in ШЭП's own certificate).
	TSAURL string `env:"EGOV_SHEP_TSA_URL"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := config.Load(&c, nil); err != nil {
		return c, err
	}
	if len(c.Redelivery) == 0 || c.AckWait <= 0 || c.OCSPFreshness <= 0 || c.CheckpointInterval <= 0 {
		return c, errors.New("EGOV_SHEP_REDELIVERY needs at least one delay; EGOV_SHEP_ACK_WAIT, EGOV_SHEP_OCSP_FRESHNESS " +
			"and EGOV_SHEP_LOG_CHECKPOINT_INTERVAL must be positive")
	}
	return c, nil
}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:       "shep",
		Title:      "ШЭП, e-government gateway (sync: gRPC SyncChannelService; async: NATS shep.in/shep.out)",
		Schema:     "shep",
		Migrations: store.Migrations(),
		Ports:      app.Ports{HTTP: 8020, GRPC: 9020, Admin: 9021},
		NATS:       func() (natsbus.Access, error) { return natsbus.RouterAccess("shep"), nil },
		// The participants' port; the admin API (ShepAdminService) is served on the admin listener only.
		GRPCServices: []string{shepv1.SyncChannelService_ServiceDesc.ServiceName, shepv1.AsyncChannelService_ServiceDesc.ServiceName},
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			if env.DevDir != "" {
				cfg = devDefaults(cfg, env.DevDir)
			}
			signer, roots, err := load(cfg)
			if err != nil {
				return nil, err
			}
			meter := env.Telemetry.Meter("egov/shep")
			checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: cfg.OCSPFreshness, Now: env.Now, Origin: env.PKIURL, Meter: meter})
			if err != nil {
				return nil, fmt.Errorf("EGOV_PKI_URL: %w", err)
			}
			verifier, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: roots, Status: checker, Now: env.Now, Meter: meter})
			if err != nil {
				return nil, err
			}
			ident := mtls.FromSigner(signer, roots, checker)
			tsaURL, err := tsaURL(cfg, env, signer)
			if err != nil {
				return nil, err
			}
			g, err := gateway.New(gateway.Options{
				Pool: env.DB, Verifier: verifier, Signer: signer, Bus: env.Bus, Now: env.Now, Log: env.Log,
				Redelivery: natsbus.Redelivery{BackOff: cfg.Redelivery, AckWait: cfg.AckWait}, Workers: cfg.Workers,
				TSA:                &checkpoint.TSA{URL: tsaURL},
				Checkpoints:        &checkpoint.Verifier{Roots: roots, Signer: envelope.HolderOf(signer.Cert).Name, Status: checker},
				CheckpointInterval: cfg.CheckpointInterval,
				SweepInterval:      cfg.SyncSweep, SweepGrace: cfg.SyncSweep,
				Meter: meter, Tracer: env.Telemetry.Tracer("egov/shep"),
				DialProvider: func(target, provider string) (*grpc.ClientConn, error) {
					return grpc.NewClient(target, env.Transport.Dial(ident, provider), env.GRPCClientStats())
				},
			})
			if err != nil {
				return nil, err
			}
			if err := dlqGauge(env); err != nil {
				return nil, err
			}
			admin := grpcapi.NewAdmin(g, env.Log)
			async := grpcapi.NewAsync(g)
			ps, err := g.Store().Participants(ctx)
			if err != nil {
				return nil, err
			}
			for _, p := range ps {
				if err := g.EnsureRecipient(ctx, p.ID); err != nil {
					return nil, fmt.Errorf("consumer of %s: %w", p.ID, err)
				}
			}
			return &app.Unit{
				RegisterGRPC: func(s *grpc.Server) {
					g.Sync().Register(s)
					shepv1.RegisterAsyncChannelServiceServer(s, async)
				},
				// The registry is managed on its own listener, by administrators only.
				RegisterAdminGRPC: func(s *grpc.Server) { shepv1.RegisterShepAdminServiceServer(s, admin) },
				Identity:          ident,
				AllowPeer:         g.AllowPeer,
				GRPCOptions:       gateway.ServerOptions(),
				Workers: map[string]func(context.Context) error{
					"router":       g.Route,
					"dead letters": g.DeadLetters,
					"message log":  g.WriteLog,
					"checkpoints":  g.Checkpoints,
					"sync sweep":   g.SweepInterrupted,
				},
				Close: func(context.Context) error { return g.Close() },
				Seed: func(ctx context.Context, _ string) ([]demo.Entry, error) {
					var entries []demo.Entry
					for _, id := range demo.Systems {
						if _, err := admin.PutParticipant(ctx, &shepv1.PutParticipantRequest{Participant: &shepv1.Participant{Id: id, Title: titles[id]}}); err != nil {
							return nil, fmt.Errorf("participant %s: %w", id, err)
						}
						entries = append(entries, demo.Entry{Service: "shep", Kind: "participant", Name: id, Role: titles[id]})
					}
					more, err := registerRegistries(ctx, admin, env.Peers)
					if err != nil {
						return nil, err
					}
					entries = append(entries, more...)
					more, err = registerRegionalNodes(ctx, admin)
					if err != nil {
						return nil, err
					}
					entries = append(entries, more...)
					more, err = registerProviderSystems(ctx, admin)
					return append(entries, more...), err
				},
			}, nil
		},
	}
}

// registryServices are the sync services of the suite's registries, by the service that provides them.
var registryServices = map[string][]string{
	gbdflv1.ParticipantID: {gbdflv1.ServicePerson, gbdflv1.ServiceChildren},
	enisv1.ParticipantID:  {enisv1.ServicePowerOfAttorney},
}

// registerRegistries registers the registries running in this process at their addresses and grants
// them to the systems that ask them (ЦОН, the portal, the regional node).
func registerRegistries(ctx context.Context, admin *grpcapi.Admin, peers map[string]app.Endpoint) ([]demo.Entry, error) {
	var entries []demo.Entry
	for provider, ids := range registryServices {
		peer, ok := peers[provider]
		if !ok {
			continue
		}
		for _, id := range ids {
			_, err := admin.PutService(ctx, &shepv1.PutServiceRequest{Service: &shepv1.Service{
				Id: id, Provider: provider, Channel: shepv1.Channel_CHANNEL_SYNC, Endpoint: peer.GRPC, TimeoutMs: 5000}})
			if err != nil {
				return nil, fmt.Errorf("service %s: %w", id, err)
			}
			for _, sender := range registrySenders {
				if _, err := admin.Grant(ctx, &shepv1.GrantRequest{Sender: sender, ServiceId: id}); err != nil {
					return nil, fmt.Errorf("grant %s: %w", id, err)
				}
			}
			entries = append(entries, demo.Entry{Service: "shep", Kind: "service", Name: id, Role: "→ " + provider + " " + peer.GRPC})
		}
	}
	return entries, nil
}

// registrySenders are the systems that ask the registries.
var registrySenders = []string{"tson", "portal", "rshep-55", "rshep-59", "rshep-27", "rshep-51", "eastana"}

// registerRegionalNodes registers each demo regional node's async service APPLICATION_<region>, granted
// to the portal and the ЦОН desk.
func registerRegionalNodes(ctx context.Context, admin *grpcapi.Admin) ([]demo.Entry, error) {
	var entries []demo.Entry
	for _, id := range demo.Systems {
		region, ok := strings.CutPrefix(id, "rshep-")
		if !ok {
			continue
		}
		e, err := registerAsync(ctx, admin, applicationv1.ServiceID(region), id, region)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// providerSystems are the demo's provider systems that are ШЭП participants of their own, by region:
// ИС Е-Астана takes Astana's kindergarten applications on APPLICATION_71_EASTANA.
var providerSystems = map[string]string{"eastana": "71"}

// registerProviderSystems registers each provider system's async service (applicationv1.ServiceFor),
// granted to the portal and the ЦОН desk.
func registerProviderSystems(ctx context.Context, admin *grpcapi.Admin) ([]demo.Entry, error) {
	var entries []demo.Entry
	for id, region := range providerSystems {
		e, err := registerAsync(ctx, admin, applicationv1.ServiceFor(region, id), id, region)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// registerAsync registers an asynchronous service of provider in region, granted to the portal and the
// ЦОН desk, the channels that send applications.
func registerAsync(ctx context.Context, admin *grpcapi.Admin, service, provider, region string) (demo.Entry, error) {
	if _, err := admin.PutService(ctx, &shepv1.PutServiceRequest{Service: &shepv1.Service{
		Id: service, Provider: provider, Channel: shepv1.Channel_CHANNEL_ASYNC, Region: region}}); err != nil {
		return demo.Entry{}, fmt.Errorf("service %s: %w", service, err)
	}
	for _, sender := range []string{"portal", "tson"} {
		if _, err := admin.Grant(ctx, &shepv1.GrantRequest{Sender: sender, ServiceId: service}); err != nil {
			return demo.Entry{}, fmt.Errorf("grant %s: %w", service, err)
		}
	}
	return demo.Entry{Service: "shep", Kind: "service", Name: service, Role: "→ " + provider + " (async)"}, nil
}

var titles = map[string]string{
	"portal": "ПЭП, портал электронного правительства", "tson": "ЦОН, рабочее место оператора", "shep": "ШЭП",
	"rshep-55": "РШЭП Павлодарской области", "rshep-59": "РШЭП Жамбылской области", "rshep-27": "РШЭП Западно-Казахстанской области",
	"rshep-51": "РШЭП Южно-Казахстанской области", "gbdfl": "ГБД ФЛ", "enis": "ЕНИС",
	"eastana": "ИС Е-Астана, акимат города Астаны",
}

// tsaURL is where ШЭП's checkpoints are time-stamped: the configured URL, or /tsa at НУЦ's origin.
func tsaURL(cfg Config, env *app.Env, signer *envelope.Signer) (string, error) {
	switch {
	case cfg.TSAURL != "":
		return cfg.TSAURL, nil
	case env.PKIURL != "":
		return checkpoint.TSAURL(env.PKIURL)
	case len(signer.Cert.OCSPServer) > 0:
		return checkpoint.TSAURL(signer.Cert.OCSPServer[0])
	}
	return "", errors.New("EGOV_SHEP_TSA_URL is needed: neither EGOV_PKI_URL nor ШЭП's certificate names НУЦ's address")
}

func devDefaults(cfg Config, dir string) Config {
	if cfg.KeyFile == "" {
		cfg.KeyFile = filepath.Join(dir, "keys", "system-shep.p12")
		cfg.KeyPassword = demo.Password
	}
	if cfg.TrustAnchors == "" {
		cfg.TrustAnchors = filepath.Join(dir, "keys", "root.pem")
	}
	return cfg
}

func load(cfg Config) (*envelope.Signer, []*x509.Certificate, error) {
	if cfg.KeyFile == "" || cfg.TrustAnchors == "" {
		return nil, nil, errors.New("EGOV_SHEP_KEY_FILE and EGOV_SHEP_TRUST_ANCHORS are required (egov dev sets them)")
	}
	signer, roots, err := participant.Config{KeyFile: cfg.KeyFile, KeyPassword: cfg.KeyPassword, TrustAnchors: cfg.TrustAnchors}.Identity("shep")
	if err != nil {
		return nil, nil, fmt.Errorf("EGOV_SHEP_*: %w", err)
	}
	return signer, roots, nil
}

// dlqGauge reports the depth of the dead-letter stream.
func dlqGauge(env *app.Env) error {
	_, err := env.Telemetry.Meter("egov/shep").Int64ObservableGauge("egov.shep.dlq.depth",
		metric.WithDescription("Messages in the dead-letter stream"),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			s, err := env.Bus.JS.Stream(ctx, natsbus.StreamDLQ)
			if err != nil {
				return nil //nolint:nilerr // no stream, no gauge value this time
			}
			info, err := s.Info(ctx)
			if err != nil {
				return nil //nolint:nilerr // as above
			}
			o.Observe(int64(info.State.Msgs))
			return nil
		}))
	return err
}
