// Package store is the SQL of РШЭП's cases: the case row, its history, the intake refusals and the
// passport versions cases run on. The engine loads a case here, asks the rules, and saves it here, in
// the transaction it holds.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
)

// Case is a registered application with its state.
type Case struct {
	ID              int64
	Number          string
	RegisteredAt    time.Time
	Sender          string
	MessageID       string
	Region          string
	ServiceCode     string
	ApplicationID   string
	Channel         string
	ReplyTo         string
	CorrelationID   string
	ApplicantIIN    string
	Language        string
	PassportVersion int
	Status          string
	Step            int
	StepStartedAt   *time.Time
	StepDueAt       *time.Time
	DueAt           *time.Time
	Assignee        string
	Extensions      int
	Warned          bool
	Overdue         bool
	Escalated       bool
	ChecksDone      bool
	Form            map[string]string
	Documents       []Document
	Checks          []CheckResult
	Outcome         string
	RefusalCode     string
	Comment         string
	// CommentKK is Comment in Kazakh where the engine wrote it; empty for an employee's motivation.
	CommentKK       string
	DecidedBy       string
	ResultMediaType string
	ResultContent   []byte
	ResultSignature []byte
	ResultSignedBy  string
	// Results are the result documents of the decision (the refusal, or every positive result of the
	// passport); Result* above mirror the first.
	Results   []ResultDoc
	ClosedAt  *time.Time
	NotifySeq int64

	// Arm is set when the case entered a step in this transaction: the step's warning and deadline
	// are owed, and armed for the step the case rests in when the transaction ends, not for each
	// automatic step it passes through on the way. Not stored.
	Arm bool
}

// Document is an item of the case's document list.
type Document struct {
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	MediaType     string `json:"media_type,omitempty"`
	Size          int64  `json:"size,omitempty"`
	SHA256        string `json:"sha256,omitempty"`
	ObjectKey     string `json:"object_key,omitempty"`
	PaperReceived bool   `json:"paper_received,omitempty"`
}

// ResultDoc is one result document of a case: rendered from its template, signed on its own.
type ResultDoc struct {
	ID        string             `json:"id"`
	Kind      string             `json:"kind"`
	Name      catalog.Text       `json:"name"`
	MediaType string             `json:"media_type"`
	Content   []byte             `json:"content"`
	Data      catalog.ResultData `json:"data"`
	Signature []byte             `json:"signature,omitempty"`
	SignedBy  string             `json:"signed_by,omitempty"`
	// Printable is the signed document's printable form (PDF), PrintableSignature its detached
	// signature by the node's system key, VerifyURL the verification page its QR code opens.
	Printable          []byte `json:"printable,omitempty"`
	PrintableSignature []byte `json:"printable_signature,omitempty"`
	VerifyURL          string `json:"verify_url,omitempty"`
}

// Docs are the case's result documents; a case decided before documents were kept apart has its one
// result.
func (c *Case) Docs() []ResultDoc {
	if len(c.Results) > 0 || len(c.ResultContent) == 0 {
		return c.Results
	}
	return []ResultDoc{{ID: "result", MediaType: c.ResultMediaType, Content: c.ResultContent, Signature: c.ResultSignature, SignedBy: c.ResultSignedBy}}
}

// CheckResult is a registry's answer to one of the passport's checks.
type CheckResult struct {
	ID       string `json:"id"`
	Registry string `json:"registry"`
	Field    string `json:"field"`
	// Found is false when the register has no record, or the relation the check asks for is absent.
	Found bool `json:"found"`
	// Summary is what the case view shows: the person's name, the power of attorney's state, the relation.
	Summary string    `json:"summary"`
	At      time.Time `json:"at"`
}

// Outcomes of a decision.
const (
	Approve = rules.Approve
	Refuse  = rules.Refuse
)

// State is what the rules read of the case.
func (c *Case) State() rules.State {
	return rules.State{Closed: c.Closed(), Step: c.Step, Assignee: c.Assignee, Outcome: c.Outcome,
		Signed: len(c.ResultSignature) > 0, Extensions: c.Extensions}
}

// Closed reports whether the case has its final state.
func (c *Case) Closed() bool { return c.ClosedAt != nil }

// CurrentStep is the passport step the case is at, or nil when it has passed them all.
func (c *Case) CurrentStep(p *catalog.Passport) *catalog.Step {
	if c.Step < 0 || c.Step >= len(p.Steps) {
		return nil
	}
	return &p.Steps[c.Step]
}

const Columns = `id, registration_number, registered_at, sender, message_id, region, service_code, application_id, channel,
	reply_to, correlation_id, applicant_iin, language, passport_version, status, step, step_started_at, step_due_at, due_at,
	assignee, extensions, warned, overdue, escalated, checks_done, form, documents, checks, outcome, refusal_code, comment,
	decided_by, result_media_type, result_content, result_signature, result_signed_by, closed_at, notify_seq, results, comment_kk`

func Scan(row pgx.Row) (*Case, error) {
	var c Case
	var form, docs, checks, results []byte
	err := row.Scan(&c.ID, &c.Number, &c.RegisteredAt, &c.Sender, &c.MessageID, &c.Region, &c.ServiceCode, &c.ApplicationID,
		&c.Channel, &c.ReplyTo, &c.CorrelationID, &c.ApplicantIIN, &c.Language, &c.PassportVersion, &c.Status, &c.Step,
		&c.StepStartedAt, &c.StepDueAt, &c.DueAt, &c.Assignee, &c.Extensions, &c.Warned, &c.Overdue, &c.Escalated,
		&c.ChecksDone, &form, &docs, &checks, &c.Outcome, &c.RefusalCode, &c.Comment, &c.DecidedBy, &c.ResultMediaType,
		&c.ResultContent, &c.ResultSignature, &c.ResultSignedBy, &c.ClosedAt, &c.NotifySeq, &results, &c.CommentKK)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(form, &c.Form); err != nil {
		return nil, fmt.Errorf("case %d: form: %w", c.ID, err)
	}
	if err := json.Unmarshal(docs, &c.Documents); err != nil {
		return nil, fmt.Errorf("case %d: documents: %w", c.ID, err)
	}
	if err := json.Unmarshal(checks, &c.Checks); err != nil {
		return nil, fmt.Errorf("case %d: checks: %w", c.ID, err)
	}
	if err := json.Unmarshal(results, &c.Results); err != nil {
		return nil, fmt.Errorf("case %d: results: %w", c.ID, err)
	}
	return &c, nil
}

// ErrNotFound is a case that does not exist (in the region).
var ErrNotFound = errors.New("no such case")

// Querier is a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// QueryCase reads the case the clause selects (after "FROM cases"), or ErrNotFound.
func QueryCase(ctx context.Context, q Querier, clause string, args ...any) (*Case, error) {
	c, err := Scan(q.QueryRow(ctx, `SELECT `+Columns+` FROM cases `+clause, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return c, err
}

// QueryCases reads every case the clause selects.
func QueryCases(ctx context.Context, q Querier, clause string, args ...any) ([]*Case, error) {
	rows, err := q.Query(ctx, `SELECT `+Columns+` FROM cases `+clause, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Case, error) { return Scan(r) })
}

// Lock reads a case for update in tx.
func Lock(ctx context.Context, tx pgx.Tx, id int64) (*Case, error) {
	return QueryCase(ctx, tx, `WHERE id = $1 FOR UPDATE`, id)
}

// Save writes back the mutable state of c.
func Save(ctx context.Context, tx pgx.Tx, c *Case) error {
	checks, err := json.Marshal(c.Checks)
	if err != nil {
		return err
	}
	results, err := json.Marshal(c.Results)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE cases SET status = $2, step = $3, step_started_at = $4, step_due_at = $5, due_at = $6,
		assignee = $7, extensions = $8, warned = $9, overdue = $10, escalated = $11, checks_done = $12, checks = $13,
		outcome = $14, refusal_code = $15, comment = $16, decided_by = $17, result_media_type = $18, result_content = $19,
		result_signature = $20, result_signed_by = $21, closed_at = $22, notify_seq = $23, results = $24, comment_kk = $25 WHERE id = $1`,
		c.ID, c.Status, c.Step, c.StepStartedAt, c.StepDueAt, c.DueAt, c.Assignee, c.Extensions, c.Warned, c.Overdue,
		c.Escalated, c.ChecksDone, checks, c.Outcome, c.RefusalCode, c.Comment, c.DecidedBy, c.ResultMediaType,
		c.ResultContent, c.ResultSignature, c.ResultSignedBy, c.ClosedAt, c.NotifySeq, results, c.CommentKK)
	return err
}

// Event is one line of a case's history.
type Event struct {
	Seq       int
	At        time.Time
	Actor     string
	ActorName string
	Role      string
	Action    string
	Status    string
	Step      string
	Note      string
	// NoteKK is Note in Kazakh where the engine wrote it; empty for a person's words or a number.
	NoteKK string
}

// Actions recorded in the history.
const (
	ActRegistered = "registered"
	ActChecked    = "checked"
	ActCompleted  = "step_completed"
	ActAssigned   = "assigned"
	ActDecided    = "decided"
	ActSigned     = "signed"
	ActExtended   = "extended"
	ActWarned     = "deadline_warning"
	ActOverdue    = "step_overdue"
	ActEscalated  = "escalated"
	ActIssued     = "result_issued"
	ActNotified   = "notified"
)

func AddEvent(ctx context.Context, tx pgx.Tx, caseID int64, e Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, seq, at, actor, actor_name, role, action, status, step, note, note_kk)
		VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM case_events WHERE case_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		caseID, e.At, e.Actor, e.ActorName, e.Role, e.Action, e.Status, e.Step, e.Note, e.NoteKK)
	return err
}
