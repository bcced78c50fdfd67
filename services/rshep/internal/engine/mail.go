package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/mail"
)

// The form's fields of an e-mailed result: a passport that offers delivery by e-mail asks for them
// (passport 51, «посредством отправки на электронную почту»).
const (
	FieldEmail        = "email"
	FieldEmailConsent = "email_consent"
)

// checkEmail is the intake's check of an address and its consent: an address is personal data, kept
// only with the applicant's consent, and must be one address.
func checkEmail(p *catalog.Passport, fields map[string]string) (catalog.Text, bool) {
	if !offersEmail(p) {
		return catalog.Text{}, true // the form's own check refuses a field the passport lacks
	}
	problem, ok := mail.CheckForm(strings.TrimSpace(fields[FieldEmail]), fields[FieldEmailConsent])
	return catalog.Text{RU: problem.RU, KK: problem.KK}, ok
}

// offersEmail reports whether p asks for an address for the result.
func offersEmail(p *catalog.Passport) bool {
	for _, f := range p.Fields {
		if f.ID == FieldEmail {
			return true
		}
	}
	return false
}

// mailResult owes, in tx, the e-mail of c's issued result when the applicant gave an address with the
// consent and the node sends mail: the signed documents, their detached signatures and the printable
// forms, with a text in both languages. One message per case (its key), whatever is redelivered.
func (e *Engine) mailResult(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport) error {
	if e.o.Mail == nil || !offersEmail(p) {
		return nil
	}
	to := strings.TrimSpace(c.Form[FieldEmail])
	if _, ok := mail.CheckForm(to, c.Form[FieldEmailConsent]); !ok || to == "" {
		return nil // no address, or none the intake would have kept: nothing to send
	}
	var files []mail.Attachment
	var names []string
	for _, d := range c.Docs() {
		base := c.Number + "-" + d.ID
		files = append(files,
			mail.Attachment{Name: base + ".txt", MediaType: d.MediaType, Content: d.Content},
			mail.Attachment{Name: base + ".txt.p7s", MediaType: "application/pkcs7-signature", Content: d.Signature})
		if len(d.Printable) > 0 {
			files = append(files,
				mail.Attachment{Name: base + ".pdf", MediaType: "application/pdf", Content: d.Printable},
				mail.Attachment{Name: base + ".pdf.p7s", MediaType: "application/pkcs7-signature", Content: d.PrintableSignature})
		}
		names = append(names, "«"+d.Name.RU+"»")
	}
	status := "APPROVED"
	if c.Outcome == Refuse {
		status = "REFUSED"
	}
	var notice catalog.Text
	for _, n := range p.Notices {
		if n.Status == status {
			notice = n.Text
		}
	}
	verify := ""
	if docs := c.Docs(); len(docs) > 0 && docs[0].VerifyURL != "" {
		verify = docs[0].VerifyURL
	}
	body := mail.Text{
		RU: fmt.Sprintf("Здравствуйте!\n\nУслуга «%s», заявление № %s.\n%s\n\nВо вложении результат: %s — электронный документ, "+
			"его подпись ЭЦП (.p7s) и печатная форма (PDF) с подписью.\n", p.Name.RU, c.Number, notice.RU, strings.Join(names, ", ")),
		KK: fmt.Sprintf("Сәлеметсіз бе!\n\n«%s» қызметі, № %s өтініш.\n%s\n\nТіркемеде нәтиже: электрондық құжат, оның ЭЦҚ қолтаңбасы "+
			"(.p7s) және қол қойылған баспа нысаны (PDF).\n", kkOr(p.Name), c.Number, notice.KK),
	}
	if verify != "" {
		body.RU += "Проверить документ: " + verify + "\n"
		body.KK += "Құжатты тексеру: " + verify + "\n"
	}
	body.RU += "\nПисьмо отправлено автоматически, отвечать на него не нужно.\n"
	body.KK += "\nХат автоматты түрде жіберілді, оған жауап берудің қажеті жоқ.\n"
	_, err := e.o.Mail.Enqueue(ctx, tx, fmt.Sprintf("rshep/case/%d/result", c.ID), mail.Message{
		ID: c.Number + ".result@" + ParticipantID(c.Region) + ".egov", To: to,
		Subject: mail.Text{RU: "Результат государственной услуги, заявление № " + c.Number,
			KK: "Мемлекеттік қызмет нәтижесі, № " + c.Number + " өтініш"},
		Body: body, Attachments: files,
	})
	if err != nil {
		return fmt.Errorf("case %s: the result's e-mail: %w", c.Number, err)
	}
	return nil
}

func kkOr(t catalog.Text) string {
	if t.KK != "" {
		return t.KK
	}
	return t.RU
}
