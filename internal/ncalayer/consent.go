package ncalayer

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultConsentTimeout is how long a request from an origin not yet allowed waits for the person.
const DefaultConsentTimeout = 2 * time.Minute

// Errors of a request refused for want of consent.
var (
	errDenied   = errors.New("the person denied it")
	errTimedOut = errors.New("the person did not answer in time")
)

// consent keeps the origins allowed to use the keys and the requests waiting for the person's answer.
// Any web page can reach 127.0.0.1:13579 from the person's browser; without this, a page of any site
// could sign in the person's name with the key chosen for the suite.
type consent struct {
	timeout time.Duration
	// token is put in the signer's own page and required with every answer: another origin cannot
	// read the page, so it cannot answer for the person (cross-site request forgery).
	token string

	mu      sync.Mutex
	allowed []string // exact origins, scheme://host[:port] as canonicalOrigin writes them
	waiting map[string]*question
}

// question is an origin waiting for the person's answer; done is closed when it comes.
type question struct {
	origin string
	what   []string
	done   chan struct{}
	allow  bool
	// askers is how many requests wait for this answer: when the last goes away, the question goes
	// too, so that a later «Разрешить» cannot allow an origin nobody asked for any more.
	askers int
}

// Pending is one origin waiting, as the page shows it.
type Pending struct {
	Origin string
	What   string
}

func newConsent(allowed []string, timeout time.Duration) (*consent, error) {
	if timeout <= 0 {
		timeout = DefaultConsentTimeout
	}
	c := &consent{timeout: timeout, waiting: map[string]*question{}}
	for _, a := range allowed {
		o, err := canonicalOrigin(a)
		if err != nil {
			return nil, fmt.Errorf("ncalayer: allowed origin %q: %w", a, err)
		}
		c.allowed = append(c.allowed, o)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand does not fail on the platforms Go supports
	c.token = hex.EncodeToString(b)
	return c, nil
}

// canonicalOrigin is a web origin as compared: scheme://host[:port], lower case, the scheme's default
// port left out (as browsers send Origin). The scheme is part of it: allowing https://x does not allow
// http://x, whose pages anyone on the network path can rewrite. Nothing else — a path, a query, a user
// — is an origin, and neither is a host without its scheme.
func canonicalOrigin(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("an origin is http:// or https:// and a host, e.g. http://127.0.0.1:8060")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("an origin is a scheme and a host[:port] only, e.g. http://127.0.0.1:8060")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

func (c *consent) isAllowed(origin string) bool {
	o, err := canonicalOrigin(origin)
	if err != nil {
		return false // no web origin (absent, "null", a file): always asked about
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.allowed, o)
}

// ask returns nil when origin may use a key: at once for an allowed origin, otherwise once the person
// allows it on the page. Denied, unanswered within the timeout, or the page gone, it returns an error.
func (c *consent) ask(ctx context.Context, origin, what string) error {
	if c.isAllowed(origin) {
		return nil
	}
	label, err := canonicalOrigin(origin)
	if err != nil {
		label = "без Origin / Origin жоқ: " + origin
	}
	c.mu.Lock()
	q, ok := c.waiting[label]
	if !ok {
		q = &question{origin: label, done: make(chan struct{})}
		c.waiting[label] = q
	}
	q.askers++
	if !slices.Contains(q.what, what) {
		q.what = append(q.what, what)
	}
	c.mu.Unlock()

	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case <-q.done:
		if q.allow {
			return nil
		}
		return errDenied
	case <-t.C:
		c.forget(q)
		return errTimedOut
	case <-ctx.Done():
		// The page closed its connection (or the signer stops): nobody waits for this answer now.
		c.forget(q)
		return ctx.Err()
	}
}

// forget drops an unanswered question once its last asker gave up (timed out or went away); a later
// request asks again.
func (c *consent) forget(q *question) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q.askers--
	if q.askers <= 0 && c.waiting[q.origin] == q {
		delete(c.waiting, q.origin)
	}
}

// answer records the person's decision for origin: allowed, the origin joins the allowed list (for this
// run of the signer) and every request waiting for it goes on; denied, they are refused, and the next
// request from it asks again, as NCALayer does.
func (c *consent) answer(origin string, allow bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.waiting[origin]
	if !ok {
		return fmt.Errorf("нет запроса от %s (он мог истечь) / %s сұрауы жоқ", origin, origin)
	}
	delete(c.waiting, origin)
	if o, err := canonicalOrigin(origin); allow && err == nil && !slices.Contains(c.allowed, o) {
		c.allowed = append(c.allowed, o)
	}
	q.allow = allow
	close(q.done)
	return nil
}

func (c *consent) pending() []Pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Pending, 0, len(c.waiting))
	for _, q := range c.waiting {
		out = append(out, Pending{Origin: q.origin, What: strings.Join(q.what, ", ")})
	}
	slices.SortFunc(out, func(a, b Pending) int { return strings.Compare(a.Origin, b.Origin) })
	return out
}

// Pending lists the origins waiting for the person's answer.
func (s *Signer) Pending() []Pending { return s.consent.pending() }

// notAllowed is the NCALayer-style error of a refused request, in Russian and Kazakh.
func notAllowed(origin, self string) string {
	site := origin
	if site == "" {
		site = "(без Origin)"
	}
	return fmt.Sprintf("подписание для сайта %s не разрешено: разрешите его на странице %s / "+
		"%s сайты үшін қол қоюға рұқсат берілмеген: оны %s бетінде рұқсат етіңіз", site, self, site, self)
}

// loopbackHost reports whether the Host header names the loopback interface: the signer answers only
// there, so a site that rebinds its own name to 127.0.0.1 (DNS rebinding) does not become the page's
// own origin and cannot read the page, the key list or the consent token.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// onLoopback refuses every request whose Host is not the loopback, before any route sees it: a check
// per handler is one a new route forgets (GET /keys did).
func onLoopback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "the signer answers on the loopback address only / қол қою бағдарламасы тек loopback мекенжайында жауап береді", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ownPage reports whether a form comes from the signer's own page: the browser's Sec-Fetch-Site, or
// else its Origin, must say same origin (a client sending neither, such as curl, is not a browser
// page another site could drive). The Host is the loopback already (onLoopback).
func (s *Signer) ownPage(r *http.Request) bool {
	return s.sameOrigin.Check(r) == nil
}

// answerConsent takes the page's Allow / Deny. Only the signer's own page may send it (ownPage), and the
// form must carry the page's token, which another origin cannot read.
func (s *Signer) answerConsent(w http.ResponseWriter, r *http.Request) {
	if !s.ownPage(r) {
		http.Error(w, "разрешение даётся только на странице самого подписчика / рұқсат тек қол қою бағдарламасының өз бетінде беріледі", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(s.consent.token)) != 1 {
		http.Error(w, "форма устарела: откройте страницу подписчика заново / пішін ескірген: бетті қайта ашыңыз", http.StatusForbidden)
		return
	}
	var allow bool
	switch r.PostForm.Get("decision") {
	case "allow":
		allow = true
	case "deny":
	default:
		http.Error(w, "decision must be allow or deny", http.StatusBadRequest)
		return
	}
	origin := r.PostForm.Get("origin")
	if err := s.consent.answer(origin, allow); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.page(w, r, err.Error())
		return
	}
	s.log.InfoContext(r.Context(), "ncalayer: consent", "origin", origin, "allow", allow)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
