// Package mail delivers results by e-mail («посредством отправки на электронную почту», as the
// regulations of the Astana kindergarten queue and of South Kazakhstan's home education allow): it
// composes a MIME message in Russian and Kazakh with the signed result, its detached CMS signature and
// its printable form attached, sends it over SMTP (STARTTLS whenever the server offers it), and keeps
// every delivery in an outbox row of the service's schema so that a failed send is retried and a sent
// one is never sent again.
//
// An e-mail address is personal data: it is kept only when the applicant consented, it never appears in
// a log line or an error (Mask), and an outbox row forgets it once the message is delivered.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Text is a text in Russian and Kazakh.
type Text struct{ RU, KK string }

// Attachment is a file attached to a message.
type Attachment struct {
	// Name is the file name the recipient sees (ASCII keeps every mail client happy).
	Name      string
	MediaType string
	Content   []byte
}

// Message is one e-mail to one recipient.
type Message struct {
	// ID is the Message-ID without its angle brackets: derived from what is delivered, so a message
	// sent again after a lost answer carries the same id and the recipient's mail system can tell.
	ID      string
	From    string
	To      string
	Subject Text
	// Body is the text; the message carries the Russian text first, then the Kazakh one.
	Body        Text
	Attachments []Attachment
	Date        time.Time
}

// ErrAddress is an e-mail address that is not one address; its text never repeats the address.
var ErrAddress = errors.New("mail: not an e-mail address")

// CheckAddress reports whether s is one plain address (local@domain), as a citizen types it: no name,
// no angle brackets, no list.
func CheckAddress(s string) error {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return ErrAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return ErrAddress
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return ErrAddress
	}
	return nil
}

// AddressProblem is what is wrong with an address, in both languages, for the applicant; it never
// repeats the address, since the text is recorded and logged with the refusal.
var AddressProblem = Text{
	RU: "адрес электронной почты указан неверно: ожидается один адрес вида имя@домен.kz",
	KK: "электрондық пошта мекенжайы қате көрсетілген: имя@домен.kz түріндегі бір мекенжай күтіледі",
}

// ConsentProblem is an address given without the consent to keep it and send the result there.
var ConsentProblem = Text{
	RU: "адрес электронной почты указан без согласия на его хранение и отправку результата: отметьте согласие или удалите адрес",
	KK: "электрондық пошта мекенжайы оны сақтауға және нәтижені жіберуге келісімсіз көрсетілген: келісімді белгілеңіз немесе мекенжайды жойыңыз",
}

// Consented is the value of the consent field that allows an address to be kept («да»).
const Consented = "yes"

// CheckForm checks an application's address and consent: an empty address needs nothing; an address
// needs the consent and must be one address. ok is false with the problem's text otherwise.
func CheckForm(address, consent string) (problem Text, ok bool) {
	if address == "" {
		return Text{}, true
	}
	if consent != Consented {
		return ConsentProblem, false
	}
	if CheckAddress(address) != nil {
		return AddressProblem, false
	}
	return Text{}, true
}

// Mask hides an address for logs and errors: the first letter of the mailbox and the domain's last
// label stay («a***@***.kz»), enough for an operator to tell two deliveries apart and no more.
func Mask(address string) string {
	local, domain, ok := strings.Cut(address, "@")
	if !ok || local == "" {
		return "***"
	}
	tld := ""
	if i := strings.LastIndexByte(domain, '.'); i >= 0 {
		tld = domain[i:]
	}
	r := []rune(local)
	return string(r[0]) + "***@***" + tld
}

// scrub replaces every occurrence of address in s by its mask: a server's answer may echo the
// recipient («550 <a@b.kz>: no such user»).
func scrub(s, address string) string {
	if address == "" {
		return s
	}
	return strings.ReplaceAll(s, address, Mask(address))
}

// Compose renders m as an RFC 5322 message: multipart/mixed with the text (quoted-printable UTF-8)
// and each attachment (base64), CRLF line ends throughout.
func Compose(m Message) ([]byte, error) {
	if CheckAddress(m.To) != nil {
		return nil, fmt.Errorf("compose: recipient: %w", ErrAddress)
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("compose: sender %q: %w", m.From, err)
	}
	if m.ID == "" || strings.ContainsAny(m.ID, "<> \r\n") || !strings.Contains(m.ID, "@") {
		return nil, fmt.Errorf("compose: message id %q: want local@domain", m.ID)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	boundary := "egov-" + randomToken()
	if err := w.SetBoundary(boundary); err != nil {
		return nil, err
	}
	subject := m.Subject.RU
	if m.Subject.KK != "" && m.Subject.KK != m.Subject.RU {
		subject += " / " + m.Subject.KK
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	head := []string{
		"From: " + from.String(),
		"To: <" + m.To + ">",
		"Subject: " + mime.BEncoding.Encode("utf-8", subject),
		"Date: " + date.Format(time.RFC1123Z),
		"Message-ID: <" + m.ID + ">",
		"MIME-Version: 1.0",
		"Content-Language: ru, kk",
		// A machine sends it: an out-of-office reply must not answer (RFC 3834).
		"Auto-Submitted: auto-generated",
		"Content-Type: multipart/mixed; boundary=\"" + boundary + "\"",
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(head, "\r\n") + "\r\n\r\n")

	part, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(part)
	body := strings.ReplaceAll(m.Body.RU, "\n", "\r\n")
	if m.Body.KK != "" {
		body += "\r\n\r\n---\r\n\r\n" + strings.ReplaceAll(m.Body.KK, "\n", "\r\n")
	}
	if _, err := qp.Write([]byte(body + "\r\n")); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		if a.Name == "" || strings.ContainsAny(a.Name, "/\\\r\n\"") {
			return nil, fmt.Errorf("compose: attachment name %q", a.Name)
		}
		ct := a.MediaType
		if ct == "" {
			ct = "application/octet-stream"
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, fmt.Errorf("compose: attachment %s: media type %q: %w", a.Name, ct, err)
		}
		params["name"] = a.Name
		p, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(mt, params)},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeBase64(p, a.Content); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	out.Write(buf.Bytes())
	return out.Bytes(), nil
}

// writeBase64 writes b in base64 lines of 76 characters (RFC 2045).
func writeBase64(w interface{ Write([]byte) (int, error) }, b []byte) error {
	s := base64.StdEncoding.EncodeToString(b)
	for len(s) > 76 {
		if _, err := fmt.Fprintf(w, "%s\r\n", s[:76]); err != nil {
			return err
		}
		s = s[76:]
	}
	_, err := fmt.Fprintf(w, "%s\r\n", s)
	return err
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
