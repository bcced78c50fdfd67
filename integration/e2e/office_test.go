package e2e

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/qakit"
)

// TestOfficeIntake: Асель brings a paper application to the provider's office (канцелярия) of region 51;
// the clerk identifies her through ГБД ФЛ, registers it in АРМ with the paper received and a scan, signs
// it, and prints the receipt with the case's number; the case walks the passport's staff steps (officer →
// commission → officer's signature); the signed result is printed and handed over in person, a status
// the receipt's status page shows.
func TestOfficeIntake(t *testing.T) {
	w := start(t)
	ctx := t.Context()
	clerk := w.staff(t, "clerk-pavlodar", "51")
	fields := map[string]string{"child_iin": child, "bank_account": "KZ86125KZT5004100100"}
	paper := []string{"birth_certificate", "residence", "ppk_conclusion", "disability_certificate", "bank_account_document"}

	t.Run("fail/an IIN ГБД ФЛ does not know", func(t *testing.T) {
		_, err := clerk.OfficeApply(ctx, "disabled-children-home-education", missing, qakit.Form{Fields: fields, Paper: paper})
		require.ErrorContains(t, err, "ИИН не найден в ГБД ФЛ")
	})
	t.Run("fail/a document neither received nor scanned", func(t *testing.T) {
		_, err := clerk.OfficeApply(ctx, "disabled-children-home-education", asel, qakit.Form{Fields: fields, Paper: paper[:4]})
		require.ErrorContains(t, err, "не представлен документ")
	})
	t.Run("fail/an officer is not the office", func(t *testing.T) {
		officer := w.staff(t, "officer-pavlodar", "51")
		pg, err := officer.Get(ctx, "/arm/office")
		require.NoError(t, err)
		require.Equal(t, 403, pg.Status)
	})

	receipt, err := clerk.OfficeApply(ctx, "disabled-children-home-education", asel,
		qakit.Form{Fields: fields, Paper: paper, Files: map[string][]byte{"birth_certificate": png()}})
	require.NoError(t, err)
	number := qakit.Number(receipt)
	require.True(t, strings.HasPrefix(number, "51-"), "the receipt names the case's number: %q", number)
	require.Contains(t, receipt.Body, "Ахметова Асель Маратовна", "the applicant as ГБД ФЛ knows her")
	require.Contains(t, receipt.Body, "Расписка о приёме документов")
	require.Equal(t, 5, strings.Count(receipt.Body, "оригинал принят в канцелярии"))
	require.Contains(t, receipt.Body, "скан приложен")
	require.Equal(t, []string{"REGISTERED"}, qakit.Statuses(receipt))
	path := strings.TrimSuffix(receipt.Path(), "/receipt")
	require.Contains(t, receipt.Body, `id="receipt-print"`, "the receipt has a print button")
	status, pdf := fetch(t, clerk.Client(), w.s.URL("rshep"), path+"/receipt.pdf")
	require.Equal(t, 200, status)
	text := pdfText(t, pdf)
	for _, want := range []string{"Расписка о приёме документов", "Регистрационный номер " + number, "ИИН " + asel, child,
		"Документы принял (работник канцелярии услугодателя)", "Документы сдал", "оригинал принят в канцелярии", "Құжаттарды қабылдау"} {
		require.Contains(t, text, want)
	}

	officer := w.staff(t, "officer-pavlodar", "51")
	_, err = officer.Act(ctx, path, "complete", nil)
	require.NoError(t, err)
	head := w.staff(t, "head-pavlodar", "51")
	_, err = head.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	pg, err := officer.SignResult(ctx, path)
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	require.Contains(t, pg.Body, `id="status" data-status="RESULT_ISSUED">Результат готов`)
	require.NotContains(t, pg.Body, `id="handover"`, "the officer does not hand over: the form is the clerk's")

	sig, err := clerk.Get(ctx, path+"/result?part=signature")
	require.NoError(t, err)
	require.Equal(t, 200, sig.Status, "the signed result to print")
	require.NotEmpty(t, sig.Body)
	// The clerk prints the result's printable form: the signed text in Russian and Kazakh, the signer, the
	// QR code of the portal's /verify; sealed by the node.
	status, printed := fetch(t, clerk.Client(), w.s.URL("rshep"), path+"/result?doc=0&part=pdf")
	require.Equal(t, 200, status)
	text = pdfText(t, printed)
	require.Contains(t, text, number)
	require.Contains(t, text, "подписано ЭЦП")
	require.Contains(t, qrOf(t, printed), w.s.URL("portal")+"/verify?")
	status, seal := fetch(t, clerk.Client(), w.s.URL("rshep"), path+"/result?doc=0&part=pdf-signature")
	require.Equal(t, 200, status)
	v, err := w.s.Verifier()
	require.NoError(t, err)
	res, err := v.Verify(ctx, printed, seal, envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err)
	require.Equal(t, "rshep-51", res.Holder.Name)

	pg, err = clerk.HandOver(ctx, path, true)
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	require.Contains(t, pg.Body, `id="status" data-status="HANDED_OVER">Выдано`)
	pg, err = clerk.HandOver(ctx, path, false)
	require.NoError(t, err)
	require.Equal(t, 409, pg.Status, "handed over once")

	receipt, err = clerk.Get(ctx, path+"/receipt")
	require.NoError(t, err)
	require.Equal(t, []string{"REGISTERED", "RESULT_ISSUED", "HANDED_OVER"}, qakit.Statuses(receipt))
	var sent int
	require.NoError(t, w.db.QueryRow(ctx, `SELECT count(*) FROM rshep.outbox WHERE position(convert_to($1, 'UTF8') in envelope) > 0`, number).Scan(&sent))
	require.Zero(t, sent, "no channel is notified of an office application")
	require.Regexp(t, regexp.MustCompile(`data-status="HANDED_OVER"`), receipt.Body)
}
