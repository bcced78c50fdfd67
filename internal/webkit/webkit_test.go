package webkit

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/egov-suite/egov/envelope"
)

func TestSignInRefusal(t *testing.T) {
	texts := map[string]string{"err_no_signature": "нет подписи", "err_challenge": "вызов устарел"}
	for _, c := range []struct {
		name   string
		err    error
		lang   string
		want   string
		status int
	}{
		{"no signature", fmt.Errorf("form: %w", ErrNoSignature), "ru", "нет подписи", http.StatusUnprocessableEntity},
		{"stale challenge", ErrChallenge, "ru", "вызов устарел", http.StatusUnprocessableEntity},
		{"revoked", &envelope.Error{Code: envelope.CodeRevoked}, "ru", "регистрационное свидетельство отозвано", http.StatusUnprocessableEntity},
		{"status unknown", &envelope.Error{Code: envelope.CodeStatusUnavailable}, "ru", "Повторите через минуту", http.StatusServiceUnavailable},
		{"status unknown, kk", &envelope.Error{Code: envelope.CodeStatusUnavailable}, "kk", "қайталаңыз", http.StatusServiceUnavailable},
		{"the server's own", errors.New("database down"), "ru", "", http.StatusInternalServerError},
	} {
		msg, status := SignInRefusal(c.err, c.lang, texts)
		if status != c.status || (c.want == "" && msg != "") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: got %q, %d; want %q, %d", c.name, msg, status, c.want, c.status)
		}
	}
}

// TestRenderFailsWhole: a page whose template fails half-way is answered 500 with the user's-language
// message and none of the half-made page; a page that lays out is answered with the handler's status.
func TestRenderFailsWhole(t *testing.T) {
	t.Parallel()
	tmpl := template.Must(template.New("page.html").Parse(`<p>начало</p>{{index .Data 5}}<p>конец</p>`))
	template.Must(tmpl.New("ok.html").Parse(`<p>{{.Data}}</p>`))
	s := New(Options{Prefix: "/", Cookie: "x", Log: quiet()})
	for name, c := range map[string]struct {
		page, lang, want, not string
		data                  any
		status                int
	}{
		"ok/laid out":       {page: "ok.html", data: "готово", status: http.StatusAccepted, want: "<p>готово</p>"},
		"fail/half-way, ru": {page: "page.html", data: []int{}, status: http.StatusInternalServerError, want: "Внутренняя ошибка", not: "начало"},
		"fail/half-way, kk": {page: "page.html", lang: "kk", data: []int{}, status: http.StatusInternalServerError, want: "ішкі қатесі", not: "начало"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/page", nil)
			if c.lang != "" {
				r.AddCookie(&http.Cookie{Name: "lang", Value: c.lang})
			}
			w := httptest.NewRecorder()
			s.Render(w, r, tmpl, c.page, http.StatusAccepted, Page{Data: c.data})
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) || (c.not != "" && strings.Contains(w.Body.String(), c.not)) {
				t.Fatalf("status %d, body %q: want %d with %q and without %q", w.Code, w.Body.String(), c.status, c.want, c.not)
			}
		})
	}
}
