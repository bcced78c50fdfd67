// Package intake decides an application that reached ИС Е-Астана's queue: the child looked up in ГБД ФЛ,
// the registration in the waiting list (a ticket with its number, or a referral at once), or the refusal,
// and the status notifications owed to the channel the application came from. Receiving the envelope and
// sending the notifications through ШЭП is the service's (eastana.go); this package holds the mapping.
package intake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/registries"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// The application's fields this service reads (the Astana passport's field ids).
const (
	FieldChildIIN     = "child_iin"
	FieldDistrict     = "district"
	FieldCategory     = "category"
	FieldEmail        = "email"
	FieldEmailConsent = "email_consent"
)

// City is the city part of a list's id.
const City = "astana"

// Local is the sender of the applications taken by ИС Е-Астана's own cabinets (the citizen's personal
// cabinet, the МИО working cabinet): their notifications are kept for the cabinets, not sent through ШЭП.
const Local = "eastana"

// DefaultTerm is the decision's term when none is configured: the passport's step «register» (3 working
// days, приложение 3, таблица 2, действие 6), applied to every channel (a decision: the passport is one
// for the four channels, and МИО receives on two days a week).
var DefaultTerm = catalog.Duration{Value: 3, Unit: "working_days"}

// Registry looks a person up in ГБД ФЛ: registries.Client, through ШЭП's sync channel as the participant
// eastana. A person the register does not have is registries.ErrNoRecord.
type Registry interface {
	Person(ctx context.Context, iin string) (*gbdflv1.Person, error)
}

// Intake registers applications in the queue and keeps them as the МИО employees' cases.
type Intake struct {
	Store    *store.Store
	DB       *pgxpool.Pool
	Registry Registry
	// Verifier checks the МИО employee's signature of a result (the suite's НУЦ trust anchors and
	// revocation); Sign refuses without one.
	Verifier *envelope.Verifier
	// Seal is ИС Е-Астана's system key: it signs the printable forms and the referrals the queue gives
	// on its own when a place is released.
	Seal *envelope.Signer
	// BIN, when set, must be the organisation in the employee's signing certificate (the МИО's).
	BIN string
	// VerifyURL is the portal's public address: when set, every signed result gets a printable PDF whose
	// QR code opens the portal's /verify.
	VerifyURL string
	// Calendar counts the working days of the decision's term (calendar.Default when nil); Term is the
	// term (the passport's deciding step; DefaultTerm when zero).
	Calendar *calendar.Calendar
	Term     catalog.Duration
	// Mail e-mails the result documents to the address given with consent (mail.go); nil: none.
	Mail *Mailing
	// Notices are the passport's notification texts by status (the contract's name without its prefix),
	// with their placeholders ({number}, {deadline}, {queue_number}, {queue_ahead}). When set (eastana.go
	// sets them from the built-in passport) every notification is worded by them, so what the citizen reads
	// is the passport's, edited in one place; unset, the intake's own texts stay.
	Notices map[string]catalog.Text

	// hook, set only by tests (export_test.go), runs at named points of Sign: "locking", after the
	// document was checked and laid out and before the locks are taken, and "locked", holding them. It
	// lets a test change the queue in between, or make others wait for the locks.
	hook func(ctx context.Context, point string) error
}

// word sets n's text to the passport's notice of its status, filled with the notification's number,
// deadline and queue place as the channels fill them (lifecycle.Fill), when the passport has one.
func (in *Intake) word(n *applicationv1.StatusNotification) {
	name, ok := strings.CutPrefix(n.GetStatus().String(), "CASE_STATUS_")
	t, found := in.Notices[name]
	if !ok || !found {
		return
	}
	n.Text = &applicationv1.LocalizedText{Ru: lifecycle.Fill(t.RU, n), Kk: lifecycle.Fill(t.KK, n)}
}

func (in *Intake) at(ctx context.Context, point string) error {
	if in.hook == nil {
		return nil
	}
	return in.hook(ctx, point)
}

// Origin is who sent an application through ШЭП: the channel's participant and the conversation its
// statuses continue. Sender Local is ИС Е-Астана's own cabinets.
type Origin struct {
	Sender        string
	CorrelationID string
	// ApplicantIIN is the applicant's, whom the envelopes of the statuses name (envelope user_id).
	ApplicantIIN string
}

// deadline is the decision's deadline for an application received at now.
func (in *Intake) deadline(now time.Time) time.Time {
	c, term := in.Calendar, in.Term
	if c == nil {
		c = calendar.Default()
	}
	if term.Value == 0 {
		term = DefaultTerm
	}
	return term.From(c, now)
}

// execer is a transaction or the pool.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// TextRegistered is the passport's REGISTERED notification.
var TextRegistered = queue.Text{RU: "Заявление принято ИС Е-Астана", KK: "Өтінішті Е-Астана АЖ қабылдады"}

// keep records application a from origin as a case: its number, the queue's decision awaiting the
// employee's signature (refusal set: the queue refused it), or an automatic refusal (state refused, n
// set), with its first notification. It returns the notification.
func (in *Intake) keep(ctx context.Context, q execer, from Origin, a *applicationv1.Application, entryID *int64, refusal *queue.Refusal,
	automatic *applicationv1.StatusNotification, now time.Time) (*applicationv1.StatusNotification, error) {
	var seq int64
	if err := q.QueryRow(ctx, `SELECT nextval('application_numbers')`).Scan(&seq); err != nil {
		return nil, err
	}
	number := fmt.Sprintf("ЕА-%d-%06d", now.In(calendar.Zone).Year(), seq)
	state, deadline := "awaiting", in.deadline(now)
	n := automatic
	if n == nil {
		n = base(a, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, now, TextRegistered)
		n.Deadline = timestamppb.New(deadline)
	} else {
		state = "refused"
	}
	n.RegistrationNumber = number
	in.word(n)
	b, err := proto.Marshal(n)
	if err != nil {
		return nil, err
	}
	var code, ru, kk string
	if refusal != nil {
		code, ru, kk = refusal.Code, refusal.Text.RU, refusal.Text.KK
	}
	email := ""
	if a.GetFields()[FieldEmailConsent] == "yes" {
		email = a.GetFields()[FieldEmail]
	}
	var id int64
	err = q.QueryRow(ctx, `INSERT INTO applications (sender, application_id, correlation_id, applicant_iin, entry_id, notification, received_at,
			service_code, region, number, channel, child_iin, email, state, refusal_code, refusal_ru, refusal_kk, deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
		from.Sender, a.GetApplicationId(), from.CorrelationID, a.GetApplicantIin(), entryID, b, now,
		a.GetServiceCode(), a.GetRegion(), number, catalog.ChannelName(a.GetChannel()), a.GetFields()[FieldChildIIN], email, state,
		code, ru, kk, deadline).Scan(&id)
	if err != nil {
		return nil, err
	}
	// The first notification is the receiver's to send (a redelivery sends it again): it is kept, not
	// put in the outbox.
	if _, err := q.Exec(ctx, `INSERT INTO notifications (application, sequence, notification, created_at, outbox, sent_at)
		VALUES ($1, $2, $3, $4, false, $4)`, id, n.GetSequence(), b, now); err != nil {
		return nil, err
	}
	return n, nil
}

// Receive registers application a from origin once and answers it REGISTERED (sequence 1, with the
// application number and the decision's deadline): the child takes its queue number at once (by the
// time of receipt), or the queue's refusal is kept, and either awaits the МИО employee's signature (Sign).
// The first delivery writes the case and its notification in the registering transaction; a repeat
// returns the kept notification, so that a delivery whose notification could not be sent is answered the
// same on the next attempt.
func (in *Intake) Receive(ctx context.Context, from Origin, a *applicationv1.Application, now time.Time) (*applicationv1.StatusNotification, error) {
	if from.Sender == "" || a.GetApplicationId() == "" {
		return nil, errors.New("eastana: an application needs its sender and id")
	}
	if n, err := in.kept(ctx, from, a); n != nil || err != nil {
		return n, err
	}
	var n *applicationv1.StatusNotification
	d, err := in.decide(ctx, a, now, func(ctx context.Context, tx pgx.Tx, res store.Result, _ int64) error {
		id := res.Entry.ID
		var err error
		n, err = in.keep(ctx, tx, from, a, &id, nil, nil, now)
		return err
	})
	if err == nil && d.Refusal != nil {
		err = pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
			var err error
			n, err = in.keep(ctx, tx, from, a, nil, d.Refusal, nil, now)
			return err
		})
	}
	if pgdb.IsUniqueViolation(err) {
		// Another worker took the same application at once: its answer is the answer.
		return in.kept(ctx, from, a)
	}
	return n, err
}

// RefuseSignature keeps application a from origin as refused automatically, its applicant's ЭЦП not
// confirmed (eds_not_confirmed, the regulation's condition 2; comment says why), and returns the REFUSED
// notification (sequence 1); a repeat returns the kept one. No employee signs this refusal.
func (in *Intake) RefuseSignature(ctx context.Context, from Origin, a *applicationv1.Application, comment string, now time.Time) (*applicationv1.StatusNotification, error) {
	if from.Sender == "" || a.GetApplicationId() == "" {
		return nil, errors.New("eastana: an application needs its sender and id")
	}
	if n, err := in.kept(ctx, from, a); n != nil || err != nil {
		return n, err
	}
	r := &queue.Refusal{Code: "eds_not_confirmed", Text: TextEDS}
	n := Refused(a, r, now)
	n.Comment = comment
	var kept *applicationv1.StatusNotification
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		var err error
		kept, err = in.keep(ctx, tx, from, a, nil, r, n, now)
		return err
	})
	if pgdb.IsUniqueViolation(err) {
		return in.kept(ctx, from, a)
	}
	return kept, err
}

// TextEDS is the refusal of an application whose signature is not confirmed.
var TextEDS = queue.Text{
	RU: "Подпись заявления не подтверждена: проверьте срок и статус сертификата ЭЦП и подпишите заявление снова.",
	KK: "Өтініштің қолтаңбасы расталмады: ЭЦҚ сертификатының мерзімі мен мәртебесін тексеріп, өтінішке қайта қол қойыңыз.",
}

// kept is the first notification kept for an application already received, or nil.
func (in *Intake) kept(ctx context.Context, from Origin, a *applicationv1.Application) (*applicationv1.StatusNotification, error) {
	var b []byte
	err := in.DB.QueryRow(ctx, `SELECT notification FROM applications WHERE sender = $1 AND application_id = $2`,
		from.Sender, a.GetApplicationId()).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	n := new(applicationv1.StatusNotification)
	return n, proto.Unmarshal(b, n)
}

// Decision is what an application came to: the queue's result, or a refusal, and the notification.
type Decision struct {
	Result       *store.Result
	Refusal      *queue.Refusal
	Notification *applicationv1.StatusNotification
}

// Decide registers the child of application a at now, or refuses it with the queue's text. An error is a
// failure to decide (the register or the database could not be reached): the delivery is retried, nothing
// is written.
func (in *Intake) Decide(ctx context.Context, a *applicationv1.Application, now time.Time) (*Decision, error) {
	return in.decide(ctx, a, now, nil)
}

func (in *Intake) decide(ctx context.Context, a *applicationv1.Application, now time.Time,
	record func(context.Context, pgx.Tx, store.Result, int64) error) (*Decision, error) {
	refuse := func(r *queue.Refusal) *Decision {
		return &Decision{Refusal: r, Notification: Refused(a, r, now)}
	}
	childIIN := a.GetFields()[FieldChildIIN]
	if childIIN == "" {
		return refuse(RefuseNoChild), nil
	}
	listID, err := in.Store.Policy().ListID(City, a.GetFields()[FieldDistrict])
	if err != nil {
		var r *queue.Refusal
		if errors.As(err, &r) {
			return refuse(r), nil
		}
		return nil, err
	}
	person, err := in.Registry.Person(ctx, childIIN)
	var child *queue.Child
	switch {
	case errors.Is(err, registries.ErrNoRecord):
	case err != nil:
		return nil, fmt.Errorf("eastana: ГБД ФЛ: %w", err)
	default:
		if child, err = Child(person); err != nil {
			return nil, err
		}
	}
	res, err := in.Store.Register(ctx, store.Registration{ListID: listID, ApplicantIIN: a.GetApplicantIin(), Child: child,
		Category: a.GetFields()[FieldCategory], Channel: catalog.ChannelName(a.GetChannel()), Record: record}, now)
	var r *queue.Refusal
	if errors.As(err, &r) {
		return refuse(r), nil
	}
	if err != nil {
		return nil, err
	}
	ahead := int64(0)
	if res.Referral == nil {
		pos, err := in.Store.Position(ctx, res.Entry.ID)
		if err != nil {
			return nil, err
		}
		ahead = pos.Ahead
	}
	return &Decision{Result: &res, Notification: Registered(a, res, ahead, now)}, nil
}

// RefuseNoChild refuses an application without the child's IIN.
var RefuseNoChild = &queue.Refusal{Code: "no_child_iin", Text: queue.Text{
	RU: "В заявлении не указан ИИН ребёнка; укажите ИИН ребёнка и подайте заявление снова.",
	KK: "Өтініште баланың ЖСН-і көрсетілмеген; баланың ЖСН-ін көрсетіп, өтінішті қайта беріңіз.",
}}

// Child is the queue's view of a ГБД ФЛ record: its birth date, whether it is alive, and its parents and
// guardians (the family links whose relation to the child is parent or guardian).
func Child(p *gbdflv1.Person) (*queue.Child, error) {
	birth, err := time.Parse(time.DateOnly, p.GetBirthDate())
	if err != nil {
		return nil, fmt.Errorf("eastana: ГБД ФЛ birth date of %s: %w", p.GetIin(), err)
	}
	c := &queue.Child{IIN: p.GetIin(), BirthDate: birth, Deceased: p.GetDeceased()}
	for _, f := range p.GetFamily() {
		if f.GetRelation() == gbdflv1.Relation_RELATION_PARENT || f.GetRelation() == gbdflv1.Relation_RELATION_GUARDIAN {
			if !slices.Contains(c.Representatives, f.GetIin()) {
				c.Representatives = append(c.Representatives, f.GetIin())
			}
		}
	}
	return c, nil
}

// base is the first notification of application a: the channels count a case's notifications from 1
// and show a list as complete when none is missing; the queue's later events continue from 2.
func base(a *applicationv1.Application, status applicationv1.CaseStatus, now time.Time, text queue.Text) *applicationv1.StatusNotification {
	return &applicationv1.StatusNotification{ApplicationId: a.GetApplicationId(), ServiceCode: a.GetServiceCode(), Region: a.GetRegion(),
		Status: status, Time: timestamppb.New(now), Text: &applicationv1.LocalizedText{Ru: text.RU, Kk: text.KK}, Sequence: 1}
}

// TextRefused is the passport's REFUSED notification.
var TextRefused = queue.Text{RU: "В регистрации отказано; мотивированный ответ направлен", KK: "Тіркеуден бас тартылды; дәлелді жауап жіберілді"}

// Refused is the motivated refusal's notification, with the queue's code and text.
func Refused(a *applicationv1.Application, r *queue.Refusal, now time.Time) *applicationv1.StatusNotification {
	n := base(a, applicationv1.CaseStatus_CASE_STATUS_REFUSED, now, TextRefused)
	n.RefusalCode = r.Code
	n.Reason = &applicationv1.LocalizedText{Ru: r.Text.RU, Kk: r.Text.KK}
	return n
}

// Registered is the notification of a registration's decision: QUEUED with the queue number (the
// registration ticket), or REFERRAL_OFFERED, valid until the referral's expiry, when a place was free.
func Registered(a *applicationv1.Application, res store.Result, ahead int64, now time.Time) *applicationv1.StatusNotification {
	place := &applicationv1.QueuePlace{ListId: res.Entry.ListID, Number: res.Entry.Number, Ahead: ahead, Kind: string(res.Entry.Kind)}
	if o := res.Referral; o != nil {
		n := base(a, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, now, referralText(o.ExpiresAt))
		n.Deadline = timestamppb.New(o.ExpiresAt)
		n.Queue = place
		return n
	}
	n := base(a, applicationv1.CaseStatus_CASE_STATUS_QUEUED, now, queue.Text{
		RU: fmt.Sprintf("Ребёнок поставлен в очередь, номер в очереди %d, перед вами %d; регистрационный талон подписан сотрудником МИО", res.Entry.Number, ahead),
		KK: fmt.Sprintf("Бала кезекке қойылды, кезектегі нөмірі %d, алдыңызда %d; тіркеу талонына ЖАО қызметкері қол қойды", res.Entry.Number, ahead),
	})
	n.Queue = place
	return n
}

// referralText is the passport's REFERRAL_OFFERED text with its deadline.
func referralText(until time.Time) queue.Text {
	d := until.In(calendar.Zone).Format("02.01.2006")
	return queue.Text{
		RU: fmt.Sprintf("Выдано направление в ДДО; зарегистрируйте его в детском саду до %s", d),
		KK: fmt.Sprintf("МЖҰ-ға жолдама берілді; оны %s дейін балабақшада тіркеңіз", d),
	}
}

// Statuses maps the store's event kinds to the contract's statuses.
var Statuses = map[string]applicationv1.CaseStatus{
	"registered": applicationv1.CaseStatus_CASE_STATUS_QUEUED,
	"offered":    applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED,
	"declined":   applicationv1.CaseStatus_CASE_STATUS_REFERRAL_DECLINED,
	"expired":    applicationv1.CaseStatus_CASE_STATUS_REFERRAL_EXPIRED,
	"enrolled":   applicationv1.CaseStatus_CASE_STATUS_ENROLLED,
	"removed":    applicationv1.CaseStatus_CASE_STATUS_REMOVED,
}
