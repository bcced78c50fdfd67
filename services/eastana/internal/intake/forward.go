package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// forwardLock is the advisory lock the forwarders of all replicas take in turn, so that a case's
// notifications are numbered once and in the order of its events, and each is sent once.
const forwardLock = 0x6561737461 // "easta"

// Send delivers a notification to the sender of an application (through ШЭП); it must be safe to call
// again with the same notification (the service derives the message id from the application, the
// status and the sequence).
type Send func(ctx context.Context, to Origin, n *applicationv1.StatusNotification) error

// eventTexts are the notifications' texts of the queue's events after the decision, where no passport's
// notices are set (Intake.Notices; the service sets them).
var eventTexts = map[string]queue.Text{
	"offered":  {RU: "Освободилось место: выдано направление в ДДО; зарегистрируйте его в детском саду в течение месяца", KK: "Орын босады: МЖҰ-ға жолдама берілді; оны бір ай ішінде балабақшада тіркеңіз"},
	"declined": {RU: "Вы отказались от направления; место передано следующему ребёнку", KK: "Сіз жолдамадан бас тарттыңыз; орын келесі балаға берілді"},
	"expired":  {RU: "Направление не зарегистрировано в детском саду в течение месяца; место передано следующему ребёнку", KK: "Жолдама бір ай ішінде балабақшада тіркелмеді; орын келесі балаға берілді"},
	"enrolled": {RU: "Направление зарегистрировано: ребёнок зачислен в детский сад", KK: "Жолдама тіркелді: бала балабақшаға қабылданды"},
	"removed":  {RU: "Ребёнок снят с очереди", KK: "Бала кезектен шығарылды"},
}

// ForwardOnce does one round of the forward worker and returns how many events and notifications it
// handled. First, up to limit queue events not yet notified become notifications of their cases, numbered
// after the case's last, in one committed transaction; an event of a case still awaiting its employee's
// signature waits (the decision, when signed, reports the child's place as it is then), and an event of a
// child without an application (the demo queue) is marked without one. Then the notifications of the
// outbox are sent through ШЭП in each case's order, each in its own transaction marked sent before it
// commits: a failed send is retried the next round with the very same bytes (and message id), and a case's
// later notification is not sent before an earlier one.
func (in *Intake) ForwardOnce(ctx context.Context, limit int, send Send) (int, error) {
	events, err := in.notifyEvents(ctx, limit)
	if err != nil {
		return events, err
	}
	sent := 0
	for sent < limit {
		ok, err := in.sendNext(ctx, send)
		if err != nil {
			return events + sent, err
		}
		if !ok {
			break
		}
		sent++
	}
	return events + sent, nil
}

// notifyEvents turns up to limit events into notifications.
func (in *Intake) notifyEvents(ctx context.Context, limit int) (int, error) {
	handled := 0
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		handled = 0
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(forwardLock)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT ev.id, ev.entry_id, ev.kind, ev.at, ev.offer_id, a.id
			FROM events ev LEFT JOIN applications a ON a.entry_id = ev.entry_id
			WHERE NOT ev.notified AND (a.id IS NULL OR a.state <> 'awaiting')
			ORDER BY ev.id LIMIT $1`, limit)
		if err != nil {
			return err
		}
		type pending struct {
			id, entry int64
			kind      string
			at        time.Time
			offer     *int64
			app       *int64
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pending, error) {
			var p pending
			return p, r.Scan(&p.id, &p.entry, &p.kind, &p.at, &p.offer, &p.app)
		})
		if err != nil {
			return err
		}
		for _, p := range list {
			handled++
			if _, err := tx.Exec(ctx, `UPDATE events SET notified = true WHERE id = $1`, p.id); err != nil {
				return err
			}
			text, ok := eventTexts[p.kind]
			if p.app == nil || !ok {
				continue // no channel waits for this child (the demo queue), or the registration itself
			}
			c, err := in.load(ctx, tx, *p.app, true)
			if err != nil {
				return err
			}
			n, err := in.event(ctx, tx, c, p.kind, text, p.at, p.offer)
			if err != nil {
				return fmt.Errorf("eastana: notification of event %d: %w", p.id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE applications SET notify_seq = $2 WHERE id = $1`, c.ID, n.GetSequence()); err != nil {
				return err
			}
			if err := in.queueNotification(ctx, tx, c, n, p.at); err != nil {
				return err
			}
		}
		return nil
	})
	return handled, err
}

// event is the notification of a queue event of case c. A referral the queue gave on its own carries
// the referral document, sealed with the system key (the employee who released the place named in it).
func (in *Intake) event(ctx context.Context, tx pgx.Tx, c *row, kind string, text queue.Text, at time.Time, offer *int64) (*applicationv1.StatusNotification, error) {
	pos, err := store.PositionIn(ctx, tx, *c.EntryID)
	if err != nil {
		return nil, err
	}
	n := &applicationv1.StatusNotification{ApplicationId: c.ApplicationID, RegistrationNumber: c.Number, ServiceCode: c.serviceCode,
		Region: c.region, Status: Statuses[kind], Time: timestamppb.New(at), Sequence: c.notifySeq + 1,
		Text:  &applicationv1.LocalizedText{Ru: text.RU, Kk: text.KK},
		Queue: &applicationv1.QueuePlace{ListId: pos.Entry.ListID, Number: pos.Entry.Number, Kind: string(pos.Entry.Kind)}}
	if kind != "offered" || offer == nil {
		return n, nil
	}
	d := documents.Document{Kind: documents.KindReferral, Number: c.Number, ReceivedAt: c.ReceivedAt, ChildIIN: c.ChildIIN,
		ChildBirth: pos.Entry.BirthDate, ApplicantIIN: c.ApplicantIIN, ListID: pos.Entry.ListID, QueueNumber: pos.Entry.Number,
		QueueKind: string(pos.Entry.Kind), Signer: documents.SystemSigner}
	if err := in.referral(ctx, tx, *offer, &d); err != nil {
		return nil, err
	}
	n.Deadline = timestamppb.New(d.ExpiresAt)
	n.Text = &applicationv1.LocalizedText{Ru: referralText(d.ExpiresAt).RU, Kk: referralText(d.ExpiresAt).KK}
	if in.Seal == nil {
		return nil, errors.New("eastana: no system key to seal the referral")
	}
	rd, err := in.sealed(d)
	if err != nil {
		return nil, err
	}
	if err := in.print(rd, d, c.Number, "ИС Е-Астана", queue.Text{RU: "Информационная система (автоматически)", KK: "Ақпараттық жүйе (автоматты түрде)"}, at); err != nil {
		return nil, err
	}
	n.Result, n.Results = rd.GetDocument(), []*applicationv1.ResultDocument{rd}
	return n, nil
}

// sendNext sends the first notification of the outbox not yet sent, and reports whether there was one.
func (in *Intake) sendNext(ctx context.Context, send Send) (bool, error) {
	found := false
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		found = false
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(forwardLock)); err != nil {
			return err
		}
		var app, seq int64
		var b []byte
		var to Origin
		err := tx.QueryRow(ctx, `SELECT n.application, n.sequence, n.notification, a.sender, a.correlation_id, a.applicant_iin
			FROM notifications n JOIN applications a ON a.id = n.application
			WHERE n.outbox AND n.sent_at IS NULL ORDER BY n.application, n.sequence LIMIT 1`).
			Scan(&app, &seq, &b, &to.Sender, &to.CorrelationID, &to.ApplicantIIN)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		n := new(applicationv1.StatusNotification)
		if err := proto.Unmarshal(b, n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE notifications SET sent_at = now() WHERE application = $1 AND sequence = $2`, app, seq); err != nil {
			return err
		}
		if err := send(ctx, to, n); err != nil {
			return fmt.Errorf("eastana: notification %d of application %d: %w", seq, app, err)
		}
		return nil
	})
	return found, err
}
