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
	"path"
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
	allowed []string // host patterns of Origin
	waiting map[string]*question
}

// question is an origin waiting for the person's answer; done is closed when it comes.
type question struct {
	origin string
	what   []string
	done   chan struct{}
	allow  bool
}

// Pending is one origin waiting, as the page shows it.
type Pending struct {
	Origin string
	What   string
}

func newConsent(allowed []string, timeout time.Duration) *consent {
	if timeout <= 0 {
		timeout = DefaultConsentTimeout
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand does not fail on the platforms Go supports
	return &consent{timeout: timeout, token: hex.EncodeToString(b), allowed: slices.Clone(allowed), waiting: map[string]*question{}}
}

// originHost is the host:port of an Origin header ("" when it is absent or not a web origin: such a
// request is always asked about).
func originHost(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Host)
}

func (c *consent) isAllowed(origin string) bool {
	host := originHost(origin)
	if host == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.allowed {
		if ok, _ := path.Match(strings.ToLower(p), host); ok {
			return true
		}
	}
	return false
}

// ask returns nil when origin may use a key: at once for an allowed origin, otherwise once the person
// allows it on the page. Denied, unanswered within the timeout, or the page gone, it returns an error.
func (c *consent) ask(ctx context.Context, origin, what string) error {
	if c.isAllowed(origin) {
		return nil
	}
	label := origin
	if originHost(origin) == "" {
		label = "без Origin / Origin жоқ: " + origin
	}
	c.mu.Lock()
	q, ok := c.waiting[label]
	if !ok {
		q = &question{origin: label, done: make(chan struct{})}
		c.waiting[label] = q
	}
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
		return ctx.Err()
	}
}

// forget drops an unanswered question (its asker gave up); a later request asks again.
func (c *consent) forget(q *question) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiting[q.origin] == q {
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
	if host := originHost(origin); allow && host != "" {
		c.allowed = append(c.allowed, host)
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

// loopbackHost reports whether the Host header names the loopback interface: the signer's page answers
// only there, so a site that rebinds its own name to 127.0.0.1 (DNS rebinding) does not become the
// page's own origin.
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

// answerConsent takes the page's Allow / Deny. Only the signer's own page may send it: the Host must be
// the loopback, an Origin other than the page's own is refused, and the form must carry the page's
// token, which another origin cannot read.
func (s *Signer) answerConsent(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	if !loopbackHost(r.Host) || (o != "" && o != "http://"+r.Host) || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
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
