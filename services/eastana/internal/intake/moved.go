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
)

// Moved is the rule of QUEUE_MOVED (the child's place in the queue moved). A waiting child's place
// changes with every referral given before it and every child before it who leaves the list; none of
// these is an event of the child's own, and telling every change to every child would send a message to
// each child behind a place at every release. A case is told when the count of children waiting before
// its child has changed by at least Step since the count it was last told (the decision's, or the last
// QUEUE_MOVED), or when the count is under Step and has changed at all (the front of the list, where each
// place matters); and never twice within Quiet (counted from the decision, then from the last
// QUEUE_MOVED). The regulation is silent on it: the passport's decisions say so.
type Moved struct {
	// Step is the change of the count ahead worth a message, and the count under which every change is
	// told; at least 1 (1: every change).
	Step int64
	// Quiet is the least time between two QUEUE_MOVED of a case (and between its decision and the first).
	Quiet time.Duration
	// Limit is how many cases one round makes notifications for (the nearest the front first), and sends.
	Limit int

	// at is a test hook called at named points of a round, inside its transaction (see export_test.go).
	at func(ctx context.Context, point string) error
}

// Due reports whether a case last told told children ahead, whose child now has ahead before it, is told.
func (m Moved) Due(told, ahead int64) bool {
	if ahead == told {
		return false
	}
	return ahead < m.Step || told-ahead >= m.Step || ahead-told >= m.Step
}

func (m Moved) hook(ctx context.Context, point string) error {
	if m.at == nil {
		return nil
	}
	return m.at(ctx, point)
}

// MovedOnce makes the QUEUE_MOVED notifications due at now under rule m and sends them, and returns how
// many it sent plus how many cases' decision counts it learnt (the first round after a case's decision
// reads the count its decision told), so that a worker repeats it while it finds work. A round is two transactions, each under the forwarders' advisory lock, so that the cases'
// notifications are numbered once and in order with ForwardOnce's and two replicas never make or send
// the same one: the first finds the cases due, numbers their notifications on the case's sequence and
// keeps them with the count told; the second sends the kept ones and clears each sent. A send that fails
// leaves its notification kept, and a later round sends it again byte for byte (the same message id, the
// same place and time); a case with a notification not yet sent gets no new one.
func (in *Intake) MovedOnce(ctx context.Context, m Moved, now time.Time, send Send) (int, error) {
	if m.Step < 1 || m.Limit < 1 {
		return 0, fmt.Errorf("eastana: queue moved: step %d and limit %d must be at least 1", m.Step, m.Limit)
	}
	learnt, err := in.makeMoved(ctx, m, now)
	if err != nil {
		return 0, err
	}
	sent, err := in.sendMoved(ctx, m, send)
	return learnt + sent, err
}

// movedCase is a waiting child's case whose count ahead may be worth telling.
type movedCase struct {
	sender, app   string
	told          *int64
	decision      []byte
	listID, kind  string
	number, ahead int64
	code, region  string
}

// makeMoved numbers and keeps the QUEUE_MOVED notifications due at now, and returns how many cases'
// decision counts it learnt without a notification due.
func (in *Intake) makeMoved(ctx context.Context, m Moved, now time.Time) (int, error) {
	learnt := 0
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		learnt = 0
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(forwardLock)); err != nil {
			return err
		}
		// Every waiting child's count ahead in one pass over the waiting index (its list, kind and number
		// order): the count of the same kind with a smaller number, as store.Position counts it. A case
		// whose last count is not known yet (told_ahead NULL: its decision's) is read to learn it.
		rows, err := tx.Query(ctx, `WITH w AS (
				SELECT id, list_id, kind, number, row_number() OVER (PARTITION BY list_id, kind ORDER BY number) - 1 AS ahead
				FROM entries WHERE state = 'waiting')
			SELECT a.sender, a.application_id, a.told_ahead, CASE WHEN a.told_ahead IS NULL THEN a.notification END,
				w.list_id, w.kind, w.number, w.ahead, a.service_code, a.region
			FROM w JOIN applications a ON a.entry_id = w.id
			WHERE a.moved_pending IS NULL AND coalesce(a.moved_at, a.received_at) <= $1
				AND (a.told_ahead IS NULL OR (w.ahead <> a.told_ahead AND (w.ahead < $2 OR abs(a.told_ahead - w.ahead) >= $2)))
			ORDER BY w.ahead, a.sender, a.application_id
			LIMIT $3`, now.Add(-m.Quiet), m.Step, m.Limit)
		if err != nil {
			return err
		}
		cases, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (movedCase, error) {
			var c movedCase
			return c, r.Scan(&c.sender, &c.app, &c.told, &c.decision, &c.listID, &c.kind, &c.number, &c.ahead, &c.code, &c.region)
		})
		if err != nil {
			return err
		}
		// Two batches, not a round trip per case: the cases' sequence numbers, then the notifications kept.
		var due []movedCase
		seqs, batch := &pgx.Batch{}, &pgx.Batch{}
		for _, c := range cases {
			told := int64(0)
			if c.told != nil {
				told = *c.told
			} else {
				d := new(applicationv1.StatusNotification)
				if err := proto.Unmarshal(c.decision, d); err != nil {
					return fmt.Errorf("eastana: the decision of %s/%s: %w", c.sender, c.app, err)
				}
				told = d.GetQueue().GetAhead()
			}
			if !m.Due(told, c.ahead) {
				// The decision's count, learnt once: the next rounds compare in the query.
				batch.Queue(`UPDATE applications SET told_ahead = $3 WHERE sender = $1 AND application_id = $2`, c.sender, c.app, told)
				learnt++
				continue
			}
			due = append(due, c)
			seqs.Queue(`UPDATE applications SET notify_seq = notify_seq + 1 WHERE sender = $1 AND application_id = $2
				RETURNING notify_seq`, c.sender, c.app)
		}
		if len(due) > 0 {
			res := tx.SendBatch(ctx, seqs)
			for _, c := range due {
				var seq int64
				if err := res.QueryRow().Scan(&seq); err != nil {
					_ = res.Close()
					return err
				}
				b, err := proto.Marshal(&applicationv1.StatusNotification{ApplicationId: c.app, ServiceCode: c.code, Region: c.region,
					Status: applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, Time: timestamppb.New(now), Sequence: seq,
					Text: &applicationv1.LocalizedText{
						Ru: fmt.Sprintf("Очередь продвинулась: номер %d, впереди %d", c.number, c.ahead),
						Kk: fmt.Sprintf("Кезек жылжыды: нөмірі %d, алдында %d", c.number, c.ahead),
					},
					Queue: &applicationv1.QueuePlace{ListId: c.listID, Number: c.number, Ahead: c.ahead, Kind: c.kind}})
				if err != nil {
					_ = res.Close()
					return err
				}
				batch.Queue(`UPDATE applications SET told_ahead = $3, moved_at = $4, moved_pending = $5 WHERE sender = $1 AND application_id = $2`,
					c.sender, c.app, c.ahead, now, b)
			}
			if err := res.Close(); err != nil {
				return err
			}
		}
		if batch.Len() > 0 {
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return err
			}
		}
		return m.hook(ctx, "moved: made")
	})
	return learnt, err
}

// sendMoved sends the kept QUEUE_MOVED notifications, oldest first, and clears each one sent. A send that
// fails ends the round: the ones sent before it are cleared (committed), the rest wait for the next round.
func (in *Intake) sendMoved(ctx context.Context, m Moved, send Send) (int, error) {
	sent := 0
	var failed error
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		sent, failed = 0, nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(forwardLock)); err != nil {
			return err
		}
		if err := m.hook(ctx, "moved: sending"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT sender, application_id, correlation_id, applicant_iin, moved_pending FROM applications
			WHERE moved_pending IS NOT NULL ORDER BY moved_at, sender, application_id LIMIT $1`, m.Limit)
		if err != nil {
			return err
		}
		type kept struct {
			to  Origin
			app string
			b   []byte
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kept, error) {
			var k kept
			return k, r.Scan(&k.to.Sender, &k.app, &k.to.CorrelationID, &k.to.ApplicantIIN, &k.b)
		})
		if err != nil {
			return err
		}
		// The ones sent are cleared in one statement at the end, also when a send failed (their clears kept).
		var senders, apps []string
		for _, k := range list {
			n := new(applicationv1.StatusNotification)
			if err := proto.Unmarshal(k.b, n); err != nil {
				failed = fmt.Errorf("eastana: the kept QUEUE_MOVED of %s/%s: %w", k.to.Sender, k.app, err)
				break
			}
			if err := send(ctx, k.to, n); err != nil {
				failed = fmt.Errorf("eastana: QUEUE_MOVED %d of %s/%s: %w", n.GetSequence(), k.to.Sender, k.app, err)
				break
			}
			senders, apps = append(senders, k.to.Sender), append(apps, k.app)
		}
		if len(apps) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE applications a SET moved_pending = NULL FROM unnest($1::text[], $2::text[]) AS s (sender, app)
			WHERE a.sender = s.sender AND a.application_id = s.app`, senders, apps)
		if err == nil && tag.RowsAffected() != int64(len(apps)) {
			err = fmt.Errorf("eastana: cleared %d of %d QUEUE_MOVED sent", tag.RowsAffected(), len(apps))
		}
		sent = len(apps)
		return err
	})
	return sent, errors.Join(err, failed)
}
