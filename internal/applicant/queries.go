package applicant

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

const columns = `id, owner, channel, service_code, region, applicant_iin, representative_iin, language, content, signature, signer,
	message_id, status, number, deadline, created_at, submitted_at, sent_at, result_media_type, result_content, result_signature,
	closed_at, handed_over_at, handed_over_by, unclaimed_at`

func scan(r pgx.CollectableRow) (*Application, error) {
	a := &Application{}
	err := r.Scan(&a.ID, &a.Owner, &a.Channel, &a.ServiceCode, &a.Region, &a.ApplicantIIN, &a.RepresentativeIIN, &a.Language,
		&a.Content, &a.Signature, &a.Signer, &a.MessageID, &a.Status, &a.Number, &a.Deadline, &a.CreatedAt, &a.SubmittedAt,
		&a.SentAt, &a.ResultMediaType, &a.ResultContent, &a.ResultSignature, &a.ClosedAt, &a.HandedOverAt, &a.HandedOverBy, &a.UnclaimedAt)
	if err != nil {
		return nil, err
	}
	a.Doc = new(applicationv1.Application)
	if err := proto.Unmarshal(a.Content, a.Doc); err != nil {
		return nil, fmt.Errorf("applicant: application %s: %w", a.ID, err)
	}
	return a, nil
}

// Get returns the owner's application.
func (d *Desk) Get(ctx context.Context, owner, id string) (*Application, error) {
	rows, err := d.o.DB.Query(ctx, `SELECT `+columns+` FROM applications WHERE id = $1 AND owner = $2`, id, owner)
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
func (d *Desk) List(ctx context.Context, owner string, limit int) ([]*Application, error) {
	rows, err := d.o.DB.Query(ctx, `SELECT `+columns+` FROM applications WHERE owner = $1 ORDER BY created_at DESC LIMIT $2`, owner, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// Statuses are an application's statuses in the order they happened.
func (d *Desk) Statuses(ctx context.Context, id string) ([]Status, error) {
	rows, err := d.o.DB.Query(ctx, `SELECT status, at, seq, text_ru, text_kk, reason_ru, reason_kk, comment FROM statuses
		WHERE application_id = $1 ORDER BY seq, at`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Status, error) {
		var s Status
		err := r.Scan(&s.Status, &s.At, &s.Seq, &s.TextRU, &s.TextKK, &s.ReasonRU, &s.ReasonKK, &s.Comment)
		return s, err
	})
}

// Notice is a status of one of the owner's applications, for «Уведомления».
type Notice struct {
	Status
	ApplicationID string
	ServiceCode   string
	Region        string
	Number        string
}

// Notices are the statuses of all the owner's applications, newest first.
func (d *Desk) Notices(ctx context.Context, owner string, limit int) ([]Notice, error) {
	rows, err := d.o.DB.Query(ctx, `SELECT s.status, s.at, s.seq, s.text_ru, s.text_kk, s.reason_ru, s.reason_kk, s.comment,
			a.id, a.service_code, a.region, a.number
		FROM statuses s JOIN applications a ON a.id = s.application_id
		WHERE a.owner = $1 AND s.status <> 'DRAFT' ORDER BY s.at DESC, s.seq DESC LIMIT $2`, owner, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.Status.Status, &n.At, &n.Seq, &n.TextRU, &n.TextKK, &n.ReasonRU, &n.ReasonKK, &n.Comment,
			&n.ApplicationID, &n.ServiceCode, &n.Region, &n.Number)
		return n, err
	})
}

// VerifyResult checks the result document's signature now: who signed, when, the certificate's status.
// A result decided by a person carries that person's signature (a signing certificate); a result of a
// fully automated regulation carries the regional node's system signature, which is checked as such.
func (d *Desk) VerifyResult(ctx context.Context, a *Application) (*envelope.Result, error) {
	if len(a.ResultContent) == 0 {
		return nil, errors.New("applicant: no result yet")
	}
	res, err := d.o.Client.Verifier.VerifyDocument(ctx, &envelopev1.SignedDocument{MediaType: a.ResultMediaType,
		Content: a.ResultContent, Signature: a.ResultSignature}, "")
	if envelope.CodeOf(err) == envelope.CodeWrongKeyUsage {
		res, err = d.o.Client.Verifier.Verify(ctx, a.ResultContent, a.ResultSignature, envelope.Expect{Purpose: envelope.PurposeEnvelope})
		if err == nil && res.Holder.Name != applicationv1.ParticipantID(a.Region) {
			return nil, fmt.Errorf("applicant: the result is signed by the system %s, not by the region's node", res.Holder.Name)
		}
	}
	return res, err
}

// ErrNotIssued is a hand-over of an application whose result is not ready or was already handed over.
var ErrNotIssued = errors.New("applicant: the result is not issued, or was already handed over or marked unclaimed")

// HandOver records that the result was handed to the citizen at the ЦОН by operator (HANDED_OVER), or
// with unclaimed that the citizen did not come for it (UNCLAIMED). Both are final, once.
func (d *Desk) HandOver(ctx context.Context, owner, id, operator string, unclaimed bool) error {
	a, err := d.Get(ctx, owner, id)
	if err != nil {
		return err
	}
	p, ok := d.o.Catalog.Get(a.ServiceCode, a.Region)
	if !ok {
		return fmt.Errorf("applicant: no passport %s/%s", a.ServiceCode, a.Region)
	}
	status, set := StatusHandedOver, `handed_over_at = $3, handed_over_by = $4`
	if unclaimed {
		status, set = StatusUnclaimed, `unclaimed_at = $3, handed_over_by = $4`
	}
	now := d.o.Now()
	s := Status{Status: status, At: now, Seq: seqHandOver}
	for _, n := range p.Notices {
		if n.Status == status {
			s.TextRU, s.TextKK = n.Text.RU, n.Text.KK
		}
	}
	return pgdb.InTx(ctx, d.o.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE applications SET status = $5, `+set+` WHERE id = $1 AND owner = $2
			AND result_content IS NOT NULL AND closed_at IS NOT NULL AND handed_over_at IS NULL AND unclaimed_at IS NULL`,
			id, owner, now, operator, status)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotIssued
		}
		return addStatus(ctx, tx, id, "tson:"+status, s)
	})
}

// Verifier checks signatures with the channel's trust anchors and revocation checks.
func (d *Desk) Verifier() *envelope.Verifier { return d.o.Client.Verifier }
