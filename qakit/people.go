package qakit

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/demo"
)

// Person is someone with a browser and key files.
type Person struct {
	base string
	http *http.Client
	// Auth and Sign are the person's keys; Sign may be swapped for another file (a revoked one, say).
	Auth, Sign *envelope.Signer
}

// Key opens a demo key file of the folder keys (e.g. "citizen-akhmetova-SIGN.p12").
func Key(keys, file string) (*envelope.Signer, error) {
	b, err := os.ReadFile(filepath.Join(keys, file))
	if err != nil {
		return nil, err
	}
	return envelope.LoadPKCS12(b, demo.Password)
}

// Browser is a person at base with cookies and no keys (one who signs in by password).
func Browser(base string) *Person {
	jar, _ := cookiejar.New(nil)
	return &Person{base: strings.TrimSuffix(base, "/"), http: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// NewPerson is a person at base (the portal, the desk, АРМ) with the key files <slug>-AUTH.p12 and -SIGN.p12.
func NewPerson(base, keys, slug string) (*Person, error) {
	p := Browser(base)
	var err error
	if p.Auth, err = Key(keys, slug+"-AUTH.p12"); err != nil {
		return nil, err
	}
	if p.Sign, err = Key(keys, slug+"-SIGN.p12"); err != nil {
		return nil, err
	}
	return p, nil
}

// Page is an answer, read.
type Page struct {
	Status int
	URL    string
	Body   string
}

var alertRe = regexp.MustCompile(`role="alert"[^>]*>([^<]+)<`)

// Err is nil for a page answered 200, else an error with the status and the page's alert text.
func (pg Page) Err() error {
	if pg.Status == http.StatusOK {
		return nil
	}
	why := ""
	if m := alertRe.FindStringSubmatch(pg.Body); m != nil {
		why = ": " + strings.TrimSpace(html.UnescapeString(m[1]))
	}
	return fmt.Errorf("%s: HTTP %d%s", pg.URL, pg.Status, why)
}

// Path is the path of the page's URL (after redirects).
func (pg Page) Path() string {
	u, err := url.Parse(pg.URL)
	if err != nil {
		return ""
	}
	return u.Path
}

// Client is the person's HTTP client, with their session cookies (for a load tool's own requests).
func (p *Person) Client() *http.Client { return p.http }

// Get asks for a page.
func (p *Person) Get(ctx context.Context, path string) (Page, error) {
	return p.do(ctx, http.MethodGet, path, "", nil)
}

// Post sends a form.
func (p *Person) Post(ctx context.Context, path string, v url.Values) (Page, error) {
	return p.do(ctx, http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

func (p *Person) do(ctx context.Context, method, path, ctype string, body io.Reader) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return Page{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Page{}, err
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL.String(), Body: string(b)}, nil
}

var (
	csrfRe      = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)
	// A sign-in form's pre-session token comes right before its challenge (certificate sign-in,
	// registration) or opens the password form (id="login" posting to a login path).
	guestRe    = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"><input type="hidden" name="challenge"`)
	passwordRe = regexp.MustCompile(`action="[^"]*login" id="login"><input type="hidden" name="csrf" value="([0-9a-f]+)"`)
	signRe     = regexp.MustCompile(`id="sign-ncalayer" data-sign="([^"]+)"`)
	appRe      = regexp.MustCompile(`/applications/([0-9a-f-]{36})`)
	statusRe   = regexp.MustCompile(`<tr data-status="([A-Z_]+)"`)
	numberRe   = regexp.MustCompile(`id="number">([^<]+)<`)
)

// find returns the first group of re in s, unescaped.
func find(re *regexp.Regexp, s, what string) (string, error) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("qakit: no %s on the page", what)
	}
	return html.UnescapeString(m[1]), nil
}

// SignIn signs in with the authentication certificate: the page's one-time challenge, signed, with
// the form's pre-session CSRF token. loginPage is the page with the form, action where it posts, and
// extra its other fields (АРМ's region).
func (p *Person) SignIn(ctx context.Context, loginPage, action string, extra url.Values) (Page, error) {
	pg, err := p.Get(ctx, loginPage)
	if err != nil {
		return pg, err
	}
	ch, err := find(challengeRe, pg.Body, "sign-in challenge")
	if err != nil {
		return pg, err
	}
	token, err := find(guestRe, pg.Body, "sign-in form's CSRF token")
	if err != nil {
		return pg, err
	}
	if p.Auth == nil {
		return pg, fmt.Errorf("qakit: a certificate sign-in needs the person's AUTH key")
	}
	sig, err := p.Auth.Sign([]byte(ch))
	if err != nil {
		return pg, err
	}
	v := url.Values{"csrf": {token}, "challenge": {ch}, "signature": {base64.StdEncoding.EncodeToString(sig)}}
	for k, x := range extra {
		v[k] = x
	}
	return p.Post(ctx, action, v)
}

// Register opens the person's portal account as egov.kz does: the IIN and a password, proven by the
// registration page's challenge signed with the AUTH key.
func (p *Person) Register(ctx context.Context, iin, password string) (Page, error) {
	if p.Auth == nil {
		return Page{}, fmt.Errorf("qakit: registration needs the person's AUTH key")
	}
	return p.SignIn(ctx, "/register", "/register", url.Values{"iin": {iin}, "password": {password}, "confirm": {password}})
}

// PasswordSignIn signs in to the portal by IIN and password, with the login form's pre-session token.
func (p *Person) PasswordSignIn(ctx context.Context, iin, password string) (Page, error) {
	pg, err := p.Get(ctx, "/login")
	if err != nil {
		return pg, err
	}
	token, err := find(passwordRe, pg.Body, "password form's CSRF token")
	if err != nil {
		return pg, err
	}
	return p.Post(ctx, "/login", url.Values{"csrf": {token}, "iin": {iin}, "password": {password}})
}

// Form is a form to fill: field values (without the f_ prefix), files by document id, paper marks.
type Form struct {
	Path   string
	Fields map[string]string
	Files  map[string][]byte
	Paper  []string
	Extra  map[string]string
}

// Submit fills and sends a multipart form (with the page's CSRF token, read from page).
func (p *Person) Submit(ctx context.Context, page string, f Form) (Page, error) {
	pg, err := p.Get(ctx, page)
	if err != nil {
		return pg, err
	}
	token, err := find(csrfRe, pg.Body, "CSRF token")
	if err != nil {
		return pg, err
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("csrf", token)
	for k, v := range f.Extra {
		_ = w.WriteField(k, v)
	}
	for k, v := range f.Fields {
		_ = w.WriteField("f_"+k, v)
	}
	for _, id := range f.Paper {
		_ = w.WriteField("p_"+id, "1")
	}
	for id, data := range f.Files {
		fw, err := w.CreateFormFile("d_"+id, id+".png")
		if err != nil {
			return Page{}, err
		}
		_, _ = fw.Write(data)
	}
	if err := w.Close(); err != nil {
		return Page{}, err
	}
	return p.do(ctx, http.MethodPost, f.Path, w.FormDataContentType(), &b)
}

// Apply fills and sends the form at page (the portal's /services/<code>/<region>, the desk's
// /new/<code>/<region>) and signs the draft with the person's SIGN key, as the signing page would with
// NCALayer; it returns the application's path (/applications/<id>). f.Path defaults to page.
func (p *Person) Apply(ctx context.Context, page string, f Form) (string, error) {
	if f.Path == "" {
		f.Path = page
	}
	pg, err := p.Submit(ctx, page, f)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return "", fmt.Errorf("qakit: draft at %s: %w", page, err)
	}
	id, err := Application(pg)
	if err != nil {
		return "", fmt.Errorf("qakit: the draft's signing page was not reached: %w", err)
	}
	app := "/applications/" + id
	pg, err = p.SignPage(ctx, pg, app+"/sign", p.Sign, nil)
	if err == nil {
		err = pg.Err()
	}
	if err != nil {
		return "", fmt.Errorf("qakit: sign %s: %w", app, err)
	}
	return app, nil
}

// SignPage signs what the page's signing button would give NCALayer, with key, and posts it to action.
func (p *Person) SignPage(ctx context.Context, pg Page, action string, key *envelope.Signer, extra url.Values) (Page, error) {
	data, err := find(signRe, pg.Body, "signing button")
	if err != nil {
		return pg, err
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return pg, err
	}
	token, err := find(csrfRe, pg.Body, "CSRF token")
	if err != nil {
		return pg, err
	}
	sig, err := key.Sign(raw)
	if err != nil {
		return pg, err
	}
	v := url.Values{"csrf": {token}, "signature": {base64.StdEncoding.EncodeToString(sig)}}
	for k, x := range extra {
		v[k] = x
	}
	return p.Post(ctx, action, v)
}

// CSRF is the CSRF token of the page's form (the first form, when there are several).
func CSRF(pg Page) (string, error) { return find(csrfRe, pg.Body, "CSRF token") }

// Application is the id of the application a page is about.
func Application(pg Page) (string, error) {
	return find(appRe, pg.URL, "application id in "+pg.URL)
}

// Statuses are the statuses an application page lists, in order.
func Statuses(pg Page) []string {
	var out []string
	for _, m := range statusRe.FindAllStringSubmatch(pg.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

// Number is the registration number an application page shows, "" before registration.
func Number(pg Page) string {
	n, err := find(numberRe, pg.Body, "number")
	if err != nil || n == "—" {
		return ""
	}
	return strings.TrimSpace(n)
}

// Until asks for path until ok says the page is what was awaited, or the time is up.
func (p *Person) Until(ctx context.Context, path string, within time.Duration, ok func(Page) bool) (Page, error) {
	deadline := time.Now().Add(within)
	for {
		pg, err := p.Get(ctx, path)
		if err == nil && ok(pg) {
			return pg, nil
		}
		if time.Now().After(deadline) {
			return pg, fmt.Errorf("qakit: %s not as awaited after %v (statuses %v): %w", path, within, Statuses(pg), err)
		}
		select {
		case <-ctx.Done():
			return pg, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// Has is an Until condition: the statuses include want.
func Has(want string) func(Page) bool {
	return func(pg Page) bool {
		for _, s := range Statuses(pg) {
			if s == want {
				return true
			}
		}
		return false
	}
}

// Closed is an Until condition: the application has reached its final state, with every status before
// it in (notifications may arrive out of order).
func Closed(pg Page) bool { return strings.Contains(pg.Body, `id="closed"`) }
