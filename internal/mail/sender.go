package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"

	"github.com/egov-suite/egov/internal/config"
)

// Config is how a service reaches its mail server: the platform's EGOV_SMTP_* settings. The standard
// net/smtp client speaks to it: it has STARTTLS after EHLO, which the server library's client offers
// only as «always» or «never».
type Config struct {
	config.SMTP
	// TLS, when set, is the client's TLS configuration (tests; CAFile otherwise).
	TLS *tls.Config
}

// Enabled reports whether e-mail delivery is configured.
func (c Config) Enabled() bool { return c.Addr != "" }

// Sender sends messages over SMTP.
type Sender struct {
	cfg  Config
	host string
	from string // the envelope sender (MAIL FROM)
	tls  *tls.Config
	// remote treats a loopback server as another machine's (tests of the STARTTLS requirement).
	remote bool
}

// NewSender checks c and returns its sender.
func NewSender(c Config) (*Sender, error) {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("EGOV_SMTP_ADDR: %q: want host:port: %w", c.Addr, err)
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("EGOV_SMTP_FROM: %q: %w", c.From, err)
	}
	tc := c.TLS
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("EGOV_SMTP_CA_FILE: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("EGOV_SMTP_CA_FILE: %s holds no PEM certificate", c.CAFile)
			}
			tc.RootCAs = pool
		}
	}
	tc = tc.Clone()
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return &Sender{cfg: c, host: host, from: from.Address, tls: tc}, nil
}

// From is the sender's From header.
func (s *Sender) From() string { return s.cfg.From }

// Error is a failed send. Its text never holds the recipient's address (a server's answer often
// repeats it): it is masked.
type Error struct {
	// Code is the server's reply code, 0 when the failure was not an answer (a network error).
	Code int
	msg  string
}

func (e *Error) Error() string { return e.msg }

// Permanent reports whether the server refused for good (a 5xx answer: no such mailbox, message
// refused): sending again would be refused again.
func (e *Error) Permanent() bool { return e.Code >= 500 }

// Permanent reports whether err is a refusal for good (see Error.Permanent).
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent()
}

// Send delivers msg to one recipient: EHLO, STARTTLS whenever offered (required of a server on another
// machine unless AllowPlain), AUTH when configured, MAIL, RCPT, DATA. ctx bounds the whole conversation.
func (s *Sender) Send(ctx context.Context, to string, msg []byte) error {
	if CheckAddress(to) != nil {
		return &Error{Code: 0, msg: "mail: recipient: " + ErrAddress.Error()}
	}
	err := s.send(ctx, to, msg)
	if err == nil {
		return nil
	}
	out := &Error{msg: "mail: send to " + Mask(to) + ": " + scrub(err.Error(), to)}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		out.Code = tp.Code
	}
	return out
}

func (s *Sender) send(ctx context.Context, to string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	// The conversation ends with ctx: a server that stops answering holds no worker.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }() // after QUIT the connection is closed already
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	} else if (s.remote || !loopback(s.host)) && !s.cfg.AllowPlain {
		return fmt.Errorf("the server %s offers no STARTTLS: a message with personal data is not sent in the clear (EGOV_SMTP_ALLOW_PLAIN)", s.cfg.Addr)
	}
	if s.cfg.User != "" {
		// PlainAuth itself refuses to send the password without TLS, except to this machine.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.User, s.cfg.Password.Value(), s.host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The message is accepted once DATA's answer came; a failed QUIT loses nothing.
	_ = c.Quit()
	return nil
}

// loopback is a server on this machine: a conversation with it never leaves the machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
