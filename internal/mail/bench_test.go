package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/mail"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

// BenchmarkComposeAndSend: one result's letter (the text, its signature and a 100 KB PDF) composed
// (compose), and delivered to the local drop over a fresh SMTP conversation with the file written (send):
// what a result's e-mail costs besides the outbox's database work.
func BenchmarkComposeAndSend(b *testing.B) {
	dir := b.TempDir()
	var lc net.ListenConfig
	l, err := lc.Listen(b.Context(), "tcp", "127.0.0.1:0")
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&mail.Drop{Dir: dir, Log: slog.New(slog.DiscardHandler)}).Serve(ctx, l) }()
	defer func() { cancel(); require.NoError(b, <-done) }()
	s, err := mail.NewSender(mail.Config{SMTP: config.SMTP{Addr: l.Addr().String(), From: "noreply@egov.localhost"}})
	require.NoError(b, err)
	ca := ncatest.New(b)
	doc := bytes.Repeat([]byte("Уведомление об оформлении документов. "), 40)
	sig, err := ca.Person(b, "880512400011", pki.Sign).Sign(doc)
	require.NoError(b, err)
	m := mail.Message{ID: "51-2026-000001.result@rshep-51.egov", From: "noreply@egov.localhost", To: "asel@example.kz",
		Subject: mail.Text{RU: "Результат", KK: "Нәтиже"}, Body: mail.Text{RU: "Во вложении.", KK: "Тіркемеде."},
		Attachments: []mail.Attachment{{Name: "r.txt", MediaType: "text/plain; charset=utf-8", Content: doc},
			{Name: "r.txt.p7s", MediaType: "application/pkcs7-signature", Content: sig},
			{Name: "r.pdf", MediaType: "application/pdf", Content: bytes.Repeat([]byte{0x25, 0x50, 0x44, 0x46, 0, 0xff}, 100_000/6)}}}
	b.Run("compose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mail.Compose(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw, err := mail.Compose(m)
	require.NoError(b, err)
	b.Run("send", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Send(b.Context(), m.To, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
