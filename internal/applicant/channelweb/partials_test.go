package channelweb_test

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/webkit"
)

// TestQueuePlace: an application's page shows a waiting list's place in the page's language
// («Номер в очереди: N; перед вами: M»), as the last place once the application is closed, and nothing
// for an application of no waiting list.
func TestQueuePlace(t *testing.T) {
	t.Parallel()
	tmpl := template.Must(template.New("").Funcs(channelweb.Funcs()).ParseFS(channelweb.Partials, "web/*.html"))
	closed := time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC)
	place := &applicant.Place{List: "astana", Number: 57, Ahead: 31, Kind: "general"}
	tests := []struct {
		name      string
		lang      string
		app       *applicant.Application
		want, not []string
	}{
		{name: "ok/ru", lang: "ru", app: &applicant.Application{Queue: place},
			want: []string{`Место в очереди`, `Номер в очереди: <strong id="queue-number">57</strong>; перед вами: <strong id="queue-ahead">31</strong>`, "общая очередь", "город Астана"}},
		{name: "ok/kk", lang: "kk", app: &applicant.Application{Queue: place},
			want: []string{`Кезектегі орны`, `Кезектегі нөмірі: <strong id="queue-number">57</strong>; алдыңызда: <strong id="queue-ahead">31</strong>`, "жалпы кезек", "Астана қаласы"},
			not:  []string{"Номер в очереди", "общая"}},
		{name: "ok/closed: the last place", lang: "ru", app: &applicant.Application{Queue: place, ClosedAt: &closed},
			want: []string{"Последнее место в очереди"}},
		{name: "ok/no waiting list, no place", lang: "ru", app: &applicant.Application{}, not: []string{"queue-place"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			require.NoError(t, tmpl.ExecuteTemplate(&b, "queue_place", webkit.Page{Lang: tt.lang, Data: map[string]any{"App": tt.app}}))
			for _, w := range tt.want {
				require.Contains(t, b.String(), w)
			}
			for _, n := range tt.not {
				require.NotContains(t, b.String(), n)
			}
		})
	}
}

// TestStatusPlaces: each status row of a waiting list shows the place it gave, in the page's language.
func TestStatusPlaces(t *testing.T) {
	t.Parallel()
	tmpl := template.Must(template.New("").Funcs(channelweb.Funcs()).ParseFS(channelweb.Partials, "web/*.html"))
	statuses := []applicant.Status{
		{Status: "REGISTERED", TextRU: "Заявление принято ИС Е-Астана", TextKK: "Өтінішті Е-Астана АЖ қабылдады"},
		{Status: "QUEUED", Queue: &applicant.Place{List: "astana", Number: 25, Ahead: 24, Kind: "general"}},
		{Status: "QUEUE_MOVED", Queue: &applicant.Place{List: "astana", Number: 25, Ahead: 19, Kind: "general"}},
	}
	for _, tt := range []struct{ lang, want string }{
		{"ru", "Номер в очереди 25; перед вами 19"},
		{"kk", "Кезектегі нөмірі 25; алдыңызда 19"},
	} {
		t.Run("ok/"+tt.lang, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			require.NoError(t, tmpl.ExecuteTemplate(&b, "statuses", webkit.Page{Lang: tt.lang, Data: map[string]any{"Statuses": statuses}}))
			require.Equal(t, 2, strings.Count(b.String(), `class="muted status-place"`), "one place per status that gave one")
			require.Contains(t, b.String(), tt.want)
		})
	}
}
