// Package eastana is ИС Е-Астана, the Astana akimat's own system (подсистема «Электронные услуги»), for
// the kindergarten waiting list: the ШЭП participant "eastana", which receives the Astana passport's
// applications from the channels on the async service APPLICATION_71_EASTANA, checks the child in ГБД ФЛ
// through ШЭП, registers it in the queue at once (its number by the time of receipt) and answers
// REGISTERED; the result (a registration ticket, a referral, or the queue's refusal) goes back through
// ШЭП to the channel once a МИО employee has signed it.
package eastana

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/participant"
	"github.com/egov-suite/egov/internal/registries"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/eastana/internal/cabinet"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/mio"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
	"github.com/egov-suite/egov/shepsdk"
)

// Participant is ИС Е-Астана's ШЭП participant id.
const Participant = "eastana"

// Region is Astana's region code.
const Region = "71"

// Config is ИС Е-Астана's configuration.
type Config struct {
	participant.Config `envPrefix:"EGOV_EASTANA_"`
	// ShepTarget is ШЭП's gRPC address (host:port) for the ГБД ФЛ look-ups (dev: the embedded ШЭП).
	ShepTarget string `env:"EGOV_EASTANA_SHEP_TARGET"`
	// Rules are the queue's rules: "2012" (the passport's, no priority categories) or "national" (the
	// national rules' four categories; check their edition before switching them on).
	Rules string `env:"EGOV_EASTANA_RULES" envDefault:"2012"`
	// ExpiryInterval is how often referrals past their month are closed.
	ExpiryInterval time.Duration `env:"EGOV_EASTANA_EXPIRY_INTERVAL" envDefault:"1m"`
	// NotifyInterval is how often the queue's later events are looked for, to notify the channels.
	NotifyInterval time.Duration `env:"EGOV_EASTANA_NOTIFY_INTERVAL" envDefault:"1s"`
	// VerifyURL is the portal's public address (https://…): every signed result gets a printable PDF whose
	// QR code opens its /verify. Default: the portal of the suite (its HTTP address), when the service
	// knows it; without either, results have no printable form.
	VerifyURL string `env:"EGOV_EASTANA_VERIFY_URL"`
	// MIOBIN, when set, must be the organisation (BIN) in a МИО employee's signing certificate, besides
	// the employee being on ИС Е-Астана's staff (the demo: demo.BINAstanaEducation).
	MIOBIN string `env:"EGOV_EASTANA_MIO_BIN"`
	// DecisionDays, when set, is the МИО employee's term to sign a result in working days; by default the
	// term is the passport's deciding step (3 working days at ЦОН, taken for every channel).
	DecisionDays int `env:"EGOV_EASTANA_DECISION_DAYS"`
	// MIOSessionTTL is how long a МИО employee's session in the working cabinet lasts.
	MIOSessionTTL time.Duration `env:"EGOV_EASTANA_MIO_SESSION_TTL" envDefault:"8h"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers the cabinets believe (Secure
	// cookies behind a TLS-terminating ingress).
	TrustedProxies webkit.Proxies `env:"EGOV_TRUSTED_PROXIES"`
	// MailInterval is how often the e-mail outbox is looked at besides the wake-ups after a result.
	MailInterval time.Duration `env:"EGOV_EASTANA_MAIL_INTERVAL" envDefault:"2s"`
	// MovedStep is QUEUE_MOVED's step: a case is told its child's place when the count of children ahead
	// has dropped by at least the step since it was last told, or every change once the count is under it.
	MovedStep int64 `env:"EGOV_EASTANA_MOVED_STEP" envDefault:"10"`
	// MovedQuiet is the least time between two QUEUE_MOVED of a case (and after its decision).
	MovedQuiet time.Duration `env:"EGOV_EASTANA_MOVED_QUIET" envDefault:"24h"`
	// MovedInterval is how often the waiting children's places are compared with the last told.
	MovedInterval time.Duration `env:"EGOV_EASTANA_MOVED_INTERVAL" envDefault:"1m"`
	// Workers handle deliveries at once: an application is decided once per sender under the list's
	// lock and the applications' key, so their order does not matter.
	Workers int `env:"EGOV_EASTANA_WORKERS" envDefault:"4"`
	// CabinetSessionTTL is how long a citizen's session in the personal cabinet lasts.
	CabinetSessionTTL time.Duration `env:"EGOV_EASTANA_CABINET_SESSION_TTL" envDefault:"30m"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	err := config.Load(&c, nil)
	return c, err
}

// Policy is the queue's policy of the configured rules.
func (c Config) Policy() (queue.Policy, error) {
	switch c.Rules {
	case "", "2012":
		return queue.Passport2012(), nil
	case "national":
		return queue.NationalRules(), nil
	default:
		return queue.Policy{}, fmt.Errorf("EGOV_EASTANA_RULES: %q: 2012 or national", c.Rules)
	}
}

// PassportCode is the code of the passport ИС Е-Астана provides (region Region).
const PassportCode = "preschool-registration"

// Notices are the notification texts of ИС Е-Астана's passport in cat, by status: the intake words every
// notification by them.
func Notices(cat *catalog.Catalog) (map[string]catalog.Text, error) {
	p, ok := cat.Get(PassportCode, Region)
	if !ok {
		return nil, fmt.Errorf("eastana: no passport %s.%s in the catalogue", PassportCode, Region)
	}
	out := make(map[string]catalog.Text, len(p.Notices))
	for _, n := range p.Notices {
		out[n.Status] = n.Text
	}
	return out, nil
}

// Term is the МИО employee's term to sign a result: EGOV_EASTANA_DECISION_DAYS working days when set,
// else the duration of the built-in passport's deciding step.
func (c Config) Term() (catalog.Duration, error) {
	switch {
	case c.DecisionDays < 0:
		return catalog.Duration{}, fmt.Errorf("EGOV_EASTANA_DECISION_DAYS: %d: at least 1", c.DecisionDays)
	case c.DecisionDays > 0:
		return catalog.Duration{Value: c.DecisionDays, Unit: "working_days"}, nil
	}
	cat, err := catalog.Builtin()
	if err != nil {
		return catalog.Duration{}, err
	}
	p, ok := cat.Get(PassportCode, Region)
	if !ok {
		return catalog.Duration{}, fmt.Errorf("eastana: no passport %s.%s in the catalogue", PassportCode, Region)
	}
	for _, s := range p.Steps {
		if s.Decides && s.Duration.Value > 0 {
			return s.Duration, nil
		}
	}
	return catalog.Duration{}, fmt.Errorf("eastana: passport %s.%s has no deciding step with a duration", PassportCode, Region)
}

// Moved is QUEUE_MOVED's rule of the configuration (intake.Moved), up to 1,000 cases a round.
func (c Config) Moved() (intake.Moved, error) {
	switch {
	case c.MovedStep < 1:
		return intake.Moved{}, fmt.Errorf("EGOV_EASTANA_MOVED_STEP: %d: at least 1 (1 tells every change)", c.MovedStep)
	case c.MovedQuiet < 0:
		return intake.Moved{}, fmt.Errorf("EGOV_EASTANA_MOVED_QUIET: %s: not negative (0: no quiet interval)", c.MovedQuiet)
	case c.MovedInterval <= 0:
		// serve.Repeat's ticker needs a positive interval.
		return intake.Moved{}, fmt.Errorf("EGOV_EASTANA_MOVED_INTERVAL: %s: positive", c.MovedInterval)
	}
	return intake.Moved{Step: c.MovedStep, Quiet: c.MovedQuiet, Limit: 1000}, nil
}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:       "eastana",
		Title:      "ИС Е-Астана, the Astana akimat's kindergarten waiting list (queue, referrals, МИО)",
		Schema:     "eastana",
		Migrations: schema.Migrations(),
		Ports:      app.Ports{HTTP: 8080, GRPC: 9080},
		NATS: func() (natsbus.Access, error) {
			return natsbus.Access{User: Participant, Participants: []string{Participant}}, nil
		},
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			policy, err := cfg.Policy()
			if err != nil {
				return nil, err
			}
			moved, err := cfg.Moved()
			if err != nil {
				return nil, err
			}
			target := cfg.ShepTarget
			if target == "" {
				target = env.Peers["shep"].GRPC
			}
			if target == "" {
				return nil, errors.New("EGOV_EASTANA_SHEP_TARGET: ШЭП's gRPC address is required")
			}
			client, ident, err := cfg.For(env, Participant).LoadTLS(Participant, env.Now)
			if err != nil {
				return nil, fmt.Errorf("EGOV_EASTANA_KEY_FILE: %w", err)
			}
			conn, err := grpc.NewClient(target, env.Transport.Dial(ident, "shep"))
			if err != nil {
				return nil, fmt.Errorf("EGOV_EASTANA_SHEP_TARGET: %w", err)
			}
			client.Sync, client.JS, client.Workers = shepv1.NewSyncChannelServiceClient(conn), env.Bus.JS, cfg.Workers
			st, err := store.New(env.DB, policy)
			if err != nil {
				_ = conn.Close()
				return nil, err
			}
			if err := st.AddList(ctx, intake.City); err != nil {
				_ = conn.Close()
				return nil, err
			}
			term, err := cfg.Term()
			if err != nil {
				_ = conn.Close()
				return nil, err
			}
			verifyURL := cfg.VerifyURL
			if verifyURL == "" && env.Peers["portal"].HTTP != "" {
				verifyURL = "http://" + env.Peers["portal"].HTTP
			}
			in := &intake.Intake{Store: st, DB: env.DB, Registry: registries.Client{C: client}, Verifier: client.Verifier, Seal: client.Signer,
				VerifyURL: verifyURL, Term: term, BIN: cfg.MIOBIN}
			mailing, err := mailingOf(env)
			if err != nil {
				_ = conn.Close()
				return nil, err
			}
			in.Mail = mailing
			r := &receiver{client: client, in: in, now: env.Now}
			passports, err := catalog.Builtin()
			if err != nil {
				_ = conn.Close()
				return nil, err
			}
			if in.Notices, err = Notices(passports); err != nil {
				_ = conn.Close()
				return nil, err
			}
			// The МИО working cabinet under /mio/, the citizen's personal cabinet under "/".
			work := mio.New(mio.Options{Store: st, DB: env.DB, Intake: in, Catalog: passports, Verifier: client.Verifier, Now: env.Now,
				Log: env.Log, SessionTTL: cfg.MIOSessionTTL, SignerURL: env.SignerURL, Proxies: cfg.TrustedProxies})
			personal := cabinet.New(cabinet.Options{Intake: in, Store: st, Catalog: passports, Region: Region, Participant: Participant,
				Verifier: client.Verifier, DB: env.DB, Now: env.Now, Log: env.Log, SessionTTL: cfg.CabinetSessionTTL,
				SignerURL: env.SignerURL, Proxies: cfg.TrustedProxies})
			mux := http.NewServeMux()
			mux.Handle(mio.Prefix, work.Handler())
			mux.Handle("/", personal.Handler())
			return &app.Unit{
				Checks: []serve.Check{{Name: "consumer " + Participant, Fn: client.Ready}},
				Workers: map[string]func(context.Context) error{
					"applications": func(ctx context.Context) error { return client.ReceiveUntilDone(ctx, env.Log, r.handle) },
					"notifications": func(ctx context.Context) error {
						return serve.Repeat(ctx, cfg.NotifyInterval, nil, env.Log, "eastana: notify the channels",
							func(ctx context.Context) (int, error) { return r.in.ForwardOnce(ctx, 256, r.send) })
					},
					"mail": func(ctx context.Context) error {
						if mailing == nil {
							<-ctx.Done() // no EGOV_SMTP_ADDR: nothing is e-mailed
							return nil
						}
						return mailing.Outbox.Run(ctx, cfg.MailInterval)
					},
					"queue moved": func(ctx context.Context) error {
						return serve.Repeat(ctx, cfg.MovedInterval, nil, env.Log, "eastana: notify the places moved",
							func(ctx context.Context) (int, error) { return r.in.MovedOnce(ctx, moved, env.Now()) })
					},
					"referral expiry": func(ctx context.Context) error {
						return st.RunExpiry(ctx, env.Now, cfg.ExpiryInterval, "expiry", func(err error) {
							env.Log.WarnContext(ctx, "eastana: referral expiry", "error", err)
						})
					},
				},
				HTTP:     mux,
				Close:    func(context.Context) error { return conn.Close() },
				Identity: ident,
				Seed: func(ctx context.Context, _ string) ([]demo.Entry, error) {
					entries, err := seedDemo(ctx, env.DB, st, in, env.Now())
					if err != nil {
						return nil, err
					}
					return append(entries, demo.Entry{Service: "eastana", Kind: "кабинет", Name: "рабочий кабинет МИО",
						Role: "http://" + env.Addr.HTTP + mio.Prefix},
						demo.Entry{Service: "eastana", Kind: "кабинет", Name: "личный кабинет гражданина",
							Role: "http://" + env.Addr.HTTP + "/"}), nil
				},
			}, nil
		},
	}
}

// receiver takes the applications ШЭП delivers and answers each with its status.
type receiver struct {
	client *shepsdk.Client
	in     *intake.Intake
	now    func() time.Time
}

// handle registers one delivery and answers it REGISTERED (or refuses it at once when its signature is
// not confirmed). An application it cannot read is left to ШЭП's retries and its dead letters, where an
// operator sees it (it has no id to answer); an error of the register, the database or the send is
// retried, and the kept answer makes the retry answer the same. The decision goes out later, once a МИО
// employee has signed it (the forward worker).
func (r *receiver) handle(ctx context.Context, dv *shepsdk.Delivery) error {
	if dv.Notification != nil {
		return nil // ШЭП's receipts of the notifications this system sent: nothing waits for them
	}
	e := dv.Envelope
	if e.GetType() != envelopev1.MessageType_MESSAGE_TYPE_REQUEST {
		return fmt.Errorf("eastana: a %s envelope from %s is not an application", e.GetType(), e.GetSender())
	}
	signed := new(envelopev1.SignedDocument)
	if err := proto.Unmarshal(e.GetPayload(), signed); err != nil {
		return fmt.Errorf("eastana: application envelope %s: %w", e.GetMessageId(), err)
	}
	if signed.GetMediaType() != applicationv1.MediaTypeApplication {
		return fmt.Errorf("eastana: application envelope %s carries %q", e.GetMessageId(), signed.GetMediaType())
	}
	a := new(applicationv1.Application)
	if err := proto.Unmarshal(signed.GetContent(), a); err != nil {
		return fmt.Errorf("eastana: application %s: %w", e.GetMessageId(), err)
	}
	now := r.now()
	from := intake.Origin{Sender: e.GetSender(), CorrelationID: e.GetCorrelationId()}
	// The person's signature: the applicant's own on the portal, an operator's (employee) at ЦОН.
	want := ""
	if a.GetChannel() == applicationv1.Channel_CHANNEL_PORTAL {
		want = a.GetApplicantIin()
	}
	var n *applicationv1.StatusNotification
	_, err := r.client.Verifier.VerifyDocument(ctx, signed, want)
	switch {
	case envelope.CodeOf(err) == envelope.CodeStatusUnavailable:
		return fmt.Errorf("eastana: the signer's certificate status: %w", err)
	case err != nil:
		ru, _, _ := envelope.Refusal(err)
		if n, err = r.in.RefuseSignature(ctx, from, a, ru, now); err != nil {
			return err
		}
	default:
		if n, err = r.in.Receive(ctx, from, a, now); err != nil {
			return err
		}
	}
	return r.notify(ctx, from, a, n)
}

// send is the forwarder's Send: a decision's or a later event's notification to the application's sender.
func (r *receiver) send(ctx context.Context, to intake.Origin, n *applicationv1.StatusNotification) error {
	return r.notify(ctx, to, &applicationv1.Application{ApplicationId: n.GetApplicationId(), Region: n.GetRegion(),
		ApplicantIin: to.ApplicantIIN}, n)
}

// notify sends n to the channel that sent a. The message id is derived from the application and the
// status, so the same notification sent again (after a failed attempt) is one message to ШЭП.
func (r *receiver) notify(ctx context.Context, from intake.Origin, a *applicationv1.Application, n *applicationv1.StatusNotification) error {
	payload, err := proto.Marshal(n)
	if err != nil {
		return err
	}
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("%s/%s/%s/%d/%s", Participant, from.Sender, a.GetApplicationId(),
		n.GetSequence(), n.GetStatus()))).String()
	return r.client.Send(ctx, &envelopev1.Envelope{
		MessageId: id, CorrelationId: from.CorrelationID, ServiceId: applicationv1.ServiceFor(a.GetRegion(), Participant), ServiceVersion: "1",
		Sender: Participant, Recipient: from.Sender, Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION,
		MessageDate: n.GetTime(), UserId: a.GetApplicantIin(), Region: a.GetRegion(),
		PayloadType: string(n.ProtoReflect().Descriptor().FullName()), Payload: payload,
	})
}

// mailingOf is the e-mail of results through EGOV_SMTP_ADDR's server (the dev mode's drop), or nil
// when none is configured.
func mailingOf(env *app.Env) (*intake.Mailing, error) {
	if env.SMTP.Addr == "" {
		return nil, nil
	}
	sender, err := mail.NewSender(mail.Config{SMTP: env.SMTP})
	if err != nil {
		return nil, err
	}
	return &intake.Mailing{Outbox: mail.NewOutbox(env.DB, sender, env.SMTP.From, env.Now, env.Log), Log: env.Log}, nil
}
