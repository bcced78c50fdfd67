package cabinet_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/internal/registries"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/eastana/internal/cabinet"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// parent is Асель of the demo cast; other is another person with keys of her own; mio is the МИО
// employee of the demo cast (mio-astana).
const (
	parent = "880512400011"
	other  = "841103300017"
	mio    = "870614400527"
)

// register is ГБД ФЛ's answers in the register's wire form, by IIN (the path through ШЭП is the
// service's, tested end to end).
type register map[string]*gbdflv1.Person

func (r register) Person(_ context.Context, iin string) (*gbdflv1.Person, error) {
	if p, ok := r[iin]; ok {
		return p, nil
	}
	return nil, registries.ErrNoRecord
}

// env is one cabinet on a real HTTP server over its own schema, with an in-memory НУЦ.
type env struct {
	srv   *httptest.Server
	ca    *ncatest.Authority
	in    *intake.Intake
	pool  interface{ Close() }
	query func(ctx context.Context, sql string, args ...any) (int, error)
	child string
}

// keys are the people's key pairs the tests sign with.
type keys struct {
	auth, sign, revokedSign, revokedAuth, otherAuth, otherSign, employee *envelope.Signer
}

func setup(t testing.TB) (*env, keys) {
	t.Helper()
	now := time.Now()
	rng := rand.New(rand.NewPCG(uint64(now.UnixNano()), 7))
	child, err := iin.Generate(rng, now.AddDate(-3, -2, 0), iin.SexFemale)
	require.NoError(t, err)
	reg := register{child.String(): {Iin: child.String(), BirthDate: now.AddDate(-3, -2, 0).Format(time.DateOnly),
		Family: []*gbdflv1.FamilyLink{{Relation: gbdflv1.Relation_RELATION_PARENT, Iin: parent}}}}
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "eastana", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "eastana", schema.Migrations())
	require.NoError(t, err)
	st, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	require.NoError(t, st.AddList(t.Context(), intake.City))
	ca := ncatest.New(t)
	passports, err := catalog.Builtin()
	require.NoError(t, err)
	verifier := ca.Verifier(t, ca.Checker(time.Minute))
	in := &intake.Intake{Store: st, DB: pool, Registry: reg, Verifier: verifier, BIN: demo.BINAstanaEducation,
		Seal: ca.System(t, "eastana"), VerifyURL: "https://portal.example"}
	site := cabinet.New(cabinet.Options{Intake: in, Store: st, Catalog: passports, Region: "71", Participant: "eastana",
		Verifier: verifier, DB: pool, Log: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	k := keys{auth: ca.Person(t, parent, pki.Auth), sign: ca.Person(t, parent, pki.Sign), revokedSign: ca.Person(t, parent, pki.Sign),
		revokedAuth: ca.Person(t, parent, pki.Auth), otherAuth: ca.Person(t, other, pki.Auth), otherSign: ca.Person(t, other, pki.Sign), employee: ca.Employee(t, other, demo.BINGovCorp)}
	ca.Revoke(k.revokedSign.Cert, 1)
	ca.Revoke(k.revokedAuth.Cert, 1)
	e := &env{srv: srv, ca: ca, in: in, pool: pool, child: child.String(), query: func(ctx context.Context, sql string, args ...any) (int, error) {
		var n int
		err := pool.QueryRow(ctx, sql, args...).Scan(&n)
		return n, err
	}}
	return e, k
}

// browser is a citizen's browser: its cookies, and the page it last saw.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	page string
	// header is the last answer's.
	header http.Header
}

func (e *env) browser(t testing.TB, lang string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	if lang != "" {
		u, _ := url.Parse(e.srv.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
	}
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	b.header = res.Header
	if res.StatusCode == http.StatusSeeOther {
		return res.StatusCode, res.Header.Get("Location")
	}
	b.page = string(body)
	return res.StatusCode, b.page
}

func (b *browser) get(path string) (int, string) {
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// post sends a form as the cabinet's own page does (same origin).
func (b *browser) post(path string, form url.Values) (int, string) {
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// hidden is the value of the last page's hidden field name.
func (b *browser) hidden(name string) string {
	b.t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(b.page)
	require.NotNil(b.t, m, "no field %s on the page", name)
	return html.UnescapeString(m[1])
}

func sign(t testing.TB, s *envelope.Signer, content []byte) string {
	t.Helper()
	sig, err := s.Sign(content)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// signIn signs in with key and returns the answer.
func (b *browser) signIn(key *envelope.Signer) (int, string) {
	b.t.Helper()
	code, _ := b.get("/login")
	require.Equal(b.t, http.StatusOK, code)
	challenge := b.hidden("challenge")
	return b.post("/login", url.Values{"csrf": {b.hidden("csrf")}, "challenge": {challenge}, "signature": {sign(b.t, key, []byte(challenge))}})
}

// TestSignIn: the citizen's AUTH certificate opens the cabinet; whatever fails is refused with the
// regulation's words and the exact reason, and no session begins.
func TestSignIn(t *testing.T) {
	t.Parallel()
	e, k := setup(t)
	for name, c := range map[string]struct {
		lang   string
		key    *envelope.Signer
		mangle func(b *browser, form url.Values)
		status int
		want   string
	}{
		"ok/auth key":          {key: k.auth, status: http.StatusSeeOther, want: "/applications"},
		"fail/revoked":         {key: k.revokedAuth, status: http.StatusUnprocessableEntity, want: "Отказ в авторизации в связи с имеющимися нарушениями в данных потребителя"},
		"fail/revoked kk":      {lang: "kk", key: k.revokedAuth, status: http.StatusUnprocessableEntity, want: "Тұтынушының деректеріндегі бұзушылықтарға байланысты авторизациядан бас тарту"},
		"fail/signature key":   {key: k.sign, status: http.StatusUnprocessableEntity, want: "Отказ в авторизации"},
		"fail/employee":        {key: k.employee, status: http.StatusUnprocessableEntity, want: "не сотрудника организации"},
		"fail/no signature":    {key: k.auth, mangle: func(_ *browser, f url.Values) { f.Del("signature") }, status: http.StatusUnprocessableEntity, want: "Нет подписи"},
		"fail/other challenge": {key: k.auth, mangle: func(_ *browser, f url.Values) { f.Set("challenge", "eastana-login:made-up") }, status: http.StatusUnprocessableEntity},
		"fail/no guest token":  {key: k.auth, mangle: func(_ *browser, f url.Values) { f.Del("csrf") }, status: http.StatusForbidden, want: "Форма устарела"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := e.browser(t, c.lang)
			code, _ := b.get("/login")
			require.Equal(t, http.StatusOK, code)
			challenge := b.hidden("challenge")
			form := url.Values{"csrf": {b.hidden("csrf")}, "challenge": {challenge}, "signature": {sign(t, c.key, []byte(challenge))}}
			if c.mangle != nil {
				c.mangle(b, form)
			}
			code, body := b.post("/login", form)
			require.Equal(t, c.status, code, body)
			require.Contains(t, body, c.want)
			code, where := b.get("/apply")
			if strings.HasPrefix(name, "ok/") {
				require.Equal(t, http.StatusSeeOther, code)
				require.Equal(t, "/apply/preschool-registration", where)
				return
			}
			require.Equal(t, http.StatusSeeOther, code, "no session after a refused sign-in")
			require.Equal(t, "/login", where)
		})
	}
	t.Run("fail/another cabinet's session", func(t *testing.T) {
		t.Parallel()
		// A session of the МИО working cabinet (same table, another scope) carried in this cabinet's cookie.
		token := "a-session-token-of-the-working-cabinet-0123456789"
		sum := sha256.Sum256([]byte(token))
		_, err := e.query(t.Context(), `WITH s AS (INSERT INTO sessions (token_sha256, subject, scope, created_at, expires_at)
			VALUES ($1, $2, 'employee', now(), now() + interval '1 hour') RETURNING 1) SELECT count(*) FROM s`, sum[:], parent)
		require.NoError(t, err)
		b := e.browser(t, "")
		b.c.Jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: "eastana_session", Value: token, Path: "/"}})
		code, where := b.get("/applications")
		require.Equal(t, http.StatusSeeOther, code)
		require.Equal(t, "/login", where)
	})
	t.Run("fail/challenge used twice", func(t *testing.T) {
		t.Parallel()
		b := e.browser(t, "")
		_, _ = b.get("/login")
		challenge, csrf := b.hidden("challenge"), b.hidden("csrf")
		form := url.Values{"csrf": {csrf}, "challenge": {challenge}, "signature": {sign(t, k.auth, []byte(challenge))}}
		code, _ := b.post("/login", form)
		require.Equal(t, http.StatusSeeOther, code)
		code, body := b.post("/login", form)
		require.Equal(t, http.StatusUnprocessableEntity, code)
		require.Contains(t, body, "Вызов устарел или уже использован")
	})
}

// received counts the applications the intake holds from the cabinet for the parent.
func (e *env) received(t *testing.T) int {
	t.Helper()
	n, err := e.query(t.Context(), `SELECT count(*) FROM applications WHERE sender = 'eastana' AND applicant_iin = $1`, parent)
	require.NoError(t, err)
	return n
}

// TestApply: the form for channel eastana, the data checked, the application signed with the citizen's
// own SIGNATURE key (condition 2: the IIN, validity, revocation) and received by the intake; every
// refusal names its reason in the regulation's words and writes nothing.
func TestApply(t *testing.T) {
	t.Parallel()
	e, k := setup(t)
	type tc struct {
		lang   string
		child  string
		key    func() *envelope.Signer
		tamper func(t *testing.T, content []byte) []byte
		form   func(url.Values)
		// fields are more of the form's fields (the e-mail and the consent).
		fields url.Values
		status int
		want   string
	}
	for name, c := range map[string]tc{
		"fail/consent without e-mail": {fields: url.Values{"f_email_consent": {"yes"}}, status: http.StatusUnprocessableEntity,
			want: "не заполнено поле «Адрес электронной почты для результата»"},
		"fail/malformed e-mail": {fields: url.Values{"f_email_consent": {"yes"}, "f_email": {"asel.example.kz"}}, status: http.StatusUnprocessableEntity,
			want: "адрес электронной почты в виде имя@домен.kz"},
		"fail/unknown consent": {fields: url.Values{"f_email_consent": {"maybe"}}, status: http.StatusUnprocessableEntity,
			want: "не из списка"},
		"fail/child IIN check digit": {child: "230801500002", status: http.StatusUnprocessableEntity,
			want: "отказ в запрашиваемой электронной государственной услуге в связи с некорректностью введенных данных"},
		"fail/child IIN check digit kk": {lang: "kk", child: "230801500002", status: http.StatusUnprocessableEntity,
			want: "енгізілген деректердің дұрыс еместігіне байланысты сұратылған электрондық мемлекеттік қызметтен бас тарту"},
		"fail/no child IIN": {child: "-", status: http.StatusUnprocessableEntity, want: "не заполнено поле «ИИН ребёнка»"},
		"fail/another person's key": {key: func() *envelope.Signer { return k.otherSign }, status: http.StatusUnprocessableEntity,
			want: "в связи с не подтверждением подлинности ЭЦП потребителя"},
		"fail/revoked key": {key: func() *envelope.Signer { return k.revokedSign }, status: http.StatusUnprocessableEntity,
			want: "в связи с не подтверждением подлинности ЭЦП потребителя"},
		"fail/revoked key kk": {lang: "kk", key: func() *envelope.Signer { return k.revokedSign }, status: http.StatusUnprocessableEntity,
			want: "тұтынушының ЭЦҚ түпнұсқалығының расталмауына байланысты"},
		"fail/auth key signs": {key: func() *envelope.Signer { return k.auth }, status: http.StatusUnprocessableEntity,
			want: "в связи с не подтверждением подлинности ЭЦП потребителя"},
		"fail/no signature": {form: func(f url.Values) { f.Del("signature") }, status: http.StatusUnprocessableEntity, want: "Нет подписи"},
		"fail/signature over other bytes": {form: func(f url.Values) { f.Set("content", base64.StdEncoding.EncodeToString([]byte("x"))) },
			status: http.StatusUnprocessableEntity, want: "некорректностью введенных данных"},
		"fail/another applicant signed in": {tamper: func(t *testing.T, content []byte) []byte {
			a := new(applicationv1.Application)
			require.NoError(t, proto.Unmarshal(content, a))
			a.ApplicantIin, a.Fields["applicant_iin"] = other, other
			b, err := proto.Marshal(a)
			require.NoError(t, err)
			return b
		}, status: http.StatusUnprocessableEntity, want: "заявитель в заявлении не совпадает с вошедшим пользователем"},
		"fail/another channel": {tamper: func(t *testing.T, content []byte) []byte {
			a := new(applicationv1.Application)
			require.NoError(t, proto.Unmarshal(content, a))
			a.Channel = applicationv1.Channel_CHANNEL_PORTAL
			b, err := proto.Marshal(a)
			require.NoError(t, err)
			return b
		}, status: http.StatusUnprocessableEntity, want: "сформировано не этим кабинетом"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := e.browser(t, c.lang)
			code, _ := b.signIn(k.auth)
			require.Equal(t, http.StatusSeeOther, code)
			code, _ = b.get("/apply/preschool-registration")
			require.Equal(t, http.StatusOK, code)
			require.Contains(t, b.page, `name="f_child_iin"`)
			child := e.child
			switch c.child {
			case "":
			case "-":
				child = ""
			default:
				child = c.child
			}
			form := url.Values{"csrf": {b.hidden("csrf")}, "f_child_iin": {child}}
			for k, v := range c.fields {
				form[k] = v
			}
			code, body := b.post("/apply/preschool-registration", form)
			if c.key == nil && c.tamper == nil && c.form == nil {
				require.Equal(t, c.status, code, body)
				require.Contains(t, body, c.want)
				require.Zero(t, e.received(t), "nothing received")
				return
			}
			require.Equal(t, http.StatusOK, code, body)
			content, err := base64.StdEncoding.DecodeString(b.hidden("content"))
			require.NoError(t, err)
			if c.tamper != nil {
				content = c.tamper(t, content)
			}
			key := k.sign
			if c.key != nil {
				key = c.key()
			}
			signed := url.Values{"csrf": {b.hidden("csrf")}, "content": {base64.StdEncoding.EncodeToString(content)}, "signature": {sign(t, key, content)}}
			if c.form != nil {
				c.form(signed)
			}
			code, body = b.post("/apply/preschool-registration/sign", signed)
			require.Equal(t, c.status, code, body)
			require.Contains(t, body, c.want)
			require.Zero(t, e.received(t), "nothing received")
		})
	}
}

// TestApplyReceived: a correct application signed with the citizen's key reaches the intake once, from
// the local origin; the same signed application posted again is the same application.
func TestApplyReceived(t *testing.T) {
	t.Parallel()
	e, k := setup(t)
	b := e.browser(t, "")
	code, _ := b.signIn(k.auth)
	require.Equal(t, http.StatusSeeOther, code)
	for _, path := range []string{"/apply/guardianship-certificate", "/applications/999999", "/applications/x", "/applications/1/documents/1/0"} {
		code, _ = b.get(path)
		require.Equal(t, http.StatusNotFound, code, "%s: a service not offered here, a case that is not the citizen's", path)
	}
	code, _ = b.get("/apply/preschool-registration")
	require.Equal(t, http.StatusOK, code)
	code, body := b.post("/apply/preschool-registration", url.Values{"csrf": {b.hidden("csrf")}, "f_child_iin": {e.child},
		"f_email_consent": {"yes"}, "f_email": {"asel@example.kz"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, e.child, "the signing page shows what is signed")
	require.Contains(t, body, "Согласен получить результат на электронную почту", "a choice shown by its label")
	content, err := base64.StdEncoding.DecodeString(b.hidden("content"))
	require.NoError(t, err)
	a := new(applicationv1.Application)
	require.NoError(t, proto.Unmarshal(content, a))
	require.Equal(t, applicationv1.Channel_CHANNEL_EASTANA, a.GetChannel())
	require.Equal(t, parent, a.GetApplicantIin())
	require.Equal(t, map[string]string{"applicant_iin": parent, "child_iin": e.child, "email_consent": "yes", "email": "asel@example.kz"}, a.GetFields())
	form := url.Values{"csrf": {b.hidden("csrf")}, "content": {b.hidden("content")}, "signature": {sign(t, k.sign, content)}}
	code, where := b.post("/apply/preschool-registration/sign", form)
	require.Equal(t, http.StatusSeeOther, code, where)
	require.Equal(t, 1, e.received(t))
	code, _ = b.post("/apply/preschool-registration/sign", form)
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, 1, e.received(t), "the same signed application again is no second application")
	n, err := e.query(t.Context(), `SELECT count(*) FROM entries WHERE child_iin = $1 AND applicant_iin = $2 AND channel = 'eastana'`, e.child, parent)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the child is in the queue, by the cabinet's channel")
	n, err = e.query(t.Context(), `SELECT count(*) FROM applications WHERE sender = 'eastana' AND email = 'asel@example.kz'`)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the e-mail given with consent is kept with the case")
}
