// Package applicant is the side of ШЭП that a citizen's application starts from, shared by ПЭП (the
// portal) and the ЦОН desk: it drafts an application from a passport's form, takes the person's
// signature over exactly those bytes, checks it (condition 2 of the regulations: the certificate's
// validity period, its revocation, the IIN in it), sends the signed application through ШЭП to the
// region's РШЭП, and records every status that comes back — ШЭП's delivery receipt and РШЭП's
// notifications — once each, in order, with the result document when there is one.
//
// Sending goes through an outbox: the signed envelope is stored in the same transaction that marks the
// application submitted, and a forwarder publishes stored envelopes until ШЭП has them. A crash between
// the two re-sends the very same message, which ШЭП's de-duplication drops.
package applicant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/serve"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create the applications and statuses tables (version 0500).
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// Statuses kept beside РШЭП's (CaseStatus without its prefix).
const (
	StatusDraft     = "DRAFT"
	StatusSubmitted = "SUBMITTED"
	StatusDelivered = "DELIVERED"
	// StatusNotDelivered is ШЭП's answer that the message could not be delivered.
	StatusNotDelivered = "NOT_DELIVERED"
	StatusRefused      = "REFUSED"
	StatusResultIssued = "RESULT_ISSUED"
	StatusHandedOver   = "HANDED_OVER"
	StatusUnclaimed    = "UNCLAIMED"
	// StatusUnknown is a status of РШЭП's this channel has no name for (a newer contract).
	StatusUnknown = "UNKNOWN"
)

// The order of the statuses a channel adds around РШЭП's (whose sequence counts from 1): the draft,
// the signature (or its refusal), ШЭП's delivery receipt, and last the ЦОН's hand-over. The receipt may
// be stamped a moment after РШЭП registered the application; it is still shown before.
const (
	seqDraft     = -3
	seqSubmitted = -2
	seqDelivered = -1
	seqHandOver  = 1 << 20
)

// Options build a desk.
type Options struct {
	// Client is the channel's ШЭП participant (portal, tson).
	Client *shepsdk.Client
	DB     *pgxpool.Pool
	// Catalog holds the passports the forms come from.
	Catalog *catalog.Catalog
	// Channel is the channel's name in the contract.
	Channel applicationv1.Channel
	Now     func() time.Time
	Log     *slog.Logger
}

// Desk is one channel's applications.
type Desk struct {
	o    Options
	wake chan struct{}
}

// New builds a desk.
func New(o Options) *Desk {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Desk{o: o, wake: make(chan struct{}, 1)}
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

// Application is an application as the channel keeps it.
type Application struct {
	ID                string
	Owner             string
	Channel           string
	ServiceCode       string
	Region            string
	ApplicantIIN      string
	RepresentativeIIN string
	Language          string
	Content           []byte
	Signature         []byte
	Signer            string
	MessageID         *string
	Status            string
	Number            string
	Deadline          *time.Time
	CreatedAt         time.Time
	SubmittedAt       *time.Time
	SentAt            *time.Time
	ResultMediaType   string
	ResultContent     []byte
	ResultSignature   []byte
	ClosedAt          *time.Time
	HandedOverAt      *time.Time
	HandedOverBy      string
	UnclaimedAt       *time.Time
	// Doc is Content, read.
	Doc *applicationv1.Application
}

// Closed reports whether the application has reached a final state.
func (a *Application) Closed() bool { return a.ClosedAt != nil }

// Status is one status the citizen sees.
type Status struct {
	Status   string
	At       time.Time
	Seq      int
	TextRU   string
	TextKK   string
	ReasonRU string
	ReasonKK string
	Comment  string
}

// ErrNotFound is an application that does not exist or is not the owner's.
var ErrNotFound = errors.New("applicant: no such application")

// Problems are what is wrong with a draft, in Russian, as the form shows them.
type Problems []string

func (p Problems) Error() string { return fmt.Sprintf("%d problems in the application", len(p)) }

// Draft checks an application against its passport and records it unsigned. The application's id,
// channel and time are set here; the bytes stored are the bytes the person will sign.
func (d *Desk) Draft(ctx context.Context, owner string, a *applicationv1.Application) (string, error) {
	p, ok := d.o.Catalog.Get(a.GetServiceCode(), a.GetRegion())
	if !ok || !slices.Contains(p.Channels, d.ChannelName()) {
		return "", Problems{fmt.Sprintf("услуга %q в регионе %q через этот канал не оказывается", a.GetServiceCode(), a.GetRegion())}
	}
	now := d.o.Now()
	a.ApplicationId, a.Channel, a.SubmittedAt = uuid.NewString(), d.o.Channel, timestamppb.New(now)
	if problems := p.CheckApplication(a); len(problems) > 0 {
		return "", Problems(problems)
	}
	content, err := proto.Marshal(a)
	if err != nil {
		return "", err
	}
	err = pgdb.InTxPipelined(ctx, d.o.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO applications (id, owner, channel, service_code, region, applicant_iin, representative_iin,
			language, content, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.GetApplicationId(), owner, d.ChannelName(), a.GetServiceCode(), a.GetRegion(), a.GetApplicantIin(),
			a.GetFields()["representative_iin"], a.GetLanguage(), content, StatusDraft, now); err != nil {
			return err
		}
		return addStatus(ctx, tx, a.GetApplicationId(), "local:"+StatusDraft, Status{Status: StatusDraft, At: now, Seq: seqDraft,
			TextRU: "Заявление сформировано и ожидает подписи ЭЦП", TextKK: "Өтініш қалыптастырылды және ЭЦҚ қолын күтуде"})
	})
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

// Refused is a signature that fails condition 2: the application is refused with the passport's text.
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
// (the portal: the applicant's own IIN; a ЦОН: the operator's organisation BIN). When it does not, the
// application is refused here, with the passport's text, and *Refused is returned; when it does, the
// application is signed into a ШЭП envelope and queued for sending, in one transaction.
func (d *Desk) Submit(ctx context.Context, owner, id string, signature []byte, want envelope.Expect) error {
	a, err := d.Get(ctx, owner, id)
	if err != nil {
		return err
	}
	if a.Status != StatusDraft {
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
		r := &Refused{Text: refusalText(p, "eds_not_confirmed"), DetailRU: ru, DetailKK: kk, Err: verr}
		err := pgdb.InTx(ctx, d.o.DB, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE applications SET status = $3, signature = $4, closed_at = $5 WHERE id = $1 AND owner = $2 AND status = 'DRAFT'`,
				id, owner, StatusRefused, signature, now)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			return addStatus(ctx, tx, id, "local:"+StatusRefused, Status{Status: StatusRefused, At: now, Seq: seqSubmitted, TextRU: r.Text.RU, TextKK: r.Text.KK,
				ReasonRU: r.Text.RU, ReasonKK: r.Text.KK, Comment: ru})
		})
		if err != nil {
			return err
		}
		d.o.Log.InfoContext(ctx, "application refused: the signature fails condition 2", "application", id, "reason", string(envelope.CodeOf(verr)))
		return r
	}
	payload, err := proto.Marshal(&envelopev1.SignedDocument{MediaType: applicationv1.MediaTypeApplication, Content: a.Content, Signature: signature})
	if err != nil {
		return err
	}
	msgID := uuid.NewString()
	env := &envelopev1.Envelope{
		MessageId: msgID, CorrelationId: msgID, ServiceId: applicationv1.ServiceID(a.Region), ServiceVersion: "1",
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
	err = pgdb.InTx(ctx, d.o.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE applications SET status = $3, signature = $4, signer = $5, envelope = $6, message_id = $7, submitted_at = $8,
			trace_context = $9 WHERE id = $1 AND owner = $2 AND status = 'DRAFT'`,
			id, owner, StatusSubmitted, signature, res.Holder.Name, signed, msgID, now, natsbus.TraceParent(ctx))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w meanwhile", ErrSubmitted)
		}
		return addStatus(ctx, tx, id, "local:"+StatusSubmitted, Status{Status: StatusSubmitted, At: now, Seq: seqSubmitted,
			TextRU: "Заявление подписано ЭЦП и отправлено через ШЭП", TextKK: "Өтінішке ЭЦҚ қойылып, ЭҮШ арқылы жіберілді"})
	})
	if err != nil && !errors.Is(err, ErrSubmitted) {
		// The commit may have happened with its answer lost (PostgreSQL crashed or the connection broke
		// after COMMIT reached it): the row tells, by this submission's message id.
		var sent bool
		cerr := d.o.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM applications WHERE id = $1 AND message_id = $2)`, id, msgID).Scan(&sent)
		switch {
		case cerr != nil:
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, errors.Join(err, cerr))
		case sent:
			d.o.Log.WarnContext(ctx, "application submitted; the commit's answer was lost", "application", id, "error", err)
			err = nil
		}
	}
	if err != nil {
		return err
	}
	d.o.Log.InfoContext(ctx, "application submitted", "application", id, "service", a.ServiceCode, "region", a.Region,
		"applicant", iin.Mask(a.ApplicantIIN), "message_id", msgID)
	d.poke()
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

func addStatus(ctx context.Context, tx pgx.Tx, id, key string, s Status) error {
	_, err := tx.Exec(ctx, `INSERT INTO statuses (application_id, key, seq, status, at, text_ru, text_kk, reason_ru, reason_kk, comment)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		id, key, s.Seq, s.Status, s.At, s.TextRU, s.TextKK, s.ReasonRU, s.ReasonKK, s.Comment)
	return err
}

func (d *Desk) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Forward publishes submitted applications to ШЭП until ctx ends: at once after a submission, and every
// interval for those a failure or another replica left behind.
func (d *Desk) Forward(ctx context.Context, interval time.Duration) error {
	return serve.Repeat(ctx, interval, d.wake, d.o.Log, "applications: publish",
		func(ctx context.Context) (int, error) { return d.ForwardOnce(ctx, 64) })
}

// ForwardOnce publishes up to limit unsent applications and returns how many it sent.
func (d *Desk) ForwardOnce(ctx context.Context, limit int) (int, error) {
	sent := 0
	err := pgdb.InTx(ctx, d.o.DB, func(tx pgx.Tx) error {
		sent = 0
		rows, err := tx.Query(ctx, `SELECT id, message_id, envelope, trace_context FROM applications WHERE envelope IS NOT NULL AND sent_at IS NULL
			ORDER BY submitted_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		type row struct {
			id, msgID, trace string
			b                []byte
		}
		rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.msgID, &x.b, &x.trace)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, x := range rs {
			// The publication continues the trace the application was signed in.
			pctx, span := d.tracer().Start(natsbus.WithTraceParent(ctx, x.trace), "applicant.send", trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(attribute.String("egov.application_id", x.id), attribute.String("egov.message_id", x.msgID)))
			err := d.o.Client.Publish(pctx, x.msgID, x.b)
			span.End()
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE applications SET sent_at = $2 WHERE id = $1`, x.id, d.o.Now()); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	return sent, err
}

// Handle records what ШЭП delivers to the channel: delivery receipts of its applications and РШЭП's
// status notifications. Each is recorded once, whatever the number of deliveries.
func (d *Desk) Handle(ctx context.Context, dv *shepsdk.Delivery) error {
	if n := dv.Notification; n != nil {
		status := ""
		switch n.GetState() {
		case shepv1.MessageState_MESSAGE_STATE_DELIVERED:
			status = StatusDelivered
		case shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED, shepv1.MessageState_MESSAGE_STATE_DELIVERY_STOPPED:
			status = StatusNotDelivered
		default:
			return nil
		}
		return pgdb.InTx(ctx, d.o.DB, func(tx pgx.Tx) error {
			var (
				id  string
				env []byte
			)
			err := tx.QueryRow(ctx, `SELECT id, envelope FROM applications WHERE message_id = $1`, n.GetMessageId()).Scan(&id, &env)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // a receipt of another message of this participant
			}
			if err != nil {
				return err
			}
			if why := copyRefusal(n, env); why != "" {
				d.o.Log.WarnContext(ctx, "applications: ШЭП refused a copy under the message id of an application; the application stands",
					"application", id, "message_id", n.GetMessageId(), "why", why, "code", n.GetStatus().GetCode())
				return nil
			}
			s := Status{Status: status, At: n.GetTime().AsTime(), Seq: seqDelivered,
				TextRU: "Заявление доставлено услугодателю через ШЭП", TextKK: "Өтініш ЭҮШ арқылы қызмет берушіге жеткізілді"}
			if status == StatusNotDelivered {
				s.TextRU, s.TextKK, s.Comment = "Заявление не доставлено услугодателю", "Өтініш қызмет берушіге жеткізілмеді", n.GetStatus().GetCode()+": "+n.GetStatus().GetMessage()
			}
			return addStatus(ctx, tx, id, "shep:"+status, s)
		})
	}
	e := dv.Envelope
	if e.GetType() != envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION {
		d.o.Log.WarnContext(ctx, "applications: an envelope that is not a notification is ignored", "message_id", e.GetMessageId(), "type", e.GetType().String())
		return nil
	}
	n := new(applicationv1.StatusNotification)
	if err := proto.Unmarshal(e.GetPayload(), n); err != nil {
		d.o.Log.WarnContext(ctx, "applications: unreadable notification ignored", "message_id", e.GetMessageId(), "error", err)
		return nil
	}
	return d.record(ctx, n)
}

// copyRefusal says why a NOT_DELIVERED notice is about a copy of the application's message rather than
// the message itself, or "" when it is about the message. ШЭП refuses a message id used before (the
// channel re-sent the very same message, e.g. after a NATS restart: ШЭП holds the first) and names the
// bytes it refused (a copy with one byte flipped is another message, whoever published it). Neither
// says anything of the message ШЭП accepted, whose own receipts tell its fate.
func copyRefusal(n *shepv1.DeliveryNotification, env []byte) string {
	if n.GetState() != shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED {
		return ""
	}
	if n.GetStatus().GetCode() == shepv1.CodeDuplicate {
		return "a later copy of a message ШЭП holds"
	}
	if got := n.GetRefusedSha256(); len(got) > 0 {
		want := sha256.Sum256(env)
		if !bytes.Equal(got, want[:]) {
			return "the refused bytes are not the application's"
		}
	}
	return ""
}

// fill puts the registration number and the deadline into a notification's text, where the passport's
// text has {number} and {deadline}.
func fill(text string, n *applicationv1.StatusNotification) string {
	deadline := "—"
	if n.GetDeadline() != nil {
		deadline = n.GetDeadline().AsTime().In(calendar.Zone).Format("02.01.2006 15:04")
	}
	return strings.NewReplacer("{number}", n.GetRegistrationNumber(), "{deadline}", deadline).Replace(text)
}

func (d *Desk) tracer() trace.Tracer { return otel.Tracer("egov/" + d.ChannelName()) }

// caseStatus is the name of a notification's status without its prefix, and whether this channel knows
// it: a newer РШЭП may send a status this build has no name for (its String is then a number).
func caseStatus(s applicationv1.CaseStatus) (string, bool) {
	name, ok := strings.CutPrefix(s.String(), "CASE_STATUS_")
	if !ok || s == applicationv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
		return StatusUnknown, false
	}
	return name, true
}

func (d *Desk) record(ctx context.Context, n *applicationv1.StatusNotification) error {
	status, known := caseStatus(n.GetStatus())
	if !known {
		// Recorded all the same, with РШЭП's text, so the citizen loses nothing and the list stays
		// complete (it closes only when no sequence is missing); the application's own status stays.
		d.o.Log.WarnContext(ctx, "applications: a notification with a status this channel does not know", "application", n.GetApplicationId(),
			"status", int32(n.GetStatus()), "sequence", n.GetSequence())
	}
	ctx, span := d.tracer().Start(ctx, "applicant.status", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("egov.application_id", n.GetApplicationId()), attribute.String("egov.status", status)))
	defer span.End()
	// Pipelined: the updates after the status row go to the server together with the commit.
	return pgdb.InTxPipelined(ctx, d.o.DB, func(tx pgx.Tx) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT status FROM applications WHERE id = $1 FOR UPDATE`, n.GetApplicationId()).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			d.o.Log.WarnContext(ctx, "applications: a notification of an unknown application", "application", n.GetApplicationId(), "status", status)
			return nil
		}
		if err != nil {
			return err
		}
		s := Status{Status: status, At: n.GetTime().AsTime(), Seq: int(n.GetSequence()), TextRU: fill(n.GetText().GetRu(), n),
			TextKK: fill(n.GetText().GetKk(), n), ReasonRU: n.GetReason().GetRu(), ReasonKK: n.GetReason().GetKk(), Comment: n.GetComment()}
		var one int
		err = tx.QueryRow(ctx, `INSERT INTO statuses (application_id, key, seq, status, at, text_ru, text_kk, reason_ru, reason_kk, comment)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING 1`,
			n.GetApplicationId(), fmt.Sprintf("rshep:%d", n.GetSequence()), s.Seq, s.Status, s.At, s.TextRU, s.TextKK, s.ReasonRU, s.ReasonKK, s.Comment).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a repeat: recorded before
		}
		if err != nil {
			return err
		}
		var deadline *time.Time
		if n.GetDeadline() != nil {
			t := n.GetDeadline().AsTime()
			deadline = &t
		}
		// The application's own status follows the newest notification (by РШЭП's sequence).
		_, err = tx.Exec(ctx, `UPDATE applications SET
				status = CASE WHEN $6 AND $2::int >= coalesce((SELECT max(seq) FROM statuses WHERE application_id = $1 AND key LIKE 'rshep:%'), 0) THEN $3 ELSE status END,
				number = CASE WHEN $4 <> '' THEN $4 ELSE number END,
				deadline = coalesce($5, deadline)
			WHERE id = $1`, n.GetApplicationId(), s.Seq, status, n.GetRegistrationNumber(), deadline, known)
		if err != nil {
			return err
		}
		if r := n.GetResult(); r != nil {
			if _, err := tx.Exec(ctx, `UPDATE applications SET result_media_type = $2, result_content = $3, result_signature = $4 WHERE id = $1`,
				n.GetApplicationId(), r.GetMediaType(), r.GetContent(), r.GetSignature()); err != nil {
				return err
			}
		}
		// Closed once the final notification is in and none before it is missing: notifications may
		// arrive out of order (a redelivery after a failure, concurrent workers), and the citizen's list
		// is complete only then.
		_, err = tx.Exec(ctx, `UPDATE applications a SET closed_at = coalesce(a.closed_at, $2)
			FROM (SELECT count(*) AS n, max(seq) AS last,
					-- a refusal at intake is РШЭП's first and only notification
					bool_or(status = 'RESULT_ISSUED' OR (status = 'REFUSED' AND seq = 1)) AS final
				FROM statuses WHERE application_id = $1 AND key LIKE 'rshep:%') r
			WHERE a.id = $1 AND r.final AND r.n = r.last`, n.GetApplicationId(), s.At)
		return err
	})
}
