package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const to = "asel.akhmetova@example.kz"

// drop starts the real go-smtp server (the dev mode's drop) on a loopback port for t.
func drop(t *testing.T, tc *tls.Config) (addr, dir string) {
	t.Helper()
	dir = t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	d := &mail.Drop{Dir: dir, TLS: tc}
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done) // Serve returns nil once closed
	})
	return l.Addr().String(), dir
}

// serverTLS is a certificate for 127.0.0.1, and a client configuration trusting it.
func serverTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// received reads the one message in dir.
func received(t *testing.T, dir string) []byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	st, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a stored message is its owner's only")
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	return b
}

// parts parses a received message into its text and its attachments by file name.
func parts(t *testing.T, raw []byte) (*netmail.Message, string, map[string][]byte) {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mt)
	r := multipart.NewReader(m.Body, params["boundary"])
	text, files := "", map[string][]byte{}
	for {
		p, err := r.NextPart() // decodes quoted-printable; base64 is decoded below
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		if name := p.FileName(); name != "" {
			require.Equal(t, "base64", p.Header.Get("Content-Transfer-Encoding"))
			dec := make([]byte, len(b))
			n, err := decodeBase64(b, dec)
			require.NoError(t, err)
			files[name] = dec[:n]
			continue
		}
		text = string(b)
	}
	return m, text, files
}

func message(t *testing.T, signer *envelope.Signer) (mail.Message, []byte) {
	t.Helper()
	doc := []byte("Уведомление № 51-2026-000007\nДокументы оформлены.\nҚұжаттар ресімделді.\n")
	sig, err := signer.Sign(doc)
	require.NoError(t, err)
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n'}, 200)...) // binary, CR LF inside
	return mail.Message{ID: "51-2026-000007.certificate@rshep-51.egov", From: "ЭГОВ <noreply@egov.localhost>", To: to,
		Subject: mail.Text{RU: "Результат услуги № 51-2026-000007", KK: "№ 51-2026-000007 қызмет нәтижесі"},
		Body:    mail.Text{RU: "Здравствуйте! Результат во вложении.", KK: "Сәлеметсіз бе! Нәтиже тіркемеде."},
		Date:    time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Attachments: []mail.Attachment{
			{Name: "51-2026-000007-certificate.txt", MediaType: "text/plain; charset=utf-8", Content: doc},
			{Name: "51-2026-000007-certificate.txt.p7s", MediaType: "application/pkcs7-signature", Content: sig},
			{Name: "51-2026-000007-certificate.pdf", MediaType: "application/pdf", Content: pdf},
		}}, pdf
}

func TestSend(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	signer := ca.Person(t, "880512400011", pki.Sign)
	verifier := ca.Verifier(t, ca.Checker(time.Minute))
	srvTLS, cliTLS := serverTLS(t)
	for name, tc := range map[string]struct {
		offerTLS, trust bool
		wantTLS         bool
		fail            string
	}{
		"ok/plain to a server on this machine that offers no STARTTLS": {},
		"ok/STARTTLS when the server offers it":                        {offerTLS: true, trust: true, wantTLS: true},
		"fail/STARTTLS with a certificate not trusted":                 {offerTLS: true, fail: "STARTTLS"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var st *tls.Config
			if tc.offerTLS {
				st = srvTLS
			}
			addr, dir := drop(t, st)
			cfg := mail.Config{SMTP: config.SMTP{Addr: addr, From: "ЭГОВ <noreply@egov.localhost>"}, TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
			if tc.trust {
				cfg.TLS = cliTLS
			}
			s, err := mail.NewSender(cfg)
			require.NoError(t, err)
			m, pdf := message(t, signer)
			raw, err := mail.Compose(m)
			require.NoError(t, err)
			err = s.Send(t.Context(), to, raw)
			if tc.fail != "" {
				require.ErrorContains(t, err, tc.fail)
				require.NotContains(t, err.Error(), to, "the address is masked in errors")
				files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
				require.Empty(t, files, "nothing delivered in the clear")
				return
			}
			require.NoError(t, err)
			got := received(t, dir)
			require.Contains(t, string(got), "X-Egov-Envelope-To: "+to+"\r\n")
			hdr, text, files := parts(t, got)
			require.Equal(t, "<"+m.ID+">", hdr.Header.Get("Message-Id"))
			subject, err := new(mime.WordDecoder).DecodeHeader(hdr.Header.Get("Subject"))
			require.NoError(t, err)
			require.Equal(t, "Результат услуги № 51-2026-000007 / № 51-2026-000007 қызмет нәтижесі", subject)
			require.Contains(t, text, "Результат во вложении.")
			require.Contains(t, text, "Нәтиже тіркемеде.")
			require.Len(t, files, 3)
			require.Equal(t, m.Attachments[0].Content, files["51-2026-000007-certificate.txt"], "the signed document intact")
			require.Equal(t, pdf, files["51-2026-000007-certificate.pdf"], "the printable form intact, byte for byte")
			res, err := verifier.Verify(t.Context(), files["51-2026-000007-certificate.txt"], files["51-2026-000007-certificate.txt.p7s"],
				envelope.Expect{Purpose: envelope.PurposeDocument, IIN: "880512400011"})
			require.NoError(t, err, "the signature from the attachment verifies the document from the attachment")
			require.Equal(t, "880512400011", res.Holder.IIN)
			if tc.wantTLS {
				require.Contains(t, string(got), " with ESMTPS", "the message crossed STARTTLS")
			} else {
				require.Contains(t, string(got), " with ESMTP\r\n")
			}
		})
	}
}

// TestSendRequiresTLSOfARemoteServer: a server on another machine that offers no STARTTLS gets no
// message (the address and documents are personal data), unless the operator allows it.
func TestSendRequiresTLSOfARemoteServer(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		allow bool
		fail  string
	}{
		"fail/no STARTTLS offered": {fail: "offers no STARTTLS"},
		"ok/EGOV_SMTP_ALLOW_PLAIN": {allow: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, dir := drop(t, nil)
			_, port, err := net.SplitHostPort(addr)
			require.NoError(t, err)
			// The test's server listens on the loopback; the sender is told to treat it as another
			// machine's (a non-loopback address is not portable across test machines).
			cfg := mail.Config{SMTP: config.SMTP{Addr: net.JoinHostPort("127.0.0.1", port), From: "noreply@egov.localhost", AllowPlain: tc.allow}}
			s, err := mail.NewSender(cfg)
			require.NoError(t, err)
			s.TreatAsRemote()
			m, _ := message(t, ncatest.New(t).Person(t, "880512400011", pki.Sign))
			raw, err := mail.Compose(m)
			require.NoError(t, err)
			err = s.Send(t.Context(), to, raw)
			files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			if tc.fail != "" {
				require.ErrorContains(t, err, tc.fail)
				require.Empty(t, files)
				return
			}
			require.NoError(t, err)
			require.Len(t, files, 1)
		})
	}
}

func TestCheckForm(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		address, consent string
		want             mail.Text
	}{
		"ok/no address":                   {consent: "no"},
		"ok/an address with consent":      {address: to, consent: "yes"},
		"fail/an address without consent": {address: to, consent: "no", want: mail.ConsentProblem},
		"fail/consent not given at all":   {address: to, want: mail.ConsentProblem},
		"fail/two addresses":              {address: to + ", b@example.kz", consent: "yes", want: mail.AddressProblem},
		"fail/a name and an address":      {address: "Асель <" + to + ">", consent: "yes", want: mail.AddressProblem},
		"fail/no domain":                  {address: "asel@localhost", consent: "yes", want: mail.AddressProblem},
		"fail/a header injection":         {address: to + "\r\nBcc: x@example.kz", consent: "yes", want: mail.AddressProblem},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			problem, ok := mail.CheckForm(tc.address, tc.consent)
			require.Equal(t, tc.want == mail.Text{}, ok)
			require.Equal(t, tc.want, problem)
			require.NotContains(t, problem.RU+problem.KK, "asel", "the problem never repeats the address")
		})
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"asel.akhmetova@example.kz": "a***@***.kz",
		"жанна@почта.қаз":           "ж***@***.қаз",
		"no-at-sign":                "***",
	} {
		require.Equal(t, want, mail.Mask(in), in)
	}
}

func TestComposeRefuses(t *testing.T) {
	t.Parallel()
	ok := mail.Message{ID: "x@egov", From: "noreply@egov.localhost", To: to}
	for name, change := range map[string]func(*mail.Message){
		"fail/a recipient that is no address": func(m *mail.Message) { m.To = "asel" },
		"fail/no message id":                  func(m *mail.Message) { m.ID = "" },
		"fail/an attachment name with a path": func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Name: "../x.txt", Content: []byte("x")}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := ok
			change(&m)
			_, err := mail.Compose(m)
			require.Error(t, err)
			require.NotContains(t, err.Error(), to)
		})
	}
	_, err := mail.Compose(ok)
	require.NoError(t, err)
}

// lockedBuffer is a slog output the outbox and the sender write to from one goroutine at a time.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// flaky is a real go-smtp server that refuses the first n messages (451, or 550 when permanent) with
// an answer that repeats the recipient, as real servers do, then accepts and counts.
type flaky struct {
	mu        sync.Mutex
	refuse    int
	permanent bool
	got       [][]byte
}

func (f *flaky) NewSession(*smtp.Conn) (smtp.Session, error) { return &flakySession{f: f}, nil }

type flakySession struct {
	f  *flaky
	to string
}

func (s *flakySession) Reset()                                    {}
func (s *flakySession) Logout() error                             { return nil }
func (s *flakySession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *flakySession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *flakySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.refuse > 0 {
		s.f.refuse--
		if s.f.permanent {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + s.to + ">: mailbox unavailable"}
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "<" + s.to + ">: try again later"}
	}
	s.f.got = append(s.f.got, b)
	return nil
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func serveFlaky(t *testing.T, f *flaky) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := smtp.NewServer(f)
	s.Domain = "localhost"
	s.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done) // Serve returns nil once closed
	})
	return l.Addr().String()
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		refuse    int
		permanent bool
		// sends are SendOnce's results in turn, each after the clock moved past the back-off.
		sends      []int
		wantGot    int
		wantParked bool
	}{
		"ok/sent once, and never again":                  {sends: []int{1, 0, 0}, wantGot: 1},
		"ok/a failed send retried after its back-off":    {refuse: 2, sends: []int{0, 0, 1, 0}, wantGot: 1},
		"fail/a refusal for good is parked, not retried": {refuse: 1, permanent: true, sends: []int{0, 0}, wantParked: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.Pool(t)
			_, err := pgdb.Migrate(t.Context(), db, "public", mail.Migrations())
			require.NoError(t, err)
			f := &flaky{refuse: tc.refuse, permanent: tc.permanent}
			s, err := mail.NewSender(mail.Config{SMTP: config.SMTP{Addr: serveFlaky(t, f), From: "noreply@egov.localhost"}})
			require.NoError(t, err)
			var logs lockedBuffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
			o := mail.NewOutbox(db, s, "ЭГОВ <noreply@egov.localhost>", func() time.Time { return now }, log)
			m, _ := message(t, ncatest.New(t).Person(t, "880512400011", pki.Sign))

			enqueue := func() bool {
				tx, err := db.Begin(t.Context())
				require.NoError(t, err)
				fresh, err := o.Enqueue(t.Context(), tx, "case/7/result", m)
				require.NoError(t, err)
				require.NoError(t, tx.Commit(t.Context()))
				return fresh
			}
			require.True(t, enqueue())
			require.False(t, enqueue(), "the same delivery owed twice is one row")

			for i, want := range tc.sends {
				n, err := o.SendOnce(t.Context(), 10)
				require.Equal(t, want, n, "round %d", i)
				if want == 0 && i < tc.refuse {
					require.Error(t, err, "round %d: the failure is reported", i)
					require.NotContains(t, err.Error(), to)
				}
				now = now.Add(time.Hour) // past any back-off
			}
			require.Equal(t, tc.wantGot, f.count(), "delivered exactly this many times")
			ds, err := o.Deliveries(t.Context(), "case/7/")
			require.NoError(t, err)
			require.Len(t, ds, 1)
			require.Equal(t, "a***@***.kz", ds[0].To)
			require.Equal(t, tc.wantParked, ds[0].ParkedAt != nil)
			require.Equal(t, tc.wantGot == 1, ds[0].SentAt != nil)
			if tc.wantGot == 1 {
				var kept *string
				require.NoError(t, db.QueryRow(t.Context(), `SELECT recipient FROM mail_outbox`).Scan(&kept))
				require.Nil(t, kept, "the address is forgotten once delivered")
				require.Contains(t, string(f.got[0]), "Message-ID: <"+m.ID+">")
			}
			require.NotEmpty(t, logs.String())
			require.NotContains(t, logs.String(), to, "the address never in the log")
			require.NotContains(t, logs.String(), "asel.akhmetova", "not even its mailbox")
			require.Contains(t, logs.String(), "a***@***.kz")
		})
	}
}

// decodeBase64 decodes the CRLF-folded base64 of a part.
func decodeBase64(in, out []byte) (int, error) {
	return base64.StdEncoding.Decode(out, []byte(strings.NewReplacer("\r", "", "\n", "").Replace(string(in))))
}

// TestOutboxSilentServer: a server that takes the connection and never answers costs the row an attempt
// when the conversation's bound ends; the worker is free for the next row.
func TestOutboxSilentServer(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c // accepted, never greeted
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		for len(held) > 0 {
			_ = (<-held).Close()
		}
	})
	db := pgtest.Pool(t)
	_, err = pgdb.Migrate(t.Context(), db, "public", mail.Migrations())
	require.NoError(t, err)
	s, err := mail.NewSender(mail.Config{SMTP: config.SMTP{Addr: l.Addr().String(), From: "noreply@egov.localhost"}})
	require.NoError(t, err)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	o := mail.NewOutbox(db, s, "noreply@egov.localhost", func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	o.SendTimeout = 200 * time.Millisecond // the bound under test; the server never answers, whatever it is
	m, _ := message(t, ncatest.New(t).Person(t, "880512400011", pki.Sign))
	tx, err := db.Begin(t.Context())
	require.NoError(t, err)
	_, err = o.Enqueue(t.Context(), tx, "silent", m)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(t.Context()))
	n, err := o.SendOnce(t.Context(), 10)
	require.Zero(t, n)
	require.Error(t, err)
	require.NotContains(t, err.Error(), to)
	ds, err := o.Deliveries(t.Context(), "silent")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, 1, ds[0].Attempts)
	require.Nil(t, ds[0].SentAt)
	require.Nil(t, ds[0].ParkedAt, "a silent server is not a refusal for good")
}
