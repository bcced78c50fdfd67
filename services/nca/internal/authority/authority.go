// Package authority is НУЦ's service logic: it opens (or on first start creates) the root, issuing and
// time-stamping keys, issues certificates by profile as PKCS#12 files, revokes them and re-signs the
// CRL in the same transaction, and answers OCSP and time-stamp requests.
package authority

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/nca/internal/keyseal"
	"github.com/egov-suite/egov/services/nca/internal/store"
)

// Roles of the authority's own keys.
const (
	RoleRoot         = "root"
	RoleIntermediate = "intermediate"
	RoleTSA          = "tsa"
)

// ErrInvalid wraps a request the authority refuses as malformed.
var ErrInvalid = errors.New("invalid request")

// Options configure the authority.
type Options struct {
	Pool       *pgxpool.Pool
	Passphrase string
	// Algorithm of the CA keys created on first start.
	Algorithm pki.Algorithm
	// BaseURL is where this authority's HTTP endpoints are reached; it goes into every certificate.
	BaseURL      string
	OCSPValidity time.Duration
	CRLValidity  time.Duration
	Now          func() time.Time
	Log          *slog.Logger
}

// Authority is a running НУЦ.
type Authority struct {
	o     Options
	store *store.Store
	root  *pki.CA
	inter *pki.CA
	tsa   *pki.CA
	urls  pki.URLs
}

// Open loads the authority's keys, creating them on first start. Replicas starting together are
// serialised by an advisory lock, so there is one root.
func Open(ctx context.Context, o Options) (*Authority, error) {
	base := strings.TrimSuffix(o.BaseURL, "/")
	a := &Authority{o: o, store: store.New(o.Pool), urls: pki.URLs{OCSP: base + "/ocsp", CRL: base + "/crl", Issuer: base + "/ca/intermediate.crt"}}
	err := pgdb.InTx(ctx, o.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('nca.bootstrap'))`); err != nil {
			return err
		}
		cas, err := store.LoadCAs(ctx, tx)
		if err != nil {
			return err
		}
		if len(cas) == 0 {
			o.Log.Info("creating the certification authority's root, issuing and time-stamping keys")
			return a.create(ctx, tx)
		}
		for role, dst := range map[string]**pki.CA{RoleRoot: &a.root, RoleIntermediate: &a.inter, RoleTSA: &a.tsa} {
			c, ok := cas[role]
			if !ok {
				return fmt.Errorf("authority: the %s key is missing from the store", role)
			}
			if *dst, err = openCA(c, o.Passphrase); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	return a, nil
}

func openCA(c store.CA, passphrase string) (*pki.CA, error) {
	cert, err := x509.ParseCertificate(c.Cert)
	if err != nil {
		return nil, fmt.Errorf("authority: %s certificate: %w", c.Role, err)
	}
	key, err := keyseal.Open(c.SealedKey, passphrase)
	if err != nil {
		return nil, fmt.Errorf("authority: %s key: %w", c.Role, err)
	}
	return &pki.CA{Cert: cert, Key: key}, nil
}

func (a *Authority) create(ctx context.Context, tx pgx.Tx) error {
	now := a.o.Now()
	root, err := pki.NewRoot("НУЦ РК Root CA (egov suite)", a.o.Algorithm, now)
	if err != nil {
		return err
	}
	inter, err := root.NewIntermediate("НУЦ РК Issuing CA (egov suite)", a.o.Algorithm, now, a.urls)
	if err != nil {
		return err
	}
	tsaKey, err := pki.NewKey(a.o.Algorithm)
	if err != nil {
		return err
	}
	tsaCert, err := inter.IssueTSA(tsaKey.Public(), now)
	if err != nil {
		return err
	}
	a.root, a.inter, a.tsa = root, inter, &pki.CA{Cert: tsaCert, Key: tsaKey}
	for role, ca := range map[string]*pki.CA{RoleRoot: root, RoleIntermediate: inter, RoleTSA: a.tsa} {
		sealed, err := keyseal.Seal(ca.Key, a.o.Passphrase)
		if err != nil {
			return err
		}
		if err := store.SaveCA(ctx, tx, store.CA{Role: role, Cert: ca.Cert.Raw, SealedKey: sealed}); err != nil {
			return err
		}
	}
	if err := a.signCRL(ctx, tx, RoleRoot); err != nil {
		return err
	}
	return a.signCRL(ctx, tx, RoleIntermediate)
}

// Root is the trust anchor.
func (a *Authority) Root() *x509.Certificate { return a.root.Cert }

// Intermediate is the issuing CA.
func (a *Authority) Intermediate() *x509.Certificate { return a.inter.Cert }

// TSACert is the time-stamping authority's certificate.
func (a *Authority) TSACert() *x509.Certificate { return a.tsa.Cert }

// URLs are the endpoints written into certificates.
func (a *Authority) URLs() pki.URLs { return a.urls }

// IssueRequest asks for a certificate and its key file.
type IssueRequest struct {
	pki.Request
	Algorithm pki.Algorithm
	Password  string
}

// Issue makes a key pair and a certificate, records it, and returns it with a PKCS#12 file holding the
// key, the certificate and the chain up to the root.
func (a *Authority) Issue(ctx context.Context, r IssueRequest) (store.Certificate, []byte, error) {
	if err := r.Validate(); err != nil {
		return store.Certificate{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(r.Password) < 6 {
		return store.Certificate{}, nil, fmt.Errorf("%w: the key file password must have at least 6 characters", ErrInvalid)
	}
	key, err := pki.NewKey(r.Algorithm)
	if err != nil {
		return store.Certificate{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := a.o.Now()
	cert, err := a.inter.Issue(r.Request, key.Public(), now, a.urls)
	if err != nil {
		return store.Certificate{}, nil, err
	}
	p12, err := pki.PKCS12(key, cert, []*x509.Certificate{a.inter.Cert, a.root.Cert}, r.Password)
	if err != nil {
		return store.Certificate{}, nil, err
	}
	rec := record(cert, r.Request, now)
	if err := a.store.InsertCertificate(ctx, rec); err != nil {
		return store.Certificate{}, nil, err
	}
	return rec, p12, nil
}

func record(cert *x509.Certificate, r pki.Request, now time.Time) store.Certificate {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	purpose := r.Purpose.String()
	if r.Profile == pki.System {
		purpose = "system"
	}
	return store.Certificate{
		Serial: SerialHex(cert.SerialNumber), Issuer: RoleIntermediate, Profile: r.Profile.String(), Purpose: purpose,
		SubjectDN: envelope.SubjectString(cert), IIN: opt(r.Subject.IIN), BIN: opt(r.Subject.BIN), SystemID: opt(r.Subject.SystemID),
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, DER: cert.Raw, IssuedAt: now,
	}
}

// SerialHex is the store's spelling of a serial number.
func SerialHex(n *big.Int) string { return n.Text(16) }

// ParseSerial reads a hex serial as people type it (with or without colons, any case).
func ParseSerial(s string) (string, error) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() <= 0 || len(s) > 40 {
		return "", fmt.Errorf("%w: serial %q is not a positive hexadecimal number", ErrInvalid, s)
	}
	return SerialHex(n), nil
}

// Revoke revokes a certificate and signs a new CRL in the same transaction, so OCSP and the CRL agree
// from the moment the call returns.
func (a *Authority) Revoke(ctx context.Context, serial string, reason int) (store.Certificate, error) {
	s, err := ParseSerial(serial)
	if err != nil {
		return store.Certificate{}, err
	}
	if reason < 0 || reason > 10 || reason == 7 {
		return store.Certificate{}, fmt.Errorf("%w: revocation reason %d is not an RFC 5280 CRLReason", ErrInvalid, reason)
	}
	var rec store.Certificate
	err = pgdb.InTx(ctx, a.o.Pool, func(tx pgx.Tx) error {
		var err error
		if rec, err = store.Revoke(ctx, tx, s, reason, a.o.Now()); err != nil {
			return err
		}
		return a.signCRL(ctx, tx, RoleIntermediate)
	})
	return rec, err
}

func (a *Authority) signCRL(ctx context.Context, tx pgx.Tx, issuer string) error {
	ca := a.inter
	var revoked []pki.Revocation
	if issuer == RoleRoot {
		ca = a.root
	} else {
		rs, err := store.Revoked(ctx, tx, issuer)
		if err != nil {
			return err
		}
		for _, r := range rs {
			n, _ := new(big.Int).SetString(r.Serial, 16)
			revoked = append(revoked, pki.Revocation{Serial: n, At: r.At, Reason: int(r.Reason)})
		}
	}
	number, err := store.NextCRLNumber(ctx, tx, issuer)
	if err != nil {
		return err
	}
	now := a.o.Now()
	der, err := ca.CRL(number, revoked, now, a.o.CRLValidity)
	if err != nil {
		return err
	}
	return store.SaveCRL(ctx, tx, store.CRL{Issuer: issuer, Number: number, DER: der, ThisUpdate: now, NextUpdate: now.Add(a.o.CRLValidity)})
}

// CRL returns the issuer's current CRL, signing a fresh one when half its validity has passed.
func (a *Authority) CRL(ctx context.Context, issuer string) ([]byte, error) {
	c, ok, err := a.store.LatestCRL(ctx, issuer)
	if err != nil {
		return nil, err
	}
	if ok && a.o.Now().Before(c.NextUpdate.Add(-a.o.CRLValidity/2)) {
		return c.DER, nil
	}
	err = pgdb.InTx(ctx, a.o.Pool, func(tx pgx.Tx) error { return a.signCRL(ctx, tx, issuer) })
	if err != nil {
		return nil, err
	}
	c, _, err = a.store.LatestCRL(ctx, issuer)
	return c.DER, err
}

// RefreshCRLs re-signs CRLs that are past half their validity: a worker calls it periodically, so a
// CRL never goes stale while nobody revokes anything.
func (a *Authority) RefreshCRLs(ctx context.Context) error {
	for _, issuer := range []string{RoleRoot, RoleIntermediate} {
		if _, err := a.CRL(ctx, issuer); err != nil {
			return err
		}
	}
	return nil
}

// OCSPHandler answers OCSP for the issuing CA's certificates and for the issuing CA itself (signed by
// the root).
func (a *Authority) OCSPHandler() http.Handler {
	return pki.OCSPHandler([]*pki.CA{a.inter, a.root}, a.lookup, a.o.Now, a.o.OCSPValidity, a.o.Log)
}

func (a *Authority) lookup(ctx context.Context, issuer *pki.CA, serial *big.Int) (pki.CertState, time.Time, int, error) {
	if issuer == a.root {
		if serial.Cmp(a.inter.Cert.SerialNumber) == 0 {
			return pki.Good, time.Time{}, 0, nil
		}
		return pki.Unknown, time.Time{}, 0, nil
	}
	found, at, reason, err := a.store.Status(ctx, RoleIntermediate, SerialHex(serial))
	switch {
	case err != nil:
		return 0, time.Time{}, 0, err
	case !found:
		return pki.Unknown, time.Time{}, 0, nil
	case at != nil:
		r := 0
		if reason != nil {
			r = int(*reason)
		}
		return pki.Revoked, *at, r, nil
	default:
		return pki.Good, time.Time{}, 0, nil
	}
}

// TSA is the RFC 3161 time-stamping authority: its key, with the issuing CA's certificate sent along.
func (a *Authority) TSA() *pki.TSA {
	return &pki.TSA{CA: a.tsa, Chain: []*x509.Certificate{a.inter.Cert}, Now: a.o.Now}
}
