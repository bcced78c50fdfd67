package browser

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
)

// TestChannels runs both channels end to end in one suite and one browser: the portal (register, sign
// in by password and by certificate, apply, sign, watch the statuses, read and check the result, the
// survey), the ЦОН desk with АРМ РШЭП (look-ups, power of attorney, scans, operator signature, receipt,
// the officer's decision and signature, hand-over), and the refusals (revoked certificate, IIN
// mismatch, registering another person's IIN, an expired power of attorney).
func TestChannels(t *testing.T) {
	d := suite(t)
	b := newBrowser(t)
	signer := d.Endpoints.Signer
	portal := d.Endpoints.Services["portal"].HTTP
	tson := d.Endpoints.Services["tson"].HTTP
	arm := d.Endpoints.Services["rshep"].HTTP + "/arm"

	t.Run("portal", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "citizen-akhmetova")

		// Registration as on egov.kz: the IIN and a password, proven by signing the page's one-time
		// challenge with Асель's AUTH key through the signer; the IIN must be in ГБД ФЛ.
		b.run("register", chromedp.Navigate(portal+"/register"),
			chromedp.SendKeys("#iin", asel, chromedp.ByQuery), chromedp.SendKeys("#password", "Парол-2026", chromedp.ByQuery),
			chromedp.SendKeys("#confirm", "Парол-2026", chromedp.ByQuery), submit("#register-submit"),
			chromedp.WaitVisible("#welcome", chromedp.ByQuery))
		require.Contains(t, b.text("#welcome"), "Ахметова Асель")
		b.shot("portal-01-cabinet")

		// Sign out, sign in with the password, sign out, sign in with the certificate.
		b.run("password sign-in", submit("#logout"), chromedp.Navigate(portal+"/login"),
			chromedp.SendKeys("#iin", asel, chromedp.ByQuery), chromedp.SendKeys("#password", "Парол-2026", chromedp.ByQuery),
			submit("#login-submit"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))
		b.run("certificate sign-in", submit("#logout"), chromedp.Navigate(portal+"/login"),
			submit("#login-cert-sign"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))
		b.shot("portal-02-login-by-certificate")

		// The catalogue and the form come from the passports.
		b.run("catalogue", chromedp.Navigate(portal+"/services"), chromedp.WaitVisible("#services", chromedp.ByQuery))
		require.Contains(t, b.text("#services"), "Выдача справок по опеке и попечительству")
		b.shot("portal-03-catalogue")
		b.run("form", submit("#order-guardianship-certificate-27"), chromedp.WaitVisible("#application-form", chromedp.ByQuery))
		var applicantIIN string
		b.run("applicant", chromedp.Value("#f_applicant_iin", &applicantIIN, chromedp.ByQuery))
		require.Equal(t, asel, applicantIIN, "the applicant is the signed-in citizen")
		var reps int
		b.run("no representative on the portal", chromedp.Evaluate(`document.querySelectorAll("#f_representative_iin").length`, &reps))
		require.Zero(t, reps)
		b.run("fill", chromedp.SendKeys("#f_ward_iin", ward, chromedp.ByQuery))
		b.shot("portal-04-form")
		b.run("draft", submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		require.Contains(t, b.text("#summary"), ward)
		b.shot("portal-05-sign")
		b.run("sign", submit("#sign-ncalayer"), chromedp.WaitVisible("#sent", chromedp.ByQuery))
		var page string
		b.run("where", chromedp.Location(&page))
		page = strings.Split(page, "?")[0]

		// West Kazakhstan's regulation is fully automated: the result comes back without staff.
		b.untilClosed(page, 90*time.Second)
		// ШЭП's delivery receipt may come after РШЭП's notifications; it is shown in its place.
		b.until(page, "#statuses", "Доставлено", 30*time.Second)
		require.Contains(t, b.text("#status"), "Результат готов")
		st := b.statuses()
		t.Logf("statuses: %v", st)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED"}, st[:4])
		require.Equal(t, "RESULT_ISSUED", st[len(st)-1])
		require.Contains(t, st, "APPROVED")
		requireOnce(t, st)
		require.Contains(t, b.text("#result-signer"), "rshep-27", "the automated result is signed by the regional node")
		require.Contains(t, b.text("#result-cert"), "действителен")
		require.Contains(t, b.text("#result-text"), "СПРАВКА ОБ ОПЕКЕ И ПОПЕЧИТЕЛЬСТВЕ")
		b.shot("portal-06-result")

		// Download links and the survey of приложение 5.
		var href string
		var ok bool
		b.run("download link", chromedp.AttributeValue("#result-signature", "href", &href, &ok, chromedp.ByQuery))
		require.True(t, ok)
		require.Contains(t, href, "part=signature")
		b.run("survey", chromedp.Click("#quality-3", chromedp.ByQuery), chromedp.Click("#accessibility-2", chromedp.ByQuery),
			submit("#survey-submit"), chromedp.WaitVisible("#survey-done", chromedp.ByQuery))
		b.look("portal-application-result", page)

		// The printable form's «Проверить подлинность» (the link its QR code carries) opens /verify.
		var verify string
		b.run("verify link", chromedp.AttributeValue(".result-verify", "href", &verify, &ok, chromedp.ByQuery))
		require.True(t, ok, "the result has a printable form")
		require.Contains(t, verify, portal+"/verify?")
		b.run("verify page", chromedp.Navigate(verify), chromedp.WaitVisible("#verify-result", chromedp.ByQuery))
		require.Contains(t, b.text("#verify-result"), "Документ подлинный")
		require.Contains(t, b.text("#verify-signer"), "rshep-27")
		require.Contains(t, b.text("#verify-cert"), "действителен")
		b.shot("portal-06-verify")

		// «История получения услуг» and «Уведомления».
		b.run("history", chromedp.Navigate(portal+"/history"), chromedp.WaitVisible("#history", chromedp.ByQuery))
		require.Contains(t, b.text("#history"), "Результат готов")
		b.shot("portal-07-history")
		b.run("notifications", chromedp.Navigate(portal+"/notifications"), chromedp.WaitVisible("#notifications", chromedp.ByQuery))
		notes := b.text("#notifications")
		require.Contains(t, notes, "зарегистрировано под номером 27-2026-", "the number is filled into the passport's text")
		require.NotContains(t, notes, "{number}")
		require.NotContains(t, notes, "{deadline}")
		b.shot("portal-08-notifications")

		// Kazakh.
		b.run("kazakh", submit(`a[lang="kk"]`), chromedp.WaitVisible("#notifications", chromedp.ByQuery))
		require.Contains(t, b.text("#nav-history"), "Қызметтерді алу тарихы")
		b.shot("portal-09-kazakh")
		b.run("russian", submit(`a[lang="ru"]`), chromedp.WaitVisible("#notifications", chromedp.ByQuery))
	})

	t.Run("portal refusals", func(t *testing.T) {
		b.t = t
		eds := "отказ в запрашиваемой электронной государственной услуге в связи с не подтверждением подлинности ЭЦП получателя"
		// A key that fails refuses the signature, not the application: the signing page says why, the
		// draft stays, and signing again with the right key sends it.
		refusedBy := func(file string) string {
			b.chooseKey(signer, file)
			b.run("apply", chromedp.Navigate(portal+"/services/guardianship-certificate/27"), chromedp.SendKeys("#f_ward_iin", ward, chromedp.ByQuery),
				submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery),
				submit("#sign-ncalayer"), chromedp.WaitVisible("#error", chromedp.ByQuery))
			var loc string
			b.run("where", chromedp.Location(&loc))
			require.True(t, strings.HasSuffix(loc, "/sign"), "still the signing page: %s", loc)
			return b.text("#error")
		}
		// Another person's key: the IIN in the certificate is not the applicant's.
		msg := refusedBy("citizen-ivanov-SIGN.p12")
		require.Contains(t, msg, eds)
		require.Contains(t, msg, "подпишите снова")
		b.shot("portal-10-refused-iin-mismatch")
		// Асель's revoked key.
		msg = refusedBy("citizen-akhmetova-revoked-SIGN.p12")
		var draft string
		b.run("the draft", chromedp.Location(&draft))
		require.Contains(t, msg, eds)
		require.Contains(t, strings.ToLower(msg), "отозван")
		b.shot("portal-11-refused-revoked")
		b.chooseKey(signer, "citizen-akhmetova-SIGN.p12")
		b.run("sign again", chromedp.Navigate(draft), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery),
			submit("#sign-ncalayer"), chromedp.WaitVisible("#sent", chromedp.ByQuery))
		st := b.statuses()
		require.Equal(t, []string{"DRAFT", "SUBMITTED"}, st[:2])

		// Nobody opens an account for another person's IIN: Асель's AUTH key does not prove Иванов's.
		b.run("logout", chromedp.Navigate(portal+"/cabinet"), submit("#logout"))
		b.run("register another IIN", chromedp.Navigate(portal+"/register"),
			chromedp.SendKeys("#iin", ivanov, chromedp.ByQuery), chromedp.SendKeys("#password", "Парол-2026", chromedp.ByQuery),
			chromedp.SendKeys("#confirm", "Парол-2026", chromedp.ByQuery), submit("#register-submit"),
			chromedp.WaitVisible("#error", chromedp.ByQuery))
		require.Contains(t, b.text("#error"), "Ключ AUTH выдан на другой ИИН")
		b.shot("portal-12-refused-another-iin")
	})

	t.Run("tson", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "tson-operator")
		b.run("operator sign-in", chromedp.Navigate(tson+"/login"), submit("#login-sign"),
			chromedp.WaitVisible("#new", chromedp.ByQuery))

		// A person missing from ГБД ФЛ, and an expired power of attorney: the application cannot be taken.
		lookup := func(citizen, rep, poa string) {
			b.run("look-up", chromedp.Navigate(tson+"/new/guardianship-certificate/55"), chromedp.SendKeys("#citizen_iin", citizen, chromedp.ByQuery))
			if rep != "" {
				b.run("representative", chromedp.SendKeys("#representative_iin", rep, chromedp.ByQuery), chromedp.SendKeys("#poa_number", poa, chromedp.ByQuery))
			}
			b.run("ask", submit("#lookup"), chromedp.WaitVisible("#lookups", chromedp.ByQuery))
		}
		lookup(missing, "", "")
		require.Contains(t, b.text("#refusal"), "невозможности получения данных в связи с отсутствием данных получателя в ГБД ФЛ")
		b.shot("tson-01-missing-in-gbdfl")
		lookup(asel, ivanov, poaExpired)
		require.Contains(t, b.text("#refusal"), "доверенность в ЕНИС недействительна")
		b.shot("tson-02-poa-expired")

		// The representative with a valid power of attorney.
		lookup(asel, ivanov, poaValid)
		require.Contains(t, b.text("#lookup-citizen"), "Ахметова")
		require.Contains(t, b.text("#lookup-representative"), "Иванов")
		require.Contains(t, b.text("#lookup-poa"), poaValid)
		b.run("form", chromedp.SendKeys("#f_ward_iin", ward, chromedp.ByQuery),
			chromedp.SetUploadFiles("#d_standard_documents", []string{scan(t)}, chromedp.ByQuery),
			chromedp.Click("#p_power_of_attorney", chromedp.ByQuery))
		b.shot("tson-03-counter")
		b.run("draft", submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		require.Contains(t, b.text("#summary"), "Иванов")
		require.Contains(t, b.text("#summary"), "скан-документов.png")
		var signPage string
		b.run("where", chromedp.Location(&signPage))
		b.look("tson-sign", signPage)
		b.run("back", chromedp.Navigate(signPage), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		b.run("operator signs", submit("#sign-ncalayer"), chromedp.WaitVisible("#receipt", chromedp.ByQuery))
		require.Contains(t, b.text("#receipt-citizen"), "Ахметова Асель")
		var receipt string
		b.run("where", chromedp.Location(&receipt))
		page := strings.TrimSuffix(receipt, "/receipt")
		number := strings.TrimSpace(b.until(receipt, "#receipt-number", "55-", 60*time.Second))
		require.Contains(t, b.text("#receipt-print"), "Печать", "the receipt has a print button")
		b.shot("tson-04-receipt")
		b.look("tson-receipt", receipt)

		// АРМ РШЭП of Pavlodar: the clerk registers, the officer decides and signs.
		actAs := func(person string) {
			b.choosePerson(signer, person)
			b.run("arm sign-in", chromedp.Navigate(arm+"/login"), chromedp.SetValue("#region", "55", chromedp.ByQuery),
				submit("#login-sign"), chromedp.WaitVisible("#open", chromedp.ByQuery))
			b.run("open the case", submit(`#open a[href^="/arm/cases/"]`), chromedp.WaitVisible("#history", chromedp.ByQuery))
		}
		actAs("clerk-pavlodar")
		b.shot("arm-01-case")
		b.run("register", submit("#complete-submit"), chromedp.WaitVisible("#history", chromedp.ByQuery))
		actAs("officer-pavlodar")
		b.run("decide", submit("#decide-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		var casePage string
		b.run("where", chromedp.Location(&casePage))
		b.look("arm-case-sign", casePage)
		b.run("back", chromedp.Navigate(casePage), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		b.run("sign the result", submit("#sign-ncalayer"), chromedp.WaitVisible("#result", chromedp.ByQuery))
		b.until(arm+"/", "#closed", "Результат готов", 30*time.Second)
		b.shot("arm-02-closed")

		// Back at the ЦОН: the result, checked, handed over.
		b.choosePerson(signer, "tson-operator")
		b.run("operator again", chromedp.Navigate(tson+"/login"), submit("#login-sign"), chromedp.WaitVisible("#new", chromedp.ByQuery))
		b.untilClosed(page, 60*time.Second)
		require.Contains(t, b.text("#status"), "Результат готов")
		require.Contains(t, b.text("#result-signer"), "КАСЫМОВ")
		require.Contains(t, b.text("#result-cert"), "действителен")
		b.shot("tson-05-result")
		b.look("tson-application-result", page)
		b.run("back", chromedp.Navigate(page), chromedp.WaitVisible("#hand-over", chromedp.ByQuery))
		b.run("hand over", submit("#hand-over"), chromedp.WaitVisible("#handed-over", chromedp.ByQuery))
		st := b.statuses()
		t.Logf("statuses: %v", st)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED"}, st[:4])
		require.Equal(t, []string{"RESULT_ISSUED", "HANDED_OVER"}, st[len(st)-2:])
		require.Contains(t, st, "APPROVED")
		requireOnce(t, st)
		b.shot("tson-06-handed-over")
		b.run("list", chromedp.Navigate(tson+"/"), chromedp.WaitVisible("#applications", chromedp.ByQuery))
		require.Contains(t, b.text("#applications"), "Выдано")

		// The application made at the ЦОН is in Асель's personal cabinet too, with its statuses and the
		// result, as the regulation's «направлен в личный кабинет» says.
		b.choosePerson(signer, "citizen-akhmetova")
		b.run("portal sign-in", chromedp.Navigate(portal+"/login"), submit("#login-cert-sign"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))
		b.until(portal+"/history", "#history", number, 60*time.Second)
		var mine string
		b.run("the ЦОН application", chromedp.Evaluate(`Array.from(document.querySelectorAll("#history tr[data-id]")).find(r => r.textContent.includes(`+
			strconv.Quote(number)+`)).querySelector("a").href`, &mine))
		require.Contains(t, b.text("#history"), "подано в ЦОН")
		b.untilClosed(mine, 60*time.Second)
		require.NotEmpty(t, b.text("#made-at-tson"))
		st = b.statuses()
		require.Contains(t, st, "REGISTERED")
		require.Equal(t, "RESULT_ISSUED", st[len(st)-1])
		require.Contains(t, b.text("#result-signer"), "КАСЫМОВ")
		b.shot("portal-14-tson-application-in-cabinet")
	})

	b.noPersonalDataInURLs(asel, ivanov, ward, missing)
	noPersonalDataInLogs(t, d.Stderr(), asel, ivanov, ward, missing)
}

// noPersonalDataInLogs checks the suite's log (every service's JSON lines) after the flows: the IINs
// of the cast appear in none, only masked (88********11).
func noPersonalDataInLogs(t *testing.T, log string, iins ...string) {
	t.Helper()
	lines := harness.Lines(log)
	require.NotEmpty(t, lines, "the suite logged nothing")
	for _, x := range iins {
		require.NotContains(t, log, x, "an IIN in the log")
	}
}

// requireOnce fails when a status appears twice.
func requireOnce(t *testing.T, st []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range st {
		require.False(t, seen[s], "status %s twice in %v", s, st)
		seen[s] = true
	}
	require.True(t, slices.Contains(st, "REGISTERED"))
}
