package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/jackc/pgx/v5"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// Document is one result document the channel received, with its printable form when РШЭП sent one.
type Document struct {
	ApplicationID string
	// Number is the application's registration number.
	Number   string
	Position int
	DocID    string
	Kind     string
	NameRU   string
	NameKK   string
	// MediaType, Content and Signature are the signed document; Digest the SHA-256 (hex) of Content.
	MediaType string
	Content   []byte
	Signature []byte
	Digest    string
	// Printable is the PDF and PrintableSignature its detached signature; VerifyURL where its QR leads.
	Printable          []byte
	PrintableSignature []byte
	VerifyURL          string
	// Region is the provider's region (the node that signed the printable form is rshep-<region>, or
	// the passport's own provider participant), ServiceCode the passport's code.
	Region      string
	ServiceCode string
}

// AddDocuments records the result documents of a notification, once (a redelivered notification adds
// nothing), after those recorded before: a waiting list issues documents with several notifications (the
// registration ticket with QUEUED, the referral later with REFERRAL_OFFERED), each kept. The caller holds
// the application's row locked, so positions are taken in turn.
func AddDocuments(ctx context.Context, tx pgx.Tx, applicationID string, docs []*applicationv1.ResultDocument) error {
	for _, d := range docs {
		doc := d.GetDocument()
		if len(doc.GetContent()) == 0 {
			continue
		}
		sum := sha256.Sum256(doc.GetContent())
		p := d.GetPrintable()
		// One statement, so a pipelined transaction sends it with the rest: kept once by its id and
		// digest, placed after the documents before it.
		if _, err := tx.Exec(ctx, `INSERT INTO result_documents (application_id, position, doc_id, kind, name_ru, name_kk, media_type,
				content, signature, digest, printable, printable_signature, verify_url)
			SELECT $1::uuid, (SELECT coalesce(max(position) + 1, 0) FROM result_documents WHERE application_id = $1::uuid), $2::text, $3::text,
				$4::text, $5::text, $6::text, $7::bytea, $8::bytea, $9::text, $10::bytea, $11::bytea, $12::text
			WHERE NOT EXISTS (SELECT 1 FROM result_documents WHERE application_id = $1::uuid AND doc_id = $2::text AND digest = $9::text)`,
			applicationID, d.GetId(), d.GetKind(), d.GetName().GetRu(), d.GetName().GetKk(), doc.GetMediaType(), doc.GetContent(),
			doc.GetSignature(), hex.EncodeToString(sum[:]), nilIfEmpty(p.GetContent()), nilIfEmpty(p.GetSignature()), d.GetVerifyUrl()); err != nil {
			return err
		}
	}
	return nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

const documentColumns = `d.application_id::text, a.number, d.position, d.doc_id, d.kind, d.name_ru, d.name_kk, d.media_type, d.content,
	d.signature, d.digest, coalesce(d.printable, ''), coalesce(d.printable_signature, ''), d.verify_url, a.region, a.service_code`

func scanDocument(r pgx.CollectableRow) (*Document, error) {
	var d Document
	err := r.Scan(&d.ApplicationID, &d.Number, &d.Position, &d.DocID, &d.Kind, &d.NameRU, &d.NameKK, &d.MediaType, &d.Content,
		&d.Signature, &d.Digest, &d.Printable, &d.PrintableSignature, &d.VerifyURL, &d.Region, &d.ServiceCode)
	return &d, err
}

// Documents are the result documents of an application, in РШЭП's order.
func (s Store) Documents(ctx context.Context, applicationID string) ([]*Document, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+documentColumns+` FROM result_documents d JOIN applications a ON a.id = d.application_id
		WHERE d.application_id = $1 ORDER BY d.position`, applicationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDocument)
}

// FindDocument is the document a verification link names: the registration number, the document's id
// and the digest of its signed text must all match; ErrNotFound otherwise, whichever does not.
func (s Store) FindDocument(ctx context.Context, number, docID, digest string) (*Document, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+documentColumns+` FROM result_documents d JOIN applications a ON a.id = d.application_id
		WHERE d.digest = $1 AND d.doc_id = $2 AND a.number = $3 LIMIT 1`, digest, docID, number)
	if err != nil {
		return nil, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDocument)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return d, err
}
