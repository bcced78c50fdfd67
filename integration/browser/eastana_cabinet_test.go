package browser

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/qakit"
)

// TestEAstanaCabinet drives ИС Е-Астана's citizen's personal cabinet (the fourth channel of the Astana
// kindergarten registration) in Russian and in Kazakh: Асель signs in with her AUTH key through the
// signer, applies for her child, signs with her SIGNATURE key, and sees her application accepted
// (REGISTERED) with its number; the МИО employee signs the drafted result in the working cabinet over
// HTTP, and the page she left open shows it by itself: QUEUED with the child's place and the signed
// ticket, or the queue's refusal for her 11-year-old ward. Every page of the cabinet is looked at with
// axe-core at both widths.
// A revoked key is refused with the regulation's text and nothing is applied for.
func TestEAstanaCabinet(t *testing.T) {
	checkAxe(t)
	d := suite(t)
	b := newBrowser(t)
	signer := d.Endpoints.Signer
	cab := d.Endpoints.Services["eastana"].HTTP
	require.NotEmpty(t, cab, "egov dev serves ИС Е-Астана's cabinets")

	b.choosePerson(signer, "citizen-akhmetova")
	b.look("eastana-login", cab+"/login")
	b.run("sign in", chromedp.Navigate(cab+"/login"), submit("#login-cert-sign"), chromedp.WaitVisible("#apply", chromedp.ByQuery))
	require.Contains(t, b.text("#user-name"), "АХМЕТОВА", "the name of her certificate")
	b.shot("eastana-01-signed-in")
	b.look("eastana-applications", cab+"/applications")
	b.look("eastana-form", cab+"/apply/preschool-registration")

	// The МИО employee of the demo cast, in the working cabinet over HTTP (qakit), signs the drafted results.
	employee, err := qakit.NewMIO(t.Context(), cab, filepath.Join(d.DataDir, "keys"), "mio-astana")
	require.NoError(t, err)

	for _, c := range []struct{ lang, child, accepted, title, decided, status string }{
		// Айлин is under 7: her registration ticket, QUEUED with her number after the demo queue's 24.
		{"ru", eastanaChild, "Заявление принято", "Мои заявления", "QUEUED", "Поставлен в очередь"},
		// The ward is 11: the queue's refusal, signed as the motivated answer.
		{"kk", ward, "Өтініш қабылданды", "Менің өтініштерім", "REFUSED", "Бас тартылды"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			b.t = t
			b.run("language", chromedp.Navigate(cab+"/lang/"+c.lang+"?back=/applications"), chromedp.WaitVisible("#apply", chromedp.ByQuery))
			require.Contains(t, b.text("h1"), c.title)
			b.run("form", submit("#apply"), chromedp.WaitVisible("#application-form", chromedp.ByQuery))
			var applicantIIN string
			b.run("applicant", chromedp.Value("#f_applicant_iin", &applicantIIN, chromedp.ByQuery))
			require.Equal(t, asel, applicantIIN, "the applicant is the signed-in citizen")

			// A child's IIN with a wrong check digit: the regulation's refusal, and the form again.
			b.run("bad IIN", chromedp.SendKeys("#f_child_iin", "120921600011", chromedp.ByQuery), submit("#form-submit"),
				chromedp.WaitVisible("#problems", chromedp.ByQuery))
			require.Contains(t, b.text("#error"), map[string]string{"ru": "некорректностью введенных данных", "kk": "енгізілген деректердің дұрыс еместігіне"}[c.lang])

			b.run("fill", chromedp.Evaluate(`document.getElementById("f_child_iin").value = ""`, nil), chromedp.SendKeys("#f_child_iin", c.child, chromedp.ByQuery))
			var consent int
			b.run("consent field", chromedp.Evaluate(`document.querySelectorAll("#f_email_consent").length`, &consent))
			if consent > 0 { // the passport's e-mail fields (version 2)
				b.run("consent", chromedp.SetValue("#f_email_consent", "yes", chromedp.ByQuery),
					chromedp.SendKeys("#f_email", "asel@example.kz", chromedp.ByQuery))
			}
			b.run("draft", submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
			require.Contains(t, b.text("#summary"), c.child)
			var violations []string
			b.run("axe on the signing page", axeRun(&violations))
			require.Empty(t, violations, "the signing page: axe-core")
			b.shot("eastana-02-sign-" + c.lang)

			b.run("sign", submit("#sign-ncalayer"), chromedp.WaitVisible("#sent", chromedp.ByQuery))
			number := strings.TrimSpace(b.text("#number"))
			require.NotEqual(t, "—", number, "the application's number")
			require.NotEmpty(t, number)
			require.Contains(t, b.statuses(), "REGISTERED")
			require.Contains(t, b.text("#statuses"), c.accepted)
			b.shot("eastana-03-accepted-" + c.lang)
			var page string
			b.run("where", chromedp.Location(&page))
			page = strings.Split(page, "?")[0]
			b.look("eastana-application-"+c.lang, page)

			b.run("list", chromedp.Navigate(cab+"/applications"), chromedp.WaitVisible("#applications", chromedp.ByQuery))
			require.Contains(t, b.text("#applications"), number)

			// The МИО employee signs the drafted result; the page (left open) shows the decision.
			// (look leaves the browser in Russian.)
			b.run("back", chromedp.Navigate(cab+"/lang/"+c.lang+"?back="+strings.TrimPrefix(page, cab)), chromedp.WaitVisible("#live", chromedp.ByQuery))
			path, _, found, err := employee.Case(t.Context(), number, "awaiting")
			require.NoError(t, err)
			require.True(t, found, "the application is among those received, awaiting the employee")
			_, err = employee.SignDraft(t.Context(), path)
			require.NoError(t, err)
			b.run("the decision arrives", waitFor(`!!document.querySelector('#statuses tr[data-status="`+c.decided+`"]')`, 30*time.Second))
			// The page reloaded itself; what follows reads a page loaded once more, settled.
			b.run("settled", chromedp.Navigate(page), chromedp.WaitVisible("#statuses", chromedp.ByQuery))
			require.Contains(t, b.text("#statuses"), c.status)
			require.Contains(t, b.text(".result-signer"), "САРСЕНОВА", "the signed document, checked when shown")
			if c.decided == "QUEUED" {
				require.Equal(t, "25", b.text("#queue-number"), "after the demo queue's 24 children")
				require.Equal(t, "24", b.text("#queue-ahead"))
				var pdf bool
				b.run("printable", chromedp.Evaluate(`!!document.querySelector("a.result-pdf")`, &pdf))
				require.True(t, pdf, "the ticket's printable form")
			} else {
				b.run("after refusal", chromedp.WaitVisible("#after-refusal", chromedp.ByQuery))
			}
			b.shot("eastana-05-decided-" + c.lang)
		})
	}

	t.Run("revoked key", func(t *testing.T) {
		b.t = t
		b.chooseKey(signer, "citizen-akhmetova-revoked-SIGN.p12")
		b.run("language", chromedp.Navigate(cab+"/lang/ru?back=/apply/preschool-registration"), chromedp.WaitVisible("#application-form", chromedp.ByQuery),
			chromedp.SendKeys("#f_child_iin", eastanaChild, chromedp.ByQuery), submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery),
			submit("#sign-ncalayer"), chromedp.WaitVisible("#error", chromedp.ByQuery))
		require.Contains(t, b.text("#error"), "в связи с не подтверждением подлинности ЭЦП потребителя")
		b.shot("eastana-04-revoked")
		b.choosePerson(signer, "citizen-akhmetova")
	})
	b.noPersonalDataInURLs(asel, eastanaChild, ward)
}

// eastanaChild is Асель's daughter under 7 in ГБД ФЛ's demo population (Айлин), whom the Astana queue
// registers; her ward is 11 and is refused by the queue once the МИО employee signs.
const eastanaChild = "230614600014"
