package site_test

import (
	"encoding/xml"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/catalog"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/portal/internal/site"
)

// get asks the portal for path as an anonymous visitor in lang and returns the status and the body.
func get(t *testing.T, h http.Handler, path, lang string) (int, string) {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	if lang != "" {
		r.AddCookie(&http.Cookie{Name: "lang", Value: lang})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, err := io.ReadAll(w.Result().Body)
	require.NoError(t, err)
	return w.Code, string(b)
}

// TestCatalogPages: the catalogue a visitor reads before signing in: grouped, regions named, searched on
// the server, each service's page with its term, cost, channels, documents and drawing; the services
// known by title only marked and explained; Russian and Kazakh.
func TestCatalogPages(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	desk, err := applicant.New(applicant.Options{Catalog: cat, Channel: applicationv1.Channel_CHANNEL_PORTAL})
	require.NoError(t, err)
	h := site.New(site.Options{Desk: desk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	tests := []struct {
		name, path, lang string
		status           int
		want, not        []string
	}{
		{name: "ok/grouped, regions by name", path: "/services", status: http.StatusOK,
			want: []string{`id="group-guardianship"`, "Опека и попечительство", "Социальные выплаты", "Павлодар (Павлодарская область)",
				"Жамбылский район Северо-Казахстанской области", "бесплатно", `id="order-guardianship-certificate-55"`,
				`id="entry-archive-certificate-51"`, "Только название", "онлайн на портале (с ЭЦП)"},
			not: []string{`id="order-archive-certificate-51"`}},
		{name: "ok/searched", path: "/services?q=" + url.QueryEscape("павлодар"), status: http.StatusOK,
			want: []string{`id="entry-guardianship-certificate-55"`, "Найдено по запросу «павлодар»"},
			not:  []string{`id="entry-guardianship-certificate-27"`, `id="entry-guardian-allowance-27"`}},
		{name: "ok/searched in Kazakh", path: "/services?q=" + url.QueryEscape("мұрағаттық"), lang: "kk", status: http.StatusOK,
			want: []string{`id="entry-archive-certificate-51"`, "Мұрағаттық анықтамалар беру", "Оңтүстік Қазақстан облысы", "Тек атауы"},
			not:  []string{`id="entry-guardianship-certificate-55"`}},
		{name: "fail/nothing found says so", path: "/services?q=" + url.QueryEscape("<script>x</script>"), status: http.StatusOK,
			want: []string{`id="search-none"`, "&lt;script&gt;x&lt;/script&gt;"}, not: []string{"<script>x</script>", `id="group-`}},
		{name: "ok/service page", path: "/catalog/guardianship-certificate/55", status: http.StatusOK,
			want: []string{`id="service-term"`, "3 календарных дня", "срок по регламенту в целом", `id="service-cost"`, "бесплатно", "в Госкорпорации (ЦОН)",
				"ГУ «Отдел образования города Павлодара»", `role="img"`, "<title id=\"dg-title\">", `id="order-guardianship-certificate-55"`}},
		{name: "ok/service page in Kazakh", path: "/catalog/minors-property-certificate/27", lang: "kk", status: http.StatusOK,
			want: []string{"Көрсету мерзімі", "тегін", "жұмыс күні", "барлық қадамдар мерзімдерінің қосындысы", `lang="kk"`, "Қызмет көрсету сызбасы"}},
		{name: "ok/service page in Kazakh: the passport's whole term", path: "/catalog/guardianship-certificate/59", lang: "kk", status: http.StatusOK,
			want: []string{"5 жұмыс күні", "регламент бойынша жалпы мерзім"}, not: []string{"барлық қадамдар мерзімдерінің қосындысы"}},
		{name: "ok/the office channel named", path: "/catalog/disabled-children-home-education/51", status: http.StatusOK,
			want: []string{`id="order-disabled-children-home-education-51"`, "лично у услугодателя"}},
		{name: "ok/title only: why it is not offered", path: "/catalog/unemployed-certificate/51", status: http.StatusOK,
			want: []string{`id="not-offered"`, "текст", "seeds/001_90afdf2ffce9722a.txt", "п. 1 пп. 3"},
			not:  []string{`id="service-diagram"`, `id="order-`}},
		{name: "fail/unknown service", path: "/catalog/no-such-service/55", status: http.StatusNotFound,
			want: []string{"Такой услуги в каталоге нет"}},
		{name: "fail/unknown service in Kazakh", path: "/catalog/guardianship-certificate/71", lang: "kk", status: http.StatusNotFound,
			want: []string{"Каталогта мұндай қызмет жоқ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := get(t, h, tt.path, tt.lang)
			require.Equal(t, tt.status, status, body)
			for _, w := range tt.want {
				require.Contains(t, body, w)
			}
			for _, n := range tt.not {
				require.NotContains(t, body, n)
			}
			if m := regexp.MustCompile(`(?s)<svg.*</svg>`).FindString(body); m != "" {
				require.NoError(t, xml.Unmarshal([]byte(m), new(struct{})), "the drawing in the page parses")
			}
			require.False(t, strings.Contains(body, "<no value>"), "a text key is missing")
			ids := map[string]bool{}
			for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
				require.False(t, ids[m[1]], "id %q twice in the page", m[1])
				ids[m[1]] = true
			}
		})
	}
}

// TestCatalogServiceNotOnThePortal: a service taken only at a ЦОН is listed and described, with no order
// link and the advice to apply where it is taken.
func TestCatalogServiceNotOnThePortal(t *testing.T) {
	t.Parallel()
	files, err := catalog.Files()
	require.NoError(t, err)
	b, err := fs.ReadFile(files, "guardianship-certificate.55.yaml")
	require.NoError(t, err)
	only := strings.Replace(string(b), "channels: [portal, tson]", "channels: [tson]", 1)
	cat, err := catalog.Load(fstest.MapFS{"guardianship-certificate.55.yaml": {Data: []byte(only)}})
	require.NoError(t, err)
	desk, err := applicant.New(applicant.Options{Catalog: cat, Channel: applicationv1.Channel_CHANNEL_PORTAL})
	require.NoError(t, err)
	h := site.New(site.Options{Desk: desk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	status, body := get(t, h, "/services", "")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `id="entry-guardianship-certificate-55"`)
	require.NotContains(t, body, `id="order-`)
	status, body = get(t, h, "/catalog/guardianship-certificate/55", "kk")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `id="not-online"`)
	require.Contains(t, body, "Мемлекеттік корпорацияда (ХҚКО)")
	require.NotContains(t, body, `id="order-`)
}
