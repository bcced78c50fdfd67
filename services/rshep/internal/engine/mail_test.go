package engine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
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
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mail"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// syncBuffer is a log output written by several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mailDrop runs the dev mode's mail server (go-smtp) on a loopback port for t.
func mailDrop(t *testing.T) (addr, dir string) {
	t.Helper()
	dir = t.TempDir()
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
	return l.Addr().String(), dir
}

func letters(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	return files
}

// attachmentsOf parses a stored message into its attachments by name.
func attachmentsOf(t *testing.T, raw []byte) (*netmail.Message, map[string][]byte) {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	r := multipart.NewReader(m.Body, params["boundary"])
	out := map[string][]byte{}
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
		dec, err := decodeFolded(b)
		require.NoError(t, err)
		out[p.FileName()] = dec
	}
	return m, out
}

// TestDisabledChildrenResultByEmail: passport 51 e-mails the issued result to the address given with
// consent — once, through the real SMTP server, with the documents whose signatures verify from the
// attachments — and refuses an address without consent at intake; the address is in no log line.
func TestDisabledChildrenResultByEmail(t *testing.T) {
	s := start(t)
	addr, dir := mailDrop(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sender, err := mail.NewSender(mail.Config{SMTP: config.SMTP{Addr: addr, From: "egov <noreply@egov.localhost>"}})
	require.NoError(t, err)
	outbox := mail.NewOutbox(s.db, sender, "egov <noreply@egov.localhost>", s.clock.Now, log)
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	e, err := engine.New(engine.Options{Catalog: cat, Nodes: s.nodes, DB: s.db, Registries: engine.ShepRegistries{Nodes: s.nodes},
		Now: s.clock.Now, Log: log, Worker: "mailer", VerifyURL: verifyBase, Mail: outbox})
	require.NoError(t, err)
	require.NoError(t, e.RecordPassports(t.Context()))
	s.live.Store(e)
	t.Cleanup(func() { s.live.Store(s.eng) })

	const address = "asel.akhmetova@example.kz"
	docs := []*applicationv1.SubmittedDocument{}
	for _, d := range []string{"birth_certificate", "residence", "ppk_conclusion", "disability_certificate", "bank_account_document"} {
		sum := sha256.Sum256([]byte(d))
		docs = append(docs, &applicationv1.SubmittedDocument{Id: d, Attachment: &envelopev1.Attachment{Name: d + ".pdf",
			MediaType: "application/pdf", Size: 1024, Sha256: sum[:], ObjectKey: "sha256-" + d}})
	}
	form := func(extra map[string]string) application {
		f := map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN, "bank_account": "KZ86125KZT5004100100"}
		for k, v := range extra {
			f[k] = v
		}
		return application{service: "disabled-children-home-education", region: "51", channel: portal, applicant: "880512400011",
			fields: f, documents: docs, signer: s.citizen(t, "880512400011")}
	}
	decide := func(t *testing.T, id string, outcome string) *engine.Case {
		s.waitFor(t, id, "REGISTERED", "IN_PROGRESS")
		c := s.caseOf(t, id)
		require.NoError(t, s.actWith(t, e, c, "officer", engine.Action{Kind: "complete", Step: "examine"}))
		a := engine.Action{Kind: "decide", Step: "commission", Outcome: outcome}
		status := "APPROVED"
		if outcome == engine.Refuse {
			a.RefusalCode, a.Comment, status = "documents_irregular", "заключение ПМПК просрочено", "REFUSED"
		}
		require.NoError(t, s.actWith(t, e, c, "head", a))
		require.NoError(t, s.actWith(t, e, c, "officer", engine.Action{Kind: "sign", Step: "sign"}))
		s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", status, "RESULT_ISSUED")
		return s.get(t, c)
	}

	t.Run("ok/approved: the result e-mailed once with its signed documents", func(t *testing.T) {
		id := s.send(t, form(map[string]string{"email": address, "email_consent": "yes"}))
		c := decide(t, id, engine.Approve)
		n, err := outbox.SendOnce(t.Context(), 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = outbox.SendOnce(t.Context(), 10)
		require.NoError(t, err)
		require.Zero(t, n, "sent once, never again")
		files := letters(t, dir)
		require.Len(t, files, 1)
		raw, err := os.ReadFile(files[0])
		require.NoError(t, err)
		require.Contains(t, string(raw), "X-Egov-Envelope-To: "+address)
		hdr, got := attachmentsOf(t, raw)
		require.Equal(t, "<"+c.Number+".result@rshep-51.egov>", hdr.Header.Get("Message-Id"))
		doc := c.Docs()[0]
		base := c.Number + "-" + doc.ID
		require.Equal(t, doc.Content, got[base+".txt"], "the signed document, intact")
		require.Equal(t, doc.Printable, got[base+".pdf"], "the printable form, intact")
		v := s.ca.Verifier(t, s.ca.Checker(time.Minute))
		res, err := v.Verify(t.Context(), got[base+".txt"], got[base+".txt.p7s"], envelope.Expect{Purpose: envelope.PurposeDocument})
		require.NoError(t, err, "the officer's signature verifies from the attachments")
		require.Equal(t, "750723300016", res.Holder.IIN)
		_, err = v.Verify(t.Context(), got[base+".pdf"], got[base+".pdf.p7s"], envelope.Expect{Purpose: envelope.PurposeIssued})
		require.NoError(t, err, "the node's seal on the PDF verifies from the attachments")
		ds, err := outbox.Deliveries(t.Context(), "rshep/case/")
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, "a***@***.kz", ds[0].To)
		require.NotNil(t, ds[0].SentAt)
	})

	t.Run("ok/refused by the commission: the motivated refusal e-mailed too", func(t *testing.T) {
		before := len(letters(t, dir))
		id := s.send(t, form(map[string]string{"email": "  " + address + " ", "email_consent": "yes"}))
		c := decide(t, id, engine.Refuse)
		n, err := outbox.SendOnce(t.Context(), 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Len(t, letters(t, dir), before+1)
		require.Equal(t, "refusal", c.Docs()[0].Kind)
	})

	t.Run("ok/no address: no e-mail", func(t *testing.T) {
		before := len(letters(t, dir))
		id := s.send(t, form(map[string]string{"email_consent": "no"}))
		decide(t, id, engine.Approve)
		n, err := outbox.SendOnce(t.Context(), 10)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Len(t, letters(t, dir), before)
	})

	for name, tc := range map[string]struct {
		fields map[string]string
		want   mail.Text
	}{
		"fail/an address without consent is refused at intake": {fields: map[string]string{"email": address, "email_consent": "no"}, want: mail.ConsentProblem},
		"fail/an address with the consent left out":            {fields: map[string]string{"email": address}, want: mail.ConsentProblem},
		"fail/two addresses":                                   {fields: map[string]string{"email": address + ", x@example.kz", "email_consent": "yes"}, want: mail.AddressProblem},
	} {
		t.Run(name, func(t *testing.T) {
			id := s.send(t, form(tc.fields))
			s.waitFor(t, id, "REFUSED")
			n := s.last(id)
			require.Equal(t, "documents_irregular", n.GetRefusalCode())
			require.Equal(t, tc.want.RU, n.GetCommentText().GetRu())
			require.Equal(t, tc.want.KK, n.GetCommentText().GetKk())
			_, err := e.ByApplication(t.Context(), id)
			require.ErrorIs(t, err, engine.ErrNotFound, "nothing kept: not registered")
		})
	}

	require.NotEmpty(t, logs.String())
	require.NotContains(t, logs.String(), address, "the address is in no log line")
	require.NotContains(t, logs.String(), "asel.akhmetova")
	require.Contains(t, logs.String(), "a***@***.kz", "the mask is")
}

func decodeFolded(b []byte) ([]byte, error) {
	s := strings.NewReplacer("\r", "", "\n", "").Replace(string(b))
	return base64.StdEncoding.DecodeString(s)
}
