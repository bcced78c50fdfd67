package envelope

import (
	"errors"
	"fmt"
)

// Code names one reason a signature is not accepted. Each has its own code so that a gateway can log
// and count it and a portal can show the right text.
type Code string

// The verification failures.
const (
	// CodeMalformed: the bytes are not a well-formed detached CMS signature or envelope.
	CodeMalformed Code = "MALFORMED"
	// CodeBadSignature: the signature does not verify over the content.
	CodeBadSignature Code = "BAD_SIGNATURE"
	// CodeExpired: the certificate had expired at signing time, or has expired now.
	CodeExpired Code = "CERT_EXPIRED"
	// CodeNotYetValid: the certificate was not yet valid at signing time, or the signing time lies ahead.
	CodeNotYetValid Code = "CERT_NOT_YET_VALID"
	// CodeRevoked: the certificate is revoked (OCSP or CRL).
	CodeRevoked Code = "CERT_REVOKED"
	// CodeUnknownIssuer: the certificate does not chain to a trust anchor.
	CodeUnknownIssuer Code = "UNKNOWN_ISSUER"
	// CodeWrongKeyUsage: the certificate is not for this use (an authentication key signing a document,
	// a person's key signing an envelope).
	CodeWrongKeyUsage Code = "WRONG_KEY_USAGE"
	// CodeIINMismatch: the IIN (or BIN) in the certificate is not the one the request names.
	CodeIINMismatch Code = "IIN_MISMATCH"
	// CodeStatusUnavailable: neither OCSP nor the CRL could say whether the certificate is revoked.
	CodeStatusUnavailable Code = "CERT_STATUS_UNAVAILABLE"
)

// RefusalText is what a citizen reads when the signature on their request is not accepted: the
// regulations' wording («Стандарт государственной услуги», condition 2 of the portal's process).
const RefusalText = "отказ в запрашиваемой электронной государственной услуге в связи с не подтверждением подлинности ЭЦП получателя"

// RefusalTextKK is the same refusal in Kazakh.
const RefusalTextKK = "алушының ЭЦҚ түпнұсқалығының расталмауына байланысты сұратылған электрондық мемлекеттік көрсетілетін қызметтен бас тарту"

// Error is a verification failure.
type Error struct {
	Code   Code
	Detail string
	Err    error
}

func (e *Error) Error() string {
	s := "envelope: " + string(e.Code)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Code: c}) match any failure with code c.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Detail == "" && t.Err == nil
}

// CodeOf returns the code of a verification failure, or "" when err is not one.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Refusal returns the text to show a citizen for err, in Russian and Kazakh, with the technical reason
// after it, for any verification failure; ok is false for other errors.
func Refusal(err error) (ru, kk string, ok bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", "", false
	}
	return fmt.Sprintf("%s (%s)", RefusalText, e.Code.reason()), fmt.Sprintf("%s (%s)", RefusalTextKK, e.Code.reason()), true
}

// Reason is the short Russian explanation of a verification error's code («регистрационное
// свидетельство отозвано» …), for a page that shows its own refusal text before it.
func Reason(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return "", false
	}
	return e.Code.reason(), true
}

// reason is a short Russian explanation of the code, shown after the regulation's text.
func (c Code) reason() string {
	switch c {
	case CodeMalformed:
		return "подпись повреждена"
	case CodeBadSignature:
		return "подпись не соответствует документу"
	case CodeExpired:
		return "истёк срок действия регистрационного свидетельства"
	case CodeNotYetValid:
		return "срок действия регистрационного свидетельства не наступил"
	case CodeRevoked:
		return "регистрационное свидетельство отозвано"
	case CodeUnknownIssuer:
		return "регистрационное свидетельство выдано не НУЦ"
	case CodeWrongKeyUsage:
		return "ключ не предназначен для подписи"
	case CodeIINMismatch:
		return "ИИН в регистрационном свидетельстве не совпадает с ИИН заявителя"
	case CodeStatusUnavailable:
		return "не удалось проверить статус регистрационного свидетельства"
	default:
		return string(c)
	}
}
