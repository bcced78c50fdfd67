package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestEAstanaCabinet drives ИС Е-Астана's citizen's personal cabinet (the fourth channel of the Astana
// kindergarten registration) in Russian and in Kazakh: Асель signs in with her AUTH key through the
// signer, applies for her child, signs with her SIGNATURE key, and sees her application accepted
// (REGISTERED) with its number; every page of the cabinet is looked at with axe-core at both widths.
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

	for _, c := range []struct{ lang, child, accepted, title string }{
		{"ru", eastanaChild, "Заявление принято", "Мои заявления"},
		{"kk", ward, "Өтініш қабылданды", "Менің өтініштерім"},
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
			b.look("eastana-application-"+c.lang, strings.Split(page, "?")[0])

			b.run("list", chromedp.Navigate(cab+"/applications"), chromedp.WaitVisible("#applications", chromedp.ByQuery))
			require.Contains(t, b.text("#applications"), number)
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
