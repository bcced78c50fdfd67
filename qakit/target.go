package qakit

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/egov-suite/egov/envelope"
)

// The demo people, by the slug that names their key files (keys/<slug>-AUTH.p12, -SIGN.p12).
const (
	// Citizen is Ахметова Асель, the demo applicant.
	Citizen = "citizen-akhmetova"
	// Representative is Иванов Сергей, who applies for her at the ЦОН by a power of attorney.
	Representative = "citizen-ivanov"
	// Operator is the ЦОН operator.
	Operator = "tson-operator"
	// Clerk, Officer and Head are the provider's staff (канцелярия, ответственный исполнитель,
	// руководитель) in АРМ РШЭП, employees of every region of the demo.
	Clerk   = "clerk-pavlodar"
	Officer = "officer-pavlodar"
	Head    = "head-pavlodar"
)

// IINs of the demo cast that forms ask for (internal/demo holds the cast; a test keeps the two equal).
const (
	CitizenIIN        = "880512400011"
	RepresentativeIIN = "841103300017"
	OfficerIIN        = "750723300016"
	// WardIIN is Сапарова Дана, under Асель's guardianship (the guardianship certificate is about her).
	WardIIN = "120921600010"
	// ChildIIN is Асель's son.
	ChildIIN = "150310500018"
	// YoungChildIIN is Асель's daughter, under 7: the child of the kindergarten waiting list.
	YoungChildIIN = "230614600014"
	// YoungestChildIIN is Асель's younger son, under 7 too.
	YoungestChildIIN = "250220500010"
	// PowerOfAttorney is Асель's valid power of attorney for Сергей, registered in ЕНИС.
	PowerOfAttorney = "2026-ДОВ-000101"
)

// Endpoints mirrors endpoints.json, as `egov dev` and Start write it.
type Endpoints struct {
	NATS     string              `json:"nats"`
	Postgres string              `json:"postgres"`
	Services map[string]Endpoint `json:"services"`
	// NATSUsers are NATS URLs with each participant's own restricted user.
	NATSUsers map[string]string `json:"nats_users"`
	// Signer is the local signer's page (egov ncalayer), http://…/; its WebSocket is the same address.
	Signer string `json:"ncalayer,omitempty"`
	// InternalTLS is "off" when the suite runs with EGOV_INTERNAL_TLS=off.
	InternalTLS string `json:"internal_tls,omitempty"`
	// SMTP is the mail server the services e-mail results through (smtp://host:port); MailDir is where
	// the dev mode's own server stores each message as an .eml file ("" with EGOV_SMTP_ADDR's server).
	SMTP    string `json:"smtp,omitempty"`
	MailDir string `json:"mail_dir,omitempty"`
}

// Endpoint is where a service listens; Admin is its admin API (ШЭП, НУЦ), over mutual TLS with the
// administrator's key (keys/admin.p12).
type Endpoint struct {
	HTTP  string `json:"http"`
	GRPC  string `json:"grpc"`
	Admin string `json:"admin,omitempty"`
}

// Target is a running suite as a QA test sees it: where its services listen and its dev folder, whose
// keys/ holds the demo people's key files (password egov-demo).
type Target struct {
	// Dir is the suite's dev folder (the folder of endpoints.json).
	Dir       string
	Endpoints Endpoints
}

// Attach is the suite already running whose endpoints.json is at path (e.g. .egov/endpoints.json of
// `egov dev`); it checks that every service it names answers /readyz.
func Attach(ctx context.Context, path string) (*Target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("qakit: attach: %w", err)
	}
	t := &Target{Dir: filepath.Dir(path)}
	if err := json.Unmarshal(b, &t.Endpoints); err != nil {
		return nil, fmt.Errorf("qakit: attach: %s: %w", path, err)
	}
	if len(t.Endpoints.Services) == 0 {
		return nil, fmt.Errorf("qakit: attach: %s names no services", path)
	}
	if _, err := os.Stat(t.Keys()); err != nil {
		return nil, fmt.Errorf("qakit: attach: no demo keys beside %s: %w", path, err)
	}
	for name, e := range t.Endpoints.Services {
		if err := WaitReady(ctx, e.HTTP, 10*time.Second); err != nil {
			return nil, fmt.Errorf("qakit: attach: %s at %s is not ready: %w", name, e.HTTP, err)
		}
	}
	return t, nil
}

// Keys is the folder of the demo key files.
func (t *Target) Keys() string { return filepath.Join(t.Dir, "keys") }

// URL is a service's HTTP base address ("portal", "tson", "rshep" …), "" if the suite has none.
func (t *Target) URL(service string) string { return t.Endpoints.Services[service].HTTP }

// Citizen is a demo citizen (slug) signed in to the portal with the AUTH certificate, as the portal's
// «войти по ЭЦП» does.
func (t *Target) Citizen(ctx context.Context, slug string) (*Person, error) {
	return t.signIn(ctx, "portal", slug, "/login", "/login/cert", `id="welcome"`)
}

// Register opens a demo citizen's portal account as egov.kz does — the IIN and a password, proven by
// the registration page's challenge signed with the AUTH key — and returns them signed in.
func (t *Target) Register(ctx context.Context, slug, iin, password string) (*Person, error) {
	p, err := NewPerson(t.URL("portal"), t.Keys(), slug)
	if err != nil {
		return nil, fmt.Errorf("qakit: %s's keys: %w", slug, err)
	}
	pg, err := p.Register(ctx, iin, password)
	if err == nil {
		err = pg.Err()
	}
	if err == nil && !strings.Contains(pg.Body, `id="welcome"`) {
		err = fmt.Errorf("qakit: %s is not the signed-in page", pg.URL)
	}
	if err != nil {
		return nil, fmt.Errorf("qakit: registration of %s: %w", slug, err)
	}
	return p, nil
}

// PasswordCitizen is a citizen signed in to the portal by IIN and password (no keys).
func (t *Target) PasswordCitizen(ctx context.Context, iin, password string) (*Person, error) {
	p := Browser(t.URL("portal"))
	pg, err := p.PasswordSignIn(ctx, iin, password)
	if err == nil {
		err = pg.Err()
	}
	if err == nil && !strings.Contains(pg.Body, `id="welcome"`) {
		err = fmt.Errorf("qakit: %s is not the signed-in page", pg.URL)
	}
	if err != nil {
		return nil, fmt.Errorf("qakit: password sign-in: %w", err)
	}
	return p, nil
}

// Operator is the ЦОН operator signed in to the desk.
func (t *Target) Operator(ctx context.Context) (*Person, error) {
	return t.signIn(ctx, "tson", Operator, "/login", "/login", `id="new"`)
}

// Staff is a member of the provider's staff (Clerk, Officer, Head) signed in to АРМ for region.
func (t *Target) Staff(ctx context.Context, slug, region string) (*Staff, error) {
	return NewStaff(ctx, t.URL("rshep"), t.Keys(), slug, region)
}

func (t *Target) signIn(ctx context.Context, service, slug, page, action, mark string) (*Person, error) {
	base := t.URL(service)
	if base == "" {
		return nil, fmt.Errorf("qakit: the suite has no %s", service)
	}
	p, err := NewPerson(base, t.Keys(), slug)
	if err != nil {
		return nil, fmt.Errorf("qakit: %s's keys: %w", slug, err)
	}
	pg, err := p.SignIn(ctx, page, action, nil)
	if err == nil {
		err = pg.Err()
	}
	if err == nil && !strings.Contains(pg.Body, mark) {
		err = fmt.Errorf("qakit: %s is not the signed-in page", pg.URL)
	}
	if err != nil {
		return nil, fmt.Errorf("qakit: sign-in of %s at the %s: %w", slug, service, err)
	}
	return p, nil
}

// Verifier checks results independently of the suite's services: НУЦ's root (keys/root.pem) and its
// OCSP responder, at the path each certificate names but at НУЦ's endpoint as the target lists it: the
// certificates name НУЦ as the services reach it (http://nca:8010 on a container network), which the
// tester's machine may not resolve.
func (t *Target) Verifier() (*envelope.Verifier, error) {
	b, err := os.ReadFile(filepath.Join(t.Keys(), "root.pem"))
	if err != nil {
		return nil, fmt.Errorf("qakit: НУЦ's root: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("qakit: root.pem holds no certificate")
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("qakit: НУЦ's root: %w", err)
	}
	checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Origin: t.Endpoints.Services["nca"].HTTP})
	if err != nil {
		return nil, err
	}
	return envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{root}, Status: checker})
}

// VerifyResult downloads an application's result (app is its path, /applications/<id>) and its
// detached CMS signature as p sees them, and verifies them against НУЦ's root with want.
func (t *Target) VerifyResult(ctx context.Context, p *Person, app string, want envelope.Expect) (*envelope.Result, error) {
	doc, err := p.Get(ctx, app+"/result")
	if err == nil {
		err = doc.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("qakit: the result of %s: %w", app, err)
	}
	sig, err := p.Get(ctx, app+"/result?part=signature")
	if err == nil {
		err = sig.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("qakit: the result's signature of %s: %w", app, err)
	}
	v, err := t.Verifier()
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, []byte(doc.Body), []byte(sig.Body), want)
}

// Letters waits, at most within, until the suite's mail drop (Endpoints.MailDir, as `egov dev` and Start
// run it) holds at least n messages, and returns the paths of its .eml files in the order stored. The
// messages are what the services e-mailed: the results sent to an address the applicant gave with consent.
func (t Target) Letters(ctx context.Context, n int, within time.Duration) ([]string, error) {
	if t.Endpoints.MailDir == "" {
		return nil, errors.New("qakit: the suite runs no mail drop (EGOV_SMTP_ADDR names another server)")
	}
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		files, err := filepath.Glob(filepath.Join(t.Endpoints.MailDir, "*.eml"))
		if err != nil {
			return nil, err
		}
		if len(files) >= n {
			return files, nil // the names begin with the time stored: Glob's order is theirs
		}
		select {
		case <-ctx.Done():
			return files, fmt.Errorf("qakit: %d letters in %s, want %d: %w", len(files), t.Endpoints.MailDir, n, ctx.Err())
		case <-tick.C:
		}
	}
}
