package browser

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestEAstanaMIO drives ИС Е-Астана's working cabinet of the МИО employees (/mio/) with the portal
// beside it: Асель applies on the portal for her youngest child (under 7); the МИО employee signs in
// with her AUTH key through the signer, finds the application among those received from the portal
// («с ПЭП»), reads the drafted registration ticket and signs it with her SIGNATURE key, after which the
// portal shows the ticket (QUEUED); she then releases places of the child's age group, and the child's
// referral is listed in the cabinet and reaches the portal (REFERRAL_OFFERED). Every page of the cabinet
// is looked at with axe-core in Russian and Kazakh at both widths; the Kazakh pages are read too.
func TestEAstanaMIO(t *testing.T) {
	checkAxe(t)
	d := suite(t)
	b := newBrowser(t)
	signer := d.Endpoints.Signer
	portal := d.Endpoints.Services["portal"].HTTP
	mio := d.Endpoints.Services["eastana"].HTTP + "/mio"
	require.NotEmpty(t, d.Endpoints.Services["eastana"].HTTP, "egov dev serves ИС Е-Астана's cabinets")

	var application string
	t.Run("portal", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "citizen-akhmetova")
		b.run("certificate sign-in", chromedp.Navigate(portal+"/login"), submit("#login-cert-sign"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))
		b.run("form", chromedp.Navigate(portal+"/services/preschool-registration/71"), chromedp.WaitVisible("#application-form", chromedp.ByQuery),
			chromedp.SendKeys("#f_child_iin", youngest, chromedp.ByQuery), submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		b.run("sign", submit("#sign-ncalayer"), chromedp.WaitVisible("#sent", chromedp.ByQuery))
		b.run("where", chromedp.Location(&application))
		application = strings.Split(application, "?")[0]
		b.until(application, "#statuses", "Заявление принято ИС Е-Астана", 90*time.Second)
	})

	t.Run("sign in", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "mio-astana")
		b.look("eastana-mio-login", mio+"/login")
		b.run("sign in", chromedp.Navigate(mio+"/login"), submit("#login-sign"), chromedp.WaitVisible("#who", chromedp.ByQuery))
		require.Contains(t, b.text("#who"), "Сарсенова")
		b.shot("eastana-mio-01-signed-in")
	})

	var casePage string
	t.Run("sign the ticket", func(t *testing.T) {
		b.t = t
		b.run("received from the portal", chromedp.Navigate(mio+"/"), chromedp.WaitVisible("#cases", chromedp.ByQuery),
			submit("#channel-portal"), chromedp.WaitVisible("#cases", chromedp.ByQuery))
		require.Contains(t, b.text(`#channel-portal`), "с ПЭП")
		require.Contains(t, b.text("#cases"), youngest)
		b.look("eastana-mio-cases", mio+"/?channel=portal&state=awaiting")
		b.run("open the case", chromedp.Navigate(mio+"/?channel=portal&state=awaiting"), chromedp.WaitVisible("#cases", chromedp.ByQuery),
			submit(`#cases tr[data-state="awaiting"] a`), chromedp.WaitVisible("#draft", chromedp.ByQuery), chromedp.Location(&casePage))
		require.Contains(t, b.text("#case-child"), youngest)
		require.Contains(t, b.text("#draft"), youngest, "the draft names the child")
		b.shot("eastana-mio-02-case")
		b.look("eastana-mio-case", casePage)
		b.run("sign", chromedp.Navigate(casePage), chromedp.WaitVisible("#draft", chromedp.ByQuery), submit("#sign-ncalayer"),
			chromedp.WaitVisible("#notice", chromedp.ByQuery))
		require.Contains(t, b.text("#notice"), "Результат подписан")
		require.Contains(t, b.text("#case-state"), "результат выдан")
		b.shot("eastana-mio-03-signed")
		b.untilStatus(application, "QUEUED", 90*time.Second)
	})

	t.Run("release a place", func(t *testing.T) {
		b.t = t
		// The child's age group today (the demo's kindergartens have groups of one year from 1 to 6).
		born := time.Date(2000+atoi(t, youngest[0:2]), time.Month(atoi(t, youngest[2:4])), atoi(t, youngest[4:6]), 0, 0, 0, 0, time.UTC)
		age := time.Now().Year() - born.Year()
		if time.Now().YearDay() < born.YearDay() {
			age--
		}
		row := fmt.Sprintf(`#kg-ast-001 tr[data-ages="%d-%d"]`, age, age+1)
		b.look("eastana-mio-places", mio+"/places")
		// Enough places for the demo queue's children of that age before her (about five) and for her.
		b.run("release", chromedp.Navigate(mio+"/places"), chromedp.WaitVisible(row, chromedp.ByQuery),
			chromedp.SetValue(row+` input[name="n"]`, "10", chromedp.ByQuery), submit(row+" button"), chromedp.WaitVisible("#notice", chromedp.ByQuery))
		require.Contains(t, b.text("#notice"), "Освобождено мест: 10")
		b.shot("eastana-mio-04-released")
		b.run("referrals", chromedp.Navigate(mio+"/referrals"), chromedp.WaitVisible("#referrals", chromedp.ByQuery))
		require.Contains(t, b.text("#referrals"), youngest, "her referral is listed")
		b.shot("eastana-mio-05-referrals")
		b.look("eastana-mio-referrals", mio+"/referrals")
		b.untilStatus(application, "REFERRAL_OFFERED", 90*time.Second)
	})

	t.Run("kk", func(t *testing.T) {
		b.t = t
		b.run("Kazakh", chromedp.Navigate(mio+"/lang/kk?back=/mio/referrals"), chromedp.WaitVisible("#referrals", chromedp.ByQuery))
		require.Contains(t, b.text("h1"), "МЖҰ-да тіркелуін күтіп тұрған жолдамалар")
		require.Contains(t, b.text("#referrals"), youngest)
		b.run("case in Kazakh", chromedp.Navigate(casePage), chromedp.WaitVisible("#case-state", chromedp.ByQuery))
		require.Contains(t, b.text("#case-state"), "нәтиже берілді")
		require.Contains(t, b.text("#case-channel"), "ЭҮП-тен")
		b.shot("eastana-mio-06-kk")
		b.run("back to Russian", chromedp.Navigate(mio+"/lang/ru?back=/mio/"), chromedp.WaitVisible("#cases", chromedp.ByQuery))
	})

	t.Run("other pages", func(t *testing.T) {
		b.t = t
		b.look("eastana-mio-child", mio+"/child")
		b.look("eastana-mio-office", mio+"/office")
		b.run("a child by IIN", chromedp.Navigate(mio+"/child"), chromedp.SendKeys("#child-iin", youngest, chromedp.ByQuery),
			submit(`#child-find button`), chromedp.WaitVisible("#position", chromedp.ByQuery))
		require.Contains(t, b.text("#state"), "выдано направление")
	})
	b.noPersonalDataInURLs(asel, youngest)
}

// youngest is Асель's youngest child, under 7, in ГБД ФЛ's demo population (internal/demo's
// YoungestChildIIN).
const youngest = "250220500010"

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	require.NoError(t, err)
	return n
}

// untilStatus reloads an application's page until its statuses include status.
func (b *browser) untilStatus(url, status string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []string
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := chromedp.Run(ctx, chromedp.Navigate(url), chromedp.Evaluate(`Array.from(document.querySelectorAll("#statuses tr[data-status]")).map(r => r.dataset.status)`, &got))
		cancel()
		if err == nil && slices.Contains(got, status) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: no %s after %v (statuses %v, %v)", url, status, within, got, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
