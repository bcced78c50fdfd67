package applicant

import (
	"context"
	"errors"
	"fmt"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/store"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// Document is a result document the channel received, with its printable form (PDF) when it has one.
type Document = store.Document

// Documents are the result documents of a, in РШЭП's order.
func (d *Desk) Documents(ctx context.Context, a *Application) ([]*Document, error) {
	return d.store.Documents(ctx, a.ID)
}

// FindDocument is the document a printed result's QR code names (number, document id, digest of the
// signed text); ErrNotFound when no document of this channel matches all three.
func (d *Desk) FindDocument(ctx context.Context, number, docID, digest string) (*Document, error) {
	return d.store.FindDocument(ctx, number, docID, digest)
}

// Checked is a document's signatures checked now: the signed text's (a civil servant's SIGN key, or
// the node's system key for an automatic result) and the printable form's (the node's system key).
type Checked struct {
	Text, Printable *envelope.Result
}

// VerifyDocument checks both signatures of doc now, certificate status included. A system signature
// must be the provider's system: the node of the document's region, or the passport's own provider
// participant (ИС Е-Астана seals its documents' printable forms); another participant's key is no
// provider's.
func (d *Desk) VerifyDocument(ctx context.Context, doc *Document) (Checked, error) {
	var c Checked
	node := applicationv1.ParticipantID(doc.Region)
	if p, ok := d.o.Catalog.Get(doc.ServiceCode, doc.Region); ok && p.Provider.Participant != "" {
		node = p.Provider.Participant
	}
	check := func(content, sig []byte) (*envelope.Result, error) {
		res, err := d.o.Client.Verifier.Verify(ctx, content, sig, envelope.Expect{Purpose: envelope.PurposeIssued})
		if err != nil {
			return nil, err
		}
		if res.Holder.System && res.Holder.Name != node {
			return nil, fmt.Errorf("applicant: the document is signed by the system %s, not by the provider's system %s", res.Holder.Name, node)
		}
		return res, nil
	}
	var err error
	if c.Text, err = check(doc.Content, doc.Signature); err != nil {
		return c, err
	}
	if len(doc.Printable) == 0 {
		return c, errors.New("applicant: the document has no printable form")
	}
	if c.Printable, err = check(doc.Printable, doc.PrintableSignature); err != nil {
		return c, err
	}
	if !c.Printable.Holder.System {
		return c, errors.New("applicant: the printable form is not signed by the provider's node")
	}
	return c, nil
}
