package browser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
)

// TestNewPassportAppearsWithoutCode gives the portal and the ЦОН desk a catalogue folder with one more
// passport than the built-in ones: its service is offered and its form drawn, field by field, with no
// change to the code.
func TestNewPassportAppearsWithoutCode(t *testing.T) {
	dir := harness.Catalog(t, nil)
	base, err := os.ReadFile(filepath.Join(harness.Builtin(), "guardianship-certificate.55.yaml"))
	require.NoError(t, err)
	p := strings.Replace(string(base), "code: guardianship-certificate", "code: pilot-certificate", 1)
	p = strings.Replace(p, "  ru: Выдача справок по опеке и попечительству", "  ru: Пилотная справка нового паспорта", 1)
	p = strings.Replace(p, "fields:\n", `fields:
  - id: school_name
    type: text
    required: true
    max_length: 120
    label: {ru: "Наименование школы (поле нового паспорта)", kk: "Мектептің атауы (жаңа паспорттың өрісі)"}
  - id: term
    type: choice
    required: true
    choices: [осенний, весенний]
    choice_labels:
      осенний: {ru: "Осенний семестр", kk: "Күзгі семестр"}
      весенний: {ru: "Весенний семестр", kk: "Көктемгі семестр"}
    label: {ru: "Учебный период", kk: "Оқу кезеңі"}
`, 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pilot-certificate.55.yaml"), []byte(p), 0o644))

	data, err := os.MkdirTemp("", "egov-catalog-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(data) })
	require.NoError(t, os.Chmod(data, 0o755))
	d := harness.StartDev(t, data, "EGOV_PORTAL_CATALOG_DIR="+dir, "EGOV_TSON_CATALOG_DIR="+dir)
	b := newBrowser(t)
	portal, tson := d.Endpoints.Services["portal"].HTTP, d.Endpoints.Services["tson"].HTTP

	b.run("catalogue", chromedp.Navigate(portal+"/services"), chromedp.WaitVisible("#services", chromedp.ByQuery))
	require.Contains(t, b.text("#services"), "Пилотная справка нового паспорта")
	b.choosePerson(d.Endpoints.Signer, "citizen-akhmetova")
	b.run("sign in", chromedp.Navigate(portal+"/login"), submit("#login-cert-sign"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))
	b.run("form", chromedp.Navigate(portal+"/services/pilot-certificate/55"), chromedp.WaitVisible("#f_school_name", chromedp.ByQuery))
	form := b.text("#application-form")
	require.Contains(t, form, "Наименование школы (поле нового паспорта)")
	require.Contains(t, form, "Учебный период")
	var choices []string
	b.run("choices", chromedp.Evaluate(`Array.from(document.querySelectorAll("#f_term option")).map(o => o.textContent).filter(Boolean)`, &choices))
	require.Equal(t, []string{"Осенний семестр", "Весенний семестр"}, choices, "the choices by their labels")
	var values []string
	b.run("values", chromedp.Evaluate(`Array.from(document.querySelectorAll("#f_term option")).map(o => o.value).filter(Boolean)`, &values))
	require.Equal(t, []string{"осенний", "весенний"}, values, "the values the application stores")
	b.shot("portal-13-new-passport-form")

	b.choosePerson(d.Endpoints.Signer, "tson-operator")
	b.run("desk", chromedp.Navigate(tson+"/login"), submit("#login-sign"), chromedp.Navigate(tson+"/new"), chromedp.WaitVisible("#services", chromedp.ByQuery))
	require.Contains(t, b.text("#services"), "Пилотная справка нового паспорта")
}
