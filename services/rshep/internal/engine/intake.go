package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/cases"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
	"github.com/egov-suite/egov/services/rshep/internal/store"
	"github.com/egov-suite/egov/shepsdk"
)

// PayloadType is the payload of an application envelope: the application, signed by a person.
var PayloadType = string((&envelopev1.SignedDocument{}).ProtoReflect().Descriptor().FullName())

// MediaTypeApplication is the media type of a signed application's content.
const MediaTypeApplication = applicationv1.MediaTypeApplication

// Handler returns the delivery handler of region's node, for shepsdk.Client.Receive.
func (e *Engine) Handler(region string) shepsdk.Handler {
	return func(ctx context.Context, d *shepsdk.Delivery) error { return e.Handle(ctx, region, d) }
}

// Handle processes one delivery to region's node. It returns nil once the application is registered (or
// refused and recorded) and its automatic work done; an error leaves the delivery to ШЭП's redelivery,
// which registration's idempotency absorbs.
func (e *Engine) Handle(ctx context.Context, region string, d *shepsdk.Delivery) error {
	if n := d.Notification; n != nil {
		e.o.Log.DebugContext(ctx, "delivery state", "message_id", n.GetMessageId(), "state", n.GetState().String())
		return nil
	}
	env := d.Envelope
	ctx, span := otel.Tracer("egov/rshep").Start(ctx, "rshep.intake", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("egov.region", region), attribute.String("egov.message_id", env.GetMessageId())))
	defer span.End()
	in, refusal, err := e.open(ctx, region, env, "")
	if err != nil {
		return err // could not decide now (a certificate status nobody could give): the delivery comes again
	}
	if in.app != nil {
		span.SetAttributes(attribute.String("egov.application_id", in.app.GetApplicationId()))
	}
	if refusal != nil {
		return e.reject(ctx, region, env, in, refusal)
	}
	id, err := e.register(ctx, region, env, in)
	if err != nil {
		return err
	}
	return e.Advance(ctx, id)
}

// refusal is why an application is refused at intake.
type refusal struct {
	passport *catalog.Passport
	code     string
	text     catalog.Text
	// detail says what failed, in both languages: the applicant reads it in theirs. A technical detail
	// (a malformed envelope, which no person typed) is the same text in both.
	detail catalog.Text
}

// same is a detail with one text for both languages.
func same(s string) catalog.Text { return catalog.Text{RU: s, KK: s} }

// intake is an opened application.
type intake struct {
	app      *applicationv1.Application
	signed   *envelopev1.SignedDocument
	passport *catalog.Passport
	// office is an application the provider's clerk entered in АРМ: it has no channel to notify.
	office bool
	// clerk is who entered an office application; the registration is theirs.
	clerk Employee
}

var textUnknownService = catalog.Text{
	RU: "услуга не оказывается этим услугодателем: неизвестная услуга или регион",
	KK: "бұл қызметті осы қызмет беруші көрсетпейді: белгісіз қызмет немесе өңір",
}

var textMalformed = catalog.Text{
	RU: "заявление не может быть прочитано: нарушена структура электронного документа",
	KK: "өтінішті оқу мүмкін емес: электрондық құжаттың құрылымы бұзылған",
}

// open reads, checks and validates an application envelope; clerk is the signed-in clerk's IIN for an
// application entered at the office, "" for a channel's.
func (e *Engine) open(ctx context.Context, region string, env *envelopev1.Envelope, clerk string) (*intake, *refusal, error) {
	in := &intake{office: clerk != ""}
	if env.GetType() != envelopev1.MessageType_MESSAGE_TYPE_REQUEST || env.GetPayloadType() != PayloadType {
		return in, &refusal{code: "malformed", text: textMalformed,
			detail: same(fmt.Sprintf("expected a REQUEST carrying %s, got %s carrying %q", PayloadType, env.GetType(), env.GetPayloadType()))}, nil
	}
	in.signed = new(envelopev1.SignedDocument)
	in.app = new(applicationv1.Application)
	if err := proto.Unmarshal(env.GetPayload(), in.signed); err != nil {
		return in, &refusal{code: "malformed", text: textMalformed, detail: same("payload: " + err.Error())}, nil //nolint:nilerr // a malformed payload is refused, not retried
	}
	if in.signed.GetMediaType() != MediaTypeApplication {
		return in, &refusal{code: "malformed", text: textMalformed, detail: same(fmt.Sprintf("document media type %q, want %s", in.signed.GetMediaType(), MediaTypeApplication))}, nil
	}
	if err := proto.Unmarshal(in.signed.GetContent(), in.app); err != nil {
		return in, &refusal{code: "malformed", text: textMalformed, detail: same("application: " + err.Error())}, nil //nolint:nilerr // a malformed application is refused, not retried
	}
	a := in.app
	if a.GetApplicationId() == "" {
		return in, &refusal{code: "malformed", text: textMalformed, detail: same("the application has no id")}, nil
	}
	p, ok := e.o.Catalog.Get(a.GetServiceCode(), a.GetRegion())
	// A passport of another provider system (ИС Е-Астана) is not the node's to run.
	if !ok || a.GetRegion() != region || p.Provider.Participant != ParticipantID(region) {
		return in, &refusal{code: "unknown_service", text: textUnknownService,
			detail: same(fmt.Sprintf("no passport %q for region %q at the node of region %s", a.GetServiceCode(), a.GetRegion(), region))}, nil
	}
	in.passport = p
	channel := catalog.ChannelName(a.GetChannel())
	if (channel == "office") != in.office {
		// The office is the provider's own АРМ: an application claiming it through ШЭП, or a channel's
		// application entered at the office, is neither.
		return in, e.ground(p, catalog.IntakeRefusal, catalog.Text{
			RU: fmt.Sprintf("заявление канала %q не принимается этим способом: канцелярия регистрирует заявления только в АРМ услугодателя", channel),
			KK: fmt.Sprintf("%q арнасының өтініші бұл тәсілмен қабылданбайды: кеңсе өтініштерді тек қызмет берушінің АЖО-сында тіркейді", channel)}), nil
	}
	if !slices.Contains(p.Channels, channel) {
		return in, e.ground(p, catalog.IntakeRefusal, catalog.Text{
			RU: fmt.Sprintf("услуга не оказывается через канал %q (паспорт: %s)", channel, strings.Join(p.Channels, ", ")),
			KK: fmt.Sprintf("қызмет %q арнасы арқылы көрсетілмейді (паспорт: %s)", channel, strings.Join(p.Channels, ", "))}), nil
	}
	// The person's signature: the applicant's own on the portal; a ЦОН operator's (an employee's
	// certificate) at a ЦОН or an employee's at the provider's office.
	want := ""
	switch {
	case channel == "portal":
		want = a.GetApplicantIin()
	case in.office:
		want = clerk // the clerk signed in to АРМ signs, with their own key
	}
	res, err := e.Verifier(region).VerifyDocument(ctx, in.signed, want)
	if envelope.CodeOf(err) == envelope.CodeStatusUnavailable {
		return in, nil, fmt.Errorf("engine: the signer's certificate status: %w", err)
	}
	if err != nil {
		ru, kk, _ := envelope.Refusal(err)
		if kk == "" {
			kk = ru
		}
		return in, e.ground(p, "eds_not_confirmed", catalog.Text{RU: ru, KK: kk}), nil
	}
	if channel != "portal" && res.Holder.BIN == "" {
		return in, e.ground(p, "eds_not_confirmed", catalog.Text{
			RU: "заявление через ЦОН подписывается ЭЦП работника (оператора), а не физического лица",
			KK: "ХҚКО арқылы берілетін өтінішке жеке тұлға емес, қызметкердің (оператордың) ЭЦҚ-сымен қол қойылады"}), nil
	}
	// At the office the clerk signs for the provider: the organisation in the certificate must be the
	// provider's (a passport naming no BIN, as 51's district departments, cannot be checked; see its decisions).
	if channel == "office" && p.Provider.BIN != "" && res.Holder.BIN != p.Provider.BIN {
		return in, e.ground(p, "eds_not_confirmed", catalog.Text{
			RU: fmt.Sprintf("заявление в канцелярии подписывает работник услугодателя (БИН %s), а не БИН %s", p.Provider.BIN, res.Holder.BIN),
			KK: fmt.Sprintf("кеңседегі өтінішке қызмет берушінің қызметкері (БСН %s) қол қояды, БСН %s емес", p.Provider.BIN, res.Holder.BIN)}), nil
	}
	if problems := p.CheckApplicationText(a); len(problems) > 0 {
		return in, e.ground(p, p.IntakeGround(channel), catalog.JoinTexts(problems, "; ")), nil
	}
	if problem, ok := checkEmail(p, a.GetFields()); !ok {
		return in, e.ground(p, p.IntakeGround(channel), problem), nil
	}
	return in, nil, nil
}

// ground is a refusal on one of the passport's grounds (the intake ground when it lacks code).
func (e *Engine) ground(p *catalog.Passport, code string, detail catalog.Text) *refusal {
	for _, r := range p.Refusals {
		if r.Code == code {
			return &refusal{passport: p, code: code, text: r.Text, detail: detail}
		}
	}
	for _, r := range p.Refusals {
		if r.Code == catalog.IntakeRefusal {
			return &refusal{passport: p, code: r.Code, text: r.Text, detail: detail}
		}
	}
	return &refusal{passport: p, code: code, text: textMalformed, detail: detail}
}

// reject records a refusal at intake, once per envelope, and notifies the sender.
func (e *Engine) reject(ctx context.Context, region string, env *envelopev1.Envelope, in *intake, r *refusal) error {
	a := in.app
	if a == nil {
		a = &applicationv1.Application{}
	}
	now := e.o.Now()
	err := pgdb.InTx(ctx, e.o.DB, func(tx pgx.Tx) error {
		fresh, err := store.Reject(ctx, tx, store.Rejection{Sender: env.GetSender(), MessageID: env.GetMessageId(), At: now, Region: region,
			ServiceCode: a.GetServiceCode(), ApplicationID: a.GetApplicationId(), RefusalCode: r.code, Detail: r.detail.RU})
		if err != nil || !fresh {
			return err
		}
		c := &Case{Region: region, ServiceCode: a.GetServiceCode(), ApplicationID: a.GetApplicationId(), ReplyTo: env.GetSender(),
			CorrelationID: env.GetMessageId(), ApplicantIIN: a.GetApplicantIin(), Language: a.GetLanguage(), NotifySeq: 1}
		n := e.notification(c, r.passport, "REFUSED", now)
		n.RefusalCode, n.Reason, n.Comment = r.code, &applicationv1.LocalizedText{Ru: r.text.RU, Kk: r.text.KK}, r.detail.RU
		n.CommentText = &applicationv1.LocalizedText{Ru: r.detail.RU, Kk: r.detail.KK}
		return e.enqueue(ctx, tx, c, n, now)
	})
	if err != nil {
		return fmt.Errorf("engine: record the refusal of %s: %w", env.GetMessageId(), err)
	}
	e.add(ctx, e.count.rejected, region, a.GetServiceCode())
	e.o.Log.InfoContext(ctx, "application refused at intake", "region", region, "message_id", env.GetMessageId(),
		"service", a.GetServiceCode(), "refusal", r.code, "detail", r.detail.RU)
	e.poke()
	return nil
}

// register registers the application (or finds its registration) and returns the case id.
func (e *Engine) register(ctx context.Context, region string, env *envelopev1.Envelope, in *intake) (int64, error) {
	a, p := in.app, in.passport
	now := e.o.Now()
	var id int64
	err := pgdb.InTxPipelined(ctx, e.o.DB, func(tx pgx.Tx) error {
		provider := p.Provider.BIN
		if provider == "" {
			provider = p.Code + "/" + p.Region
		}
		// The signed bytes are the application's identity: the same application in a new envelope (the
		// channel re-sent it) answers with its case and number.
		digest := sha256.Sum256(in.signed.GetContent())
		reg, err := cases.Register(ctx, tx, cases.Application{Sender: env.GetSender(), MessageID: env.GetMessageId(), Digest: digest[:],
			Provider: provider, ServiceCode: p.Code, Region: p.Region}, now)
		if err != nil {
			return err
		}
		id = reg.ID
		if reg.New {
			// The case keeps the version it is registered under (RecordPassports stored it at start;
			// this covers a version another replica loaded since).
			if err := recordPassport(ctx, tx, p); err != nil {
				return err
			}
		}
		if !reg.New {
			e.o.Log.InfoContext(ctx, "application registered before; its case stands", "region", region, "message_id", env.GetMessageId(),
				"application", a.GetApplicationId(), "number", reg.Number)
			return nil
		}
		signed, err := proto.Marshal(in.signed)
		if err != nil {
			return err
		}
		docs := make([]Document, 0, len(a.GetDocuments()))
		for _, d := range a.GetDocuments() {
			doc := Document{ID: d.GetId(), PaperReceived: d.GetPaperReceived()}
			if att := d.GetAttachment(); att != nil {
				doc.Name, doc.MediaType, doc.Size, doc.SHA256, doc.ObjectKey = att.GetName(), att.GetMediaType(), att.GetSize(),
					hex.EncodeToString(att.GetSha256()), att.GetObjectKey()
			}
			docs = append(docs, doc)
		}
		lang := a.GetLanguage()
		if lang != "kk" {
			lang = "ru"
		}
		replyTo := env.GetSender()
		if in.office {
			replyTo = "" // nobody to notify: the statuses are shown in АРМ and on the receipt's status page
		}
		c, err := store.Fill(ctx, tx, id, store.Filled{ApplicationID: a.GetApplicationId(), Channel: catalog.ChannelName(a.GetChannel()),
			ReplyTo: replyTo, CorrelationID: env.GetMessageId(), ApplicantIIN: a.GetApplicantIin(), Language: lang,
			PassportVersion: p.Version, Form: a.GetFields(), Documents: docs, Application: signed, TraceContext: natsbus.TraceParent(ctx)})
		if err != nil {
			return err
		}
		// The whole term from now: the passport's term, or every step's term one after the other.
		due := rules.ServiceDue(e.cal, p, now)
		c.DueAt = &due
		by := Event{At: now, Actor: "system", ActorName: ParticipantID(region), Role: "system", Action: ActRegistered, Status: "REGISTERED", Note: reg.Number}
		if in.office {
			by.Actor, by.ActorName, by.Role = in.clerk.IIN, in.clerk.Name, "clerk"
		}
		if err := store.AddEvent(ctx, tx, id, by); err != nil {
			return err
		}
		if len(checksFor(p, c.Channel)) == 0 { // nothing to ask the registries: done in this transaction
			c.ChecksDone = true
			if err := store.AddEvent(ctx, tx, id, Event{At: now, Actor: "system", ActorName: ParticipantID(region), Role: "system",
				Action: ActChecked, Note: "нет проверок по регистрам для канала " + c.Channel,
				NoteKK: c.Channel + " арнасы үшін тізілімдер бойынша тексерулер жоқ"}); err != nil {
				return err
			}
		}
		if err := e.setStatus(ctx, tx, c, p, "REGISTERED", now, nil); err != nil {
			return err
		}
		if err := e.scheduleService(ctx, tx, c); err != nil {
			return err
		}
		if err := e.enterStep(ctx, tx, c, p, 0, now); err != nil {
			return err
		}
		if err := e.armTimers(ctx, tx, c, p); err != nil {
			return err
		}
		return store.Save(ctx, tx, c)
	})
	if err != nil {
		return 0, fmt.Errorf("engine: register %s: %w", env.GetMessageId(), err)
	}
	e.add(ctx, e.count.registered, region, p.Code)
	e.poke()
	return id, nil
}

// checksFor returns the passport's registry checks on channel.
func checksFor(p *catalog.Passport, channel string) []catalog.Check {
	var out []catalog.Check
	for _, ch := range p.Checks {
		if slices.Contains(ch.Channels, channel) {
			out = append(out, ch)
		}
	}
	return out
}
