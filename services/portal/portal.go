// Package portal is ПЭП, the e-government portal: a citizen registers (or signs in with the
// authentication certificate), finds a service in the catalogue drawn from the passports, fills the form
// the passport defines, attaches files, signs the application with their own key through NCALayer, and
// follows it in «История получения услуг» and «Уведомления» until the signed result arrives. The portal
// is the ШЭП participant "portal"; it reaches РШЭП only through ШЭП.
package portal

import (
	"context"
	"time"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/portal/internal/schema"
	"github.com/egov-suite/egov/services/portal/internal/site"
)

// Participant is the portal's ШЭП participant id.
const Participant = "portal"

// Config is ПЭП's configuration.
type Config struct {
	applicant.Participant `envPrefix:"EGOV_PORTAL_"`
	// SessionTTL is how long a citizen's session lasts.
	SessionTTL time.Duration `env:"EGOV_PORTAL_SESSION_TTL" envDefault:"30m"`
	// MaxAttachment bounds one attached file, in bytes.
	MaxAttachment int64 `env:"EGOV_PORTAL_MAX_ATTACHMENT" envDefault:"10485760"`
	// LoginFailures failed password sign-ins to one account from one address within LoginWindow start
	// growing delays for that pair, at most LoginLockout (the address alone gets four times as many).
	LoginFailures int           `env:"EGOV_PORTAL_LOGIN_FAILURES" envDefault:"5"`
	LoginWindow   time.Duration `env:"EGOV_PORTAL_LOGIN_WINDOW" envDefault:"15m"`
	LoginLockout  time.Duration `env:"EGOV_PORTAL_LOGIN_LOCKOUT" envDefault:"15m"`
	// TrustedProxies are the reverse proxies (CIDRs or addresses, comma-separated) whose
	// X-Forwarded-For and X-Forwarded-Proto are believed: the client's address for throttling, https
	// for Secure cookies. Empty: the peer is the client.
	TrustedProxies webkit.Proxies `env:"EGOV_TRUSTED_PROXIES"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	err := config.Load(&c, nil)
	return c, err
}

// AttachmentTypes are the media types a citizen may attach (sniffed from the content).
var AttachmentTypes = []string{"application/pdf", "image/jpeg", "image/png"}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:       "portal",
		Title:      "ПЭП, the e-government portal (citizens' accounts, forms, signing, history, results)",
		Schema:     "portal",
		Migrations: schema.Migrations(),
		Ports:      app.Ports{HTTP: 8060, GRPC: 9060},
		NATS:       func() (natsbus.Access, error) { return natsbus.ChannelAccess(Participant), nil },
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			ch, err := cfg.Open(env, Participant, "EGOV_PORTAL_", applicationv1.Channel_CHANNEL_PORTAL)
			if err != nil {
				return nil, err
			}
			att, err := channelweb.OpenAttachments(ctx, env.Bus, cfg.MaxAttachment, AttachmentTypes)
			if err != nil {
				_ = ch.Close(ctx)
				return nil, err
			}
			s := site.New(site.Options{Desk: ch.Desk, Persons: ch.Registries, DB: env.DB, Now: env.Now, Log: env.Log,
				SessionTTL: cfg.SessionTTL, SignerURL: env.SignerURL, MaxFailures: cfg.LoginFailures, Window: cfg.LoginWindow,
				Lockout: cfg.LoginLockout, Proxies: cfg.TrustedProxies,
				Attachments: att})
			return &app.Unit{
				HTTP:    s.Handler(),
				Checks:  ch.Checks(),
				Workers: ch.Workers(env),
				Close:   ch.Close,
				// Its gRPC server has the health service only, open to any participant.
				Identity: ch.Identity,
			}, nil
		},
	}
}
