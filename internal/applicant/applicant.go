// Package applicant is the channel core: the side of ШЭП that a citizen's application starts from,
// shared by every channel — ПЭП (the portal), the ЦОН desk, and any channel added later (the provider's
// office). It drafts an application from a passport's form, takes the signature over exactly those
// bytes, checks it (condition 2 of the regulations: the certificate's validity period, its revocation,
// the IIN in it), and queues the signed application for ШЭП and the region's РШЭП.
//
// It is split by concern: lifecycle is the application's statuses and what may happen next (pure
// domain, no I/O); store keeps the applications and statuses (SQL); outbox publishes what was
// submitted; intake records ШЭП's receipts and РШЭП's notifications; channelweb is the web part a site
// mounts (draft, sign and send, result) with its own templates and hooks. A channel's site keeps only
// what its regulation makes it differ in.
package applicant

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/intake"
	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	"github.com/egov-suite/egov/internal/applicant/outbox"
	"github.com/egov-suite/egov/internal/applicant/store"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/natsbus"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// Migrations create the applications and statuses tables (version 0500).
func Migrations() fs.FS { return store.Migrations() }

// The lifecycle's statuses, as the channels name them.
const (
	StatusDraft        = lifecycle.StatusDraft
	StatusSubmitted    = lifecycle.StatusSubmitted
	StatusDelivered    = lifecycle.StatusDelivered
	StatusNotDelivered = lifecycle.StatusNotDelivered
	StatusRefused      = lifecycle.StatusRefused
	StatusResultIssued = lifecycle.StatusResultIssued
	StatusHandedOver   = lifecycle.StatusHandedOver
	StatusUnclaimed    = lifecycle.StatusUnclaimed
	StatusUnknown      = lifecycle.StatusUnknown
)

// The store's types, as the channels use them.
type (
	// Application is an application as the channel keeps it.
	Application = store.Application
	// Status is one status the citizen sees.
	Status = store.Status
	// Notice is a status of one of the owner's applications.
	Notice = store.Notice
	// Place is a child's place in a waiting list.
	Place = store.Place
	// Waiting is an application of a waiting list with the child's movement in it.
	Waiting = store.Waiting
)

// ErrNotFound is an application that does not exist or is not the owner's.
var ErrNotFound = store.ErrNotFound

// ErrNotIssued is a hand-over of an application whose result is not ready or was already handed over.
var ErrNotIssued = store.ErrNotIssued

// Options build a desk.
type Options struct {
	// Client is the channel's ШЭП participant (portal, tson).
	Client *shepsdk.Client
	DB     *pgxpool.Pool
	// Catalog holds the passports the forms come from.
	Catalog *catalog.Catalog
	// Channel is the channel's name in the contract.
	Channel applicationv1.Channel
	// Cabinet: the channel is the citizens' personal cabinet (ПЭП). A status of an application made at
	// another channel (a ЦОН), which РШЭП copies here, puts that application on its applicant's list.
	Cabinet bool
	Now     func() time.Time
	Log     *slog.Logger
	// Meter, when set, counts the applications submitted and refused at signing and the statuses
	// received, by channel and service (see the package's metrics).
	Meter metric.Meter
}

// Desk is one channel's applications: the lifecycle's operations over the store, the outbox and the
// intake of statuses.
type Desk struct {
	o      Options
	store  store.Store
	outbox *outbox.Forwarder
	intake *intake.Intake
	// submitted and refused count signed applications queued for ШЭП and signatures refused
	// (condition 2), by channel and service; nil without a meter.
	submitted, refused metric.Int64Counter
}

// New builds a desk. Only a meter that fails to make its instruments is an error.
func New(o Options) (*Desk, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	name := catalog.ChannelName(o.Channel)
	d := &Desk{o: o, store: store.Store{DB: o.DB}, intake: &intake.Intake{DB: o.DB, Tracer: "egov/" + name, Log: o.Log, Adopt: o.Cabinet, Channel: name}}
	if o.Client != nil {
		d.outbox = outbox.New(o.DB, o.Client, name, o.Now, o.Log)
	}
	if o.Meter != nil {
		var err error
		if d.submitted, err = o.Meter.Int64Counter("egov.applications.submitted", metric.WithUnit("{application}"),
			metric.WithDescription("Applications signed and queued for ШЭП, by channel and service")); err != nil {
			return nil, err
		}
		if d.refused, err = o.Meter.Int64Counter("egov.applications.refused", metric.WithUnit("{application}"),
			metric.WithDescription("Signatures refused at signing (condition 2: the draft stays to be signed again), by channel, service and code")); err != nil {
			return nil, err
		}
		if d.intake.Received, err = o.Meter.Int64Counter("egov.applications.statuses", metric.WithUnit("{status}"),
			metric.WithDescription("Statuses received (ШЭП's receipts, РШЭП's notifications), each once, by channel, service and status")); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// count adds one to c (when metered) under the desk's channel, the service and more.
func (d *Desk) count(ctx context.Context, c metric.Int64Counter, service string, more ...attribute.KeyValue) {
	if c != nil {
		c.Add(ctx, 1, metric.WithAttributes(append(more, attribute.String("channel", d.ChannelName()), attribute.String("service", service))...))
	}
}

// Catalog is the desk's catalogue.
func (d *Desk) Catalog() *catalog.Catalog { return d.o.Catalog }

// ChannelName is the passport's name of the desk's channel.
func (d *Desk) ChannelName() string { return catalog.ChannelName(d.o.Channel) }

// Passports are the passports offered on the desk's channel.
func (d *Desk) Passports() []*catalog.Passport {
	var out []*catalog.Passport
	for _, p := range d.o.Catalog.All() {
		if slices.Contains(p.Channels, d.ChannelName()) {
			out = append(out, p)
		}
	}
	return out
}

// Problems are what is wrong with a draft, in the application's language (Russian unless it is "kk"), as
// the form shows them.
type Problems []string

func (p Problems) Error() string { return fmt.Sprintf("%d problems in the application", len(p)) }

// Also is a channel's own record of a new draft, written in the draft's transaction.
type Also = store.Also

// Draft checks an application against its passport and records it unsigned, with the channel's own
// records (also) in the same transaction. The application's id, channel and time are set here; the
// bytes stored are the bytes the person will sign.
func (d *Desk) Draft(ctx context.Context, owner string, a *applicationv1.Application, also ...Also) (string, error) {
	p, ok := d.o.Catalog.Get(a.GetServiceCode(), a.GetRegion())
	if !ok || !slices.Contains(p.Channels, d.ChannelName()) {
		if a.GetLanguage() == "kk" {
			return "", Problems{fmt.Sprintf("%q қызметі %q өңірінде бұл арна арқылы көрсетілмейді", a.GetServiceCode(), a.GetRegion())}
		}
		return "", Problems{fmt.Sprintf("услуга %q в регионе %q через этот канал не оказывается", a.GetServiceCode(), a.GetRegion())}
	}
	now := d.o.Now()
	a.ApplicationId, a.Channel, a.SubmittedAt = uuid.NewString(), d.o.Channel, timestamppb.New(now)
	if texts := p.CheckApplicationText(a); len(texts) > 0 {
		problems := make(Problems, 0, len(texts))
		for _, t := range texts {
			if a.GetLanguage() == "kk" {
				problems = append(problems, t.KK)
			} else {
				problems = append(problems, t.RU)
			}
		}
		return "", problems
	}
	content, err := proto.Marshal(a)
	if err != nil {
		return "", err
	}
	err = d.store.InsertDraft(ctx, store.Draft{ID: a.GetApplicationId(), Owner: owner, Channel: d.ChannelName(), ServiceCode: a.GetServiceCode(),
		Region: a.GetRegion(), ApplicantIIN: a.GetApplicantIin(), RepresentativeIIN: a.GetFields()["representative_iin"], Language: a.GetLanguage(),
		Content: content, At: now},
		Status{Status: StatusDraft, At: now, Seq: lifecycle.SeqDraft,
			TextRU: "Заявление сформировано и ожидает подписи ЭЦП", TextKK: "Өтініш қалыптастырылды және ЭЦҚ қолын күтуде"}, also...)
	return a.GetApplicationId(), err
}

// ErrStatusUnavailable is a signature whose certificate status could not be had (НУЦ's OCSP responder
// and CRL unreachable): the draft stays a draft, to be signed again.
var ErrStatusUnavailable = errors.New("applicant: the certificate's status cannot be checked now")

// ErrSubmitted is a submit of an application that was signed and sent before: the first submit stands.
var ErrSubmitted = errors.New("applicant: the application was signed and sent before")

// ErrOutcomeUnknown is a submit whose transaction failed in a way that leaves open whether it committed
// (the database went away around the commit), and the database cannot be asked now. The application's
// page tells, once it can; signing again sends nothing twice.
var ErrOutcomeUnknown = errors.New("applicant: whether the submission was recorded is not known yet")

// Refused is a signature that fails condition 2 (a wrong, expired or revoked key, another person's
// certificate). Nothing is recorded and nothing sent: the draft stays a draft and the person signs it
// again with a valid key. Text is the passport's refusal text, shown with what exactly failed.
type Refused struct {
	// Text is the passport's refusal text (eds_not_confirmed).
	Text catalog.Text
	// DetailRU and DetailKK say what exactly failed (expired, revoked, another person's IIN …).
	DetailRU, DetailKK string
	Err                error
}

func (r *Refused) Error() string { return r.Text.RU + ": " + r.DetailRU }

func (r *Refused) Unwrap() error { return r.Err }

// Submit takes the person's detached CMS signature over a draft. The signature must verify for want
// (the portal: the applicant's own IIN; a ЦОН: the operator's organisation BIN). When it does not,
// *Refused is returned and the draft stays as it was, to be signed again: a key that fails is the
// person's mistake to correct (another key file, a renewed certificate), not the end of the
// application, and the regulation's condition 2 is met only by a signature that verifies. (Decision:
// the regulations' «отказ … в связи с не подтверждением подлинности ЭЦП» is shown as the reason on the
// signing page rather than closing the application; see docs/architecture.md, "Signing again".) When it
// verifies, the application is signed into a ШЭП envelope and queued in the outbox, in one transaction.
func (d *Desk) Submit(ctx context.Context, owner, id string, signature []byte, want envelope.Expect) error {
	a, err := d.Get(ctx, owner, id)
	if err != nil {
		return err
	}
	if !lifecycle.CanSubmit(a.Status) {
		// A repeated submit (a second click, a retry after a lost answer): the first one stands and
		// nothing is sent twice.
		return fmt.Errorf("%w (%s)", ErrSubmitted, a.Status)
	}
	p, ok := d.o.Catalog.Get(a.ServiceCode, a.Region)
	if !ok {
		return fmt.Errorf("applicant: no passport %s/%s", a.ServiceCode, a.Region)
	}
	want.Purpose = envelope.PurposeDocument
	res, verr := d.o.Client.Verifier.Verify(ctx, a.Content, signature, want)
	now := d.o.Now()
	if envelope.CodeOf(verr) == envelope.CodeStatusUnavailable {
		// Nobody could say whether the certificate is revoked: not a refusal, the person tries again.
		return fmt.Errorf("%w: %w", ErrStatusUnavailable, verr)
	}
	if verr != nil {
		ru, kk, _ := envelope.Refusal(verr)
		d.o.Log.InfoContext(ctx, "signature refused: condition 2; the draft stays to be signed again", "application", id, "reason", string(envelope.CodeOf(verr)))
		d.count(ctx, d.refused, a.ServiceCode, attribute.String("code", string(envelope.CodeOf(verr))))
		return &Refused{Text: refusalText(p, "eds_not_confirmed"), DetailRU: ru, DetailKK: kk, Err: verr}
	}
	payload, err := proto.Marshal(&envelopev1.SignedDocument{MediaType: applicationv1.MediaTypeApplication, Content: a.Content, Signature: signature})
	if err != nil {
		return err
	}
	msgID := uuid.NewString()
	env := &envelopev1.Envelope{
		MessageId: msgID, CorrelationId: msgID, ServiceId: applicationv1.ServiceFor(a.Region, p.Provider.Participant), ServiceVersion: "1",
		Sender: d.o.Client.ID, Type: envelopev1.MessageType_MESSAGE_TYPE_REQUEST, MessageDate: timestamppb.New(now),
		UserId: a.ApplicantIIN, Region: a.Region,
		PayloadType: string((&envelopev1.SignedDocument{}).ProtoReflect().Descriptor().FullName()), Payload: payload,
	}
	se, err := d.o.Client.Signer.SignEnvelope(env)
	if err != nil {
		return err
	}
	signed, err := proto.Marshal(se)
	if err != nil {
		return err
	}
	err = d.store.Submit(ctx, store.Submission{Owner: owner, ID: id, Signer: res.Holder.Name, MessageID: msgID, TraceParent: natsbus.TraceParent(ctx),
		Signature: signature, Envelope: signed},
		Status{Status: StatusSubmitted, At: now, Seq: lifecycle.SeqSubmitted,
			TextRU: "Заявление подписано ЭЦП и отправлено через ШЭП", TextKK: "Өтінішке ЭЦҚ қойылып, ЭҮШ арқылы жіберілді"})
	if errors.Is(err, store.ErrNotDraft) {
		return fmt.Errorf("%w meanwhile", ErrSubmitted)
	}
	if err != nil {
		// The commit may have happened with its answer lost (PostgreSQL crashed or the connection broke
		// after COMMIT reached it): the row tells, by this submission's message id.
		sent, cerr := d.store.SubmittedWith(ctx, id, msgID)
		switch {
		case cerr != nil:
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, errors.Join(err, cerr))
		case !sent:
			return err
		}
		d.o.Log.WarnContext(ctx, "application submitted; the commit's answer was lost", "application", id, "error", err)
	}
	d.count(ctx, d.submitted, a.ServiceCode)
	d.o.Log.InfoContext(ctx, "application submitted", "application", id, "service", a.ServiceCode, "region", a.Region,
		"applicant", iin.Mask(a.ApplicantIIN), "message_id", msgID)
	if d.outbox != nil {
		d.outbox.Poke()
	}
	return nil
}

func refusalText(p *catalog.Passport, code string) catalog.Text {
	for _, r := range p.Refusals {
		if r.Code == code {
			return r.Text
		}
	}
	return catalog.Text{RU: "отказ в оказании услуги", KK: "қызмет көрсетуден бас тарту"}
}

// Forward publishes submitted applications to ШЭП until ctx ends (the outbox).
func (d *Desk) Forward(ctx context.Context, interval time.Duration) error {
	return d.outbox.Forward(ctx, interval)
}

// ForwardOnce publishes up to limit unsent applications and returns how many it sent.
func (d *Desk) ForwardOnce(ctx context.Context, limit int) (int, error) {
	return d.outbox.ForwardOnce(ctx, limit)
}

// Handle records what ШЭП delivers to the channel (the intake of statuses).
func (d *Desk) Handle(ctx context.Context, dv *shepsdk.Delivery) error {
	return d.intake.Handle(ctx, dv)
}
