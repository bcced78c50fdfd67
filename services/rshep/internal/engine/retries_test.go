package engine_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/timers"
	"github.com/egov-suite/egov/shepsdk"
)

// notice is a NOTIFICATION envelope of region's node for the portal, with a payload of size bytes.
func notice(t testing.TB, region string, size int) []byte {
	t.Helper()
	b, err := envelope.Marshal(&envelopev1.Envelope{MessageId: uuid.NewString(), CorrelationId: uuid.NewString(), ServiceId: engine.ServiceID(region),
		ServiceVersion: "1", Sender: engine.ParticipantID(region), Recipient: "portal", Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION,
		MessageDate: timestamppb.Now(), Region: region, PayloadType: "egov.application.v1.StatusNotification", Payload: make([]byte, size)})
	require.NoError(t, err)
	return b
}

func (s *suite) owe(t testing.TB, region string, b []byte) int64 {
	t.Helper()
	var id int64
	require.NoError(t, s.db.QueryRow(t.Context(), `INSERT INTO outbox (message_id, region, envelope, created_at) VALUES ($1, $2, $3, now()) RETURNING id`,
		uuid.NewString(), region, b).Scan(&id))
	return id
}

type outboxRow struct {
	attempts int
	sent     bool
	parked   bool
	lastErr  string
}

func (s *suite) outboxRow(t testing.TB, id int64) outboxRow {
	t.Helper()
	var r outboxRow
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT attempts, sent_at IS NOT NULL, parked_at IS NOT NULL, last_error FROM outbox WHERE id = $1`, id).
		Scan(&r.attempts, &r.sent, &r.parked, &r.lastErr))
	return r
}

// TestOutboxFailingRowDoesNotBlock: ahead of a case's REGISTERED notification the outbox holds a row
// whose bytes cannot be read and one too large for NATS. The notification still reaches the citizen in
// the first round; the unreadable row is parked at once, the oversized one is retried after each
// back-off and parked after the last attempt.
func TestOutboxFailingRowDoesNotBlock(t *testing.T) {
	s := launch(t, false)
	poison := s.owe(t, "55", []byte("not an envelope"))
	big := s.owe(t, "55", notice(t, "55", 1<<20-400))
	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.checked(t, s.caseOf(t, id)) // its automatic work done: the outbox holds all it will

	sent, err := s.eng.ForwardOnce(t.Context(), 256)
	require.Equal(t, 1, sent, "the notification behind the failing rows is sent")
	require.Error(t, err)
	s.waitFor(t, id, "REGISTERED")
	require.Equal(t, outboxRow{attempts: timers.MaxAttempts, parked: true, lastErr: s.outboxRow(t, poison).lastErr}, s.outboxRow(t, poison))
	require.NotEmpty(t, s.outboxRow(t, poison).lastErr)
	require.Equal(t, 1, s.outboxRow(t, big).attempts)
	require.False(t, s.outboxRow(t, big).parked)

	for attempt := 2; attempt <= timers.MaxAttempts; attempt++ {
		sent, err = s.eng.ForwardOnce(t.Context(), 256)
		require.NoError(t, err, "nothing is tried before its back-off ends")
		require.Zero(t, sent)
		s.clock.Advance(timers.Backoff(attempt - 1))
		sent, err = s.eng.ForwardOnce(t.Context(), 256)
		require.Zero(t, sent)
		require.ErrorContains(t, err, "maximum payload")
		r := s.outboxRow(t, big)
		require.Equal(t, attempt, r.attempts)
		require.Equal(t, attempt == timers.MaxAttempts, r.parked)
	}
	s.clock.Advance(1000 * time.Hour)
	sent, err = s.eng.ForwardOnce(t.Context(), 256)
	require.NoError(t, err, "a parked row is not tried again")
	require.Zero(t, sent)
	require.Equal(t, timers.MaxAttempts, s.outboxRow(t, big).attempts)
}

// TestOutboxClaimsOnlyItsRegions: a replica serving region 59 sees a page of region 55's notifications
// ahead of its own; it neither locks nor counts them, and sends its own.
func TestOutboxClaimsOnlyItsRegions(t *testing.T) {
	s := launch(t, false)
	var others []int64
	for range 5 {
		others = append(others, s.owe(t, "55", notice(t, "55", 10)))
	}
	mine := s.owe(t, "59", notice(t, "59", 10))
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	r59, err := engine.New(engine.Options{Catalog: cat, Nodes: map[string]*shepsdk.Client{"59": s.nodes["59"]}, DB: s.db,
		Now: s.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Worker: "replica-59"})
	require.NoError(t, err)
	sent, err := r59.ForwardOnce(t.Context(), len(others))
	require.NoError(t, err)
	require.Equal(t, 1, sent)
	require.True(t, s.outboxRow(t, mine).sent)
	for _, id := range others {
		require.Equal(t, outboxRow{}, s.outboxRow(t, id), "another region's row is left as it was")
	}
}

// TestTimerOfAFailingCaseDoesNotBlock: the earliest due timer belongs to a case whose passport left the
// catalogue (its work fails every time); the other cases' deadlines still fire in the same claim.
func TestTimerOfAFailingCaseDoesNotBlock(t *testing.T) {
	s := launch(t, false)
	// Each case's automatic work done first: it would re-arm the timers moved below.
	bad := s.checked(t, s.caseOf(t, s.send(t, guardianship(s, t, "55", portal, nil))))
	good := s.checked(t, s.caseOf(t, s.send(t, guardianship(s, t, "55", portal, nil))))
	_, err := s.db.Exec(t.Context(), `UPDATE cases SET service_code = 'withdrawn-service' WHERE id = $1`, bad.ID)
	require.NoError(t, err)
	_, err = s.db.Exec(t.Context(), `UPDATE timers SET due_at = due_at - interval '1 minute' WHERE case_id = $1`, caseID(bad))
	require.NoError(t, err)
	s.clock.Advance(4 * 24 * time.Hour) // past the warning and the deadline of the first step
	fired, err := timers.Claim(t.Context(), s.db, s.clock.Now(), 100, "replica-1", s.eng.Fire, s.eng.Regions()...)
	require.Error(t, err)
	fs := timers.Failures(err)
	require.NotEmpty(t, fs)
	for _, f := range fs {
		require.Equal(t, caseID(bad), f.Timer.CaseID)
		require.True(t, strings.Contains(f.Error(), "no longer in the catalogue"), f.Error())
	}
	require.Positive(t, fired)
	require.True(t, s.get(t, good).Overdue, "the other case's deadline fired")
}

func caseID(c *engine.Case) string { return strconv.FormatInt(c.ID, 10) }

// TestResentApplicationInNewEnvelopeFindsItsCase: the portal re-sends a signed application in a new
// envelope (after a restart lost its record of the first); the first envelope, its redelivery and the
// re-send reach two replicas at once. One case, one number, one REGISTERED — and the re-send after the
// fact finds the same case.
func TestResentApplicationInNewEnvelopeFindsItsCase(t *testing.T) {
	s := start(t)
	first, id, from := s.build(t, guardianship(s, t, "55", portal, nil))
	doc := new(envelopev1.SignedDocument)
	require.NoError(t, proto.Unmarshal(first.GetPayload(), doc))
	deliver := func(env *envelopev1.Envelope) *shepsdk.Delivery {
		signed, err := from.Signer.SignEnvelope(env)
		require.NoError(t, err)
		return &shepsdk.Delivery{Envelope: env, Signed: signed, Attempt: 1}
	}
	resend := func() *shepsdk.Delivery {
		env, err := from.Request(engine.ServiceID("55"), doc)
		require.NoError(t, err)
		env.Region, env.UserId = first.GetRegion(), first.GetUserId()
		return deliver(env)
	}
	other := s.engine(t, "replica-2")
	d1 := deliver(first)
	errs := make(chan error, 3)
	for i, d := range []*shepsdk.Delivery{d1, resend(), d1} {
		e := []*engine.Engine{s.eng, other, other}[i]
		go func() { errs <- e.Handle(context.Background(), "55", d) }()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
	require.NoError(t, other.Handle(t.Context(), "55", resend()))
	s.waitFor(t, id, "REGISTERED")
	var n int
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM cases WHERE application_id = $1`, id).Scan(&n))
	require.Equal(t, 1, n, "one case")
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM outbox o JOIN cases c ON c.region = o.region WHERE c.application_id = $1`, id).Scan(&n))
	require.Equal(t, 1, n, "one notification owed")
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM region_counters WHERE last > 1`).Scan(&n))
	require.Zero(t, n, "one number used")
}
