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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	FieldChildIIN = "child_iin"
	FieldDistrict = "district"
	FieldCategory = "category"
)

// City is the city part of a list's id.
const City = "astana"

// Registry looks a person up in ГБД ФЛ: registries.Client, through ШЭП's sync channel as the participant
// eastana. A person the register does not have is registries.ErrNoRecord.
type Registry interface {
	Person(ctx context.Context, iin string) (*gbdflv1.Person, error)
}

// Intake decides applications.
type Intake struct {
	Store    *store.Store
	DB       *pgxpool.Pool
	Registry Registry
}

// Origin is who sent an application through ШЭП: the channel's participant and the conversation its
// statuses continue.
type Origin struct {
	Sender        string
	CorrelationID string
	// ApplicantIIN is the applicant's, whom the envelopes of the statuses name (envelope user_id).
	ApplicantIIN string
}

// Receive decides application a from origin once: the first delivery registers or refuses and keeps the
// notification with the decision, in one transaction; a repeat returns the kept notification, so that a
// delivery whose notification could not be sent is answered the same on the next attempt.
func (in *Intake) Receive(ctx context.Context, from Origin, a *applicationv1.Application, now time.Time) (*applicationv1.StatusNotification, error) {
	if from.Sender == "" || a.GetApplicationId() == "" {
		return nil, errors.New("eastana: an application needs its sender and id")
	}
	if n, err := in.kept(ctx, from, a); n != nil || err != nil {
		return n, err
	}
	keep := func(ctx context.Context, q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	}, entryID *int64, n *applicationv1.StatusNotification) error {
		b, err := proto.Marshal(n)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO applications (sender, application_id, correlation_id, applicant_iin, entry_id, notification, received_at,
				service_code, region)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, from.Sender, a.GetApplicationId(), from.CorrelationID, a.GetApplicantIin(), entryID, b, now,
			a.GetServiceCode(), a.GetRegion())
		if err == nil && entryID != nil {
			// The decision's notification reports the events of the registration (and of a referral at once).
			_, err = q.Exec(ctx, `UPDATE events SET notified = true WHERE entry_id = $1`, *entryID)
		}
		return err
	}
	d, err := in.decide(ctx, a, now, func(ctx context.Context, tx pgx.Tx, res store.Result, ahead int64) error {
		id := res.Entry.ID
		return keep(ctx, tx, &id, Registered(a, res, ahead, now))
	})
	if err != nil {
		if pgdb.IsUniqueViolation(err) {
			// Another worker took the same application at once: its answer is the answer.
			return in.kept(ctx, from, a)
		}
		return nil, err
	}
	if d.Refusal != nil {
		if err := keep(ctx, in.DB, nil, d.Notification); err != nil {
			if pgdb.IsUniqueViolation(err) {
				return in.kept(ctx, from, a)
			}
			return nil, err
		}
	}
	return d.Notification, nil
}

// kept is the notification kept for an application already decided, or nil.
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

// Refused is the motivated refusal's notification, with the queue's code and text.
func Refused(a *applicationv1.Application, r *queue.Refusal, now time.Time) *applicationv1.StatusNotification {
	n := base(a, applicationv1.CaseStatus_CASE_STATUS_REFUSED, now, queue.Text{RU: "Мотивированный отказ", KK: "Дәлелді бас тарту"})
	n.RefusalCode = r.Code
	n.Reason = &applicationv1.LocalizedText{Ru: r.Text.RU, Kk: r.Text.KK}
	return n
}

// Registered is the notification of a registration: QUEUED with the queue number (the registration
// ticket), or REFERRAL_OFFERED, valid until the referral's expiry, when a place was free.
func Registered(a *applicationv1.Application, res store.Result, ahead int64, now time.Time) *applicationv1.StatusNotification {
	place := &applicationv1.QueuePlace{ListId: res.Entry.ListID, Number: res.Entry.Number, Ahead: ahead, Kind: string(res.Entry.Kind)}
	if o := res.Referral; o != nil {
		n := base(a, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, now, queue.Text{
			RU: fmt.Sprintf("Выдано направление в ДДО (номер в очереди %d); зарегистрируйте его в детском саду до %s", res.Entry.Number, o.ExpiresAt.Format("02.01.2006")),
			KK: fmt.Sprintf("МЖҰ-ға жолдама берілді (кезектегі нөмірі %d); оны %s дейін балабақшада тіркеңіз", res.Entry.Number, o.ExpiresAt.Format("02.01.2006")),
		})
		n.Deadline = timestamppb.New(o.ExpiresAt)
		n.Queue = place
		return n
	}
	n := base(a, applicationv1.CaseStatus_CASE_STATUS_QUEUED, now, queue.Text{
		RU: fmt.Sprintf("Ребёнок поставлен в очередь: номер %d, впереди %d", res.Entry.Number, ahead),
		KK: fmt.Sprintf("Бала кезекке қойылды: нөмірі %d, алдында %d", res.Entry.Number, ahead),
	})
	n.Queue = place
	return n
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
