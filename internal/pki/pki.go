// Package pki is the certificate-issuing core of НУЦ (the certification authority), without storage:
// key generation, the CA hierarchy, the certificate profiles of Kazakhstan's practice, CRLs, OCSP
// responses and PKCS#12 files. services/nca stores and serves it; internal/ncatest runs it in memory
// for other packages' tests.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RFC 5280 key identifiers and RFC 6960 key hashes are SHA-1 by definition
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/iin"
)

// Algorithm is a key type.
type Algorithm int

// Key types. ECDSA P-256 is the default.
const (
	ECDSAP256 Algorithm = iota
	RSA2048
)

// NewKey makes a private key.
func NewKey(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("pki: unknown key algorithm %d", alg)
	}
}

// Profile is the kind of holder.
type Profile int

// Holder profiles.
const (
	Individual Profile = iota + 1
	Employee
	System
)

func (p Profile) String() string {
	switch p {
	case Individual:
		return "individual"
	case Employee:
		return "employee"
	case System:
		return "system"
	default:
		return "unknown"
	}
}

// Purpose tells a person's two keys apart.
type Purpose int

// Key purposes.
const (
	// Auth is the authentication (AUTH) key: sign-in.
	Auth Purpose = iota + 1
	// Sign is the signing (SIGN / "RSA") key: documents.
	Sign
)

func (p Purpose) String() string {
	switch p {
	case Auth:
		return "auth"
	case Sign:
		return "sign"
	default:
		return "unknown"
	}
}

// Subject describes a holder.
type Subject struct {
	IIN          string
	Surname      string
	GivenName    string
	Patronymic   string
	Organization string
	BIN          string
	// SystemID is a ШЭП participant id (System profile).
	SystemID string
}

// Request is what to issue.
type Request struct {
	Profile Profile
	// Purpose of a person's key; ignored for System.
	Purpose  Purpose
	Subject  Subject
	Validity time.Duration
}

// Default validities.
const (
	PersonValidity = 365 * 24 * time.Hour
	SystemValidity = 2 * 365 * 24 * time.Hour
	maxValidity    = 5 * 365 * 24 * time.Hour
)

var (
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42}
)

// Validate checks a request and says exactly what is wrong.
func (r Request) Validate() error {
	var errs []error
	s := r.Subject
	switch r.Profile {
	case Individual, Employee:
		if _, err := iin.Parse(s.IIN); err != nil {
			errs = append(errs, fmt.Errorf("subject IIN %q: %w", s.IIN, err))
		}
		if strings.TrimSpace(s.Surname) == "" || strings.TrimSpace(s.GivenName) == "" {
			errs = append(errs, errors.New("subject needs a surname and a given name"))
		}
		if r.Purpose != Auth && r.Purpose != Sign {
			errs = append(errs, errors.New("a person's certificate is either for authentication or for signing"))
		}
		if r.Profile == Employee {
			errs = append(errs, orgErrors(s)...)
		}
	case System:
		if err := validSystemID(s.SystemID); err != nil {
			errs = append(errs, err)
		}
		if s.BIN != "" {
			if _, err := iin.Parse(s.BIN); err != nil {
				errs = append(errs, fmt.Errorf("subject BIN %q: %w", s.BIN, err))
			}
		}
	default:
		errs = append(errs, errors.New("profile must be individual, employee or system"))
	}
	if r.Validity < 0 || r.Validity > maxValidity {
		errs = append(errs, fmt.Errorf("validity %v outside 0 to %v", r.Validity, maxValidity))
	}
	return errors.Join(errs...)
}

func orgErrors(s Subject) []error {
	var errs []error
	if strings.TrimSpace(s.Organization) == "" {
		errs = append(errs, errors.New("an employee's certificate needs the organisation name"))
	}
	if _, err := iin.Parse(s.BIN); err != nil {
		errs = append(errs, fmt.Errorf("subject BIN %q: %w", s.BIN, err))
	}
	return errs
}

func validSystemID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("system id %q: 1 to 64 characters", id)
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return fmt.Errorf("system id %q: lower-case Latin letters, digits and '-' only", id)
		}
	}
	return nil
}

// CA is a certificate authority's certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// URLs are where the running authority answers; they go into every certificate it issues.
type URLs struct {
	OCSP string
	CRL  string
	// Issuer is where the issuing CA's certificate can be fetched (AIA caIssuers).
	Issuer string
}

// NewSerial returns a random positive 128-bit serial number.
func NewSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	h := sha1.Sum(spki.Key.Bytes) //nolint:gosec // RFC 5280 method 1
	return h[:], nil
}

// NewRoot makes a self-signed root CA valid for twenty years from now.
func NewRoot(name string, alg Algorithm, now time.Time) (*CA, error) {
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(pkix.Name{CommonName: name, Organization: []string{"НУЦ РК (egov suite)"}, Country: []string{"KZ"}},
		key.Public(), now, 20*365*24*time.Hour, 1)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// NewIntermediate makes an issuing CA signed by parent, valid ten years (and never past the parent).
func (parent *CA) NewIntermediate(name string, alg Algorithm, now time.Time, urls URLs) (*CA, error) {
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(pkix.Name{CommonName: name, Organization: []string{"НУЦ РК (egov suite)"}, Country: []string{"KZ"}},
		key.Public(), now, 10*365*24*time.Hour, 0)
	if err != nil {
		return nil, err
	}
	if tmpl.NotAfter.After(parent.Cert.NotAfter) {
		tmpl.NotAfter = parent.Cert.NotAfter
	}
	if urls.CRL != "" {
		tmpl.CRLDistributionPoints = []string{strings.TrimSuffix(urls.CRL, "/") + "/root"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.Cert, key.Public(), parent.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: intermediate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

func caTemplate(name pkix.Name, pub crypto.PublicKey, now time.Time, validity time.Duration, pathLen int) (*x509.Certificate, error) {
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		SubjectKeyId:          skid,
	}, nil
}

// Issue signs a certificate for pub following the request's profile.
func (ca *CA) Issue(r Request, pub crypto.PublicKey, now time.Time, urls URLs) (*x509.Certificate, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: public key: %w", err)
	}
	validity := r.Validity
	if validity == 0 {
		validity = PersonValidity
		if r.Profile == System {
			validity = SystemValidity
		}
	}
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subjectName(r),
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validity),
		SubjectKeyId: skid,
	}
	if t.NotAfter.After(ca.Cert.NotAfter) {
		t.NotAfter = ca.Cert.NotAfter
	}
	if urls.OCSP != "" {
		t.OCSPServer = []string{urls.OCSP}
	}
	if urls.CRL != "" {
		t.CRLDistributionPoints = []string{urls.CRL}
	}
	if urls.Issuer != "" {
		t.IssuingCertificateURL = []string{urls.Issuer}
	}
	_, isRSA := pub.(*rsa.PublicKey)
	switch r.Profile {
	case System:
		t.KeyUsage = x509.KeyUsageDigitalSignature
		if isRSA {
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		t.Policies = []x509.OID{envelope.OIDPolicySystem}
		t.DNSNames = []string{r.Subject.SystemID, "localhost"}
	case Individual, Employee:
		policy, keyUser := envelope.OIDPolicyIndividual, envelope.OIDKeyUserIndividual
		if r.Profile == Employee {
			policy, keyUser = envelope.OIDPolicyEmployee, envelope.OIDKeyUserEmployee
		}
		t.Policies = []x509.OID{policy}
		t.UnknownExtKeyUsage = []asn1.ObjectIdentifier{keyUser}
		if r.Purpose == Auth {
			t.KeyUsage = x509.KeyUsageDigitalSignature
			if isRSA {
				t.KeyUsage |= x509.KeyUsageKeyEncipherment
			}
			t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection}
		} else {
			t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
			t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, t, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: issue: %w", err)
	}
	return x509.ParseCertificate(der)
}

// IssueTSA signs the time-stamping authority's certificate (extended key usage timeStamping, critical).
func (ca *CA) IssueTSA(pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	// crypto/x509 marks extKeyUsage critical only when asked through ExtraExtensions.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: "НУЦ TSA (egov suite)", Organization: []string{"НУЦ РК (egov suite)"}, Country: []string{"KZ"}},
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        ca.Cert.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		SubjectKeyId:    skid,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, t, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: TSA: %w", err)
	}
	return x509.ParseCertificate(der)
}

func subjectName(r Request) pkix.Name {
	s := r.Subject
	n := pkix.Name{Country: []string{"KZ"}}
	switch r.Profile {
	case System:
		n.CommonName = s.SystemID
		if s.Organization != "" {
			n.Organization = []string{s.Organization}
		}
		if s.BIN != "" {
			n.OrganizationalUnit = []string{"BIN" + s.BIN}
		}
		return n
	case Employee:
		n.Organization = []string{s.Organization}
		n.OrganizationalUnit = []string{"BIN" + s.BIN}
	}
	n.CommonName = strings.ToUpper(s.Surname + " " + s.GivenName)
	n.SerialNumber = "IIN" + s.IIN
	n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidSurname, Value: strings.ToUpper(s.Surname)}}
	if s.Patronymic != "" {
		// НУЦ writes the patronymic in GIVENNAME.
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidGivenName, Value: strings.ToUpper(s.Patronymic)})
	}
	return n
}
