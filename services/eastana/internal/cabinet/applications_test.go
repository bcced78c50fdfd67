package cabinet_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// apply signs in as the parent and applies for child; it returns the application's page path.
func (e *env) apply(t testing.TB, b *browser, k keys, child string) string {
	t.Helper()
	code, _ := b.signIn(k.auth)
	require.Equal(t, http.StatusSeeOther, code)
	code, _ = b.get("/apply/preschool-registration")
	require.Equal(t, http.StatusOK, code)
	code, body := b.post("/apply/preschool-registration", url.Values{"csrf": {b.hidden("csrf")}, "f_child_iin": {child}})
	require.Equal(t, http.StatusOK, code, body)
	content, err := base64.StdEncoding.DecodeString(b.hidden("content"))
	require.NoError(t, err)
	code, where := b.post("/apply/preschool-registration/sign", url.Values{"csrf": {b.hidden("csrf")}, "content": {b.hidden("content")},
		"signature": {sign(t, k.sign, content)}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Regexp(t, `^/applications/[0-9]+\?sent=1$`, where)
	return strings.TrimSuffix(where, "?sent=1")
}

// TestApplications: «Мои заявления» and the application's page — REGISTERED with the application's
// number at once, the decision awaiting the МИО employee; once the employee signs the registration
// ticket, QUEUED with the number, the signed ticket (text, signature, printable PDF) and the child's place
// and movement; another citizen sees none of it.
func TestApplications(t *testing.T) {
	t.Parallel()
	e, k := setup(t)
	b := e.browser(t, "")
	page := e.apply(t, b, k, e.child)

	code, body := b.get(page + "?sent=1")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `id="sent"`)
	require.Contains(t, body, `data-status="REGISTERED"`)
	require.Contains(t, body, "Заявление принято ИС Е-Астана")
	number := regexp.MustCompile(`id="number">([^<]+)<`).FindStringSubmatch(body)
	require.NotNil(t, number)
	require.NotEqual(t, "—", number[1])
	require.Contains(t, body, `id="awaiting"`, "the decision is the employee's to sign")
	require.NotContains(t, body, `id="queue-number"`, "no place before the ticket is signed")

	code, body = b.get("/applications")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, number[1])
	require.Contains(t, body, `data-state="awaiting"`)

	// The МИО employee signs the registration ticket.
	id := mustCaseID(t, page)
	signer := e.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Sign, Subject: pki.Subject{IIN: mio, Surname: "Омарова",
		GivenName: "Жанар", Organization: "ГУ «Управление образования города Астаны»", BIN: demo.BINAstanaEducation}}, pki.ECDSAP256)
	employee := intake.Employee{IIN: mio, Name: "Омарова Жанар", Position: "главный специалист"}
	require.NoError(t, e.in.PutEmployee(t.Context(), employee))
	d, err := e.in.Draft(t.Context(), id, employee, time.Now())
	require.NoError(t, err)
	sig, err := signer.Sign(d.Content)
	require.NoError(t, err)
	require.NoError(t, e.in.Sign(t.Context(), id, employee, d.Content, sig, time.Now()))

	code, body = b.get(page)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `data-status="QUEUED"`)
	require.Regexp(t, `id="queue-number">1<`, body, "the first child of the list")
	require.Regexp(t, `id="queue-ahead">0<`, body)
	require.Contains(t, body, `data-kind="registered"`, "the movement starts with the registration")
	require.Contains(t, body, `class="result-signer">ОМАРОВА ЖАНАР`, "the ticket's signature checked when shown")
	require.Contains(t, body, "Регистрационный талон")
	require.Contains(t, body, `class="result-pdf"`)
	for _, part := range []string{"", "?part=signature", "?part=pdf", "?part=pdf-signature"} {
		link := regexp.MustCompile(`href="(/applications/[0-9]+/documents/[0-9]+/0)"`).FindStringSubmatch(body)
		require.NotNil(t, link)
		code, doc := b.get(link[1] + part)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, b.header.Get("Content-Disposition"), "filename*=UTF-8''%D0%95%D0%90-", "the number as written")
		switch part {
		case "":
			require.Equal(t, string(d.Content), doc, "the signed ticket's bytes")
			require.Contains(t, b.header.Get("Content-Disposition"), `filename="eastana-`)
		case "?part=signature":
			require.Equal(t, string(sig), doc, "the ticket's detached signature")
		case "?part=pdf":
			require.True(t, strings.HasPrefix(doc, "%PDF-"), "the printable form")
		default:
			require.NotEmpty(t, doc, "the printable form's signature")
		}
	}

	// The page listens for new notifications: the stream from REGISTERED (1) on says the decision (2) came.
	require.Contains(t, body, `data-live="/applications/`)
	require.Equal(t, "2", b.firstChange(page+"/events?after=1"))

	// Kazakh.
	kk := e.browser(t, "kk")
	kk.c.Jar = b.c.Jar
	kk.c.Jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: "lang", Value: "kk", Path: "/"}})
	code, body = kk.get(page)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "Кезек нөмірін қарау")
	require.Contains(t, body, "Кезекке қойылды")

	// Another citizen: not found, and not listed.
	other := e.browser(t, "")
	code, _ = other.signIn(k.otherAuth)
	require.Equal(t, http.StatusSeeOther, code)
	code, _ = other.get(page)
	require.Equal(t, http.StatusNotFound, code)
	code, body = other.get("/applications")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, number[1])
	require.Contains(t, body, `id="none"`)
	code, _ = other.get(page + "/documents/2/0")
	require.Equal(t, http.StatusNotFound, code)
}

// mustCaseID is the case id of an application's page path.
func mustCaseID(t testing.TB, page string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(strings.TrimPrefix(page, "/applications/"), 10, 64)
	require.NoError(t, err)
	return id
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// firstChange reads the server-sent events at path until the first "change" and gives its data.
func (b *browser) firstChange(path string) string {
	b.t.Helper()
	ctx, cancel := context.WithCancel(b.t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(b.t, err)
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	require.Equal(b.t, http.StatusOK, res.StatusCode)
	require.Equal(b.t, "text/event-stream", res.Header.Get("Content-Type"))
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		if lines.Text() == "event: change" {
			require.True(b.t, lines.Scan())
			return strings.TrimPrefix(lines.Text(), "data: ")
		}
	}
	b.t.Fatalf("the stream ended without a change: %v", lines.Err())
	return ""
}
