package intake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
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

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/mail"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// withMail gives w's intake the e-mail of results through the dev mode's mail server (go-smtp) on a
// loopback port; it returns the folder the server stores the letters in, and the captured log.
func withMail(t *testing.T, w *world) (string, *mail.Outbox, *logBuffer) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&mail.Drop{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Serve(ctx, l)
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sender, err := mail.NewSender(mail.Config{SMTP: config.SMTP{Addr: l.Addr().String(), From: "egov <noreply@egov.localhost>"}})
	require.NoError(t, err)
	o := mail.NewOutbox(w.in.DB, sender, "egov <noreply@egov.localhost>", func() time.Time { return t0 }, log)
	w.in.Mail = &intake.Mailing{Outbox: o, Log: log}
	return dir, o, logs
}

// letters are the stored messages' attachments by name, in the order received.
func letters(t *testing.T, dir string) []map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	var out []map[string][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		m, err := netmail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		require.NoError(t, err)
		r := multipart.NewReader(m.Body, params["boundary"])
		got := map[string][]byte{"": raw}
		for {
			p, err := r.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			b, err := io.ReadAll(p)
			require.NoError(t, err)
			if p.FileName() == "" {
				continue
			}
			dec, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
			require.NoError(t, err)
			got[p.FileName()] = dec
		}
		out = append(out, got)
	}
	return out
}

const address = "parent.astana@example.kz"

func withEmail(a *applicationv1.Application, email, consent string) *applicationv1.Application {
	a.Fields[intake.FieldEmail], a.Fields[intake.FieldEmailConsent] = email, consent
	return a
}

// TestResultsByEmail: a signed decision, and a referral the queue gives later, are e-mailed once to the
// address the applicant gave with consent, with the document, its signature and the printable form; an
// address without consent is not kept and nothing is sent; the address is in no log line.
func TestResultsByEmail(t *testing.T) {
	t.Parallel()
	born := t0.AddDate(-3, -1, 0)
	kids := []string{"230801500001", "230801500002", "230801500003"}
	reg := register{}
	for _, k := range kids {
		reg[k] = person(k, born, false, parent)
	}
	w := setup(t, reg)
	w.in.VerifyURL = "https://portal.example.kz"
	dir, outbox, logs := withMail(t, w)
	ctx := t.Context()

	// Consent given: the ticket signed goes by e-mail, once.
	_, err := w.in.Receive(ctx, portal, withEmail(application("a1", kids[0], applicationv1.Channel_CHANNEL_PORTAL), address, "yes"), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	require.Equal(t, address, c.Email)
	// No consent: the address is not kept, nothing is owed.
	_, err = w.in.Receive(ctx, portal, withEmail(application("a2", kids[1], applicationv1.Channel_CHANNEL_PORTAL), "other@example.kz", "no"), t0.Add(time.Minute))
	require.NoError(t, err)
	c2 := w.caseOf(t, "portal", "a2")
	require.Empty(t, c2.Email)

	d, err := w.sign(t, c.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	_, err = w.sign(t, c2.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	n, err := outbox.SendOnce(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "one letter: the case with consent")
	n, err = outbox.SendOnce(ctx, 10)
	require.NoError(t, err)
	require.Zero(t, n, "sent once")
	got := letters(t, dir)
	require.Len(t, got, 1)
	ticket := got[0]
	require.Contains(t, string(ticket[""]), "X-Egov-Envelope-To: "+address)
	require.Contains(t, string(ticket[""]), "Message-ID: <EA-2026-000001.2@eastana.egov>")
	require.Equal(t, d.Content, ticket["EA-2026-000001-"+documents.KindTicket+".txt"], "the signed ticket, intact")
	res, err := w.in.Verifier.Verify(ctx, ticket["EA-2026-000001-"+documents.KindTicket+".txt"], ticket["EA-2026-000001-"+documents.KindTicket+".txt.p7s"],
		envelope.Expect{Purpose: envelope.PurposeDocument, IIN: w.mio.IIN})
	require.NoError(t, err, "the employee's signature verifies from the attachments")
	require.Equal(t, w.mio.IIN, res.Holder.IIN)
	_, err = w.in.Verifier.Verify(ctx, ticket["EA-2026-000001-"+documents.KindTicket+".pdf"], ticket["EA-2026-000001-"+documents.KindTicket+".pdf.p7s"],
		envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err, "the printable form's seal verifies from the attachments")

	// A place freed later: the referral the queue gives on its own is e-mailed too.
	ids, _, err := w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: 1}}}, "МИО", t0)
	require.NoError(t, err)
	_, err = w.s.Release(ctx, ids[0], 1, "Сарсенова Д. Ж.", t0.Add(2*time.Hour))
	require.NoError(t, err)
	var out outboxOf
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	n, err = outbox.SendOnce(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got = letters(t, dir)
	require.Len(t, got, 2)
	var referral map[string][]byte
	for _, g := range got {
		if _, ok := g["EA-2026-000001-"+documents.KindReferral+".txt"]; ok {
			referral = g
		}
	}
	require.NotNil(t, referral, "the referral's letter")
	_, err = w.in.Verifier.Verify(ctx, referral["EA-2026-000001-"+documents.KindReferral+".txt"], referral["EA-2026-000001-"+documents.KindReferral+".txt.p7s"],
		envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err, "sealed by ИС Е-Астана")

	ds, err := outbox.Deliveries(ctx, "eastana/case/")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	for _, dl := range ds {
		require.Equal(t, "p***@***.kz", dl.To)
		require.NotNil(t, dl.SentAt)
	}
	require.NotEmpty(t, logs.String())
	require.NotContains(t, logs.String(), address, "the address is in no log line")
	require.NotContains(t, logs.String(), "parent.astana")
}

// TestResultsByEmailBadAddress: an address kept with the consent that is not one address sends nothing
// and says so in the log, masked; the decision is issued all the same.
func TestResultsByEmailBadAddress(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	dir, outbox, logs := withMail(t, w)
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, withEmail(application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), "parent.astana@", "yes"), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	_, err = w.sign(t, c.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	got, err := w.in.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "issued", got.State)
	n, err := outbox.SendOnce(ctx, 10)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, letters(t, dir))
	require.Contains(t, logs.String(), "not one address")
	require.NotContains(t, logs.String(), "parent.astana")
}

// outboxOf collects the notifications ForwardOnce sends.
type outboxOf struct {
	sent []*applicationv1.StatusNotification
}

func (o *outboxOf) send(_ context.Context, _ intake.Origin, n *applicationv1.StatusNotification) error {
	o.sent = append(o.sent, n)
	return nil
}
