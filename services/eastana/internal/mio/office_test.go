package mio_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// office posts the in-person intake's form (fields without the f_ prefix, the scan when not nil).
func (b *browser) office(csrf string, fields map[string]string, scan []byte) (int, string) {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	require.NoError(b.t, w.WriteField("csrf", csrf))
	for k, v := range fields {
		require.NoError(b.t, w.WriteField("f_"+k, v))
	}
	if scan != nil {
		fw, err := w.CreateFormFile("d_preschool_application", "заявление.png")
		require.NoError(b.t, err)
		_, err = fw.Write(scan)
		require.NoError(b.t, err)
	}
	require.NoError(b.t, w.Close())
	r, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.base+"/mio/office", &body)
	require.NoError(b.t, err)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(r)
}

func pngScan(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))))
	return b.Bytes()
}

var contentRe = regexp.MustCompile(`name="content" value="([^"]+)"`)

// TestOffice: an application taken in person is drafted from the form and the scan, signed with the
// employee's own ЭЦП (condition 2: any other key, or altered bytes, is refused with the regulation's
// text and nothing is received), then received by ИС Е-Астана once, the scan bound to it.
func TestOffice(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b, csrf := e.signedIn("")
	code, page := b.get("/mio/office")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, `id="f_child_iin"`)

	good := map[string]string{"applicant_iin": applicant, "child_iin": e.child, "email_consent": "yes", "email": "asel@example.kz"}
	with := func(k, v string) map[string]string {
		out := map[string]string{}
		for x, y := range good {
			out[x] = y
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		fields map[string]string
		scan   []byte
		want   string
	}{
		{name: "fail/no scan", fields: good, want: "Приложите скан бумажного заявления"},
		{name: "fail/not an image", fields: good, scan: []byte("просто текст"), want: "допустимы только PDF, JPEG и PNG"},
		{name: "fail/too large", fields: good, scan: append(pngScan(t), make([]byte, 65<<10)...), want: "больше допустимого размера (0 МБ)"},
		{name: "fail/child's IIN mistyped", fields: map[string]string{"applicant_iin": applicant, "child_iin": "123"}, scan: pngScan(t),
			want: "некорректностью введенных данных"},
		{name: "fail/no applicant", fields: map[string]string{"child_iin": e.child}, scan: pngScan(t), want: "ИИН заявителя"},
		{name: "fail/consent without an address", fields: with("email", ""), scan: pngScan(t),
			want: "не заполнено поле «Адрес электронной почты для результата»"},
		{name: "fail/not an address", fields: with("email", "asel@"), scan: pngScan(t), want: "поле «Адрес электронной почты для результата»"},
		{name: "fail/an address without consent", fields: with("email_consent", "no"), scan: pngScan(t),
			want: "используется только с согласия заявителя"},
	} {
		code, page := b.office(csrf, tc.fields, tc.scan)
		require.Equal(t, http.StatusUnprocessableEntity, code, tc.name)
		require.Contains(t, page, tc.want, tc.name)
	}
	var scans int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT count(*) FROM office_scans`).Scan(&scans))
	require.Zero(t, scans, "refused drafts keep no scan")

	code, page = b.office(csrf, good, pngScan(t))
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, `id="sign-ncalayer"`)
	require.Contains(t, page, "заявление.png")
	content, err := base64.StdEncoding.DecodeString(find(t, contentRe, page))
	require.NoError(t, err)
	a := new(applicationv1.Application)
	require.NoError(t, proto.Unmarshal(content, a))
	require.Equal(t, applicationv1.Channel_CHANNEL_OFFICE, a.GetChannel())
	require.Len(t, a.GetDocuments(), 1)
	require.True(t, a.GetDocuments()[0].GetPaperReceived())

	sign := func(key *envelope.Signer, content []byte) url.Values {
		sig, err := key.Sign(content)
		require.NoError(t, err)
		return url.Values{"csrf": {csrf}, "content": {base64.StdEncoding.EncodeToString(content)}, "signature": {base64.StdEncoding.EncodeToString(sig)}}
	}
	altered := proto.Clone(a).(*applicationv1.Application)
	altered.ApplicantIin = otherIIN
	alteredContent, err := proto.Marshal(altered)
	require.NoError(t, err)
	forged := sign(e.key(t, staffIIN, pki.Sign), content)
	forged.Set("content", base64.StdEncoding.EncodeToString(alteredContent))
	for name, form := range map[string]url.Values{
		"fail/another person's key":        sign(e.key(t, otherIIN, pki.Sign), content),
		"fail/the employee's AUTH key":     sign(e.key(t, staffIIN, pki.Auth), content),
		"fail/bytes altered after signing": forged,
	} {
		code, page := b.post("/mio/office/sign", form)
		require.Equal(t, http.StatusUnprocessableEntity, code, name)
		require.Contains(t, page, "Отказ в запрашиваемой электронной государственной услуге в связи с не подтверждением подлинности ЭЦП сотрудника МИО", name)
		require.Contains(t, page, `id="sign-ncalayer"`, "%s: the application stays to be signed again", name)
	}
	code, page = b.post("/mio/office/sign", url.Values{"csrf": {csrf}, "content": {base64.StdEncoding.EncodeToString(content)}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "Нет подписи")
	var received int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT count(*) FROM applications`).Scan(&received))
	require.Zero(t, received, "nothing received before a good signature")

	good2 := sign(e.key(t, staffIIN, pki.Sign), content)
	for range 2 {
		// The same post twice (a double click, a retry): one application, one child in the queue.
		code, page = b.post("/mio/office/sign", good2)
		require.Equal(t, http.StatusOK, code, page)
		require.Contains(t, page, "Заявление принято и зарегистрировано в ИС Е-Астана", "the case page, to decide it")
		require.Contains(t, page, `id="case-channel">приём в МИО<`)
		require.Contains(t, page, `id="sign-ncalayer"`, "its draft to sign")
		require.Contains(t, page, "asel@example.kz", "the address given with consent")
		require.Contains(t, page, `id="scan-link"`)
	}
	// The scan, as it was attached, from the case page's link.
	_, page = b.get("/mio/")
	scanPath := regexp.MustCompile(`href="(/mio/cases/\d+/scan)"`)
	_, page = b.get(find(t, regexp.MustCompile(`<a href="(/mio/cases/\d+)">`), page))
	r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.base+find(t, scanPath, page), nil)
	require.NoError(t, err)
	resp, err := b.c.Do(r)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, pngScan(t), got)
	require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")

	var sender, channel string
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT a.sender, e.channel FROM applications a JOIN entries e ON e.id = a.entry_id
		WHERE a.application_id = $1`, a.GetApplicationId()).Scan(&sender, &channel))
	require.Equal(t, "eastana", sender, "taken by the cabinet: its notifications stay with the cabinets")
	require.Equal(t, "office", channel)
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT count(*) FROM entries WHERE child_iin = $1`, e.child).Scan(&received))
	require.Equal(t, 1, received)
	var bound, kept int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM office_scans WHERE application_id = $1),
		(SELECT count(*) FROM office_applications WHERE application_id = $1 AND signed_by = $2)`, a.GetApplicationId(), staffIIN).Scan(&bound, &kept))
	require.Equal(t, 1, bound)
	require.Equal(t, 1, kept)

	// A draft whose scan is gone (a day unsigned) is refused, not received without its scan.
	second, err := iin.Generate(rand.New(rand.NewPCG(7, 7)), e.now.AddDate(-4, 0, 0), iin.SexMale)
	require.NoError(t, err)
	code, page = b.office(csrf, map[string]string{"applicant_iin": applicant, "child_iin": second.String()}, pngScan(t))
	require.Equal(t, http.StatusOK, code)
	content, err = base64.StdEncoding.DecodeString(find(t, contentRe, page))
	require.NoError(t, err)
	_, err = e.pool.Exec(t.Context(), `DELETE FROM office_scans WHERE application_id IS NULL`)
	require.NoError(t, err)
	code, page = b.post("/mio/office/sign", sign(e.key(t, staffIIN, pki.Sign), content))
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "Скан заявления не найден или изменён")
}
