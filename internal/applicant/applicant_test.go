package applicant_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	owner       = "880512400011"
	applicantID = "880512400011"
)

type fixture struct {
	desk    *applicant.Desk
	metrics *sdkmetric.ManualReader
	db      *pgxpool.Pool
	citizen *envelope.Signer
	proxy   *commitCutter
	ca      *ncatest.Authority
}

// setup is a portal desk on a fresh database, reached through a proxy that can lose a commit's answer.
func setup(t testing.TB) *fixture { return setupDesk(t, false) }

// setupDesk is setup, the desk the citizens' personal cabinet when cabinet is set.
func setupDesk(t testing.TB, cabinet bool) *fixture {
	t.Helper()
	proxy := cutCommits(t, pgtest.URL(t))
	db, err := pgdb.Open(t.Context(), proxy.url, "portal", 4)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	_, err = pgdb.Migrate(t.Context(), db, "portal", applicant.Migrations())
	require.NoError(t, err)
	ca := ncatest.New(t)
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	client := &shepsdk.Client{ID: "portal", Signer: ca.System(t, "portal"), Verifier: ca.Verifier(t, ca.Checker(time.Minute))}
	reader := sdkmetric.NewManualReader()
	desk, err := applicant.New(applicant.Options{Client: client, DB: db, Catalog: cat, Channel: applicationv1.Channel_CHANNEL_PORTAL, Cabinet: cabinet,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Meter: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("egov/portal")})
	require.NoError(t, err)
	return &fixture{desk: desk, metrics: reader, db: db, citizen: ca.Person(t, applicantID, pki.Sign), proxy: proxy, ca: ca}
}

func (f *fixture) draft(t *testing.T) string {
	t.Helper()
	id, err := f.desk.Draft(t.Context(), owner, &applicationv1.Application{ServiceCode: "guardianship-certificate", Region: "55",
		ApplicantIin: applicantID, Language: "ru", Fields: map[string]string{"applicant_iin": applicantID, "ward_iin": demo.WardIIN}})
	require.NoError(t, err)
	return id
}

func (f *fixture) submit(t *testing.T, id string) error {
	t.Helper()
	a, err := f.desk.Get(t.Context(), owner, id)
	require.NoError(t, err)
	sig, err := f.citizen.Sign(a.Content)
	require.NoError(t, err)
	return f.desk.Submit(t.Context(), owner, id, sig, envelope.Expect{IIN: applicantID})
}

// sent is the application's stored envelope and message id.
func (f *fixture) sent(t *testing.T, id string) ([]byte, string) {
	t.Helper()
	var (
		env []byte
		msg string
	)
	require.NoError(t, f.db.QueryRow(t.Context(), `SELECT envelope, message_id FROM applications WHERE id = $1`, id).Scan(&env, &msg))
	return env, msg
}

func (f *fixture) statuses(t *testing.T, id string) []string {
	t.Helper()
	ss, err := f.desk.Statuses(t.Context(), id)
	require.NoError(t, err)
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Status
	}
	return out
}

// TestSubmitWhoseCommitAnswerIsLost: the submission's COMMIT reaches PostgreSQL and commits, and the
// connection breaks before its answer comes back. The citizen is told it was accepted; when the database
// cannot even be asked, the outcome is unknown — never a failure; a repeated submit of the same draft
// sends nothing twice.
func TestSubmitWhoseCommitAnswerIsLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		staysAway  bool
		wantErrIs  error
		wantStatus string
	}{
		{"ok/the answer is lost, the row tells it committed", false, nil, applicant.StatusSubmitted},
		{"ok/the database stays away: outcome unknown, not failed", true, applicant.ErrOutcomeUnknown, applicant.StatusSubmitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.draft(t)
			f.proxy.arm(tc.staysAway)
			err := f.submit(t, id)
			require.Equal(t, int32(1), f.proxy.cuts.Load(), "the commit's answer was lost")
			if tc.wantErrIs == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.wantErrIs)
			}
			f.proxy.back()
			a, err := f.desk.Get(t.Context(), owner, id)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, a.Status, "the commit happened")
			env, msg := f.sent(t, id)

			// The citizen, unsure, signs and submits again: the first submission stands.
			require.ErrorIs(t, f.submit(t, id), applicant.ErrSubmitted)
			env2, msg2 := f.sent(t, id)
			require.Equal(t, msg, msg2)
			require.Equal(t, env, env2)
			require.Equal(t, []string{applicant.StatusDraft, applicant.StatusSubmitted}, f.statuses(t, id))
		})
	}
}

func notification(t testing.TB, n *applicationv1.StatusNotification) *shepsdk.Delivery {
	t.Helper()
	b, err := proto.Marshal(n)
	require.NoError(t, err)
	return &shepsdk.Delivery{Envelope: &envelopev1.Envelope{Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION, Payload: b}}
}

// TestNotificationWithUnknownStatus: РШЭП (a newer build) sends a status this channel has no name for.
// The channel does not panic: the notification is recorded with РШЭП's text, and the application keeps
// the last status it knows.
func TestNotificationWithUnknownStatus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.draft(t)
	for _, n := range []*applicationv1.StatusNotification{
		{Status: applicationv1.CaseStatus_CASE_STATUS_REGISTERED, Sequence: 1, RegistrationNumber: "55-2026-000001"},
		{Status: applicationv1.CaseStatus(99), Sequence: 2, Text: &applicationv1.LocalizedText{Ru: "Заявление передано в архив", Kk: "Өтініш мұрағатқа берілді"}},
		{Status: applicationv1.CaseStatus_CASE_STATUS_UNSPECIFIED, Sequence: 3},
	} {
		n.ApplicationId, n.Time = id, timestamppb.Now()
		require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
	}
	ss, err := f.desk.Statuses(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, ss, 4)
	require.Equal(t, []string{applicant.StatusDraft, "REGISTERED", applicant.StatusUnknown, applicant.StatusUnknown}, f.statuses(t, id))
	require.Equal(t, "Заявление передано в архив", ss[2].TextRU)
	require.Equal(t, "Статус обновлён", channelweb.StatusName("ru", applicant.StatusUnknown))
	require.Equal(t, "Мәртебесі жаңартылды", channelweb.StatusName("kk", applicant.StatusUnknown))
	a, err := f.desk.Get(t.Context(), owner, id)
	require.NoError(t, err)
	require.Equal(t, "REGISTERED", a.Status)
	require.Equal(t, "55-2026-000001", a.Number)
}

// TestRefusalOfACopyLeavesTheApplication: ШЭП refuses copies under the application's message id — the
// very message re-sent (after a NATS restart: E_DUPLICATE), and a copy with one byte flipped (another
// message, whoever published it). Neither marks the delivered application «Не доставлено»; a refusal of
// the application's own bytes does.
func TestRefusalOfACopyLeavesTheApplication(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, tc := range []struct {
		name   string
		code   string
		bytes  func(own []byte) []byte
		marked bool
	}{
		{"ok/the same message re-sent, refused as a duplicate", shepv1.CodeDuplicate, func(own []byte) []byte { return own }, false},
		{"ok/a copy with one byte flipped", shepv1.CodeBadSignature, func(own []byte) []byte {
			c := bytes.Clone(own)
			c[len(c)/2] ^= 1
			return c
		}, false},
		{"fail/the application's own bytes refused", shepv1.CodeACLDenied, func(own []byte) []byte { return own }, true},
		{"fail/a refusal naming no bytes (an older ШЭП)", shepv1.CodeACLDenied, func([]byte) []byte { return nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := f.draft(t)
			require.NoError(t, f.submit(t, id))
			own, msg := f.sent(t, id)
			require.NoError(t, f.desk.Handle(t.Context(), &shepsdk.Delivery{Notification: &shepv1.DeliveryNotification{MessageId: msg,
				SessionId: "s-1", State: shepv1.MessageState_MESSAGE_STATE_DELIVERED, Time: timestamppb.Now()}}))
			refusal := &shepv1.DeliveryNotification{MessageId: msg, State: shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED, Time: timestamppb.Now(),
				Status: &envelopev1.Status{Code: tc.code, Message: "refused"}}
			if b := tc.bytes(own); b != nil {
				d := sha256.Sum256(b)
				refusal.RefusedSha256 = d[:]
			}
			require.NoError(t, f.desk.Handle(t.Context(), &shepsdk.Delivery{Notification: refusal}))
			want := []string{applicant.StatusDraft, applicant.StatusSubmitted, applicant.StatusDelivered}
			if tc.marked {
				want = append(want, applicant.StatusNotDelivered)
			}
			require.ElementsMatch(t, want, f.statuses(t, id))
		})
	}
}

// commitCutter is a TCP proxy in front of PostgreSQL. Armed, it passes the next COMMIT on to the server,
// waits for the server's answer (the commit is done) and breaks the connection instead of passing the
// answer back: the client cannot know that its transaction committed. With away set, it then refuses
// every connection until back is called (the database is gone).
type commitCutter struct {
	url       string
	cuts      atomic.Int32
	armed     atomic.Bool
	staysAway atomic.Bool
	away      atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// commitMessage is the simple-protocol Query message pgx sends to commit a transaction.
var commitMessage = append([]byte{'Q', 0, 0, 0, 11}, "commit\x00"...)

func cutCommits(t testing.TB, dbURL string) *commitCutter {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u.Host = ln.Addr().String()
	c := &commitCutter{url: u.String(), conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			if c.away.Load() {
				_ = client.Close()
				continue
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			c.mu.Lock()
			c.conns[client] = true
			c.mu.Unlock()
			wg.Go(func() {
				c.pipe(client, server)
				c.mu.Lock()
				delete(c.conns, client)
				c.mu.Unlock()
			})
		}
	})
	return c
}

func (c *commitCutter) arm(staysAway bool) {
	c.staysAway.Store(staysAway)
	c.armed.Store(true)
}

func (c *commitCutter) back() { c.away.Store(false) }

// goAway breaks every connection and refuses new ones: the database is gone.
func (c *commitCutter) goAway() {
	c.away.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.conns {
		_ = conn.Close()
	}
}

// pipe carries one connection; the commit it cuts is the first armed one seen on it.
func (c *commitCutter) pipe(client, server net.Conn) {
	defer func() { _ = client.Close(); _ = server.Close() }()
	var cutting atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && cutting.Load() {
				// The server answered the commit: it committed. The answer is lost.
				c.cuts.Add(1)
				if c.staysAway.Load() {
					c.goAway()
				}
				_ = client.Close()
				_ = server.Close()
				return
			}
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				_ = client.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if bytes.Contains(buf[:n], commitMessage) && c.armed.CompareAndSwap(true, false) {
				cutting.Store(true)
			}
			if _, werr := server.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = server.Close()
	<-done
}

// TestDraftWithTheChannelsOwnRecord: a channel's own record of a draft (the ЦОН desk's counter) is
// written in the draft's transaction: a failing one leaves no draft behind, and a good one is there with it.
func TestDraftWithTheChannelsOwnRecord(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.db.Exec(t.Context(), `CREATE TABLE counter_test (application_id uuid PRIMARY KEY REFERENCES applications (id), note text NOT NULL)`)
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, f.db.QueryRow(t.Context(), `SELECT count(*) FROM applications`).Scan(&n))
		return n
	}
	tests := []struct {
		name string
		note *string
		ok   bool
	}{
		{"fail/the channel's record fails: no draft", nil, false},
		{"ok/both or neither", ptr("оператор Нурланова"), true},
	}
	// In turn, not in parallel: each counts the same table.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := count()
			id, err := f.desk.Draft(t.Context(), owner, &applicationv1.Application{ServiceCode: "guardianship-certificate", Region: "55",
				ApplicantIin: applicantID, Language: "ru", Fields: map[string]string{"applicant_iin": applicantID, "ward_iin": demo.WardIIN}},
				func(ctx context.Context, tx pgx.Tx, id string) error {
					_, err := tx.Exec(ctx, `INSERT INTO counter_test (application_id, note) VALUES ($1, $2)`, id, tt.note)
					return err
				})
			if !tt.ok {
				require.Error(t, err, "a NULL note violates the table")
				require.Equal(t, before, count(), "no half-written draft")
				return
			}
			require.NoError(t, err)
			require.Equal(t, before+1, count())
			var note string
			require.NoError(t, f.db.QueryRow(t.Context(), `SELECT note FROM counter_test WHERE application_id = $1`, id).Scan(&note))
			require.Equal(t, *tt.note, note)
		})
	}
}

func ptr(s string) *string { return &s }
