package e2e

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/qakit"
)

// TestResultByEmail: Асель gives her e-mail address with the consent at the office of region 51 (passport
// 51: «нарочно или посредством отправки на электронную почту»); once the officer signs the result, РШЭП
// e-mails it through the suite's mail server, and the letter carries the signed result, its signature
// and the printable form, which verify from the attachments. Every service's log is free of the address.
func TestResultByEmail(t *testing.T) {
	w := start(t)
	ctx := t.Context()
	const address = "asel.akhmetova@example.kz"
	clerk := w.staff(t, "clerk-pavlodar", "51")
	paper := []string{"birth_certificate", "residence", "ppk_conclusion", "disability_certificate", "bank_account_document"}

	t.Run("fail/an address without the consent", func(t *testing.T) {
		_, err := clerk.OfficeApply(ctx, "disabled-children-home-education", asel, qakit.Form{Paper: paper,
			Fields: map[string]string{"child_iin": child, "bank_account": "KZ86125KZT5004100100", "email": address, "email_consent": "no"}})
		require.ErrorContains(t, err, "без согласия на его хранение")
	})

	receipt, err := clerk.OfficeApply(ctx, "disabled-children-home-education", asel, qakit.Form{Paper: paper,
		Fields: map[string]string{"child_iin": child, "bank_account": "KZ86125KZT5004100100", "email": address, "email_consent": "yes"}})
	require.NoError(t, err)
	number := qakit.Number(receipt)
	path := strings.TrimSuffix(receipt.Path(), "/receipt")
	officer := w.staff(t, "officer-pavlodar", "51")
	_, err = officer.Act(ctx, path, "complete", nil)
	require.NoError(t, err)
	head := w.staff(t, "head-pavlodar", "51")
	_, err = head.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	pg, err := officer.SignResult(ctx, path)
	require.NoError(t, err)
	require.NoError(t, pg.Err())

	letters, err := w.s.Letters(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, letters, 1, "one letter: the result, once")
	raw, err := os.ReadFile(letters[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), "X-Egov-Envelope-To: "+address)
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, "<"+number+".result@rshep-51.egov>", m.Header.Get("Message-Id"))
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	files := map[string][]byte{}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		if p.FileName() != "" {
			files[p.FileName()], err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
			require.NoError(t, err)
		}
	}
	base := number + "-certificate"
	require.Contains(t, string(files[base+".txt"]), number)
	v, err := w.s.Verifier()
	require.NoError(t, err)
	res, err := v.Verify(ctx, files[base+".txt"], files[base+".txt.p7s"], envelope.Expect{Purpose: envelope.PurposeDocument})
	require.NoError(t, err, "the officer's signature verifies from the attachments (OCSP included)")
	require.NotEmpty(t, res.Holder.IIN)
	res, err = v.Verify(ctx, files[base+".pdf"], files[base+".pdf.p7s"], envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err)
	require.Equal(t, "rshep-51", res.Holder.Name)

	for name, log := range w.s.Logs() {
		require.NotContains(t, log, address, "%s's log names the address", name)
	}
}
