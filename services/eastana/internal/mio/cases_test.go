package mio_test

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// portalApplication is an application of the portal for child, received by ИС Е-Астана through ШЭП.
func (e *env) portalApplication(t *testing.T, child string) *applicationv1.Application {
	t.Helper()
	a := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: "preschool-registration", Region: "71",
		Channel: applicationv1.Channel_CHANNEL_PORTAL, ApplicantIin: applicant,
		Fields: map[string]string{"applicant_iin": applicant, "child_iin": child}, SubmittedAt: timestamppb.New(e.now)}
	n, err := e.in.Receive(t.Context(), intake.Origin{Sender: "portal", CorrelationID: a.GetApplicationId(), ApplicantIIN: applicant}, a, e.now)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, n.GetStatus())
	return a
}

var caseLinkRe = regexp.MustCompile(`<a href="(/mio/cases/\d+)">([^<]+)</a>`)

// TestCases: an application from the portal is listed «с ПЭП» awaiting the employee; its case page shows
// the drafted ticket, which the employee signs with their own ЭЦП (another key, a draft that went stale
// when a place was released, a second decision: each refused with the intake's text); a motivated
// refusal needs its motivation.
func TestCases(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b, csrf := e.signedIn("")
	e.portalApplication(t, e.child)
	second, err := iin.Generate(rand.New(rand.NewPCG(3, 3)), e.now.AddDate(-5, 0, 0), iin.SexMale)
	require.NoError(t, err)
	e.in.Registry.(register)[second.String()] = &gbdflv1.Person{Iin: second.String(), BirthDate: e.now.AddDate(-5, 0, 0).Format(time.DateOnly),
		Family: []*gbdflv1.FamilyLink{{Relation: gbdflv1.Relation_RELATION_PARENT, Iin: applicant}}}
	e.portalApplication(t, second.String())

	for _, tc := range []struct {
		name, query string
		rows        int
	}{
		{name: "ok/awaiting by default", query: "", rows: 2},
		{name: "ok/from the portal", query: "?channel=portal&state=awaiting", rows: 2},
		{name: "ok/from ЦОН: none", query: "?channel=tson&state=awaiting", rows: 0},
		{name: "ok/issued: none yet", query: "?channel=&state=issued", rows: 0},
	} {
		code, page := b.get("/mio/" + tc.query)
		require.Equal(t, http.StatusOK, code, tc.name)
		require.Len(t, caseLinkRe.FindAllStringSubmatch(page, -1), tc.rows, tc.name)
	}
	code, _ := b.get("/mio/?channel=fax")
	require.Equal(t, http.StatusNotFound, code, "no such channel")
	_, page := b.get("/mio/?channel=portal")
	require.Contains(t, page, "с ПЭП")
	rows := caseLinkRe.FindAllStringSubmatch(page, -1)
	require.Len(t, rows, 2)
	require.Regexp(t, `<td[^>]*>`+e.child+`</td>`, page, "the child listed")

	// The first child's case, found by its page.
	var casePath string
	for _, r := range rows {
		_, p := b.get(r[1])
		if regexp.MustCompile(`id="case-child">` + e.child + `<`).MatchString(p) {
			casePath, page = r[1], p
		}
	}
	require.NotEmpty(t, casePath)
	require.Contains(t, page, "ожидает подписи сотрудника МИО")
	require.Contains(t, page, "Найден в ГБД ФЛ: Ахметова Айлин, дата рождения "+e.now.AddDate(-3, -2, 0).Format("02.01.2006"))
	require.Contains(t, page, "Заявитель — его родитель или законный представитель.")
	require.Contains(t, page, `id="queue-number">4<`, "three children of the demo queue before it")
	require.Contains(t, page, `id="draft"`)
	require.Contains(t, page, "Омарова Жанар", "the draft names the signing employee")
	require.Contains(t, page, `data-status="CASE_STATUS_REGISTERED"`)
	content := find(t, contentRe, page)

	sign := func(key pki.Purpose, iin, content string) url.Values {
		raw, err := base64.StdEncoding.DecodeString(content)
		require.NoError(t, err)
		sig, err := e.key(t, iin, key).Sign(raw)
		require.NoError(t, err)
		return url.Values{"csrf": {csrf}, "content": {content}, "signature": {base64.StdEncoding.EncodeToString(sig)}}
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{name: "fail/no token", form: url.Values{"content": {content}}, status: http.StatusForbidden, want: "обновите страницу"},
		{name: "fail/no signature", form: url.Values{"csrf": {csrf}, "content": {content}}, status: http.StatusUnprocessableEntity, want: "Нет подписи"},
		{name: "fail/no content", form: url.Values{"csrf": {csrf}, "signature": {"AAAA"}}, status: http.StatusUnprocessableEntity, want: "Заявление повреждено"},
		{name: "fail/another person's key", form: sign(pki.Sign, otherIIN, content), status: http.StatusConflict, want: "не вашим ключом"},
		{name: "fail/the AUTH key", form: sign(pki.Auth, staffIIN, content), status: http.StatusConflict, want: "не подтверждена подлинность ЭЦП сотрудника МИО"},
	} {
		code, page := b.post(casePath+"/sign", tc.form)
		require.Equal(t, tc.status, code, tc.name)
		require.Contains(t, page, tc.want, tc.name)
	}

	// A place released after the draft was read: the ticket is now a referral, the old draft is stale.
	stale := sign(pki.Sign, staffIIN, content)
	code, _ = b.post(fmt.Sprintf("/mio/groups/%d/release", e.group), url.Values{"csrf": {csrf}, "n": {"2"}})
	require.Equal(t, http.StatusOK, code)
	code, page = b.post(casePath+"/sign", stale)
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, page, "Положение ребёнка в очереди изменилось")
	require.Contains(t, page, `id="sign-ncalayer"`, "the new draft to sign")

	// The children of the demo queue took the two places (they are before it): the child still waits,
	// and the draft is its ticket again, now with two children fewer ahead.
	content = find(t, contentRe, page)
	code, page = b.post(casePath+"/sign", sign(pki.Sign, staffIIN, content))
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "Результат подписан и направлен заявителю.")
	require.Contains(t, page, `data-state="issued"`)
	require.Contains(t, page, `id="signed-by">`+staffIIN)
	require.Contains(t, page, `data-status="CASE_STATUS_QUEUED"`)
	require.NotContains(t, page, `id="sign-ncalayer"`, "decided: nothing more to sign")
	code, page = b.post(casePath+"/sign", sign(pki.Sign, staffIIN, content))
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, page, "решение уже принято")
	_, page = b.get("/mio/?channel=&state=issued")
	require.Len(t, caseLinkRe.FindAllStringSubmatch(page, -1), 1)

	// The other case: a motivated refusal, which needs its motivation.
	_, page = b.get("/mio/")
	rows = caseLinkRe.FindAllStringSubmatch(page, -1)
	require.Len(t, rows, 1)
	other := rows[0][1]
	code, page = b.post(other+"/refuse", url.Values{"csrf": {csrf}, "motivation": {"  "}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "Укажите мотивировку отказа")
	code, page = b.post(other+"/refuse", url.Values{"csrf": {csrf}, "motivation": {"Заявитель отозвал заявление лично в МИО."}})
	require.Equal(t, http.StatusOK, code, page)
	require.Contains(t, page, "Мотивированный отказ подписан и направлен заявителю.")
	require.Contains(t, page, "мотивированный отказ")

	code, _ = b.get("/mio/cases/999999")
	require.Equal(t, http.StatusNotFound, code)
	code, _ = b.get("/mio/cases/abc")
	require.Equal(t, http.StatusNotFound, code)

	kk := e.browser(t, "kk")
	code, _ = kk.post("/mio/login", kk.signInForm(e.key(t, staffIIN, pki.Auth)))
	require.Equal(t, http.StatusOK, code)
	_, page = kk.get(casePath)
	require.Contains(t, page, "нәтиже берілді")
	require.Contains(t, page, "ЭҮП-тен")
}
