// Package nca is НУЦ (Национальный удостоверяющий центр), the certification authority of the suite: a
// root and an issuing CA, certificates by profile (individual, employee, ШЭП system) issued as PKCS#12
// files, revocation, an OCSP responder, CRLs and an RFC 3161 time-stamp service.
package nca

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/egov-suite/egov/envelope"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/pki"
	ncav1 "github.com/egov-suite/egov/proto/egov/nca/v1"
	"github.com/egov-suite/egov/services/nca/internal/authority"
	"github.com/egov-suite/egov/services/nca/internal/grpcapi"
	"github.com/egov-suite/egov/services/nca/internal/httpapi"
	"github.com/egov-suite/egov/services/nca/internal/store"
)

// Config is НУЦ's configuration.
type Config struct {
	// PublicURL is the base URL of the HTTP endpoints as others reach them; it is written into every
	// certificate (OCSP, CRL, issuer), so it must stay stable. Default: http://<the HTTP listen address>.
	PublicURL string `env:"EGOV_NCA_PUBLIC_URL"`
	// KeyPassphrase seals the CA keys in the database (argon2id + AES-256-GCM); empty stores them plain.
	KeyPassphrase config.Secret `env:"EGOV_NCA_KEY_PASSPHRASE"`
	// Algorithm of the CA keys made on first start: ecdsa-p256 or rsa-2048.
	Algorithm string `env:"EGOV_NCA_CA_ALGORITHM" envDefault:"ecdsa-p256"`
	// OCSPValidity is the nextUpdate of OCSP answers.
	OCSPValidity time.Duration `env:"EGOV_NCA_OCSP_VALIDITY" envDefault:"1h"`
	// CRLValidity is the nextUpdate of CRLs; a fresh CRL is signed at half of it.
	CRLValidity time.Duration `env:"EGOV_NCA_CRL_VALIDITY" envDefault:"24h"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := config.Load(&c, nil); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	if _, err := algorithm(c.Algorithm); err != nil {
		errs = append(errs, err)
	}
	if c.OCSPValidity <= 0 || c.CRLValidity <= 0 {
		errs = append(errs, errors.New("EGOV_NCA_OCSP_VALIDITY and EGOV_NCA_CRL_VALIDITY must be positive"))
	}
	return errors.Join(errs...)
}

func algorithm(s string) (pki.Algorithm, error) {
	switch s {
	case "ecdsa-p256", "":
		return pki.ECDSAP256, nil
	case "rsa-2048":
		return pki.RSA2048, nil
	}
	return 0, fmt.Errorf("EGOV_NCA_CA_ALGORITHM=%q: want ecdsa-p256 or rsa-2048", s)
}

// Descriptor describes the service to the process that runs it.
func Descriptor(cfg Config) app.Descriptor {
	return app.Descriptor{
		Name:         "nca",
		Title:        "НУЦ, certification authority (OCSP /ocsp, CRL /crl, TSA /tsa)",
		Schema:       "nca",
		Migrations:   store.Migrations(),
		Ports:        app.Ports{HTTP: 8010, GRPC: 9010, Admin: 9011},
		GRPCServices: []string{ncav1.CertificateAuthorityService_ServiceDesc.ServiceName},
		Start: func(ctx context.Context, env *app.Env) (*app.Unit, error) {
			alg, err := algorithm(cfg.Algorithm)
			if err != nil {
				return nil, err
			}
			base := cfg.PublicURL
			if base == "" {
				base = "http://" + env.Addr.HTTP
			}
			a, err := authority.Open(ctx, authority.Options{
				Pool: env.DB, Passphrase: cfg.KeyPassphrase.Value(), Algorithm: alg, BaseURL: base,
				OCSPValidity: cfg.OCSPValidity, CRLValidity: cfg.CRLValidity, Now: env.Now, Log: env.Log,
			})
			if err != nil {
				return nil, err
			}
			if cfg.KeyPassphrase == "" {
				env.Log.Warn("CA keys are stored unsealed; set EGOV_NCA_KEY_PASSPHRASE outside the dev mode")
			}
			ident, err := selfIdentity(ctx, a, env)
			if err != nil {
				return nil, err
			}
			st := store.New(env.DB)
			api := grpcapi.New(a, st)
			return &app.Unit{
				// Issuing and revoking is for administrators, on the admin listener; the participants'
				// listener keeps the health service only. OCSP, CRLs, the TSA and the CA certificates
				// stay on public HTTP, as in any PKI.
				RegisterAdminGRPC: func(s *grpc.Server) { ncav1.RegisterCertificateAuthorityServiceServer(s, api) },
				Identity:          ident,
				HTTP:              httpapi.Handler(a, env.Log),
				Workers: map[string]func(context.Context) error{
					"crl refresh": func(ctx context.Context) error { return refreshCRLs(ctx, a, cfg.CRLValidity/8, env) },
				},
				Seed: func(ctx context.Context, dir string) ([]demo.Entry, error) { return seed(ctx, a, dir) },
			}, nil
		},
	}
}

// selfIdentity issues НУЦ's own system certificate "nca" for its gRPC servers. НУЦ is the CA: it
// needs no key file, and issues a fresh certificate at every start, whose key never leaves memory.
func selfIdentity(ctx context.Context, a *authority.Authority, env *app.Env) (*mtls.Identity, error) {
	var pw [16]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	password := hex.EncodeToString(pw[:])
	_, p12, err := a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: password,
		Request: pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: "nca", Organization: "НУЦ РК (egov suite)"}}})
	if err != nil {
		return nil, fmt.Errorf("НУЦ's own TLS certificate: %w", err)
	}
	signer, err := envelope.LoadPKCS12(p12, password)
	if err != nil {
		return nil, err
	}
	checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Now: env.Now, Origin: env.PKIURL})
	if err != nil {
		return nil, fmt.Errorf("EGOV_PKI_URL: %w", err)
	}
	return mtls.FromSigner(signer, []*x509.Certificate{a.Root()}, checker), nil
}

func refreshCRLs(ctx context.Context, a *authority.Authority, every time.Duration, env *app.Env) error {
	t := time.NewTicker(max(every, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.RefreshCRLs(ctx); err != nil && ctx.Err() == nil {
				env.Log.Error("CRL refresh failed", "err", err)
			}
		}
	}
}

// seed issues the demo cast's key files under dir/keys once, and again only when the authority's root
// has changed (a fresh database).
func seed(ctx context.Context, a *authority.Authority, dir string) ([]demo.Entry, error) {
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return nil, err
	}
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Root().Raw})
	manifest := filepath.Join(keys, "manifest.json")
	// A folder seeded before the administrator's key existed is seeded again.
	_, adminErr := os.Stat(filepath.Join(keys, demo.Admin.Slug+".p12"))
	if old, err := os.ReadFile(filepath.Join(keys, "root.pem")); err == nil && string(old) == string(rootPEM) && adminErr == nil {
		if b, err := os.ReadFile(manifest); err == nil {
			var entries []demo.Entry
			if json.Unmarshal(b, &entries) == nil {
				return entries, nil
			}
		}
	}
	var entries []demo.Entry
	write := func(name string, b []byte) (string, error) {
		p := filepath.Join(keys, name)
		return p, os.WriteFile(p, b, 0o600)
	}
	for _, p := range demo.People {
		profile := pki.Individual
		if p.BIN != "" {
			profile = pki.Employee
		}
		for _, purpose := range []pki.Purpose{pki.Auth, pki.Sign} {
			_, p12, err := a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: demo.Password,
				Request: pki.Request{Profile: profile, Purpose: purpose, Subject: pki.Subject{
					IIN: p.IIN, Surname: p.Surname, GivenName: p.GivenName, Patronymic: p.Patronymic,
					Organization: p.Organization, BIN: p.BIN}}})
			if err != nil {
				return nil, fmt.Errorf("demo %s: %w", p.Slug, err)
			}
			name := fmt.Sprintf("%s-%s.p12", p.Slug, strings.ToUpper(purpose.String()))
			path, err := write(name, p12)
			if err != nil {
				return nil, err
			}
			entries = append(entries, demo.Entry{Service: "nca", Kind: purpose.String(), Name: p.Surname + " " + p.GivenName,
				IIN: p.IIN, Role: p.Role, File: path, Password: demo.Password})
		}
	}
	// A signing key of Асель's that НУЦ has revoked: signing with it shows the refusal of condition 2
	// («не подтверждением подлинности ЭЦП получателя»).
	citizen := demo.People[0]
	revoked, p12, err := a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: demo.Password,
		Request: pki.Request{Profile: pki.Individual, Purpose: pki.Sign, Subject: pki.Subject{
			IIN: citizen.IIN, Surname: citizen.Surname, GivenName: citizen.GivenName, Patronymic: citizen.Patronymic}}})
	if err != nil {
		return nil, fmt.Errorf("demo revoked key: %w", err)
	}
	if _, err := a.Revoke(ctx, revoked.Serial, 1); err != nil { // keyCompromise
		return nil, fmt.Errorf("demo revoked key: %w", err)
	}
	path, err := write(demo.RevokedKeySlug+"-SIGN.p12", p12)
	if err != nil {
		return nil, err
	}
	entries = append(entries, demo.Entry{Service: "nca", Kind: "sign", Name: citizen.Surname + " " + citizen.GivenName,
		IIN: citizen.IIN, Role: "отозванный сертификат", File: path, Password: demo.Password})
	for _, id := range demo.Systems {
		_, p12, err := a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: demo.Password,
			Request: pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: id, Organization: "egov suite", BIN: demo.BINSuite}}})
		if err != nil {
			return nil, fmt.Errorf("demo system %s: %w", id, err)
		}
		path, err := write("system-"+id+".p12", p12)
		if err != nil {
			return nil, err
		}
		entries = append(entries, demo.Entry{Service: "nca", Kind: "system", Name: id, File: path, Password: demo.Password})
	}
	// The demo administrator's authentication key: the CLI presents it on the admin listeners.
	adm := demo.Admin
	_, p12, err = a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: demo.Password,
		Request: pki.Request{Profile: pki.Employee, Purpose: pki.Auth, Subject: pki.Subject{
			IIN: adm.IIN, Surname: adm.Surname, GivenName: adm.GivenName, Patronymic: adm.Patronymic,
			Organization: adm.Organization, BIN: adm.BIN}}})
	if err != nil {
		return nil, fmt.Errorf("demo administrator: %w", err)
	}
	path, err = write(adm.Slug+".p12", p12)
	if err != nil {
		return nil, err
	}
	entries = append(entries, demo.Entry{Service: "nca", Kind: "admin", Name: adm.Surname + " " + adm.GivenName,
		IIN: adm.IIN, Role: adm.Role, File: path, Password: demo.Password})
	if _, err := write("root.pem", rootPEM); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := write("manifest.json", b); err != nil {
		return nil, err
	}
	return entries, nil
}

// TrustAnchor reads a PEM root certificate file.
func TrustAnchor(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: not a PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}
