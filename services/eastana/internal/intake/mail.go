package intake

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/mail"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// Mailing e-mails the result documents of ИС Е-Астана's cases («нарочно или посредством отправки на
// электронную почту»): the signed registration ticket, referral or refusal, and a referral the queue gave
// on its own when a place was released. It is the Intake's Mail; nil sends nothing.
type Mailing struct {
	Outbox *mail.Outbox
	Log    *slog.Logger
}

// mailResults owes, in tx, the e-mail of notification n of case c when it carries result documents and
// the applicant gave an address with the consent (Case.Email is kept only then): each document with its
// detached signature, and its printable form with the seal. One message per notification (its key).
func (in *Intake) mailResults(ctx context.Context, tx pgx.Tx, c *row, n *applicationv1.StatusNotification) error {
	m := in.Mail
	if m == nil || m.Outbox == nil || c.Email == "" || len(n.GetResults()) == 0 {
		return nil
	}
	to := strings.TrimSpace(c.Email)
	if err := mail.CheckAddress(to); err != nil {
		// The address came with the consent but is not one: the result stays in the cabinets and the
		// channel; the operator learns of it without the address.
		if m.Log != nil {
			m.Log.WarnContext(ctx, "eastana: the case's e-mail address is not one address; the result is not e-mailed",
				"case", c.Number, "to", mail.Mask(to))
		}
		return nil
	}
	var files []mail.Attachment
	var names []string
	for _, rd := range n.GetResults() {
		base := safeName(c.Number) + "-" + rd.GetId()
		files = append(files,
			mail.Attachment{Name: base + ".txt", MediaType: rd.GetDocument().GetMediaType(), Content: rd.GetDocument().GetContent()},
			mail.Attachment{Name: base + ".txt.p7s", MediaType: "application/pkcs7-signature", Content: rd.GetDocument().GetSignature()})
		if p := rd.GetPrintable(); len(p.GetContent()) > 0 {
			files = append(files,
				mail.Attachment{Name: base + ".pdf", MediaType: p.GetMediaType(), Content: p.GetContent()},
				mail.Attachment{Name: base + ".pdf.p7s", MediaType: "application/pkcs7-signature", Content: p.GetSignature()})
		}
		names = append(names, "«"+rd.GetName().GetRu()+"»")
	}
	verify := n.GetResults()[0].GetVerifyUrl()
	body := mail.Text{
		RU: fmt.Sprintf("Здравствуйте!\n\nРегистрация детей дошкольного возраста для направления в детские дошкольные организации, "+
			"заявление № %s.\n%s\n\nВо вложении: %s — электронный документ, его подпись ЭЦП (.p7s) и печатная форма (PDF) с подписью.\n",
			c.Number, n.GetText().GetRu(), strings.Join(names, ", ")),
		KK: fmt.Sprintf("Сәлеметсіз бе!\n\nМектепке дейінгі жастағы балаларды мектепке дейінгі ұйымдарға жолдама беру үшін тіркеу, "+
			"№ %s өтініш.\n%s\n\nТіркемеде: электрондық құжат, оның ЭЦҚ қолтаңбасы (.p7s) және қол қойылған баспа нысаны (PDF).\n",
			c.Number, n.GetText().GetKk()),
	}
	if verify != "" {
		body.RU += "Проверить документ: " + verify + "\n"
		body.KK += "Құжатты тексеру: " + verify + "\n"
	}
	body.RU += "\nПисьмо отправлено автоматически, отвечать на него не нужно.\n"
	body.KK += "\nХат автоматты түрде жіберілді, оған жауап берудің қажеті жоқ.\n"
	_, err := m.Outbox.Enqueue(ctx, tx, fmt.Sprintf("eastana/case/%d/notification/%d", c.ID, n.GetSequence()), mail.Message{
		ID: fmt.Sprintf("%s.%d@eastana.egov", safeName(c.Number), n.GetSequence()), To: to,
		Subject: mail.Text{RU: "ИС Е-Астана: " + n.GetResults()[0].GetName().GetRu() + ", заявление № " + c.Number,
			KK: "Е-Астана АЖ: " + n.GetResults()[0].GetName().GetKk() + ", № " + c.Number + " өтініш"},
		Body: body, Attachments: files,
	})
	if err != nil {
		return fmt.Errorf("eastana: the e-mail of %s: %w", c.Number, err)
	}
	m.Outbox.Poke() // the worker looks again after the commit's interval at the latest
	return nil
}

// safeName is an application number as an ASCII file name and Message-ID part: ЕА-2026-000001 becomes
// EA-2026-000001 (some mail clients mangle non-ASCII attachment names).
func safeName(number string) string {
	return strings.NewReplacer("Е", "E", "А", "A").Replace(number)
}
