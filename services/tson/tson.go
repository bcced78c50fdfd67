// Package tson is the ЦОН desk (Центр обслуживания населения, Госкорпорация «Правительство для
// граждан»): the operator takes a citizen's application at the counter, on the citizen's behalf or from
// a representative with a notarised power of attorney, checks the citizen in ГБД ФЛ and the power of
// attorney in ЕНИС through ШЭП, signs the application with the operator's key, gives the citizen a
// receipt (расписка), and later hands the result over or marks it unclaimed. The desk is the ШЭП
// participant "tson".
package tson

import (
	"context"
	"time"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/tson/internal/desk"
	"github.com/egov-suite/egov/services/tson/internal/schema"
)

// Participant is the desk's ШЭП participant id.
const Participant = "tson"

// Config is the ЦОН desk's configuration.
type Config struct {
	applicant.Participant `envPrefix:"EGOV_TSON_"`
	// BIN is the organisation whose employees' certificates the operators sign with.
	BIN string `env:"EGOV_TSON_BIN" envDefault:"160140000014"`
	// Office names this ЦОН: its applications are one list.
	Office string `env:"EGOV_TSON_OFFICE" envDefault:"tson"`
	// SessionTTL is how long an operator's session lasts.
	SessionTTL time.Duration `env:"EGOV_TSON_SESSION_TTL" envDefault:"8h"`
	// MaxAttachment bounds one scan, in bytes.
	MaxAttachment int64 `env:"EGOV_TSON_MAX_ATTACHMENT" envDefault:"20971520"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers are believed (Secure cookies
	// when TLS ends at them).
	TrustedProxies webkit.Proxies `env:"EGOV_TRUSTED_PROXIES"`
	// CentreName (Russian) and CentreNameKK name this ЦОН on its receipts, CentreAddress is where it is.
	// The defaults name Госкорпорация's centre of the demo; a real centre sets its own.
	CentreName    string `env:"EGOV_TSON_CENTRE_NAME" envDefault:"Центр обслуживания населения НАО «Государственная корпорация «Правительство для граждан»"`
	CentreNameKK  string `env:"EGOV_TSON_CENTRE_NAME_KK" envDefault:"«Азаматтарға арналған үкімет» мемлекеттік корпорациясы» КЕАҚ халыққа қызмет көрсету орталығы"`
	CentreAddress string `env:"EGOV_TSON_CENTRE_ADDRESS" envDefault:"адрес не задан (EGOV_TSON_CENTRE_ADDRESS)"`
	// TimersInterval is how often Госкорпорация's timed steps are armed and unclaimed results archived.
	TimersInterval time.Duration `env:"EGOV_TSON_TIMERS_INTERVAL" envDefault:"1m"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	err := config.Load(&c, nil)
	return c, err
}

// ScanTypes are the media types of scans (sniffed from the content).
var ScanTypes = []string{"application/pdf", "image/jpeg", "image/png"}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:       "tson",
		Title:      "ЦОН desk, the public service centre operator's workstation (counter, look-ups, receipts, hand-over)",
		Schema:     "tson",
		Migrations: schema.Migrations(),
		Ports:      app.Ports{HTTP: 8070, GRPC: 9070},
		NATS:       func() (natsbus.Access, error) { return natsbus.ChannelAccess(Participant), nil },
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			ch, err := cfg.Open(env, Participant, "EGOV_TSON_", applicationv1.Channel_CHANNEL_TSON)
			if err != nil {
				return nil, err
			}
			att, err := channelweb.OpenAttachments(ctx, env.Bus, cfg.MaxAttachment, ScanTypes)
			if err != nil {
				_ = ch.Close(ctx)
				return nil, err
			}
			d := desk.New(desk.Options{Desk: ch.Desk, Registries: ch.Registries, DB: env.DB, Now: env.Now, Log: env.Log,
				SessionTTL: cfg.SessionTTL, SignerURL: env.SignerURL, BIN: cfg.BIN, Office: cfg.Office,
				Attachments: att, Proxies: cfg.TrustedProxies,
				Centre: desk.Centre{Name: catalog.Text{RU: cfg.CentreName, KK: cfg.CentreNameKK}, Address: cfg.CentreAddress}})
			workers := ch.Workers(env)
			workers["statecorp timers"] = func(ctx context.Context) error { return d.Timers(ctx, cfg.TimersInterval) }
			return &app.Unit{
				HTTP:    d.Handler(),
				Checks:  ch.Checks(),
				Workers: workers,
				Close:   ch.Close,
				// Its gRPC server has the health service only, open to any participant.
				Identity: ch.Identity,
				Seed:     func(ctx context.Context, _ string) ([]demo.Entry, error) { return d.SeedDemo(ctx) },
			}, nil
		},
	}
}
