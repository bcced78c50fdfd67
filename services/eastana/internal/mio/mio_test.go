package mio_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/internal/registries"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/mio"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	staffIIN  = "810109300001"
	otherIIN  = "880512400011"
	applicant = "790215400018"
	// binEducation is a BIN with valid check digits for the test's МИО.
	binEducation = "041240000016"
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

type env struct {
	t     *testing.T
	in    *intake.Intake
	child string // a child of the applicant under 7 in ГБД ФЛ, not in the queue
	srv   *httptest.Server
	ca    *ncatest.Authority
	st    *store.Store
	pool  *pgxpool.Pool
	now   time.Time
	group int64
	kids  []store.Result
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	pool, err := pgdb.Open(ctx, pgtest.URL(t), "eastana", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(ctx, pool, "eastana", schema.Migrations())
	require.NoError(t, err)
	st, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	require.NoError(t, st.AddList(ctx, "astana"))
	now := time.Now().UTC().Truncate(time.Second)
	ids, _, err := st.AddKindergarten(ctx, store.Kindergarten{ID: "ast-t1", ListID: "astana",
		Name:   queue.Text{RU: "Ясли-сад № 1 «Балапан»", KK: "№ 1 «Балапан» бөбекжай-бақшасы"},
		Groups: []store.Group{{AgeFrom: 2, AgeTo: 3, Capacity: 2}}}, "test", now)
	require.NoError(t, err)
	e := &env{t: t, ca: ncatest.New(t), st: st, pool: pool, now: now, group: ids[0]}
	for i := range 3 {
		c := &queue.Child{IIN: fmt.Sprintf("2302%02d500%03d", i+1, i), BirthDate: now.AddDate(-2, 0, -10*(i+1)), Representatives: []string{applicant}}
		res, err := st.Register(ctx, store.Registration{ListID: "astana", ApplicantIIN: applicant, Child: c, Channel: "portal"}, now.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		e.kids = append(e.kids, res)
	}
	child, err := iin.Generate(rand.New(rand.NewPCG(uint64(now.UnixNano()), 71)), now.AddDate(-3, -2, 0), iin.SexFemale)
	require.NoError(t, err)
	e.child = child.String()
	e.in = &intake.Intake{Store: st, DB: pool, Registry: register{e.child: {Iin: e.child, Surname: "Ахметова", Name: "Айлин", BirthDate: now.AddDate(-3, -2, 0).Format(time.DateOnly),
		Family: []*gbdflv1.FamilyLink{{Relation: gbdflv1.Relation_RELATION_PARENT, Iin: applicant}}}},
		Verifier: e.ca.Verifier(t, e.ca.Checker(time.Minute)), Seal: e.ca.System(t, "eastana")}
	require.NoError(t, e.in.PutEmployee(ctx, intake.Employee{IIN: staffIIN, Name: "Омарова Жанар", Position: "главный специалист"}))
	passports, err := catalog.Builtin()
	require.NoError(t, err)
	cab := mio.New(mio.Options{Store: st, DB: pool, Verifier: e.ca.Verifier(t, e.ca.Checker(time.Minute)),
		Catalog: passports, Intake: e.in, ScanMax: 64 << 10,
		Now: func() time.Time { return now.Add(time.Hour) }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e.srv = httptest.NewServer(cab.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) browser(t *testing.T, lang string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	u, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	if lang != "" {
		jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
	}
	return &browser{t: t, base: e.srv.URL, c: &http.Client{Jar: jar}}
}

func (b *browser) do(r *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(r)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	r, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.base+path, nil)
	require.NoError(b.t, err)
	return b.do(r)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	r, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(r)
}

var (
	challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)
	csrfRe      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func find(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	require.NotNil(t, m, "%s not in page", re)
	return html.UnescapeString(m[1])
}

func (b *browser) signInForm(key *envelope.Signer) url.Values {
	b.t.Helper()
	_, page := b.get("/mio/login")
	challenge := find(b.t, challengeRe, page)
	sig, err := key.Sign([]byte(challenge))
	require.NoError(b.t, err)
	return url.Values{"csrf": {find(b.t, csrfRe, page)}, "challenge": {challenge}, "signature": {base64.StdEncoding.EncodeToString(sig)}}
}

func (e *env) key(t testing.TB, iin string, purpose pki.Purpose) *envelope.Signer {
	return e.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: purpose, Subject: pki.Subject{IIN: iin, Surname: "Омарова",
		GivenName: "Жанар", Organization: "ГУ «Управление образования города Астаны»", BIN: binEducation}}, pki.ECDSAP256)
}

// signedIn is a browser of the staff member, signed in.
func (e *env) signedIn(lang string) (*browser, string) {
	b := e.browser(e.t, lang)
	code, page := b.post("/mio/login", b.signInForm(e.key(e.t, staffIIN, pki.Auth)))
	require.Equal(e.t, http.StatusOK, code, page)
	return b, find(e.t, csrfRe, page)
}

// TestSignIn: only an authentication certificate of someone on ИС Е-Астана's staff opens the cabinet;
// anyone else gets the regulation's refusal, and a sign-in form from another site or without its
// pre-session token signs no one in.
func TestSignIn(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tc := range []struct {
		name   string
		lang   string
		key    func(testing.TB) *envelope.Signer
		change func(url.Values)
		status int
		want   string
	}{
		{name: "fail/not on the staff", key: func(t testing.TB) *envelope.Signer { return e.key(t, otherIIN, pki.Auth) }, status: http.StatusForbidden,
			want: "Отказ в авторизации в ИС Е-Астана в связи с имеющимися нарушениями в данных сотрудника МИО"},
		{name: "fail/not on the staff, kk", lang: "kk", key: func(t testing.TB) *envelope.Signer { return e.key(t, otherIIN, pki.Auth) }, status: http.StatusForbidden,
			want: "ЖАО қызметкерінің деректеріндегі бұзушылықтарға байланысты ИС Е-Астанада авторизациядан бас тартылды"},
		{name: "fail/a citizen's key of another person", key: func(t testing.TB) *envelope.Signer { return e.ca.Person(t, otherIIN, pki.Auth) },
			status: http.StatusForbidden, want: "в данных сотрудника МИО"},
		{name: "fail/a signing key", key: func(t testing.TB) *envelope.Signer { return e.key(t, staffIIN, pki.Sign) }, status: http.StatusUnprocessableEntity,
			want: "не подтверждением подлинности ЭЦП"},
		{name: "fail/no signature", key: func(t testing.TB) *envelope.Signer { return e.key(t, staffIIN, pki.Auth) },
			change: func(f url.Values) { f.Del("signature") }, status: http.StatusUnprocessableEntity, want: "Нет подписи"},
		{name: "fail/another challenge", key: func(t testing.TB) *envelope.Signer { return e.key(t, staffIIN, pki.Auth) },
			change: func(f url.Values) { f.Set("challenge", "mio-login:forged") }, status: http.StatusUnprocessableEntity, want: "Вызов устарел"},
		{name: "fail/no pre-session token", key: func(t testing.TB) *envelope.Signer { return e.key(t, staffIIN, pki.Auth) },
			change: func(f url.Values) { f.Del("csrf") }, status: http.StatusForbidden, want: "обновите страницу"},
		{name: "ok/staff", key: func(t testing.TB) *envelope.Signer { return e.key(t, staffIIN, pki.Auth) }, status: http.StatusOK, want: "Омарова Жанар"},
		{name: "ok/staff, kk", lang: "kk", key: func(t testing.TB) *envelope.Signer { return e.key(t, staffIIN, pki.Auth) }, status: http.StatusOK, want: "МЖҰ-дағы орындар"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := e.browser(t, tc.lang)
			form := b.signInForm(tc.key(t))
			if tc.change != nil {
				tc.change(form)
			}
			code, page := b.post("/mio/login", form)
			require.Equal(t, tc.status, code, page)
			require.Contains(t, page, tc.want)
			code, page = b.get("/mio/places")
			require.Equal(t, http.StatusOK, code)
			if tc.status == http.StatusOK {
				require.Contains(t, page, `id="who"`)
			} else {
				require.Contains(t, page, `id="login"`, "not signed in")
			}
		})
	}

	t.Run("fail/cross-site sign-in", func(t *testing.T) {
		t.Parallel()
		b := e.browser(t, "")
		form := b.signInForm(e.key(t, staffIIN, pki.Auth))
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.base+"/mio/login", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		code, _ := b.do(r)
		require.Equal(t, http.StatusForbidden, code)
	})

	t.Run("fail/a session of the citizen's cabinet", func(t *testing.T) {
		t.Parallel()
		// The two cabinets share the sessions table: a staff member's citizen session opens nothing here.
		token := "citizen-session-token-of-a-staff-member"
		sum := sha256.Sum256([]byte(token))
		_, err := e.pool.Exec(t.Context(), `INSERT INTO sessions (token_sha256, subject, scope, created_at, expires_at) VALUES ($1, $2, 'citizen', now(), now() + interval '1 hour')`,
			sum[:], staffIIN)
		require.NoError(t, err)
		b := e.browser(t, "")
		u, err := url.Parse(e.srv.URL + "/mio/")
		require.NoError(t, err)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "mio_session", Value: token, Path: "/mio/"}})
		code, page := b.get("/mio/places")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, `id="login"`)
		require.NotContains(t, page, "Ясли-сад")
	})

	t.Run("ok/taken off the staff: signed out at the next page", func(t *testing.T) {
		t.Parallel()
		e2 := setup(t)
		b, _ := e2.signedIn("")
		require.NoError(t, e2.in.SetActive(t.Context(), staffIIN, false))
		code, page := b.get("/mio/places")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, `id="login"`)
		require.NotContains(t, page, "Ясли-сад")
	})
}

var (
	occupiedRe = func(group int64) *regexp.Regexp {
		return regexp.MustCompile(fmt.Sprintf(`id="group-%d"[^>]*>.*?class="occupied">(\d+)</td><td[^>]*class="free">(\d+)</td><td[^>]*class="offered">(\d+)<`, group))
	}
	referralRe = regexp.MustCompile(`id="referral-(\d+)"><td[^>]*class="child">(\d+)<`)
)

// TestPlacesAndReferrals: releasing places gives referrals to the first children, in the lists'
// order; a release of more places than are occupied, a count that is not one, or a form without its
// token changes nothing and says why; a referral is registered at the kindergarten or declined (the
// place passes on), once.
func TestPlacesAndReferrals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b, csrf := e.signedIn("")
	release := fmt.Sprintf("/mio/groups/%d/release", e.group)
	places := func() []string {
		_, page := b.get("/mio/places")
		m := occupiedRe(e.group).FindStringSubmatch(page)
		require.NotNil(t, m, page)
		return m[1:]
	}
	require.Equal(t, []string{"2", "0", "0"}, places())

	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{name: "fail/no token", form: url.Values{"n": {"1"}}, status: http.StatusForbidden, want: "обновите страницу"},
		{name: "fail/zero", form: url.Values{"csrf": {csrf}, "n": {"0"}}, status: http.StatusUnprocessableEntity, want: "целое число больше нуля"},
		{name: "fail/not a number", form: url.Values{"csrf": {csrf}, "n": {"два"}}, status: http.StatusUnprocessableEntity, want: "целое число больше нуля"},
		{name: "fail/more than occupied", form: url.Values{"csrf": {csrf}, "n": {"3"}}, status: http.StatusUnprocessableEntity,
			want: "Нельзя освободить 3 мест(а): в группе занято только 2."},
	} {
		code, page := b.post(release, tc.form)
		require.Equal(t, tc.status, code, tc.name)
		require.Contains(t, page, tc.want, tc.name)
	}
	code, _ := b.post("/mio/groups/999999/release", url.Values{"csrf": {csrf}, "n": {"1"}})
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, []string{"2", "0", "0"}, places(), "refused releases changed nothing")

	code, page := b.post(release, url.Values{"csrf": {csrf}, "n": {"2"}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Освобождено мест: 2; выдано направлений: 2.")
	require.Equal(t, []string{"0", "0", "2"}, places())

	_, page = b.get("/mio/referrals")
	rows := referralRe.FindAllStringSubmatch(page, -1)
	require.Len(t, rows, 2)
	require.Equal(t, e.kids[0].Entry.ChildIIN, rows[0][2], "the first child first")
	require.Equal(t, e.kids[1].Entry.ChildIIN, rows[1][2])
	require.Contains(t, page, "Ясли-сад № 1 «Балапан»")

	code, page = b.post("/mio/referrals/"+rows[0][1]+"/enroll", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Направление зарегистрировано в ДДО")
	code, page = b.post("/mio/referrals/"+rows[0][1]+"/decline", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusConflict, code, "a referral closed is closed")
	require.Contains(t, page, "Направление больше не действует")
	code, page = b.post("/mio/referrals/"+rows[1][1]+"/decline", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "место передано следующему ребёнку")
	rows = referralRe.FindAllStringSubmatch(page, -1)
	require.Len(t, rows, 1)
	require.Equal(t, e.kids[2].Entry.ChildIIN, rows[0][2], "the declined place went to the third child")
	require.Equal(t, []string{"1", "0", "1"}, places())
	code, _ = b.post("/mio/referrals/999999/enroll", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusNotFound, code)

	kk := e.browser(t, "kk")
	code, page = kk.post("/mio/login", kk.signInForm(e.key(t, staffIIN, pki.Auth)))
	require.Equal(t, http.StatusOK, code)
	code, page = kk.post(release, url.Values{"csrf": {find(t, csrfRe, page)}, "n": {"5"}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "5 орынды босату мүмкін емес: топта тек 1 орын бос емес.")
}

// TestChild: a child found by IIN shows its number, state and history; a mistyped or unknown IIN says so.
func TestChild(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b, csrf := e.signedIn("")
	for _, tc := range []struct {
		name   string
		iin    string
		status int
		want   []string
	}{
		{name: "ok/waiting", iin: e.kids[1].Entry.ChildIIN, status: http.StatusOK,
			want: []string{`id="number">2<`, `data-state="waiting"`, `id="ahead">1<`, "поставлен в очередь", "с ПЭП"}},
		{name: "ok/typed with spaces", iin: " " + e.kids[0].Entry.ChildIIN[:6] + " " + e.kids[0].Entry.ChildIIN[6:], status: http.StatusOK,
			want: []string{`id="number">1<`, `id="ahead">0<`}},
		{name: "fail/short", iin: "12345", status: http.StatusUnprocessableEntity, want: []string{"ИИН — это 12 цифр"}},
		{name: "fail/letters", iin: "12345678901a", status: http.StatusUnprocessableEntity, want: []string{"ИИН — это 12 цифр"}},
		{name: "fail/not in the queue", iin: "230101500999", status: http.StatusNotFound, want: []string{"не стоит и не стоял в очереди"}},
	} {
		// One browser, one session: the cases run in turn, each named in its messages.
		code, page := b.post("/mio/child", url.Values{"csrf": {csrf}, "iin": {tc.iin}})
		require.Equal(t, tc.status, code, tc.name)
		for _, w := range tc.want {
			require.Contains(t, page, w, tc.name)
		}
	}
	code, _ := b.post("/mio/child", url.Values{"iin": {e.kids[0].Entry.ChildIIN}})
	require.Equal(t, http.StatusForbidden, code, "no token")
}

// TestTwoEmployeesReleaseAtOnce: two employees release both occupied places of one group at the same
// moment; whichever comes second finds none occupied and is told so, and the two places went to the
// first two children, once each.
func TestTwoEmployeesReleaseAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const second = "920306400011"
	require.NoError(t, e.in.PutEmployee(t.Context(), intake.Employee{IIN: second, Name: "Жанова Айгерим", Position: "специалист"}))
	first, csrf1 := e.signedIn("")
	other := e.browser(t, "")
	code, page := other.post("/mio/login", other.signInForm(e.key(t, second, pki.Auth)))
	require.Equal(t, http.StatusOK, code)
	csrf2 := find(t, csrfRe, page)

	release := fmt.Sprintf("/mio/groups/%d/release", e.group)
	type answer struct {
		code int
		page string
	}
	answers := make(chan answer, 2)
	for _, b := range []struct {
		b    *browser
		csrf string
	}{{first, csrf1}, {other, csrf2}} {
		go func() {
			r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.b.base+release,
				strings.NewReader(url.Values{"csrf": {b.csrf}, "n": {"2"}}.Encode()))
			if err != nil {
				answers <- answer{page: err.Error()}
				return
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.b.c.Do(r)
			if err != nil {
				answers <- answer{page: err.Error()}
				return
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				answers <- answer{page: err.Error()}
				return
			}
			answers <- answer{code: resp.StatusCode, page: string(body)}
		}()
	}
	got := []answer{<-answers, <-answers}
	var ok, refused int
	for _, a := range got {
		switch {
		case a.code == http.StatusOK && strings.Contains(a.page, "Освобождено мест: 2; выдано направлений: 2."):
			ok++
		case a.code == http.StatusUnprocessableEntity && strings.Contains(a.page, "Нельзя освободить 2 мест(а): в группе занято только 0."):
			refused++
		default:
			t.Fatalf("unexpected answer %d: %.300s", a.code, a.page)
		}
	}
	require.Equal(t, 1, ok)
	require.Equal(t, 1, refused)
	_, page = first.get("/mio/referrals")
	rows := referralRe.FindAllStringSubmatch(page, -1)
	require.Len(t, rows, 2)
	require.Equal(t, e.kids[0].Entry.ChildIIN, rows[0][2])
	require.Equal(t, e.kids[1].Entry.ChildIIN, rows[1][2])
}
