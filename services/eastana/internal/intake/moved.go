package intake

import (
	"context"
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
// place matters); and never twice within Quiet (counted from the decision's signature, then from the
// last QUEUE_MOVED). The regulation is silent on it: the passport's decisions say so.
type Moved struct {
	// Step is the change of the count ahead worth a message, and the count under which every change is
	// told; at least 1 (1: every change).
	Step int64
	// Quiet is the least time between two QUEUE_MOVED of a case (and between its decision and the first).
	Quiet time.Duration
	// Limit is how many cases one round looks at (the nearest the front first).
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

// MovedOnce puts the QUEUE_MOVED notifications due at now under rule m in the cases' notifications, and
// returns how many it made plus how many cases' decision counts it learnt (the first round after a
// decision reads the count the decision told), so that a worker repeats it while it finds work. It runs
// under the forwarders' advisory lock, so that its notifications are numbered once and in order with
// ForwardOnce's and two replicas never make the same one; ForwardOnce sends them from the outbox (the same
// bytes and message id again after a failed send, a case's notifications in their order), and a case of
// the cabinets (Origin Local) keeps them for the cabinets. Only a case whose decision went out (issued)
// and whose child waits is looked at.
func (in *Intake) MovedOnce(ctx context.Context, m Moved, now time.Time) (int, error) {
	if m.Step < 1 || m.Limit < 1 {
		return 0, fmt.Errorf("eastana: queue moved: step %d and limit %d must be at least 1", m.Step, m.Limit)
	}
	handled := 0
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		handled = 0
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(forwardLock)); err != nil {
			return err
		}
		// Every waiting child's count ahead in one pass over the waiting index (its list, kind and number
		// order): the count of the same kind with a smaller number, as store.Position counts it. A case
		// whose last count is not known yet (told_ahead NULL) brings its last notification, the decision's.
		// The cases due are found on narrow rows (the join's hash holds the case's id and counts only), and
		// only those are read whole.
		rows, err := tx.Query(ctx, `WITH w AS (
				SELECT id, list_id, kind, number, row_number() OVER (PARTITION BY list_id, kind ORDER BY number) - 1 AS ahead
				FROM entries WHERE state = 'waiting'),
			due AS (
				SELECT a.id, w.list_id, w.kind, w.number, w.ahead
				FROM w JOIN applications a ON a.entry_id = w.id
				WHERE a.state = 'issued' AND coalesce(a.moved_at, a.signed_at, a.received_at) <= $1
					AND (a.told_ahead IS NULL OR (w.ahead <> a.told_ahead AND (w.ahead < $2 OR abs(a.told_ahead - w.ahead) >= $2)))
				ORDER BY w.ahead, a.id
				LIMIT $3)
			SELECT a.id, a.sender, a.application_id, a.number, a.notify_seq, a.told_ahead,
				CASE WHEN a.told_ahead IS NULL THEN
					(SELECT n.notification FROM notifications n WHERE n.application = a.id ORDER BY n.sequence DESC LIMIT 1) END,
				d.list_id, d.kind, d.number, d.ahead, a.service_code, a.region
			FROM due d JOIN applications a ON a.id = d.id
			ORDER BY d.ahead, d.id`, now.Add(-m.Quiet), m.Step, m.Limit)
		if err != nil {
			return err
		}
		cases, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (movedCase, error) {
			var c movedCase
			return c, r.Scan(&c.id, &c.sender, &c.app, &c.number, &c.seq, &c.told, &c.last, &c.listID, &c.kind, &c.queueNumber, &c.ahead,
				&c.code, &c.region)
		})
		if err != nil {
			return err
		}
		// The texts are the passport's (preschool-registration.71, its QUEUE_MOVED notification: in.word).
		// One batch for all: the cases' rows are the forwarders' (under this lock) once their decision went out.
		batch := &pgx.Batch{}
		for _, c := range cases {
			told := c.ahead
			if c.told != nil {
				told = *c.told
			} else {
				last := new(applicationv1.StatusNotification)
				if err := proto.Unmarshal(c.last, last); err != nil {
					return fmt.Errorf("eastana: the last notification of case %d: %w", c.id, err)
				}
				switch last.GetStatus() {
				case applicationv1.CaseStatus_CASE_STATUS_QUEUED, applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED:
					told = last.GetQueue().GetAhead()
				}
				// Otherwise the case was told no count (none before the decision flow): the count now is its
				// starting point.
			}
			if !m.Due(told, c.ahead) {
				if c.told == nil {
					// The decision's count, learnt once: the next rounds compare in the query.
					batch.Queue(`UPDATE applications SET told_ahead = $2 WHERE id = $1`, c.id, told)
					handled++
				}
				continue // (a known count the query let through is left alone: the query and Due agree)
			}
			handled++
			n := &applicationv1.StatusNotification{ApplicationId: c.app, RegistrationNumber: c.number, ServiceCode: c.code, Region: c.region,
				Status: applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, Time: timestamppb.New(now), Sequence: c.seq + 1,
				Text: &applicationv1.LocalizedText{
					Ru: fmt.Sprintf("Очередь продвинулась: номер в очереди %d, перед вами %d", c.queueNumber, c.ahead),
					Kk: fmt.Sprintf("Кезек жылжыды: кезектегі нөмірі %d, алдыңызда %d", c.queueNumber, c.ahead),
				},
				Queue: &applicationv1.QueuePlace{ListId: c.listID, Number: c.queueNumber, Ahead: c.ahead, Kind: c.kind}}
			in.word(n)
			b, err := proto.Marshal(n)
			if err != nil {
				return err
			}
			batch.Queue(`UPDATE applications SET told_ahead = $2, moved_at = $3, notify_seq = $4 WHERE id = $1`, c.id, c.ahead, now, n.GetSequence())
			batch.Queue(`INSERT INTO notifications (application, sequence, notification, created_at, outbox) VALUES ($1, $2, $3, $4, $5)`,
				c.id, n.GetSequence(), b, now, c.sender != Local)
		}
		if batch.Len() > 0 {
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return err
			}
		}
		return m.hook(ctx, "moved: made")
	})
	return handled, err
}

// movedCase is a waiting child's case whose count ahead may be worth telling.
type movedCase struct {
	id                 int64
	sender, app        string
	number             string
	seq                int64
	told               *int64
	last               []byte
	listID, kind       string
	queueNumber, ahead int64
	code, region       string
}
