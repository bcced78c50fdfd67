package applicant_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/internal/printform"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// TestResultDocumentsAndTheirVerification: the channel keeps every result document РШЭП issues with its
// printable form, finds it by what a printed copy's QR code carries, and checks both signatures; a
// document named with another digest, or sealed by another region's node, is not taken for it.
func TestResultDocumentsAndTheirVerification(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const number = "55-2026-000007"
	textOf := func(number string) []byte {
		return []byte("СПРАВКА ОБ ОПЕКЕ\nРегистрационный номер заявления: " + number + "\n")
	}
	text := textOf(number)
	pdf := []byte("%PDF-1.3 the printable form")
	node, stranger := f.ca.System(t, "rshep-55"), f.ca.System(t, "rshep-27")
	sign := func(s interface{ Sign([]byte) ([]byte, error) }, b []byte) []byte {
		sig, err := s.Sign(b)
		require.NoError(t, err)
		return sig
	}
	issue := func(t *testing.T, number string, sealer interface{ Sign([]byte) ([]byte, error) }) string {
		id, text := f.draft(t), textOf(number)
		n := &applicationv1.StatusNotification{ApplicationId: id, Status: applicationv1.CaseStatus_CASE_STATUS_RESULT_ISSUED, Sequence: 1,
			RegistrationNumber: number, Time: timestamppb.Now(),
			Result: &envelopev1.SignedDocument{MediaType: "text/plain; charset=utf-8", Content: text, Signature: sign(node, text)},
			Results: []*applicationv1.ResultDocument{{Id: "certificate", Kind: "certificate", Name: &applicationv1.LocalizedText{Ru: "Справка", Kk: "Анықтама"},
				Document:  &envelopev1.SignedDocument{MediaType: "text/plain; charset=utf-8", Content: text, Signature: sign(node, text)},
				Printable: &envelopev1.SignedDocument{MediaType: printform.MediaType, Content: pdf, Signature: sign(sealer, pdf)},
				VerifyUrl: printform.VerifyLink("https://portal.example.kz", number, "certificate", text)}}}
		require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
		require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)), "a redelivery adds nothing")
		return id
	}
	id := issue(t, number, node)
	a, err := f.desk.Get(t.Context(), owner, id)
	require.NoError(t, err)
	docs, err := f.desk.Documents(t.Context(), a)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	require.Equal(t, pdf, docs[0].Printable)

	tests := []struct {
		name, number, doc, digest string
		found                     bool
	}{
		{name: "ok/what the QR code carries", number: number, doc: "certificate", digest: printform.Digest(text), found: true},
		{name: "fail/altered document", number: number, doc: "certificate", digest: printform.Digest(append(text, '!'))},
		{name: "fail/another document id", number: number, doc: "refusal", digest: printform.Digest(text)},
		{name: "fail/another number", number: "55-2026-000008", doc: "certificate", digest: printform.Digest(text)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := f.desk.FindDocument(t.Context(), tt.number, tt.doc, tt.digest)
			if !tt.found {
				require.ErrorIs(t, err, applicant.ErrNotFound)
				return
			}
			require.NoError(t, err)
			c, err := f.desk.VerifyDocument(t.Context(), d)
			require.NoError(t, err)
			require.Equal(t, "rshep-55", c.Text.Holder.Name)
			require.Equal(t, "rshep-55", c.Printable.Holder.Name)
			require.Equal(t, "ocsp", c.Printable.Status.Source[:4])
		})
	}

	t.Run("fail/sealed by another region's node", func(t *testing.T) {
		t.Parallel()
		other := issue(t, "55-2026-000009", stranger)
		a, err := f.desk.Get(t.Context(), owner, other)
		require.NoError(t, err)
		docs, err := f.desk.Documents(t.Context(), a)
		require.NoError(t, err)
		_, err = f.desk.VerifyDocument(t.Context(), docs[0])
		require.ErrorContains(t, err, "signed by the system rshep-27, not by the provider's system rshep-55")
	})

	// ИС Е-Астана's registration ticket: signed by the МИО employee, its printable form sealed by the
	// passport's provider participant (eastana), not by a region's node; another system's seal is refused.
	kg := func(t *testing.T, number string, sealer interface{ Sign([]byte) ([]byte, error) }) *applicant.Document {
		t.Helper()
		id, text := f.kgDraft(t), []byte("РЕГИСТРАЦИОННЫЙ ТАЛОН\nНомер заявления: "+number+"\n")
		employee := f.ca.Person(t, "870614400527", pki.Sign)
		n := &applicationv1.StatusNotification{ApplicationId: id, Status: applicationv1.CaseStatus_CASE_STATUS_QUEUED, Sequence: 2,
			RegistrationNumber: number, Time: timestamppb.Now(), Queue: &applicationv1.QueuePlace{ListId: "astana", Number: 25, Ahead: 24, Kind: "general"},
			Results: []*applicationv1.ResultDocument{{Id: "registration_ticket", Kind: "registration_ticket",
				Document:  &envelopev1.SignedDocument{MediaType: "text/plain; charset=utf-8", Content: text, Signature: sign(employee, text)},
				Printable: &envelopev1.SignedDocument{MediaType: printform.MediaType, Content: pdf, Signature: sign(sealer, pdf)}}}}
		require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
		a, err := f.desk.Get(t.Context(), owner, id)
		require.NoError(t, err)
		docs, err := f.desk.Documents(t.Context(), a)
		require.NoError(t, err)
		require.Len(t, docs, 1)
		return docs[0]
	}
	t.Run("ok/a waiting list's ticket sealed by its provider's system", func(t *testing.T) {
		t.Parallel()
		c, err := f.desk.VerifyDocument(t.Context(), kg(t, "ЕА-2026-000001", f.ca.System(t, "eastana")))
		require.NoError(t, err)
		require.Equal(t, "870614400527", c.Text.Holder.IIN, "the МИО employee's signature")
		require.Equal(t, "eastana", c.Printable.Holder.Name)
	})
	t.Run("fail/a waiting list's ticket sealed by the region's node", func(t *testing.T) {
		t.Parallel()
		_, err := f.desk.VerifyDocument(t.Context(), kg(t, "ЕА-2026-000002", f.ca.System(t, "rshep-71")))
		require.ErrorContains(t, err, "signed by the system rshep-71, not by the provider's system eastana")
	})
}
