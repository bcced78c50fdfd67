package engine_test

import (
	"encoding/base64"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/rshep/internal/arm"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
	"github.com/egov-suite/egov/services/rshep/internal/timers"
)

// akimatBIN is the district akimat of the test passport test-guardianship-akimat.27.
const akimatBIN = "050540000006"

// shapesCatalog is the suite's catalogue with the test passports of testdata/passports (marked as such):
// the shapes of West Kazakhstan's S3 and S6 the builtin passports do not have yet.
func shapesCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	builtin, err := catalog.Files()
	require.NoError(t, err)
	m := fstest.MapFS{}
	for _, src := range []fs.FS{builtin, os.DirFS("testdata/passports")} {
		require.NoError(t, fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(src, path)
			m[path] = &fstest.MapFile{Data: b}
			return err
		}))
	}
	cat, err := catalog.Load(m)
	require.NoError(t, err)
	return cat
}

// shapes starts the suite with an engine on the shapes catalogue taking the deliveries.
func shapes(t *testing.T) (*suite, *engine.Engine) {
	s := start(t)
	e := s.engineOn(t, "shapes", shapesCatalog(t))
	s.live.Store(e)
	return s, e
}

func westKazakhstan(s *suite, t *testing.T, code string) application {
	return application{service: code, region: "27", channel: portal, applicant: "880512400011",
		fields: map[string]string{"applicant_iin": "880512400011", "ward_iin": demo.WardIIN}, signer: s.citizen(t, "880512400011")}
}

// TestTwoResultDocuments: the shape of S6 — the approval issues the notice of the patronage contract and
// the decision on payment, each rendered from its own template and signed on its own by the head; the
// citizen receives both.
func TestTwoResultDocuments(t *testing.T) {
	s, e := shapes(t)
	id := s.send(t, westKazakhstan(s, t, "test-patronage"))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.actOn(t, e, c, "head", engine.Action{Kind: "complete", Assignee: s.staff["officer"].IIN})
	s.actOn(t, e, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve})

	c = s.get(t, c)
	docs := c.Docs()
	require.Len(t, docs, 2)
	require.Equal(t, []string{"patronage_notice", "payment_decision"}, []string{docs[0].ID, docs[1].ID})
	require.Contains(t, string(docs[0].Content), "УВЕДОМЛЕНИЕ № "+c.Number)
	require.Contains(t, string(docs[0].Content), "№ "+c.Number+" ХАБАРЛАМА", "the Kazakh text follows")
	require.Contains(t, string(docs[1].Content), "РЕШЕНИЕ № "+c.Number)
	require.Equal(t, c.Number, docs[1].Data.Number, "the structured form beside the rendered bytes")
	require.Equal(t, "decision", docs[1].Data.Kind)

	// One signature for two documents is refused; the officer cannot sign the head's step.
	var ae *engine.ActionError
	one, err := s.staff["head"].sign.Sign(docs[0].Content)
	require.NoError(t, err)
	require.ErrorAs(t, e.Act(t.Context(), c.Region, c.ID, s.staff["head"].Employee, engine.Action{Kind: "sign", Signature: one}), &ae)
	require.Equal(t, "signature", ae.Code)
	require.Contains(t, ae.Message, "issues 2 document(s)")
	// Signatures swapped between the documents do not verify.
	two, err := s.staff["head"].sign.Sign(docs[1].Content)
	require.NoError(t, err)
	require.ErrorAs(t, e.Act(t.Context(), c.Region, c.ID, s.staff["head"].Employee, engine.Action{Kind: "sign", Signatures: [][]byte{two, one}}), &ae)
	require.Equal(t, "signature", ae.Code)
	require.ErrorAs(t, s.actWith(t, e, c, "officer", engine.Action{Kind: "sign"}), &ae)
	require.Equal(t, "wrong_role", ae.Code)

	s.actOn(t, e, c, "head", engine.Action{Kind: "sign"})
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	n := s.last(id)
	require.Len(t, n.GetResults(), 2)
	require.Equal(t, n.GetResult().GetContent(), n.GetResults()[0].GetDocument().GetContent(), "result stays the first document")
	v := s.ca.Verifier(t, s.ca.Checker(time.Minute))
	for i, d := range n.GetResults() {
		require.Equal(t, docs[i].ID, d.GetId())
		require.NotEmpty(t, d.GetName().GetRu())
		res, err := v.VerifyDocument(t.Context(), d.GetDocument(), s.staff["head"].IIN)
		require.NoError(t, err, d.GetId())
		require.Equal(t, s.staff["head"].IIN, res.Holder.IIN)
	}
}

// TestRefusalIssuesOneDocument: the same passport's refusal is the one refusal letter.
func TestRefusalIssuesOneDocument(t *testing.T) {
	s, e := shapes(t)
	id := s.send(t, westKazakhstan(s, t, "test-patronage"))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.actOn(t, e, c, "head", engine.Action{Kind: "complete"})
	s.actOn(t, e, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Refuse, RefusalCode: "grounds_absent", Comment: "нет оснований"})
	c = s.get(t, c)
	require.Len(t, c.Docs(), 1)
	require.Equal(t, "refusal", c.Docs()[0].Kind)
	require.Contains(t, string(c.Docs()[0].Content), "Мотивировка: нет оснований")
	s.actOn(t, e, c, "head", engine.Action{Kind: "sign"})
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "REFUSED", "RESULT_ISSUED")
	require.Len(t, s.last(id).GetResults(), 1)
}

// TestAnotherBodysStep: the shape of S3 — the district akimat adopts the resolution in its own step of 6
// working days. Its staff act in their own role (and see the case in their inbox); the provider's head
// cannot take the step; the signature must carry the akimat's BIN; the step's deadline runs and is
// escalated like any other.
func TestAnotherBodysStep(t *testing.T) {
	s, e := shapes(t)
	s.employ(t, "akim", "700101300005", "Ахметов", "ГУ «Аппарат акима района»", akimatBIN, "district_akimat:head")
	s.employ(t, "impostor", "710202400002", "Серикова", "ГУ «Отдел образования города Павлодара»", demo.BINPavlodarEducation, "district_akimat:head")
	id := s.send(t, westKazakhstan(s, t, "test-guardianship-akimat"))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.actOn(t, e, c, "head", engine.Action{Kind: "complete", Assignee: s.staff["officer"].IIN})
	s.actOn(t, e, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve})

	c = s.get(t, c)
	require.Equal(t, "adopt", s.stepOf(t, c))
	// The akimat's 6 working days, from the moment the step began, on the working-day calendar.
	require.Equal(t, calendar.Default().AddWorkingDays(*c.StepStartedAt, 6), c.StepDueAt.In(calendar.Zone))
	require.Equal(t, map[string]int{"service": 1, "step": 1, "warn": 1}, s.timerKinds(t, c, "armed"))
	p, err := e.Passport(t.Context(), c)
	require.NoError(t, err)
	akim := rules.Actor{IIN: s.staff["akim"].IIN, Roles: s.staff["akim"].Roles}
	require.True(t, rules.Holds(p, c.State(), akim), "the case is in the akimat's inbox")
	require.True(t, rules.Permitted(p, c.State(), akim)[rules.Sign])
	require.False(t, rules.Holds(p, c.State(), rules.Actor{IIN: s.staff["head"].IIN, Roles: s.staff["head"].Roles}))

	var ae *engine.ActionError
	require.ErrorAs(t, s.actWith(t, e, c, "head", engine.Action{Kind: "sign"}), &ae)
	require.Equal(t, "wrong_role", ae.Code, "the provider's head cannot adopt the akimat's resolution")
	require.Contains(t, ae.Message, "district_akimat:head")
	require.ErrorAs(t, s.actWith(t, e, c, "impostor", engine.Action{Kind: "sign"}), &ae)
	require.Equal(t, "signature", ae.Code, "signed with a certificate of another organisation")
	require.Contains(t, ae.Message, "not of the district_akimat")

	// The akimat's step runs late: escalated like any step.
	s.clock.Advance(15 * 24 * time.Hour)
	_, err = timers.Claim(t.Context(), s.db, s.clock.Now(), 100, "shapes", e.Fire)
	require.NoError(t, err)
	c = s.get(t, c)
	require.True(t, c.Overdue)
	require.True(t, c.Escalated)

	s.actOn(t, e, c, "akim", engine.Action{Kind: "sign"})
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	n := s.last(id)
	require.Len(t, n.GetResults(), 1)
	require.Equal(t, "resolution", n.GetResults()[0].GetKind())
	content := string(n.GetResult().GetContent())
	require.True(t, strings.HasPrefix(content, "Акимат района (тест)\nПОСТАНОВЛЕНИЕ"), content)
	res, err := s.ca.Verifier(t, s.ca.Checker(time.Minute)).VerifyDocument(t.Context(), n.GetResult(), s.staff["akim"].IIN)
	require.NoError(t, err)
	require.Equal(t, akimatBIN, res.Holder.BIN)
}

// TestWorkstationOfShapes: in the АРМ, the head signs the two documents of the S6 shape with one
// signature field each, and the akimat's staff see only the case at their body's step and adopt the
// resolution there.
func TestWorkstationOfShapes(t *testing.T) {
	s, e := shapes(t)
	s.employ(t, "akim", "700101300005", "Ахметов", "ГУ «Аппарат акима района»", akimatBIN, "district_akimat:head")
	srv := httptest.NewServer(arm.New(arm.Options{Engine: e, DB: s.db, Now: s.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	t.Cleanup(srv.Close)
	open := func(who, org, bin string) *browser {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		b := &browser{t: t, base: srv.URL, c: &http.Client{Jar: jar}}
		key := s.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Auth, Subject: pki.Subject{IIN: s.staff[who].IIN,
			Surname: "Сотрудник", GivenName: who, Organization: org, BIN: bin}}, pki.ECDSAP256)
		code, _ := b.signIn("27", key)
		require.Equal(t, http.StatusOK, code)
		return b
	}

	// S6: two documents, two signature fields, one signature each.
	two := s.send(t, westKazakhstan(s, t, "test-patronage"))
	s.waitFor(t, two, "REGISTERED")
	c2 := s.caseOf(t, two)
	s.actOn(t, e, c2, "clerk", engine.Action{Kind: "complete"})
	s.actOn(t, e, c2, "head", engine.Action{Kind: "complete"})
	s.actOn(t, e, c2, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve})
	head := open("head", "ГУ «Отдел образования»", demo.BINPavlodarEducation)
	path := "/arm/cases/" + strconv.FormatInt(c2.ID, 10)
	_, page := head.get(path)
	toSign := toSignRe.FindAllStringSubmatch(page, -1)
	require.Len(t, toSign, 2, "one signing field per document")
	form := url.Values{"csrf": {find(t, csrfRe, page)}, "kind": {"sign"}, "step": {"sign"}}
	var contents []string
	for _, m := range toSign {
		content, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		require.NoError(t, err)
		contents = append(contents, string(content))
		sig, err := s.staff["head"].sign.Sign(content)
		require.NoError(t, err)
		form.Add("signature", base64.StdEncoding.EncodeToString(sig))
	}
	one := url.Values{"csrf": form["csrf"], "kind": {"sign"}, "step": {"sign"}, "signature": form["signature"][:1]}
	code, page := head.post(path+"/act", one)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "решение выпускает 2 документ(а); подпишите каждый")
	code, _ = head.post(path+"/act", form)
	require.Equal(t, http.StatusOK, code)
	for i, want := range contents {
		code, body := head.get(path + "/result?doc=" + strconv.Itoa(i))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, want, body)
	}
	code, _ = head.get(path + "/result?doc=2")
	require.Equal(t, http.StatusNotFound, code)

	// S3: the akimat's inbox holds the case once it reaches the akimat's step, and nothing of the provider's.
	id := s.send(t, westKazakhstan(s, t, "test-guardianship-akimat"))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	akim := open("akim", "ГУ «Аппарат акима района»", akimatBIN)
	_, page = akim.get("/arm/")
	require.NotContains(t, page, c.Number, "not yet at the akimat's step")
	require.NotContains(t, page, c2.Number, "the provider's own cases are not in the akimat's inbox")
	s.actOn(t, e, c, "clerk", engine.Action{Kind: "complete"})
	s.actOn(t, e, c, "head", engine.Action{Kind: "complete", Assignee: s.staff["officer"].IIN})
	s.actOn(t, e, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve})
	_, page = akim.get("/arm/")
	require.Contains(t, page, c.Number)
	require.Contains(t, page, "руководитель — ", "the akimat's step by the role and the body's name")
	path = "/arm/cases/" + strconv.FormatInt(c.ID, 10)
	_, page = akim.get(path)
	content, err := base64.StdEncoding.DecodeString(find(t, toSignRe, page))
	require.NoError(t, err)
	require.Contains(t, string(content), "ПОСТАНОВЛЕНИЕ")
	sig, err := s.staff["akim"].sign.Sign(content)
	require.NoError(t, err)
	code, _ = akim.post(path+"/act", url.Values{"csrf": {find(t, csrfRe, page)}, "kind": {"sign"}, "step": {"adopt"},
		"signature": {base64.StdEncoding.EncodeToString(sig)}})
	require.Equal(t, http.StatusOK, code)
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED")
}
