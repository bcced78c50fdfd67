package envelope

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
)

// The certificate profiles of the suite, as НУЦ issues them and verifiers check them.
//
// As in Kazakhstan's practice a person holds two certificates: AUTH, for signing in (TLS client
// authentication), and SIGN (in НУЦ's files "RSA" or "GOST"), for signing documents. They differ in key
// usage: only SIGN has nonRepudiation (contentCommitment), so a document signed with an AUTH key is
// refused. A system taking part in ШЭП has one certificate for envelope signatures and mTLS.
//
// The subject follows НУЦ: CN "SURNAME NAME", SURNAME, GIVENNAME holding the patronymic (НУЦ's
// convention), SERIALNUMBER "IIN<12 digits>", C=KZ; an employee adds O and OU "BIN<12 digits>".
var (
	// OIDKeyUserIndividual is НУЦ's "key user" extended key usage of an individual (физическое лицо).
	OIDKeyUserIndividual = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 1}
	// OIDKeyUserOrganization is НУЦ's "key user" of a legal entity (юридическое лицо).
	OIDKeyUserOrganization = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2}
	// OIDKeyUserEmployee is НУЦ's "key user" of an employee of a legal entity (сотрудник).
	OIDKeyUserEmployee = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 5}

	// The suite's own certificate policies tell the profiles apart. They sit in the arc ITU-T X.660
	// reserves for examples (2.999): the suite models НУЦ, its certificates are not НУЦ's.
	OIDPolicyIndividual = mustOID("2.999.7.1.1")
	OIDPolicyEmployee   = mustOID("2.999.7.1.2")
	OIDPolicySystem     = mustOID("2.999.7.1.3")
	// OIDPolicyTimeStamp is the policy of the suite's time-stamping authority.
	OIDPolicyTimeStamp = asn1.ObjectIdentifier{2, 999, 7, 1, 4}
)

func mustOID(s string) x509.OID {
	oid, err := x509.ParseOID(s)
	if err != nil {
		panic(err) // the constants above are well-formed
	}
	return oid
}

// Purpose is what a signature is for; each accepts certain certificates only.
type Purpose int

const (
	// PurposeDocument: a person signs a document (application, result, refusal). Needs a SIGN
	// certificate of an individual or employee: nonRepudiation key usage.
	PurposeDocument Purpose = iota + 1
	// PurposeEnvelope: a system signs an envelope. Needs a system participant's certificate.
	PurposeEnvelope
	// PurposeAuthentication: a person signs a sign-in challenge. Needs an AUTH certificate.
	PurposeAuthentication
	// PurposeIssued: a document the state issues, a result or a printable form of it. A civil servant
	// signs it with a SIGN key (as PurposeDocument), or the provider's node with its system key when the
	// regulation is fully automated (as PurposeEnvelope); the certificate says which of the two applies.
	PurposeIssued
)

func (p Purpose) String() string {
	switch p {
	case PurposeDocument:
		return "document"
	case PurposeEnvelope:
		return "envelope"
	case PurposeAuthentication:
		return "authentication"
	case PurposeIssued:
		return "issued"
	default:
		return "unknown"
	}
}

// Holder is what a certificate says about its holder.
type Holder struct {
	// IIN of the person, "" for a system.
	IIN string
	// BIN of the organisation, "" for a citizen.
	BIN string
	// Name is the CN: "SURNAME NAME" or the system id.
	Name string
	// Organization is O, when any.
	Organization string
	// System is set for a ШЭП participant's certificate.
	System bool
}

var oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}

// HolderOf reads the holder from a certificate's subject.
func HolderOf(c *x509.Certificate) Holder {
	h := Holder{Name: c.Subject.CommonName, System: hasPolicy(c, OIDPolicySystem)}
	if len(c.Subject.Organization) > 0 {
		h.Organization = c.Subject.Organization[0]
	}
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidSerialNumber) {
			if s, ok := n.Value.(string); ok {
				if v, found := strings.CutPrefix(s, "IIN"); found {
					h.IIN = v
				}
			}
		}
	}
	for _, ou := range c.Subject.OrganizationalUnit {
		if v, found := strings.CutPrefix(ou, "BIN"); found {
			h.BIN = v
		}
	}
	return h
}

func hasPolicy(c *x509.Certificate, oid x509.OID) bool {
	for _, p := range c.Policies {
		if p.Equal(oid) {
			return true
		}
	}
	return false
}

func hasEKU(c *x509.Certificate, eku x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == eku || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// checkUsage says why c may not make a signature for purpose, or "" when it may.
func checkUsage(c *x509.Certificate, purpose Purpose) string {
	switch purpose {
	case PurposeDocument:
		if hasPolicy(c, OIDPolicySystem) {
			return "a system certificate cannot sign a person's document"
		}
		if c.KeyUsage&x509.KeyUsageContentCommitment == 0 {
			return "the certificate has no nonRepudiation key usage: an authentication (AUTH) key cannot sign documents"
		}
	case PurposeEnvelope:
		if !hasPolicy(c, OIDPolicySystem) {
			return "only a ШЭП participant's system certificate may sign an envelope"
		}
		if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			return "the certificate has no digitalSignature key usage"
		}
	case PurposeAuthentication:
		if !hasEKU(c, x509.ExtKeyUsageClientAuth) || c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			return "the certificate is not for authentication (clientAuth, digitalSignature)"
		}
		if c.KeyUsage&x509.KeyUsageContentCommitment != 0 {
			return "a signing (SIGN) key is not used to sign in; use the AUTH key"
		}
	case PurposeIssued:
		if hasPolicy(c, OIDPolicySystem) {
			return checkUsage(c, PurposeEnvelope)
		}
		return checkUsage(c, PurposeDocument)
	default:
		return "unknown purpose"
	}
	return ""
}

var attrNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SURNAME", "2.5.4.42": "GIVENNAME", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C",
	"2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.7": "L", "2.5.4.8": "ST", "1.2.840.113549.1.9.1": "E",
}

// SubjectString writes a certificate subject as НУЦ's tools show it, with the names of the attributes
// Go does not know (SURNAME, GIVENNAME) and the values in clear text: "CN=АХМЕТОВА АСЕЛЬ, SURNAME=…".
func SubjectString(c *x509.Certificate) string {
	var parts []string
	for _, n := range c.Subject.Names {
		name, ok := attrNames[n.Type.String()]
		if !ok {
			name = n.Type.String()
		}
		parts = append(parts, fmt.Sprintf("%s=%v", name, n.Value))
	}
	return strings.Join(parts, ", ")
}
