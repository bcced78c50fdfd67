package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

// forwardLock is the advisory lock the forwarders of all replicas take in turn, so that a case's
// notifications are numbered once and in the order of its events.
const forwardLock = 0x6561737461 // "easta"

// Send delivers a notification to the sender of an application (through ШЭП); it must be safe to call
// again with the same notification (the service derives the message id from the application, the
// status and the sequence).
type Send func(ctx context.Context, to Origin, n *applicationv1.StatusNotification) error

// eventTexts are the notifications' texts of the queue's events after the registration.
var eventTexts = map[string]queue.Text{
	"offered":  {RU: "Освободилось место: выдано направление в ДДО; зарегистрируйте его в детском саду в течение месяца", KK: "Орын босады: МЖҰ-ға жолдама берілді; оны бір ай ішінде балабақшада тіркеңіз"},
	"declined": {RU: "Направление отклонено; место передано следующему ребёнку", KK: "Жолдамадан бас тартылды; орын келесі балаға берілді"},
	"expired":  {RU: "Направление не зарегистрировано в течение месяца; место передано следующему ребёнку", KK: "Жолдама бір ай ішінде тіркелмеді; орын келесі балаға берілді"},
	"enrolled": {RU: "Направление зарегистрировано в детском саду: ребёнок зачислен", KK: "Жолдама балабақшада тіркелді: бала қабылданды"},
	"removed":  {RU: "Ребёнок снят с очереди", KK: "Бала кезектен шығарылды"},
}

// ForwardOnce sends the notifications of up to limit events not yet notified, oldest first, and returns
// how many events it handled. Each is sent before its transaction commits: a failure rolls the batch back
// to be sent again, and a repeat is the same message to ШЭП.
func (in *Intake) ForwardOnce(ctx context.Context, limit int, send Send) (int, error) {
	handled := 0
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		handled = 0
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(forwardLock)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT ev.id, ev.entry_id, ev.kind, ev.at, o.expires_at,
				a.sender, a.application_id, a.correlation_id, a.service_code, a.region, a.applicant_iin
			FROM events ev
			LEFT JOIN applications a ON a.entry_id = ev.entry_id
			LEFT JOIN offers o ON o.id = ev.offer_id
			WHERE NOT ev.notified ORDER BY ev.id LIMIT $1`, limit)
		if err != nil {
			return err
		}
		type pending struct {
			id, entry                       int64
			kind                            string
			at                              time.Time
			expires                         *time.Time
			sender, app, corr, code, region *string
			applicant                       *string
		}
		var list []pending
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.entry, &p.kind, &p.at, &p.expires, &p.sender, &p.app, &p.corr, &p.code, &p.region, &p.applicant); err != nil {
				rows.Close()
				return err
			}
			list = append(list, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, p := range list {
			handled++
			if _, err := tx.Exec(ctx, `UPDATE events SET notified = true WHERE id = $1`, p.id); err != nil {
				return err
			}
			text, ok := eventTexts[p.kind]
			if p.sender == nil || !ok {
				continue // no channel waits for this child (the demo queue), or the registration itself
			}
			var seq int64
			if err := tx.QueryRow(ctx, `UPDATE applications SET notify_seq = notify_seq + 1 WHERE sender = $1 AND application_id = $2
				RETURNING notify_seq`, *p.sender, *p.app).Scan(&seq); err != nil {
				return err
			}
			pos, err := in.Store.Position(ctx, p.entry)
			if err != nil {
				return err
			}
			n := &applicationv1.StatusNotification{ApplicationId: *p.app, ServiceCode: *p.code, Region: *p.region,
				Status: Statuses[p.kind], Time: timestamppb.New(p.at), Sequence: seq,
				Text:  &applicationv1.LocalizedText{Ru: text.RU, Kk: text.KK},
				Queue: &applicationv1.QueuePlace{ListId: pos.Entry.ListID, Number: pos.Entry.Number, Kind: string(pos.Entry.Kind)}}
			if p.kind == "offered" && p.expires != nil {
				n.Deadline = timestamppb.New(*p.expires)
			}
			if err := send(ctx, Origin{Sender: *p.sender, CorrelationID: *p.corr, ApplicantIIN: *p.applicant}, n); err != nil {
				return fmt.Errorf("eastana: notification of event %d: %w", p.id, err)
			}
		}
		return nil
	})
	return handled, err
}
