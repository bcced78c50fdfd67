// Package rshep is РШЭП, the regional node of the e-government gateway, with АРМ РШЭП, the provider's
// workstation. One process serves one or more regions; each region is its own ШЭП participant
// (rshep-<region>) with its own system key, receiving the applications of every passport of the region
// on the async service APPLICATION_<region>. The regulation engine (internal/engine) runs the passports;
// the АРМ (internal/arm) is the civil servant's web workstation.
package rshep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/participant"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/webkit"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/rshep/internal/arm"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/schema"
	"github.com/egov-suite/egov/shepsdk"
)

// Config is РШЭП's configuration.
type Config struct {
	// Regions are the regions served (two-digit codes); every region of the catalogue when empty.
	Regions []string `env:"EGOV_RSHEP_REGIONS" envSeparator:","`
	// KeyDir holds each region's system key as system-rshep-<region>.p12 (dev: the seeded keys).
	KeyDir string `env:"EGOV_RSHEP_KEY_DIR"`
	// KeyPassword opens the key files.
	KeyPassword config.Secret `env:"EGOV_RSHEP_KEY_PASSWORD"`
	// TrustAnchors is a PEM file with НУЦ's root.
	TrustAnchors string `env:"EGOV_RSHEP_TRUST_ANCHORS"`
	// OCSPFreshness bounds the reuse of certificate status answers.
	OCSPFreshness time.Duration `env:"EGOV_RSHEP_OCSP_FRESHNESS" envDefault:"5m"`
	// ShepTarget is ШЭП's gRPC address (host:port) for the registry look-ups (dev: the embedded ШЭП).
	ShepTarget string `env:"EGOV_RSHEP_SHEP_TARGET"`
	// VerifyURL is the portal's public address (https://…): the QR code of every printed result opens its
	// /verify there. Default: the portal of the suite (its HTTP address), when the node knows it.
	VerifyURL string `env:"EGOV_RSHEP_VERIFY_URL"`
	// OfficeAddresses are the providers' office addresses by region, printed on the office's receipts:
	// "27=г. Уральск, …;55=г. Павлодар, …".
	OfficeAddresses map[string]string `env:"EGOV_RSHEP_OFFICE_ADDRESSES" envSeparator:";" envKeyValSeparator:"="`
	// CatalogDir, when set, holds the passports (*.yaml) instead of the built-in catalogue.
	CatalogDir string `env:"EGOV_RSHEP_CATALOG_DIR"`
	// MailInterval is how often the e-mail outbox is looked at besides the engine's wake-ups (a row of
	// another replica, a back-off that ran out).
	MailInterval time.Duration `env:"EGOV_RSHEP_MAIL_INTERVAL" envDefault:"10s"`
	// TimerInterval is how often due timers are claimed.
	TimerInterval time.Duration `env:"EGOV_RSHEP_TIMER_INTERVAL" envDefault:"1s"`
	// Workers handle each region's deliveries at once: registration is idempotent under an advisory
	// lock and every change is one transaction, so the order of deliveries does not matter.
	Workers int `env:"EGOV_RSHEP_WORKERS" envDefault:"8"`
	// SessionTTL is how long an АРМ session lasts.
	SessionTTL time.Duration `env:"EGOV_RSHEP_SESSION_TTL" envDefault:"8h"`
	// Cabinet is the ШЭП participant of the citizens' personal cabinet (ПЭП): the statuses of an
	// application made at a ЦОН go there too, to the applicant's cabinet ("" sends them to the ЦОН only).
	Cabinet string `env:"EGOV_RSHEP_CABINET" envDefault:"portal"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers АРМ believes (Secure cookies
	// when TLS ends at them).
	TrustedProxies webkit.Proxies `env:"EGOV_TRUSTED_PROXIES"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	err := config.Load(&c, nil)
	return c, err
}

// Catalog loads the passports: CatalogDir's, or the built-in ones. A passport that does not validate
// stops the start with its file, field and problem.
func (c Config) Catalog() (*catalog.Catalog, error) {
	if c.CatalogDir == "" {
		return catalog.Builtin()
	}
	return catalog.Load(os.DirFS(c.CatalogDir))
}

// regions are the regions served: Regions, or every region of the catalogue's node passports.
func (c Config) regions(cat *catalog.Catalog) []string {
	regions := c.Regions
	if len(regions) == 0 {
		for _, p := range cat.All() {
			// A region whose passports another provider system runs (ИС Е-Астана's 71) has no node.
			if engine.Runs(p) && !slices.Contains(regions, p.Region) {
				regions = append(regions, p.Region)
			}
		}
		slices.Sort(regions) // one order whatever the passports' order: the deployed NATS users are written from it
	}
	return regions
}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:       "rshep",
		Title:      "РШЭП + АРМ РШЭП, regional node and provider workstation (regulation engine)",
		Schema:     "rshep",
		Migrations: schema.Migrations(),
		Ports:      app.Ports{HTTP: 8050, GRPC: 9050},
		// One NATS user for the node, acting as the participant of every region it serves.
		NATS: func() (natsbus.Access, error) {
			cat, err := cfg.Catalog()
			if err != nil {
				return natsbus.Access{}, fmt.Errorf("EGOV_RSHEP_CATALOG_DIR: %w", err)
			}
			var ids []string
			for _, r := range cfg.regions(cat) {
				ids = append(ids, engine.ParticipantID(r))
			}
			return natsbus.NodeAccess("rshep", ids), nil
		},
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			cat, err := cfg.Catalog()
			if err != nil {
				return nil, fmt.Errorf("EGOV_RSHEP_CATALOG_DIR: %w", err)
			}
			regions := cfg.regions(cat)
			target := cfg.ShepTarget
			if target == "" {
				target = env.Peers["shep"].GRPC
			}
			if target == "" {
				return nil, fmt.Errorf("EGOV_RSHEP_SHEP_TARGET: ШЭП's gRPC address is required")
			}
			// Each regional node is its own participant: it reaches ШЭП on its own connection, presenting
			// its own certificate, since ШЭП takes an envelope only from the participant it names.
			var conns []*grpc.ClientConn
			closeAll := func() error {
				var errs []error
				for _, c := range conns {
					errs = append(errs, c.Close())
				}
				return errors.Join(errs...)
			}
			nodes := map[string]*shepsdk.Client{}
			var ident *mtls.Identity
			for _, r := range regions {
				id := engine.ParticipantID(r)
				pc := participant.Config{TrustAnchors: cfg.TrustAnchors, KeyPassword: cfg.KeyPassword, OCSPFreshness: cfg.OCSPFreshness}
				if cfg.KeyDir != "" {
					pc.KeyFile = filepath.Join(cfg.KeyDir, "system-"+id+".p12")
				}
				client, nodeIdent, err := pc.For(env, id).LoadTLS(id, env.Now)
				if err != nil {
					_ = closeAll()
					return nil, fmt.Errorf("EGOV_RSHEP_KEY_DIR (region %s): %w", r, err)
				}
				conn, err := grpc.NewClient(target, env.Transport.Dial(nodeIdent, "shep"), env.GRPCClientStats())
				if err != nil {
					_ = closeAll()
					return nil, fmt.Errorf("EGOV_RSHEP_SHEP_TARGET: %w", err)
				}
				conns = append(conns, conn)
				if ident == nil {
					// The process's own gRPC server (health only) presents the first node's key.
					ident = nodeIdent
				}
				client.Sync, client.JS, client.Workers = shepv1.NewSyncChannelServiceClient(conn), env.Bus.JS, cfg.Workers
				nodes[r] = client
			}
			verifyURL := cfg.VerifyURL
			if verifyURL == "" && env.Peers["portal"].HTTP != "" {
				verifyURL = "http://" + env.Peers["portal"].HTTP
			}
			if verifyURL == "" {
				_ = closeAll()
				return nil, errors.New("EGOV_RSHEP_VERIFY_URL: the portal's public address is needed for the QR code of printed results")
			}
			// Results by e-mail where a passport offers it (51), through EGOV_SMTP_ADDR's server.
			var outbox *mail.Outbox
			if env.SMTP.Addr != "" {
				sender, err := mail.NewSender(mail.Config{SMTP: env.SMTP})
				if err != nil {
					_ = closeAll()
					return nil, err
				}
				outbox = mail.NewOutbox(env.DB, sender, env.SMTP.From, env.Now, env.Log)
			}
			eng, err := engine.New(engine.Options{Catalog: cat, Nodes: nodes, DB: env.DB, Registries: engine.ShepRegistries{Nodes: nodes},
				Now: env.Now, Log: env.Log, Worker: hostname(), Meter: env.Telemetry.Meter("egov/rshep"), VerifyURL: verifyURL, Cabinet: cfg.Cabinet,
				Mail: outbox})
			if err != nil {
				_ = closeAll()
				return nil, err
			}
			// Every passport version the node runs is kept, so cases stay on theirs; a passport edited
			// without a new version number stops the start here, with the file named.
			if err := eng.RecordPassports(ctx); err != nil {
				_ = closeAll()
				return nil, err
			}
			// The scans the channels attached, served in АРМ once checked against the signed digests.
			files, err := env.Bus.JS.ObjectStore(ctx, natsbus.BucketAttachments)
			if err != nil {
				_ = closeAll()
				return nil, fmt.Errorf("attachments bucket: %w", err)
			}
			workstation := arm.New(arm.Options{Engine: eng, DB: env.DB, Now: env.Now, Log: env.Log, SessionTTL: cfg.SessionTTL,
				SignerURL: env.SignerURL, Attachments: files, Proxies: cfg.TrustedProxies, OfficeAddresses: cfg.OfficeAddresses})
			workers := map[string]func(context.Context) error{
				"outbox": func(ctx context.Context) error { return eng.Forward(ctx, time.Second) },
				"timers": func(ctx context.Context) error { return eng.RunTimers(ctx, cfg.TimerInterval) },
			}
			if outbox != nil {
				workers["mail"] = func(ctx context.Context) error { return outbox.Run(ctx, cfg.MailInterval) }
			}
			var checks []serve.Check
			for r, n := range nodes {
				workers["applications "+r] = func(ctx context.Context) error { return n.ReceiveUntilDone(ctx, env.Log, eng.Handler(r)) }
				checks = append(checks, serve.Check{Name: "consumer " + n.ID, Fn: n.Ready})
			}
			return &app.Unit{
				HTTP:     workstation.Handler(),
				Checks:   checks,
				Workers:  workers,
				Close:    func(context.Context) error { return closeAll() },
				Identity: ident,
				Seed: func(ctx context.Context, _ string) ([]demo.Entry, error) {
					return workstation.SeedDemo(ctx, regions)
				},
			}, nil
		},
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "rshep"
	}
	return "rshep@" + strings.ToLower(h)
}
