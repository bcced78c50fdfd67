package engine_test

import (
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/rshep/internal/arm"
)

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(body)
}

var (
	challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)
	csrfRe      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	toSignRe    = regexp.MustCompile(`data-sign="([^"]+)" data-key="SIGNATURE"`)
)

func find(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	require.NotNil(t, m, "%s not in page", re)
	return html.UnescapeString(m[1])
}

// signInForm is the login form filled with the page's pre-session token and the challenge signed with key.
func (b *browser) signInForm(region string, key *envelope.Signer) url.Values {
	b.t.Helper()
	_, page := b.get("/arm/login")
	challenge := find(b.t, challengeRe, page)
	sig, err := key.Sign([]byte(challenge))
	require.NoError(b.t, err)
	return url.Values{"csrf": {find(b.t, csrfRe, page)}, "challenge": {challenge}, "region": {region},
		"signature": {base64.StdEncoding.EncodeToString(sig)}}
}

// signIn signs the login challenge with key and returns the answer.
func (b *browser) signIn(region string, key *envelope.Signer) (int, string) {
	b.t.Helper()
	return b.post("/arm/login", b.signInForm(region, key))
}

func (s *suite) employeeKey(t *testing.T, who string, purpose pki.Purpose) *envelope.Signer {
	st := s.staff[who]
	return s.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: purpose, Subject: pki.Subject{IIN: st.IIN, Surname: "Сотрудник",
		GivenName: who, Organization: "ГУ «Отдел образования города Павлодара»", BIN: demo.BINPavlodarEducation}}, pki.ECDSAP256)
}

func TestWorkstation(t *testing.T) {
	s := start(t)
	srv := httptest.NewServer(arm.New(arm.Options{Engine: s.eng, DB: s.db, Now: s.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	t.Cleanup(srv.Close)
	open := func() *browser {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		return &browser{t: t, base: srv.URL, c: &http.Client{Jar: jar}}
	}

	anon := open()
	code, page := anon.get("/arm/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Вход по ЭЦП", "no session: the sign-in page")

	// Refusals: a signing key, a citizen, a used challenge.
	code, page = anon.signIn("55", s.employeeKey(t, "clerk", pki.Sign))
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "не подтверждением подлинности ЭЦП")
	code, page = anon.signIn("55", s.ca.Person(t, "880512400011", pki.Auth))
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, page, "не принадлежит сотруднику")
	// Login CSRF: a form without the browser's pre-session token, with another browser's, or posted from
	// another site signs no one in, however good its signature (a foreign page must not sign a civil
	// servant's browser in as someone else).
	form := anon.signInForm("55", s.employeeKey(t, "clerk", pki.Auth))
	for name, change := range map[string]func(*http.Request){
		"fail/no token":     func(r *http.Request) { r.Form.Del("csrf") },
		"fail/other token":  func(r *http.Request) { r.Form.Set("csrf", "00000000000000000000000000000000") },
		"fail/cross-site":   func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"fail/foreign site": func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
	} {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/arm/login", nil)
		require.NoError(t, err)
		r.Form = url.Values{}
		for k, v := range form {
			r.Form[k] = v
		}
		change(r)
		r.Body = io.NopCloser(strings.NewReader(r.Form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := anon.c.Do(r)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
		require.Contains(t, string(body), "обновите страницу", name)
	}
	code, _ = anon.post("/arm/login", form)
	require.Equal(t, http.StatusOK, code)
	code, page = anon.post("/arm/login", form)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "Вызов устарел или уже использован")

	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	casePath := "/arm/cases/" + strconv.FormatInt(c.ID, 10)

	clerk := open()
	code, page = clerk.signIn("55", s.employeeKey(t, "clerk", pki.Auth))
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, c.Number, "the inbox lists the case")
	require.Contains(t, page, "мой шаг")
	_, page = clerk.get(casePath)
	require.Contains(t, page, "Передать далее")
	// The case's passport drawn: the employee sees the steps ahead and the decision's branches.
	require.Contains(t, page, `id="case-diagram"`)
	require.Contains(t, page, `id="dg-step-register" aria-current="step"`, "the step the case is at is marked")
	require.Contains(t, page, "Схема оказания услуги")
	require.NotContains(t, page, "Принять решение", "a clerk does not decide")
	csrf := find(t, csrfRe, page)
	code, _ = clerk.post(casePath+"/act", url.Values{"kind": {"complete"}, "step": {"register"}})
	require.Equal(t, http.StatusForbidden, code, "no CSRF token")
	code, _ = clerk.post(casePath+"/act", url.Values{"csrf": {csrf}, "kind": {"complete"}, "step": {"register"}})
	require.Equal(t, http.StatusOK, code)
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS")
	code, page = clerk.post(casePath+"/act", url.Values{"csrf": {csrf}, "kind": {"decide"}, "step": {"examine"}, "outcome": {"approved"}})
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, page, "этот шаг выполняет другая роль")

	officer := open()
	code, _ = officer.signIn("55", s.employeeKey(t, "officer", pki.Auth))
	require.Equal(t, http.StatusOK, code)
	_, page = officer.get(casePath)
	csrf = find(t, csrfRe, page)
	code, page = officer.post(casePath+"/act", url.Values{"csrf": {csrf}, "kind": {"decide"}, "step": {"examine"}, "outcome": {"refused"},
		"refusal_code": {"documents_irregular"}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "отказ должен быть мотивирован")
	require.Contains(t, page, `value="documents_irregular" selected`, "the ground chosen stays chosen")
	require.Contains(t, page, `value="refused" id="outcome-refused" checked`)
	// A refusal without its ground: a clear error in the employee's language, and the motivation typed
	// is kept.
	code, page = officer.post(casePath+"/act", url.Values{"csrf": {csrf}, "kind": {"decide"}, "step": {"examine"}, "outcome": {"refused"},
		"comment": {"Справка уже выдана"}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "выберите основание отказа из перечня паспорта услуги")
	require.NotContains(t, page, "is not a refusal ground")
	require.Contains(t, page, ">Справка уже выдана</textarea>")
	code, page = officer.post(casePath+"/act", url.Values{"csrf": {csrf}, "kind": {"decide"}, "step": {"examine"}, "outcome": {"approved"}})
	require.Equal(t, http.StatusOK, code)
	content, err := base64.StdEncoding.DecodeString(find(t, toSignRe, page))
	require.NoError(t, err)
	sig, err := s.staff["officer"].sign.Sign(content)
	require.NoError(t, err)
	code, page = officer.post(casePath+"/act", url.Values{"csrf": {csrf}, "kind": {"sign"}, "step": {"examine"},
		"signature": {base64.StdEncoding.EncodeToString(sig)}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "RESULT_ISSUED")
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	code, body := officer.get(casePath + "/result")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(content), body)

	// Kazakh.
	code, page = officer.get("/arm/lang/kk?back=/arm/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Аяқталғандар")
	require.Contains(t, page, c.Number)
	_, page = officer.get(casePath)
	require.Contains(t, page, "Қызмет көрсету сызбасы")
	require.Contains(t, page, `lang="kk"`)
}
