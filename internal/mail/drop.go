package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Drop is a local mail server for the dev mode and for tests: it accepts mail for anyone and stores
// each message as an .eml file (readable by its owner only: the messages carry personal data) in Dir,
// for QA to read. It is the go-smtp server, the same library a real relay could be built on.
type Drop struct {
	Dir string
	// TLS, when set, is offered with STARTTLS.
	TLS *tls.Config
	// MaxBytes bounds a message (25 MiB when 0).
	MaxBytes int64
	Log      *slog.Logger

	mu  sync.Mutex
	seq int
	srv *smtp.Server
}

// Serve accepts connections on l until ctx ends.
func (d *Drop) Serve(ctx context.Context, l net.Listener) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("mail drop: %w", err)
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, secure := c.TLSConnectionState()
		return &dropSession{d: d, secure: secure}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = d.TLS
	s.MaxRecipients = 50
	s.MaxMessageBytes = d.MaxBytes
	if s.MaxMessageBytes == 0 {
		s.MaxMessageBytes = 25 << 20
	}
	s.ReadTimeout, s.WriteTimeout = 5*time.Minute, 5*time.Minute
	// The library logs its connection errors with the standard logger: they go to the service's log.
	s.ErrorLog = log.New(slogWriter{d.Log}, "", 0)
	d.mu.Lock()
	d.srv = s
	d.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	err := s.Serve(l)
	if ctx.Err() != nil || errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// store writes one message to a new file, atomically (a reader never sees half a message).
func (d *Drop) store(b []byte) (string, error) {
	d.mu.Lock()
	d.seq++
	name := fmt.Sprintf("%s-%04d.eml", time.Now().UTC().Format("20060102T150405.000000000Z"), d.seq)
	d.mu.Unlock()
	tmp, err := os.CreateTemp(d.Dir, ".incoming-*")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone already after the rename
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(d.Dir, name)
	return path, os.Rename(tmp.Name(), path)
}

type dropSession struct {
	d      *Drop
	secure bool
	from   string
	to     []string
}

func (s *dropSession) Reset()        { s.from, s.to = "", nil }
func (s *dropSession) Logout() error { return nil }

func (s *dropSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *dropSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *dropSession) Data(r io.Reader) error {
	var b bytes.Buffer
	// As a relay records it: whether the message crossed TLS (ESMTPS, RFC 3848).
	with := "ESMTP"
	if s.secure {
		with = "ESMTPS"
	}
	fmt.Fprintf(&b, "Received: by localhost (egov dev mail drop) with %s\r\n", with)
	// The envelope's recipients, as a relay would record them (the headers may name others).
	for _, to := range s.to {
		fmt.Fprintf(&b, "X-Egov-Envelope-To: %s\r\n", to)
	}
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	path, err := s.d.store(b.Bytes())
	if err != nil {
		s.d.Log.Error("mail drop: the message could not be stored", "error", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store the message now"}
	}
	s.d.Log.Info("mail drop: message stored", "file", filepath.Base(path), "recipients", len(s.to))
	return nil
}

// slogWriter turns the library's log lines into the service's warnings.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("mail drop", "detail", string(bytes.TrimSpace(p)))
	return len(p), nil
}
