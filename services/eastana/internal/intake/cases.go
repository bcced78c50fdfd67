package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

// Case is an application as the cabinets show it.
type Case struct {
	ID            int64
	Number        string
	Sender        string
	ApplicationID string
	// Channel is portal, tson, office or eastana.
	Channel      string
	ApplicantIIN string
	ChildIIN     string
	// Email is the citizen's address, given with consent to receive the result by e-mail; "" otherwise.
	Email      string
	ReceivedAt time.Time
	// Deadline is the decision's term (nil for an application kept before the term was).
	Deadline *time.Time
	// State is "awaiting" (the employee has not signed), "issued" (the signed result went out) or
	// "refused" (refused automatically: the applicant's ЭЦП not confirmed).
	State string
	// Decision is the result's kind: while awaiting, the one the employee would sign now (the queue's
	// state decides it: a release may have turned a ticket into a referral); then the one signed.
	Decision string
	EntryID  *int64
	// SignedBy is the signing employee's IIN; SignedAt when they signed.
	SignedBy string
	SignedAt *time.Time
}

// Filter selects cases; empty fields select all. Limit is 100 when zero.
type Filter struct {
	State, Channel, ApplicantIIN string
	Limit                        int
	// NewestFirst lists the newest received first (a citizen's list), where the default is oldest first
	// (the МИО's work, in the order it came).
	NewestFirst bool
}

// row is a case with what its documents and notifications are made of.
type row struct {
	Case
	correlationID, serviceCode, region string
	refusalCode                        string
	refusal                            queue.Text
	motivation                         string
	entryState                         *string
	notifySeq                          int64
}

const caseColumns = `a.id, a.number, a.sender, a.application_id, a.channel, a.applicant_iin, a.child_iin, a.email, a.received_at, a.deadline,
	a.state, a.decision, a.entry_id, a.signed_by, a.signed_at, a.correlation_id, a.service_code, a.region, a.refusal_code, a.refusal_ru,
	a.refusal_kk, a.motivation, e.state, a.notify_seq
	FROM applications a LEFT JOIN entries e ON e.id = a.entry_id`

func scanRow(r pgx.Row) (*row, error) {
	var c row
	err := r.Scan(&c.ID, &c.Number, &c.Sender, &c.ApplicationID, &c.Channel, &c.ApplicantIIN, &c.ChildIIN, &c.Email, &c.ReceivedAt, &c.Deadline,
		&c.State, &c.Decision, &c.EntryID, &c.SignedBy, &c.SignedAt, &c.correlationID, &c.serviceCode, &c.region, &c.refusalCode, &c.refusal.RU,
		&c.refusal.KK, &c.motivation, &c.entryState, &c.notifySeq)
	if err != nil {
		return nil, err
	}
	switch c.State {
	case "awaiting":
		c.Decision = c.kind()
	case "refused":
		c.Decision = documents.KindRefusal
	}
	return &c, nil
}

// kind is the document an awaiting case gives now; closed is true when the child has left the list
// (no ticket or referral to sign, and no refusal written yet).
func (c *row) kind() string {
	k, _ := c.kindNow()
	return k
}

func (c *row) kindNow() (kind string, closed bool) {
	switch {
	case c.motivation != "" || c.EntryID == nil:
		return documents.KindRefusal, false
	case c.entryState != nil && *c.entryState == "waiting":
		return documents.KindTicket, false
	case c.entryState != nil && *c.entryState == "offered":
		return documents.KindReferral, false
	}
	return documents.KindRefusal, true
}

// Cases lists the cases f selects, oldest first.
func (in *Intake) Cases(ctx context.Context, f Filter) ([]Case, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	order := `a.received_at, a.id`
	if f.NewestFirst {
		order = `a.received_at DESC, a.id DESC`
	}
	rows, err := in.DB.Query(ctx, `SELECT `+caseColumns+`
		WHERE ($1 = '' OR a.state = $1) AND ($2 = '' OR a.channel = $2) AND ($3 = '' OR a.applicant_iin = $3)
		ORDER BY `+order+` LIMIT $4`, f.State, f.Channel, f.ApplicantIIN, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c.Case)
	}
	return out, rows.Err()
}

// Case is the case with this id; ErrNoCase when there is none.
func (in *Intake) Case(ctx context.Context, id int64) (*Case, error) {
	c, err := in.load(ctx, in.DB, id, false)
	if err != nil {
		return nil, err
	}
	return &c.Case, nil
}

// CaseOf is the case of the application the sender gave this id (Local for the cabinets' own);
// ErrNoCase when there is none.
func (in *Intake) CaseOf(ctx context.Context, sender, applicationID string) (*Case, error) {
	c, err := scanRow(in.DB.QueryRow(ctx, `SELECT `+caseColumns+` WHERE a.sender = $1 AND a.application_id = $2`, sender, applicationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s from %s", ErrNoCase, applicationID, sender)
	}
	if err != nil {
		return nil, err
	}
	return &c.Case, nil
}

func (in *Intake) load(ctx context.Context, q execer, id int64, lock bool) (*row, error) {
	sql := `SELECT ` + caseColumns + ` WHERE a.id = $1`
	if lock {
		sql += ` FOR UPDATE OF a`
	}
	c, err := scanRow(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %d", ErrNoCase, id)
	}
	return c, err
}

// Statuses are every notification of case id, in sequence order (sent through ШЭП or kept for the
// cabinets).
func (in *Intake) Statuses(ctx context.Context, id int64) ([]*applicationv1.StatusNotification, error) {
	var exists bool
	if err := in.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM applications WHERE id = $1)`, id).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("%w: %d", ErrNoCase, id)
	}
	rows, err := in.DB.Query(ctx, `SELECT notification FROM notifications WHERE application = $1 ORDER BY sequence`, id)
	if err != nil {
		return nil, err
	}
	bs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]*applicationv1.StatusNotification, 0, len(bs))
	for _, b := range bs {
		n := new(applicationv1.StatusNotification)
		if err := proto.Unmarshal(b, n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
