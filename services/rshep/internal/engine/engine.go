// Package engine is РШЭП's regulation engine: one engine runs every service passport. It takes
// application envelopes from ШЭП for its regions' providers, refuses at intake what the passport does not
// allow (recorded, with the regulation's text), registers the rest (a number per region and year,
// exactly once under redelivery), asks ГБД ФЛ and ЕНИС through ШЭП where the passport says so, walks the
// passport's steps with their roles and terms, takes the employees' decisions and signatures, keeps every
// deadline as a durable timer (warning, escalation to the head, extension), and sends each status change
// back through ШЭП as a NOTIFICATION envelope to the channel the application came from.
//
// Every change of a case is one transaction: the case row, its history, its timers and the notifications
// it owes (an outbox the forwarder publishes), so nothing is half-done and nothing is sent that did not
// happen.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/mail"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
	"github.com/egov-suite/egov/services/rshep/internal/store"
	"github.com/egov-suite/egov/shepsdk"
)

// ServiceID is the ШЭП async service of a regional node: applications of every passport of the region.
func ServiceID(region string) string { return applicationv1.ServiceID(region) }

// ParticipantID is the ШЭП participant of a region's node.
func ParticipantID(region string) string { return applicationv1.ParticipantID(region) }

// Options build an Engine.
type Options struct {
	Catalog *catalog.Catalog
	// Nodes are the regions this engine serves, each with its ШЭП client (participant rshep-<region>).
	Nodes map[string]*shepsdk.Client
	DB    *pgxpool.Pool
	// Registries answers the passports' checks (through ШЭП in production).
	Registries Registries
	// Calendar counts working days; calendar.Default() when nil.
	Calendar *calendar.Calendar
	Now      func() time.Time
	Log      *slog.Logger
	// Worker names this replica in the timers' fired_by column.
	Worker string
	// Meter, when set, records SLA warnings and breaches, registrations and decisions.
	Meter metric.Meter
	// VerifyURL is the portal's public address: the QR code of every printed result opens its /verify.
	// Empty: results are issued without a printable form.
	VerifyURL string
	// Cabinet is the participant of the citizens' personal cabinet (ПЭП, "portal"): every status of an
	// application made at a ЦОН is sent there too, addressed by the applicant's IIN, so that it appears
	// in the citizen's history and notifications («направлен в личный кабинет»). "" sends the statuses
	// to the ЦОН only.
	Cabinet string
	// Mail, when set, e-mails an issued result to the address the applicant gave with consent (a
	// passport with the field "email"); nil: no e-mail (EGOV_SMTP_ADDR unset).
	Mail *mail.Outbox
}

// Engine runs the passports.
type Engine struct {
	o    Options
	cal  *calendar.Calendar
	wake chan struct{}

	mu sync.Mutex
	// versions are the passports of earlier versions cases still run on, read once from passport_versions.
	versions map[string]*catalog.Passport

	count struct {
		registered, rejected, warnings, breaches, decisions       metric.Int64Counter
		timerFailures, timersParked, outboxFailures, outboxParked metric.Int64Counter
	}
}

// New builds an engine.
func New(o Options) (*Engine, error) {
	if o.Catalog == nil || o.DB == nil || len(o.Nodes) == 0 {
		return nil, errors.New("engine: a catalogue, a database and at least one region are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Worker == "" {
		o.Worker = "rshep"
	}
	// provider.participant takes effect: a passport of a region this engine serves must name the region's
	// node, or its applications would come to a node the passport does not know. A passport whose
	// provider is a system of its own that is a ШЭП participant (not a regional node, e.g. ИС Е-Астана)
	// is that system's: ШЭП routes its applications there on another service (applicationv1.ServiceFor),
	// and the engine does not run it.
	for _, p := range o.Catalog.All() {
		if !Runs(p) {
			continue
		}
		if _, ok := o.Nodes[p.Region]; ok && p.Provider.Participant != ParticipantID(p.Region) {
			return nil, fmt.Errorf("engine: passport %s/%s: provider.participant is %q, but region %s is served by %s",
				p.Code, p.Region, p.Provider.Participant, p.Region, ParticipantID(p.Region))
		}
	}
	e := &Engine{o: o, cal: o.Calendar, wake: make(chan struct{}, 1), versions: map[string]*catalog.Passport{}}
	if e.cal == nil {
		e.cal = calendar.Default()
	}
	if o.Meter != nil {
		var err error
		c := func(name, desc string) metric.Int64Counter {
			ctr, cerr := o.Meter.Int64Counter(name, metric.WithDescription(desc))
			err = errors.Join(err, cerr)
			return ctr
		}
		e.count.registered = c("egov.rshep.cases.registered", "Applications registered")
		e.count.rejected = c("egov.rshep.cases.rejected", "Applications refused at intake")
		e.count.warnings = c("egov.rshep.sla.warnings", "Deadline warnings raised")
		e.count.breaches = c("egov.rshep.sla.breaches", "Deadlines missed (escalated)")
		e.count.decisions = c("egov.rshep.cases.decided", "Cases decided")
		e.count.timerFailures = c("egov.rshep.timers.failures", "Failed attempts at a timer's work (retried after a back-off)")
		e.count.timersParked = c("egov.rshep.timers.parked", "Timers parked after their last attempt")
		e.count.outboxFailures = c("egov.rshep.outbox.failures", "Failed attempts to publish a notification (retried after a back-off)")
		e.count.outboxParked = c("egov.rshep.outbox.parked", "Notifications parked after their last attempt")
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// add counts one event of a region's node for a service (the passport's code; "" when not known, as for
// a timer or a notification counted by region only): one node serves several regions and services, and
// an operator watches each.
func (e *Engine) add(ctx context.Context, c metric.Int64Counter, region, service string) {
	if c != nil {
		c.Add(ctx, 1, metric.WithAttributes(attribute.String("region", region), attribute.String("service", service)))
	}
}

// Catalog is the engine's catalogue.
func (e *Engine) Catalog() *catalog.Catalog { return e.o.Catalog }

// Regions are the regions the engine serves.
func (e *Engine) Regions() []string {
	out := make([]string, 0, len(e.o.Nodes))
	for r := range e.o.Nodes {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// systemSigner is the system key of a region's node, which signs automatic results.
func (e *Engine) systemSigner(region string) (*envelope.Signer, error) {
	n, ok := e.o.Nodes[region]
	if !ok {
		return nil, fmt.Errorf("engine: region %s is not served here", region)
	}
	return n.Signer, nil
}

// Verifier checks signatures (the node's verifier: НУЦ's roots, OCSP with CRL fall-back).
func (e *Engine) Verifier(region string) *envelope.Verifier {
	if n, ok := e.o.Nodes[region]; ok {
		return n.Verifier
	}
	return nil
}

// Add returns the end of a term of d from t on the engine's working-day calendar.
func (e *Engine) Add(t time.Time, d catalog.Duration) time.Time { return rules.Add(e.cal, t, d) }

// Get reads a case of region by id.
func (e *Engine) Get(ctx context.Context, region string, id int64) (*Case, error) {
	return store.Get(ctx, e.o.DB, region, id)
}

// ByApplication reads the case of an application id.
func (e *Engine) ByApplication(ctx context.Context, applicationID string) (*Case, error) {
	return store.ByApplication(ctx, e.o.DB, applicationID)
}

// History returns a case's events in order.
func (e *Engine) History(ctx context.Context, id int64) ([]Event, error) {
	return store.History(ctx, e.o.DB, id)
}

// Open lists a region's open cases, the nearest step deadline first.
func (e *Engine) Open(ctx context.Context, region string, limit int) ([]*Case, error) {
	return store.Open(ctx, e.o.DB, region, limit)
}

// Closed lists a region's closed cases, the latest first.
func (e *Engine) Closed(ctx context.Context, region string, limit int) ([]*Case, error) {
	return store.Closed(ctx, e.o.DB, region, limit)
}

// Rejections lists what a region refused at intake, the latest first.
func (e *Engine) Rejections(ctx context.Context, region string, limit int) ([]Rejection, error) {
	return store.Rejections(ctx, e.o.DB, region, limit)
}

// Runs reports whether a regional node runs passport p: its provider is a regional node (rshep-<region>),
// not a provider's own system that is a ШЭП participant (ИС Е-Астана), whose applications ШЭП routes there.
func Runs(p *catalog.Passport) bool { return strings.HasPrefix(p.Provider.Participant, "rshep-") }
