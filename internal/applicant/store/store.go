// Package store keeps a channel's applications and their statuses in PostgreSQL (the tables of
// migrations/): the rows the application lifecycle (internal/applicant/lifecycle) moves through. Every
// write that changes an application's status adds the status row the citizen sees in the same
// transaction.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create the applications and statuses tables (version 0500).
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

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
	// Refused is a refusal among the application's statuses: at the signature, at РШЭП's intake, or the
	// decision whose result (a motivated refusal) is issued. A refusal's RESULT_ISSUED is still a
	// refusal to the citizen, never «Результат готов» in green.
	Refused bool
	// Recorded is the number of the newest status row (statuses.recorded): a page drawn with it asks
	// for the statuses recorded after it.
	Recorded int64
	// Queue is a waiting list's newest place of the child (the notification with the highest sequence
	// that gave one); nil for an application of no waiting list, or before its registration.
	Queue *Place
	// Doc is Content, read.
	Doc *applicationv1.Application
}

// Closed reports whether the application has reached a final state.
func (a *Application) Closed() bool { return a.ClosedAt != nil }

// Issued is what the lifecycle needs to know of the hand-over.
func (a *Application) Issued() lifecycle.Issued {
	return lifecycle.Issued{Closed: a.Closed(), HasResult: len(a.ResultContent) > 0, Waiting: !a.Closed() && a.Queue != nil,
		HandedOver: a.HandedOverAt != nil, Unclaimed: a.UnclaimedAt != nil}
}

// Place is a child's place in a waiting list (egov.application.v1.QueuePlace): the list, the queue
// number, how many children of its kind wait before it, and the kind (general, primary, extraordinary).
type Place struct {
	List   string
	Number int64
	Ahead  int64
	Kind   string
	// Seq is the sequence of the provider's notification that gave it.
	Seq int
}

// place reads a place from its nullable columns: none without a number.
func place(list string, number, ahead *int64, kind string, seq int) *Place {
	if number == nil {
		return nil
	}
	p := &Place{List: list, Number: *number, Kind: kind, Seq: seq}
	if ahead != nil {
		p.Ahead = *ahead
	}
	return p
}

// Status is one status the citizen sees.
type Status struct {
	Status   string
	At       time.Time
	Seq      int
	TextRU   string
	TextKK   string
	ReasonRU string
	ReasonKK string
	// Comment is in Russian; CommentKK its Kazakh text, empty where there is none (shown: Comment).
	Comment   string
	CommentKK string
	// Queue is the child's place the status gave (a waiting list's statuses), nil otherwise.
	Queue *Place
}

// Notice is a status of one of the owner's applications, for «Уведомления».
type Notice struct {
	Status
	// Recorded numbers the row in the order the channel recorded it (unread ones are after the seen).
	Recorded      int64
	ApplicationID string
	ServiceCode   string
	Region        string
	Number        string
}

// ErrNotFound is an application that does not exist or is not the owner's.
var ErrNotFound = errors.New("applicant: no such application")

// ErrNotDraft is a write that expected a draft and found the application moved on.
var ErrNotDraft = errors.New("applicant: the application is no longer a draft")

// ErrNotIssued is a hand-over of an application whose result is not ready or was already handed over.
var ErrNotIssued = errors.New("applicant: the result is not issued, or was already handed over or marked unclaimed")

// Store is a channel's applications.
type Store struct {
	DB *pgxpool.Pool
}

const columns = `id, owner, channel, service_code, region, applicant_iin, representative_iin, language, content, signature, signer,
	message_id, status, number, deadline, created_at, submitted_at, sent_at, result_media_type, result_content, result_signature,
	closed_at, handed_over_at, handed_over_by, unclaimed_at,
	EXISTS (SELECT 1 FROM statuses r WHERE r.application_id = applications.id AND (r.status = 'REFUSED' OR r.reason_ru <> '')) AS refused,
	(SELECT coalesce(max(r.recorded), 0) FROM statuses r WHERE r.application_id = applications.id) AS recorded,
	queue_list, queue_number, queue_ahead, queue_kind, queue_seq`

func scan(r pgx.CollectableRow) (*Application, error) {
	a := &Application{}
	var (
		qList, qKind    string
		qNumber, qAhead *int64
		qSeq            int
	)
	err := r.Scan(&a.ID, &a.Owner, &a.Channel, &a.ServiceCode, &a.Region, &a.ApplicantIIN, &a.RepresentativeIIN, &a.Language,
		&a.Content, &a.Signature, &a.Signer, &a.MessageID, &a.Status, &a.Number, &a.Deadline, &a.CreatedAt, &a.SubmittedAt,
		&a.SentAt, &a.ResultMediaType, &a.ResultContent, &a.ResultSignature, &a.ClosedAt, &a.HandedOverAt, &a.HandedOverBy, &a.UnclaimedAt, &a.Refused, &a.Recorded,
		&qList, &qNumber, &qAhead, &qKind, &qSeq)
	if err != nil {
		return nil, err
	}
	a.Queue = place(qList, qNumber, qAhead, qKind, qSeq)
	a.Doc = new(applicationv1.Application)
	if err := proto.Unmarshal(a.Content, a.Doc); err != nil {
		return nil, fmt.Errorf("applicant: application %s: %w", a.ID, err)
	}
	return a, nil
}

// Get returns the owner's application.
func (s Store) Get(ctx context.Context, owner, id string) (*Application, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+columns+` FROM applications WHERE id = $1 AND owner = $2`, id, owner)
	if err != nil {
		return nil, err
	}
	a, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// List returns the owner's applications, newest first.
func (s Store) List(ctx context.Context, owner string, limit int) ([]*Application, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+columns+` FROM applications WHERE owner = $1 ORDER BY created_at DESC LIMIT $2`, owner, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// Statuses are an application's statuses in the order they happened.
func (s Store) Statuses(ctx context.Context, id string) ([]Status, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+statusColumns+` FROM statuses WHERE application_id = $1 ORDER BY seq, at`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanStatus)
}

const statusColumns = `status, at, seq, text_ru, text_kk, reason_ru, reason_kk, comment, comment_kk, queue_list, queue_number, queue_ahead, queue_kind`

func scanStatus(r pgx.CollectableRow) (Status, error) {
	var (
		st              Status
		qList, qKind    string
		qNumber, qAhead *int64
	)
	err := r.Scan(&st.Status, &st.At, &st.Seq, &st.TextRU, &st.TextKK, &st.ReasonRU, &st.ReasonKK, &st.Comment, &st.CommentKK,
		&qList, &qNumber, &qAhead, &qKind)
	st.Queue = place(qList, qNumber, qAhead, qKind, st.Seq)
	return st, err
}

// Waiting is an application of a waiting list with the child's places, oldest first (its movement).
type Waiting struct {
	*Application
	// Places are the statuses that gave a place, in the provider's order.
	Places []Status
}

// Waiting are the owner's applications that reached a waiting list (a queue place came with one of
// their statuses), newest first, each with the child's movement in the list.
func (s Store) Waiting(ctx context.Context, owner string, limit int) ([]Waiting, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+columns+` FROM applications WHERE owner = $1 AND queue_number IS NOT NULL
		ORDER BY created_at DESC LIMIT $2`, owner, limit)
	if err != nil {
		return nil, err
	}
	apps, err := pgx.CollectRows(rows, scan)
	if err != nil || len(apps) == 0 {
		return nil, err
	}
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.ID
	}
	rows, err = s.DB.Query(ctx, `SELECT application_id::text, `+statusColumns+` FROM statuses
		WHERE application_id = ANY($1::uuid[]) AND queue_number IS NOT NULL ORDER BY application_id, seq, at`, ids)
	if err != nil {
		return nil, err
	}
	places := map[string][]Status{}
	_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
		var (
			id              string
			st              Status
			qList, qKind    string
			qNumber, qAhead *int64
		)
		err := r.Scan(&id, &st.Status, &st.At, &st.Seq, &st.TextRU, &st.TextKK, &st.ReasonRU, &st.ReasonKK, &st.Comment, &st.CommentKK,
			&qList, &qNumber, &qAhead, &qKind)
		st.Queue = place(qList, qNumber, qAhead, qKind, st.Seq)
		places[id] = append(places[id], st)
		return struct{}{}, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Waiting, len(apps))
	for i, a := range apps {
		out[i] = Waiting{Application: a, Places: places[a.ID]}
	}
	return out, nil
}

// Notices are the statuses of all the owner's applications, newest first. Within one application a
// status never shows as older than the one before it: ШЭП's delivery receipt is stamped by ШЭП and
// may come a moment after РШЭП's result, so each status is dated, for the order, by the latest time of
// it and every status before it (its "shown" time), and ties go by the application's own order.
func (s Store) Notices(ctx context.Context, owner string, limit int) ([]Notice, error) {
	rows, err := s.DB.Query(ctx, `SELECT status, at, seq, text_ru, text_kk, reason_ru, reason_kk, comment, comment_kk, recorded, id, service_code, region, number
		FROM (SELECT s.status, s.at, s.seq, s.text_ru, s.text_kk, s.reason_ru, s.reason_kk, s.comment, s.comment_kk, s.recorded,
				a.id, a.service_code, a.region, a.number,
				max(s.at) OVER (PARTITION BY s.application_id ORDER BY s.seq, s.at ROWS UNBOUNDED PRECEDING) AS shown
			FROM statuses s JOIN applications a ON a.id = s.application_id
			WHERE a.owner = $1 AND s.status <> 'DRAFT') n
		ORDER BY shown DESC, id, seq DESC LIMIT $2`, owner, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.Status.Status, &n.At, &n.Seq, &n.TextRU, &n.TextKK, &n.ReasonRU, &n.ReasonKK, &n.Comment, &n.CommentKK, &n.Recorded,
			&n.ApplicationID, &n.ServiceCode, &n.Region, &n.Number)
		return n, err
	})
}

// Newest is the number of the owner's application's newest status row (0 with none), and ErrNotFound
// when the application is not the owner's.
func (s Store) Newest(ctx context.Context, owner, id string) (int64, error) {
	var n int64
	err := s.DB.QueryRow(ctx, `SELECT coalesce((SELECT max(recorded) FROM statuses WHERE application_id = a.id), 0)
		FROM applications a WHERE a.id = $1 AND a.owner = $2`, id, owner).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	return n, err
}

// Unread counts the owner's notices recorded after the row seen (statuses.recorded), and gives the
// newest row's number (what the owner has seen once the list is shown).
func (s Store) Unread(ctx context.Context, owner string, seen int64) (count int, newest int64, err error) {
	err = s.DB.QueryRow(ctx, `SELECT count(*) FILTER (WHERE s.recorded > $2), coalesce(max(s.recorded), 0)
		FROM statuses s JOIN applications a ON a.id = s.application_id
		WHERE a.owner = $1 AND s.status <> 'DRAFT'`, owner, seen).Scan(&count, &newest)
	return count, newest, err
}

// AddStatus adds a status row under key (its source: "local:…", "shep:…", "rshep:<seq>", "tson:…"),
// once: a repeat of the key changes nothing and reports false (in a pipelined transaction, where Exec
// reports nothing, always false).
func AddStatus(ctx context.Context, tx pgx.Tx, id, key string, st Status) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO statuses (application_id, key, seq, status, at, text_ru, text_kk, reason_ru, reason_kk, comment, comment_kk)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		id, key, st.Seq, st.Status, st.At, st.TextRU, st.TextKK, st.ReasonRU, st.ReasonKK, st.Comment, st.CommentKK)
	return err == nil && tag.RowsAffected() == 1, err
}

// Draft is a new application, unsigned.
type Draft struct {
	ID, Owner, Channel, ServiceCode, Region, ApplicantIIN, RepresentativeIIN, Language string
	Content                                                                            []byte
	At                                                                                 time.Time
}

// Also is a channel's own record of a new draft, written in the draft's transaction (the ЦОН desk's
// counter): the draft and it exist together or not at all.
type Also func(ctx context.Context, tx pgx.Tx, id string) error

// InsertDraft records a draft with its DRAFT status, and what also says, in one transaction.
func (s Store) InsertDraft(ctx context.Context, d Draft, st Status, also ...Also) error {
	return pgdb.InTxPipelined(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO applications (id, owner, channel, service_code, region, applicant_iin, representative_iin,
			language, content, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			d.ID, d.Owner, d.Channel, d.ServiceCode, d.Region, d.ApplicantIIN, d.RepresentativeIIN, d.Language, d.Content,
			lifecycle.StatusDraft, d.At); err != nil {
			return err
		}
		if _, err := AddStatus(ctx, tx, d.ID, "local:"+lifecycle.StatusDraft, st); err != nil {
			return err
		}
		for _, f := range also {
			if err := f(ctx, tx, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Submission is a signed application with its ШЭП envelope, queued in the outbox.
type Submission struct {
	Owner, ID, Signer, MessageID, TraceParent string
	Signature, Envelope                       []byte
}

// Submit marks a draft submitted and puts its envelope in the outbox, in one transaction; ErrNotDraft
// when it was submitted meanwhile.
func (s Store) Submit(ctx context.Context, sub Submission, st Status) error {
	return pgdb.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE applications SET status = $3, signature = $4, signer = $5, envelope = $6, message_id = $7, submitted_at = $8,
			trace_context = $9 WHERE id = $1 AND owner = $2 AND status = 'DRAFT'`,
			sub.ID, sub.Owner, lifecycle.StatusSubmitted, sub.Signature, sub.Signer, sub.Envelope, sub.MessageID, st.At, sub.TraceParent)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotDraft
		}
		_, err = AddStatus(ctx, tx, sub.ID, "local:"+lifecycle.StatusSubmitted, st)
		return err
	})
}

// SubmittedWith reports whether the application was submitted with message id msgID (a commit whose
// answer was lost).
func (s Store) SubmittedWith(ctx context.Context, id, msgID string) (bool, error) {
	var sent bool
	err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM applications WHERE id = $1 AND message_id = $2)`, id, msgID).Scan(&sent)
	return sent, err
}

// HandOver records the hand-over (HANDED_OVER) or that the result was left unclaimed (UNCLAIMED), once;
// ErrNotIssued when the result is not there or the hand-over happened already.
func (s Store) HandOver(ctx context.Context, owner, id, by string, unclaimed bool, st Status) error {
	set := `handed_over_at = $3, handed_over_by = $4`
	if unclaimed {
		set = `unclaimed_at = $3, handed_over_by = $4`
	}
	return pgdb.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		// A waiting list's ticket is handed over while the child waits (a place and no end yet); left
		// unclaimed only once final.
		tag, err := tx.Exec(ctx, `UPDATE applications SET status = $5, `+set+` WHERE id = $1 AND owner = $2
			AND result_content IS NOT NULL AND (closed_at IS NOT NULL OR (queue_number IS NOT NULL AND NOT $6))
			AND handed_over_at IS NULL AND unclaimed_at IS NULL`,
			id, owner, st.At, by, st.Status, unclaimed)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotIssued
		}
		_, err = AddStatus(ctx, tx, id, "tson:"+st.Status, st)
		return err
	})
}
