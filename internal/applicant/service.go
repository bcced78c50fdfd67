package applicant

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/participant"
	"github.com/egov-suite/egov/internal/registries"
	"github.com/egov-suite/egov/internal/serve"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// Participant is what a channel needs to reach ШЭП; a service embeds it under its own prefix
// (EGOV_PORTAL_…, EGOV_TSON_…).
type Participant struct {
	// KeyFile is the channel's system key (PKCS#12) as a ШЭП participant (dev: the seeded one).
	KeyFile string `env:"KEY_FILE"`
	// KeyPassword opens it.
	KeyPassword config.Secret `env:"KEY_PASSWORD"`
	// TrustAnchors is a PEM file with НУЦ's root.
	TrustAnchors string `env:"TRUST_ANCHORS"`
	// OCSPFreshness bounds the reuse of certificate status answers.
	OCSPFreshness time.Duration `env:"OCSP_FRESHNESS" envDefault:"5m"`
	// ShepTarget is ШЭП's gRPC address for the registry look-ups (dev: the embedded ШЭП).
	ShepTarget string `env:"SHEP_TARGET"`
	// Workers record deliveries at once: each status is keyed by its source and the application's status
	// follows the highest sequence, so the order of deliveries does not matter.
	Workers int `env:"WORKERS" envDefault:"4"`
	// CatalogDir, when set, holds the passports (*.yaml) instead of the built-in catalogue: a new
	// passport's form appears without a code change.
	CatalogDir string `env:"CATALOG_DIR"`
}

// Catalog loads the passports.
func (p Participant) Catalog() (*catalog.Catalog, error) {
	if p.CatalogDir == "" {
		return catalog.Builtin()
	}
	return catalog.Load(os.DirFS(p.CatalogDir))
}

// Channel is a channel's connection to the suite: its desk of applications and its registry client.
type Channel struct {
	Desk       *Desk
	Registries registries.Client
	// Identity is the channel's system key for mutual TLS, which its own gRPC server presents too.
	Identity *mtls.Identity
	conn     *grpc.ClientConn
}

// Open connects the channel as participant id. prefix names the service's variables in errors.
func (p Participant) Open(env *app.Env, id, prefix string, channel applicationv1.Channel) (*Channel, error) {
	cat, err := p.Catalog()
	if err != nil {
		return nil, fmt.Errorf("%sCATALOG_DIR: %w", prefix, err)
	}
	target := p.ShepTarget
	if target == "" {
		target = env.Peers["shep"].GRPC
	}
	if target == "" {
		return nil, fmt.Errorf("%sSHEP_TARGET: ШЭП's gRPC address is required", prefix)
	}
	pc := participant.Config{KeyFile: p.KeyFile, KeyPassword: p.KeyPassword, TrustAnchors: p.TrustAnchors, OCSPFreshness: p.OCSPFreshness}
	client, ident, err := pc.For(env, id).LoadTLS(id, env.Now)
	if err != nil {
		return nil, fmt.Errorf("%sKEY_FILE: %w", prefix, err)
	}
	conn, err := grpc.NewClient(target, env.Transport.Dial(ident, "shep"), env.GRPCClientStats())
	if err != nil {
		return nil, fmt.Errorf("%sSHEP_TARGET: %w", prefix, err)
	}
	client.Sync, client.JS, client.Workers = shepv1.NewSyncChannelServiceClient(conn), env.Bus.JS, p.Workers
	// The portal is the citizens' personal cabinet: it keeps the statuses РШЭП copies to it of the
	// applications they made at a ЦОН.
	var meter metric.Meter
	if env.Telemetry != nil {
		meter = env.Telemetry.Meter("egov/" + catalog.ChannelName(channel))
	}
	desk, err := New(Options{Client: client, DB: env.DB, Catalog: cat, Channel: channel, Now: env.Now, Log: env.Log,
		Cabinet: channel == applicationv1.Channel_CHANNEL_PORTAL, Meter: meter})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%s metrics: %w", catalog.ChannelName(channel), err)
	}
	return &Channel{Desk: desk, Registries: registries.Client{C: client}, Identity: ident, conn: conn}, nil
}

// Workers take what ШЭП delivers and send what was submitted.
func (c *Channel) Workers(env *app.Env) map[string]func(context.Context) error {
	client := c.Desk.o.Client
	return map[string]func(context.Context) error{
		"notifications": func(ctx context.Context) error { return client.ReceiveUntilDone(ctx, env.Log, c.Desk.Handle) },
		"outbox":        func(ctx context.Context) error { return c.Desk.Forward(ctx, time.Second) },
	}
}

// Checks are the channel's readiness checks: ШЭП has made its consumer.
func (c *Channel) Checks() []serve.Check {
	return []serve.Check{{Name: "consumer " + c.Desk.o.Client.ID, Fn: c.Desk.o.Client.Ready}}
}

// Close releases the connection to ШЭП.
func (c *Channel) Close(context.Context) error { return c.conn.Close() }
