package browser

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestCatalogueBeforeOrdering reads the portal's catalogue as a visitor who has not signed in: the
// services grouped, the regions named, a search answered by the server, a service's page with its term,
// cost and the drawing of its flow, the same in Kazakh, a service known only by its title, and the
// catalogue on a 390 px phone screen.
func TestCatalogueBeforeOrdering(t *testing.T) {
	d := suite(t)
	b := newBrowser(t)
	portal := d.Endpoints.Services["portal"].HTTP
	count := func(sel string) int {
		t.Helper()
		var n int
		b.run("count "+sel, chromedp.Evaluate(`document.querySelectorAll(`+jsString(sel)+`).length`, &n))
		return n
	}

	b.run("catalogue", chromedp.Navigate(portal+"/services"), chromedp.WaitVisible("#services", chromedp.ByQuery))
	all := b.text("#services")
	for _, want := range []string{"Опека и попечительство", "Образование и дошкольное воспитание", "Павлодар (Павлодарская область)",
		"Жамбылский район Северо-Казахстанской области", "Западно-Казахстанская область", "бесплатно", "Выдача архивных справок", "Только название"} {
		require.Contains(t, all, want)
	}
	require.Equal(t, 1, count("#order-guardianship-certificate-55"), "a portal service can be ordered")
	require.Zero(t, count("#order-archive-certificate-51"), "a service known by title only cannot")
	b.shot("portal-20-catalogue")

	// The search is a GET form the server answers: typed and sent, then as a link.
	b.run("search", chromedp.SendKeys("#q", "Павлодар", chromedp.ByQuery), submit("#search-submit"), chromedp.WaitVisible("#search-found", chromedp.ByQuery))
	require.Equal(t, 1, count("#entry-guardianship-certificate-55"))
	require.Zero(t, count("#entry-guardianship-certificate-27"), "another region's variant is not found")
	var loc string
	b.run("location", chromedp.Location(&loc))
	u, err := url.Parse(loc)
	require.NoError(t, err)
	require.Equal(t, "Павлодар", u.Query().Get("q"), "the query is in the address: the result can be shared and works without JavaScript")
	b.run("search nothing", chromedp.Navigate(portal+"/services?q="+url.QueryEscape("загранпаспорт")), chromedp.WaitVisible("#search-none", chromedp.ByQuery))
	require.Contains(t, b.text("#search-none"), "ничего не найдено")

	// The service's page: what the citizen reads before ordering, with the drawing.
	b.run("service", chromedp.Navigate(portal+"/services"), submit("#about-guardianship-certificate-55"),
		chromedp.WaitVisible("#service-diagram svg", chromedp.ByQuery))
	require.Contains(t, b.text("#service-term"), "3 календарных дня (срок по регламенту в целом)")
	require.Equal(t, "бесплатно", b.text("#service-cost"))
	require.Contains(t, b.text("#service-channels"), "в Госкорпорации (ЦОН)")
	var role, label string
	var width float64
	b.run("drawing", chromedp.AttributeValue("#service-diagram svg", "role", &role, nil, chromedp.ByQuery),
		chromedp.AttributeValue("#service-diagram svg", "aria-label", &label, nil, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#dg-step-examine rect").getBoundingClientRect().width`, &width))
	require.Equal(t, "img", role)
	require.Contains(t, label, "Выдача справок по опеке и попечительству")
	require.Positive(t, width, "the drawing is laid out, not blocked")
	var fill string
	b.run("colour under the CSP", chromedp.Evaluate(`getComputedStyle(document.querySelector("#dg-step-examine rect")).fill`, &fill))
	require.Equal(t, "rgb(255, 247, 224)", fill, "the deciding step is drawn in its colour")
	var desc string
	b.run("text equivalent", chromedp.Evaluate(`document.getElementById("dg-desc").textContent`, &desc))
	require.Contains(t, desc, "Ответственный исполнитель", "screen readers read the steps in words")
	b.shot("portal-21-service-page")

	// Kazakh.
	b.run("kazakh", chromedp.Navigate(portal+"/lang/kk?back=/catalog/guardianship-certificate/55"), chromedp.WaitVisible("#service-diagram svg", chromedp.ByQuery))
	require.Contains(t, b.text("#service-diagram"), "Қызмет көрсету сызбасы")
	require.Contains(t, b.text("#service-region"), "Павлодар қаласы")
	require.Equal(t, "тегін", b.text("#service-cost"))
	var lang string
	b.run("drawing's language", chromedp.AttributeValue("#service-diagram svg", "lang", &lang, nil, chromedp.ByQuery))
	require.Equal(t, "kk", lang)
	b.run("search in Kazakh", chromedp.Navigate(portal+"/services?q="+url.QueryEscape("қорғаншылық")), chromedp.WaitVisible("#search-found", chromedp.ByQuery))
	require.Equal(t, 1, count("#entry-guardianship-certificate-59"))
	b.shot("portal-22-catalogue-kk")

	// A service known only by its title says why it is not offered.
	b.run("title only", chromedp.Navigate(portal+"/lang/ru?back=/catalog/archive-certificate/51"), chromedp.WaitVisible("#not-offered", chromedp.ByQuery))
	require.Contains(t, b.text("#not-offered"), "текст")
	require.Contains(t, b.text("#not-offered"), "seeds/001_90afdf2ffce9722a.txt")
	require.Zero(t, count("#service-diagram"))

	// A phone: the page does not scroll sideways; the drawing scrolls in its own box.
	b.run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(portal+"/catalog/guardianship-certificate/55"),
		chromedp.WaitVisible("#service-diagram svg", chromedp.ByQuery))
	var overflow bool
	b.run("no sideways page", chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &overflow))
	require.True(t, overflow, "the page is wider than the phone")
	b.shot("portal-23-service-page-390")
}

// jsString quotes s for a JavaScript string literal.
func jsString(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		if r == '"' || r == '\\' {
			b = append(b, '\\')
		}
		b = append(b, string(r)...)
	}
	return string(append(b, '"'))
}
