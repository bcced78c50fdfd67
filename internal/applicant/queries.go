package applicant

import (
	"context"
	"errors"
	"fmt"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// Get returns the owner's application.
func (d *Desk) Get(ctx context.Context, owner, id string) (*Application, error) {
	return d.store.Get(ctx, owner, id)
}

// List returns the owner's applications, newest first.
func (d *Desk) List(ctx context.Context, owner string, limit int) ([]*Application, error) {
	return d.store.List(ctx, owner, limit)
}

// Statuses are an application's statuses in the order they happened.
func (d *Desk) Statuses(ctx context.Context, id string) ([]Status, error) {
	return d.store.Statuses(ctx, id)
}

// Notices are the statuses of all the owner's applications, newest first.
func (d *Desk) Notices(ctx context.Context, owner string, limit int) ([]Notice, error) {
	return d.store.Notices(ctx, owner, limit)
}

// Waiting are the owner's applications that reached a waiting list, newest first, each with the
// child's places as its statuses gave them (its movement in the list).
func (d *Desk) Waiting(ctx context.Context, owner string, limit int) ([]Waiting, error) {
	return d.store.Waiting(ctx, owner, limit)
}

// Newest is the number of the newest status row of the owner's application.
func (d *Desk) Newest(ctx context.Context, owner, id string) (int64, error) {
	return d.store.Newest(ctx, owner, id)
}

// Unread counts the owner's notices recorded after the one numbered seen, and gives the newest number.
func (d *Desk) Unread(ctx context.Context, owner string, seen int64) (count int, newest int64, err error) {
	return d.store.Unread(ctx, owner, seen)
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
		// The provider's system signs an automatic result: the region's node, or the passport's own
		// provider participant (ИС Е-Астана's registration ticket and referral).
		want := applicationv1.ParticipantID(a.Region)
		if p, ok := d.o.Catalog.Get(a.ServiceCode, a.Region); ok && p.Provider.Participant != "" {
			want = p.Provider.Participant
		}
		if err == nil && res.Holder.Name != want {
			return nil, fmt.Errorf("applicant: the result is signed by the system %s, not by the provider's system %s", res.Holder.Name, want)
		}
	}
	return res, err
}

// HandOver records that the result was handed to the citizen at the counter by operator (HANDED_OVER),
// or with unclaimed that the citizen did not come for it (UNCLAIMED). Both are final, once.
func (d *Desk) HandOver(ctx context.Context, owner, id, operator string, unclaimed bool) error {
	a, err := d.Get(ctx, owner, id)
	if err != nil {
		return err
	}
	if !lifecycle.CanHandOver(a.Issued()) || (unclaimed && !lifecycle.CanUnclaim(a.Issued())) {
		return ErrNotIssued
	}
	p, ok := d.o.Catalog.Get(a.ServiceCode, a.Region)
	if !ok {
		return fmt.Errorf("applicant: no passport %s/%s", a.ServiceCode, a.Region)
	}
	status := StatusHandedOver
	if unclaimed {
		status = StatusUnclaimed
	}
	s := Status{Status: status, At: d.o.Now(), Seq: lifecycle.SeqHandOver}
	if !a.Closed() && a.Queue != nil {
		// A waiting child's ticket: the hand-over stands after the status that brought the document,
		// before the list's later statuses (a referral, the enrolment), not at the end of the list.
		s.Seq = a.Queue.Seq
	}
	for _, n := range p.Notices {
		if n.Status == status {
			s.TextRU, s.TextKK = n.Text.RU, n.Text.KK
		}
	}
	return d.store.HandOver(ctx, owner, id, operator, unclaimed, s)
}

// Verifier checks signatures with the channel's trust anchors and revocation checks.
func (d *Desk) Verifier() *envelope.Verifier { return d.o.Client.Verifier }
