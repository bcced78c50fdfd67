package browser

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// axe is axe-core, vendored with its licence and checksum (testdata/axe-core/README.md): nothing is
// fetched when the tests run.
//
//go:embed testdata/axe-core/axe.min.js
var axe string

//go:embed testdata/axe-core/SHA256SUMS
var axeSums string

// The widths every page is looked at: a desktop and a phone (iPhone 12–15, 390 CSS px).
var widths = []int64{1280, 390}

// checkAxe fails unless the vendored axe-core is the file its checksum names.
func checkAxe(t *testing.T) {
	t.Helper()
	sum := sha256.Sum256([]byte(axe))
	require.Contains(t, axeSums, hex.EncodeToString(sum[:])+"  axe.min.js", "testdata/axe-core/axe.min.js is not the pinned file")
}

// axeRun runs axe-core on the page and gives its serious and critical violations.
func axeRun(violations *[]string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Evaluate(axe, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
			.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => v.id + " (" + v.impact + "): " + v.help + " — " + v.nodes.slice(0, 4).map(n => n.target.join(" ")).join(", ")))`,
			violations, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	}
}

// look checks the page at url in both languages and both widths: nothing scrolls sideways
// (document.scrollWidth <= innerWidth), the page has its own title and a skip link to its main
// content, and axe-core finds no serious or critical violation. A screenshot of each is kept.
func (b *browser) look(name, url string) {
	b.t.Helper()
	for _, lang := range []string{"ru", "kk"} {
		b.run("language "+lang, chromedp.ActionFunc(func(ctx context.Context) error {
			return network.SetCookie("lang", lang).WithURL(url).WithPath("/").Do(ctx)
		}))
		for _, w := range widths {
			what := fmt.Sprintf("%s (%s, %d px)", name, lang, w)
			var (
				scroll, inner int64
				title         string
				skip          bool
				htmlLang      string
				violations    []string
			)
			b.run(what, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url), chromedp.WaitReady("body", chromedp.ByQuery),
				chromedp.Evaluate(`document.documentElement.scrollWidth`, &scroll),
				chromedp.Evaluate(`window.innerWidth`, &inner),
				chromedp.Title(&title),
				chromedp.Evaluate(`document.documentElement.lang`, &htmlLang),
				chromedp.Evaluate(`(() => { const a = document.querySelector('a.skip[href="#main"]'); return !!a && !!document.getElementById("main") })()`, &skip),
				axeRun(&violations))
			b.shot(fmt.Sprintf("pages-%s-%s-%d", name, lang, w))
			require.LessOrEqual(b.t, scroll, inner, "%s scrolls sideways", what)
			require.Contains(b.t, title, " — ", "%s has no title of its own: %q", what, title)
			require.True(b.t, skip, "%s has no skip link to #main", what)
			require.Empty(b.t, violations, "%s: axe-core", what)
			if !strings.HasPrefix(name, "signer") { // the signer's page is one bilingual page
				require.Equal(b.t, lang, htmlLang, "%s: <html lang>", what)
			}
		}
	}
	b.run("back to Russian", chromedp.EmulateViewport(1280, 1000), chromedp.ActionFunc(func(ctx context.Context) error {
		return network.SetCookie("lang", "ru").WithURL(url).WithPath("/").Do(ctx)
	}))
}

// TestPagesEverywhere walks every site (the portal, the ЦОН desk, АРМ РШЭП, the signer) and looks at
// each page (look) at 1280 and 390 px in Russian and Kazakh, and on the way checks what a person sees:
// the application's page updating itself as statuses come (server-sent events, no reload by the test),
// a refusal shown as a refusal with the notifications in order and an unread count, choices by their
// labels, and the signer's two key choices.
func TestPagesEverywhere(t *testing.T) {
	checkAxe(t)
	d := suite(t)
	b := newBrowser(t)
	signer := d.Endpoints.Signer
	portal := d.Endpoints.Services["portal"].HTTP
	tson := d.Endpoints.Services["tson"].HTTP
	arm := d.Endpoints.Services["rshep"].HTTP + "/arm"

	// The check can fail: a page with an image without its text and a field without its label.
	t.Run("axe finds", func(t *testing.T) {
		b.t = t
		var violations []string
		b.run("a bad page", chromedp.Navigate(`data:text/html;charset=utf-8,<!doctype html><html lang="ru"><title>x</title><img src="a.png"><input type="text">`),
			axeRun(&violations))
		require.Len(t, violations, 2, "%v", violations)
		require.Contains(t, violations[0]+violations[1], "image-alt")
	})

	t.Run("signer", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "citizen-akhmetova")
		require.Contains(t, b.text("#chosen-auth"), "citizen-akhmetova")
		// A signing key of another person: the page says the two keys are different people's.
		b.chooseKey(signer, "citizen-ivanov-SIGN.p12")
		require.Contains(t, b.text("#chosen-auth"), "citizen-akhmetova-AUTH", "choosing a SIGN key keeps the AUTH choice")
		require.Contains(t, b.text("#mixed"), "разным людям")
		b.look("signer", signer)
		// Choosing a person chooses both of that person's keys, and nothing of another person's.
		b.choosePerson(signer, "citizen-akhmetova")
		var mixed int
		b.run("no warning", chromedp.Evaluate(`document.querySelectorAll("#mixed").length`, &mixed))
		require.Zero(t, mixed)
	})

	t.Run("portal", func(t *testing.T) {
		b.t = t
		b.look("portal-services", portal+"/services")
		b.look("portal-login", portal+"/login")
		b.look("portal-register", portal+"/register")
		b.run("certificate sign-in", chromedp.Navigate(portal+"/login"), submit("#login-cert-sign"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))
		b.look("portal-cabinet", portal+"/cabinet")

		// Choices read by their labels, never by the stored values.
		b.look("portal-form", portal+"/services/minors-property-certificate/27")
		var choices []string
		b.run("choices", chromedp.Navigate(portal+"/services/minors-property-certificate/27"),
			chromedp.Evaluate(`Array.from(document.querySelectorAll("#f_purpose option")).map(o => o.textContent).filter(Boolean)`, &choices))
		require.Equal(t, []string{"Распоряжение имуществом несовершеннолетнего", "Оформление наследства несовершеннолетнему"}, choices)

		// An application whose ward ГБД ФЛ does not know: West Kazakhstan refuses it by itself, and the
		// refusal reads as one.
		b.run("draft", chromedp.Navigate(portal+"/services/guardianship-certificate/27"), chromedp.SendKeys("#f_ward_iin", missing, chromedp.ByQuery),
			submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		var sign string
		b.run("where", chromedp.Location(&sign))
		b.look("portal-sign", sign)
		b.run("sign", chromedp.Navigate(sign), submit("#sign-ncalayer"), chromedp.WaitVisible("#live", chromedp.ByQuery))
		var page string
		b.run("where", chromedp.Location(&page))
		page = strings.Split(page, "?")[0]
		b.untilClosed(page, 90*time.Second)
		b.until(page, "#statuses", "Доставлено", 30*time.Second)
		require.Contains(t, b.text("#status"), "Отказано")
		var colour string
		b.run("colour", chromedp.Evaluate(`getComputedStyle(document.getElementById("status")).color`, &colour))
		require.Equal(t, "rgb(164, 0, 0)", colour, "a refusal is red, not green")
		b.look("portal-application-refused", page)

		// The notices: the unread count, then the list in the order things happened.
		b.run("cabinet", chromedp.Navigate(portal+"/cabinet"), chromedp.WaitVisible("#unread", chromedp.ByQuery))
		require.NotEmpty(t, b.text("#unread"))
		b.run("notifications", chromedp.Navigate(portal+"/notifications"), chromedp.WaitVisible("#notifications", chromedp.ByQuery))
		var order []string
		b.run("order", chromedp.Evaluate(`Array.from(document.querySelectorAll("#notifications tr[data-notice]")).map(r => r.dataset.notice)`, &order))
		t.Logf("notices: %v", order)
		require.Equal(t, "REFUSAL_ISSUED", order[0], "the newest notice first")
		require.Equal(t, "SUBMITTED", order[len(order)-1])
		require.Less(t, indexOf(order, "REFUSAL_ISSUED"), indexOf(order, "DELIVERED"), "«Доставлено» under the result")
		var badges int
		b.run("read now", chromedp.Navigate(portal+"/cabinet"), chromedp.WaitVisible("#welcome", chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("#unread").length`, &badges))
		require.Zero(t, badges, "the notices were read")
		b.look("portal-notifications", portal+"/notifications")
		b.look("portal-history", portal+"/history")
		b.run("history", chromedp.Navigate(portal+"/history"), chromedp.WaitVisible("#history", chromedp.ByQuery))
		require.Contains(t, b.text("#history"), "Отказано")
	})

	t.Run("tson and АРМ", func(t *testing.T) {
		b.t = t
		b.look("tson-login", tson+"/login")
		b.choosePerson(signer, "tson-operator")
		b.run("operator sign-in", chromedp.Navigate(tson+"/login"), submit("#login-sign"), chromedp.WaitVisible("#new", chromedp.ByQuery))
		b.look("tson-list", tson+"/")
		b.look("tson-services", tson+"/new")
		b.look("tson-lookup", tson+"/new/guardianship-certificate/55")

		b.look("arm-login", arm+"/login")
		b.choosePerson(signer, "clerk-pavlodar")
		b.run("arm sign-in", chromedp.Navigate(arm+"/login"), chromedp.SetValue("#region", "55", chromedp.ByQuery),
			submit("#login-sign"), chromedp.WaitVisible("#open", chromedp.ByQuery))
		b.look("arm-inbox", arm+"/")
		b.look("arm-office", arm+"/office")
		b.run("inbox", chromedp.Navigate(arm+"/"), chromedp.WaitVisible("#open", chromedp.ByQuery))
		require.Contains(t, b.text("#who"), "сотрудник канцелярии", "roles by name")
		require.Contains(t, b.text("#who"), "Павлодарская область", "the region by name")
		// Turkestan takes applications at the provider's office: its form, as the clerk fills it in.
		b.run("arm sign-in, Turkestan", chromedp.Navigate(arm+"/login"), chromedp.SetValue("#region", "51", chromedp.ByQuery),
			submit("#login-sign"), chromedp.WaitVisible("#open", chromedp.ByQuery))
		b.look("arm-office-form", arm+"/office/disabled-children-home-education")
	})

	t.Run("live statuses", func(t *testing.T) {
		b.t = t
		// Асель applies in Pavlodar, where a clerk registers the application by hand; her page, opened
		// once, shows the clerk's step as it happens, without the test reloading it.
		b.choosePerson(signer, "citizen-akhmetova")
		b.run("apply", chromedp.Navigate(portal+"/services/guardianship-certificate/55"), chromedp.SendKeys("#f_ward_iin", ward, chromedp.ByQuery),
			submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery),
			submit("#sign-ncalayer"), chromedp.WaitVisible("#live", chromedp.ByQuery))
		b.wait(`document.querySelector('#statuses tr[data-status="REGISTERED"]') !== null`, 60*time.Second)
		var loads int
		b.run("opened", chromedp.Evaluate(`window.__opened = true`, nil))

		clerk := b.tab(t)
		clerk.choosePerson(signer, "clerk-pavlodar")
		clerk.run("arm sign-in", chromedp.Navigate(arm+"/login"), chromedp.SetValue("#region", "55", chromedp.ByQuery),
			submit("#login-sign"), chromedp.WaitVisible("#open", chromedp.ByQuery))
		clerk.run("open the case", submit(`#open a[href^="/arm/cases/"]`), chromedp.WaitVisible("#history", chromedp.ByQuery))
		var casePage string
		clerk.run("where", chromedp.Location(&casePage))
		clerk.look("arm-case", casePage)
		clerk.run("register", chromedp.Navigate(casePage), submit("#complete-submit"), chromedp.WaitVisible("#history", chromedp.ByQuery))

		b.wait(`document.querySelector('#statuses tr[data-status="IN_PROGRESS"]') !== null`, 60*time.Second)
		b.run("reloaded by itself", chromedp.Evaluate(`window.__opened === undefined ? 1 : 0`, &loads))
		require.Equal(t, 1, loads, "the page reloaded itself when the status came")
		require.Contains(t, b.text("#status"), "В работе")
	})
}

// wait waits, without navigating, until the page's expression is true (waitFor).
func (b *browser) wait(expr string, within time.Duration) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, waitFor(expr, within)); err != nil {
		var body string
		_ = chromedp.Run(b.ctx, chromedp.Text("body", &body, chromedp.ByQuery))
		b.t.Fatalf("%v\n%s", err, body)
	}
}

// tab opens another tab of the same browser (another person at another desk, the same cookies).
func (b *browser) tab(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Run(ctx))
	return &browser{t: t, ctx: ctx, dir: b.dir}
}

// waitFor waits, without navigating, until the page's expression is true: the page may reload itself
// meanwhile (an evaluation that fails while it does is tried again).
func waitFor(expr string, within time.Duration) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		for {
			var ok bool
			// Only on a page loaded whole: true on a document still loading after a reload, and the next
			// read would look for nodes of the one it replaces ("No node with given id").
			if err := chromedp.Evaluate(`document.readyState === "complete" && (`+expr+`)`, &ok).Do(ctx); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s not true after %v: %w", expr, within, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
