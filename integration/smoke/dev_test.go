// Package smoke checks the README's first command: egov dev starts, answers, stops cleanly and keeps
// its data for the next run.
package smoke

import (
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
)

func TestDevStartsStopsAndKeepsData(t *testing.T) {
	dir, err := os.MkdirTemp("", "egov-smoke-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))

	dev := harness.StartDev(t, dir)
	t.Logf("every service ready %v after start", dev.Ready)
	require.Contains(t, dev.Stdout(), "egov dev is ready")
	require.Contains(t, dev.Stdout(), dev.Endpoints.NATS)
	require.NotEmpty(t, dev.Endpoints.Postgres)
	for name, e := range dev.Endpoints.Services {
		require.NotEmpty(t, e.HTTP, name)
		require.NotEmpty(t, e.GRPC, name)
		require.Contains(t, dev.Stdout(), e.HTTP)
	}

	// What egov dev prints is kept as a log here (a pipe, not a terminal): no full IIN in it; the data
	// folder and the files with NATS passwords are the owner's only.
	require.Contains(t, dev.Stdout(), "88********11")
	require.False(t, regexp.MustCompile(`(^|[^0-9])[0-9]{12}([^0-9]|$)`).MatchString(dev.Stdout()), "a full IIN in the output:\n%s", dev.Stdout())
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Zero(t, fi.Mode().Perm()&0o066, "the data folder is not readable by others: %v", fi.Mode().Perm())
	for _, name := range []string{"endpoints.json", "nats-credentials.json"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}

	require.Contains(t, dev.Endpoints.Services, "nca")
	for _, name := range []string{"nca", "shep"} {
		require.NotEmpty(t, dev.Endpoints.Services[name].Admin, "%s's admin listener is in endpoints.json", name)
	}
	// The mail drop: named in the summary and endpoints.json, it takes a message for anyone and stores it
	// in the data folder for the owner alone.
	require.Equal(t, filepath.Join(dir, "mail"), dev.Endpoints.MailDir)
	require.Contains(t, dev.Stdout(), "Почта: "+dev.Endpoints.SMTP+", письма в "+dev.Endpoints.MailDir)
	smtpAddr := strings.TrimPrefix(dev.Endpoints.SMTP, "smtp://")
	require.NoError(t, smtp.SendMail(smtpAddr, nil, "noreply@egov.localhost", []string{"qa@example.kz"},
		[]byte("Subject: smoke\r\n\r\nПроверка почты\r\n")))
	letters, err := filepath.Glob(filepath.Join(dev.Endpoints.MailDir, "*.eml"))
	require.NoError(t, err)
	require.Len(t, letters, 1, "stored before the server answered the message")
	fi, err = os.Stat(letters[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	letter, err := os.ReadFile(letters[0])
	require.NoError(t, err)
	require.Contains(t, string(letter), "Проверка почты")

	root1, err := os.ReadFile(filepath.Join(dir, "keys", "root.pem"))
	require.NoError(t, err, "egov dev seeds the demo key files")
	require.Contains(t, dev.Stdout(), "citizen-akhmetova-SIGN.p12")

	// The CLI signs with a demo key file and verifies against the running НУЦ (OCSP included).
	doc := filepath.Join(dir, "заявление.txt")
	require.NoError(t, os.WriteFile(doc, []byte("Прошу выдать справку"), 0o600))
	eps := filepath.Join(dir, "endpoints.json")
	sig := doc + ".p7s"
	cli := func(args ...string) (string, error) {
		p := harness.Start(t, nil, args...)
		err := p.Wait(60 * time.Second)
		return p.Stdout() + p.Stderr(), err
	}
	out, err := cli("sign", "--p12", filepath.Join(dir, "keys", "citizen-akhmetova-SIGN.p12"), "--password", "egov-demo", "--in", doc, "--out", sig)
	require.NoError(t, err, out)
	out, err = cli("verify", "--in", doc, "--sig", sig, "--iin", "880512400011", "--endpoints", eps)
	require.NoError(t, err, out)
	require.Contains(t, out, "good (ocsp)")
	out, err = cli("verify", "--in", doc, "--sig", sig, "--iin", "841103300017", "--endpoints", eps)
	require.Error(t, err, "a mismatched IIN exits non-zero")
	require.Contains(t, out, "IIN_MISMATCH")
	require.Contains(t, out, "не подтверждением подлинности ЭЦП")
	out, err = cli("sign", "--p12", filepath.Join(dir, "keys", "citizen-akhmetova-SIGN.p12"), "--password", "wrong", "--in", doc, "--out", sig)
	require.Error(t, err)
	require.Contains(t, out, "wrong password")

	// ШЭП knows the suite's systems; its message log verifies; each participant's NATS user reaches only
	// its own subjects.
	out, err = cli("shep", "participant", "list", "--endpoints", eps)
	require.NoError(t, err, out)
	for _, id := range []string{"portal", "tson", "rshep-55", "gbdfl", "enis"} {
		require.Contains(t, out, id)
	}
	out, err = cli("shep", "log", "verify", "--endpoints", eps)
	require.NoError(t, err, out)
	require.Contains(t, out, "every link holds")
	nc, err := nats.Connect(dev.Endpoints.NATSUsers["portal"], nats.CustomInboxPrefix("_INBOX_portal"))
	require.NoError(t, err)
	defer nc.Close()
	denied := make(chan error, 4)
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied <- err })
	require.NoError(t, nc.Publish("shep.in.rshep-55", []byte("bypass ШЭП")))
	require.NoError(t, nc.Flush())
	select {
	case err := <-denied:
		require.ErrorIs(t, err, nats.ErrPermissionViolation)
	case <-time.After(10 * time.Second):
		t.Fatal("the portal's NATS user published to another participant's subject")
	}

	conn, err := pgx.Connect(t.Context(), dev.Endpoints.Postgres)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `CREATE TABLE public.smoke (v text); INSERT INTO public.smoke VALUES ('kept')`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))

	// A second dev run on the same folder is refused while the first holds it.
	second := harness.Start(t, nil, "dev", "--data-dir", dir, "--base-port", "0")
	require.Error(t, second.Wait(60*time.Second))
	require.Contains(t, second.Stderr(), "in use by another egov dev")

	require.NoError(t, dev.Interrupt(60*time.Second), "Ctrl-C must stop everything cleanly")
	_, err = os.Stat(filepath.Join(dir, "postgres", "data", "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "PostgreSQL must be stopped with the process")
	for _, l := range harness.Lines(dev.Stderr()) {
		require.NotEqual(t, "ERROR", l["level"], "clean stop logged an error: %v", l)
	}

	again := harness.StartDev(t, dir)
	conn, err = pgx.Connect(t.Context(), again.Endpoints.Postgres)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var v string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT v FROM public.smoke`).Scan(&v))
	require.Equal(t, "kept", v)
	root2, err := os.ReadFile(filepath.Join(dir, "keys", "root.pem"))
	require.NoError(t, err)
	require.Equal(t, root1, root2, "the second run keeps НУЦ's root and the demo keys")
	// The keys of the first run name its НУЦ's port in their OCSP and CRL URLs; on new ports the suite
	// still checks them (the dev mode asks its current НУЦ): a citizen signs in by certificate, applies,
	// and every application reaches its result.
	load := harness.Start(t, nil, "loadgen", "--endpoints", filepath.Join(dir, "endpoints.json"), "--applications", "3", "--concurrency", "1")
	require.NoError(t, load.Wait(3*time.Minute), "loadgen after a restart on new ports:\n%s\n%s", load.Stdout(), load.Stderr())
	require.Contains(t, load.Stdout(), "3 reached a final state")
	// ШЭП's message log is anchored: a checkpoint signed by ШЭП and time-stamped by the running НУЦ's
	// TSA (on its new port), which verify then checks.
	out, err = cli("shep", "log", "checkpoint", "--endpoints", eps)
	require.NoError(t, err, out)
	require.Regexp(t, `checkpoint [1-9][0-9]*`, out)
	out, err = cli("shep", "log", "verify", "--endpoints", eps)
	require.NoError(t, err, out)
	require.Regexp(t, `every link holds; [1-9][0-9]* checkpoints signed by ШЭП and time-stamped by НУЦ`, out)
	require.NoError(t, again.Interrupt(60*time.Second))
}
