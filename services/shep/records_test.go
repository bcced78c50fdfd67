package shep_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep"
	"github.com/egov-suite/egov/shepsdk"
)

// TestInterruptedSyncCallIsClosedOnce is a replica killed between forwarding a sync call and recording
// its outcome (as kill -9 of a ШЭП replica leaves it): the call stays «в доставке» until the sweep
// records it NOT_DELIVERED with E_INTERNAL, once, while a call still within its service's timeout is
// left alone.
func TestInterruptedSyncCallIsClosedOnce(t *testing.T) {
	t.Parallel()
	s := startWith(t, func(c *shep.Config) { c.SyncSweep = 100 * time.Millisecond })
	s.provide(t, "gbdfl", gbdflv1.ServicePerson, 5*time.Second, personLookup)
	s.provide(t, "gbdfl", "SLOW_LOOKUP", time.Hour, personLookup)
	db, err := pgx.Connect(t.Context(), s.dbURL)
	require.NoError(t, err)
	defer db.Close(t.Context())
	// What the killed replica left: ACCEPTED is in the log, the outcome is not.
	_, err = db.Exec(t.Context(), `INSERT INTO shep.messages (sender, message_id, session_id, service_id, recipient, state, updated_at)
		VALUES ('tson', 'left-behind', 's1', $1, 'gbdfl', 'ON_DELIVERY', now() - interval '1 hour'),
		       ('tson', 'still-running', 's2', 'SLOW_LOOKUP', 'gbdfl', 'ON_DELIVERY', now() - interval '1 minute')`, gbdflv1.ServicePerson)
	require.NoError(t, err)

	state := func(id string) (st, code string) {
		require.NoError(t, db.QueryRow(t.Context(), `SELECT state, code FROM shep.messages WHERE sender = 'tson' AND message_id = $1`, id).Scan(&st, &code))
		return st, code
	}
	require.Eventually(t, func() bool { st, _ := state("left-behind"); return st == "NOT_DELIVERED" }, 30*time.Second, 20*time.Millisecond)
	_, code := state("left-behind")
	require.Equal(t, shepv1.CodeInternal, code)
	st, _ := state("still-running")
	require.Equal(t, "ON_DELIVERY", st, "a call within its service's timeout may still get its outcome")

	// Later sweeps find nothing more to close: one final record for the call.
	_, err = db.Exec(t.Context(), `INSERT INTO shep.messages (sender, message_id, session_id, service_id, recipient, state, updated_at)
		VALUES ('tson', 'marker', 's3', $1, 'gbdfl', 'ON_DELIVERY', now() - interval '1 hour')`, gbdflv1.ServicePerson)
	require.NoError(t, err)
	require.Eventually(t, func() bool { st, _ := state("marker"); return st == "NOT_DELIVERED" }, 30*time.Second, 20*time.Millisecond)
	var records int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM shep.message_log
		WHERE sender = 'tson' AND message_id = 'left-behind' AND event = 'NOT_DELIVERED' AND code = $1`, shepv1.CodeInternal).Scan(&records))
	require.Equal(t, 1, records)
	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk(), "the chain holds")
}

// TestReceiptCopiesLogOneDelivery sends several copies of one delivery receipt at once, as a recipient's
// re-send does after a NATS restart (the restarted server's duplicate window no longer knows the first):
// ШЭП's workers take them together, and the message log still records DELIVERED once.
func TestReceiptCopiesLogOneDelivery(t *testing.T) {
	t.Parallel()
	s := start(t)
	portal, rshep := s.participant(t, "portal", nil), s.participant(t, "rshep-55", nil)
	req, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{Iin: "880512400011"})
	require.NoError(t, err)
	require.NoError(t, portal.Send(t.Context(), req))
	db, err := pgx.Connect(t.Context(), s.dbURL)
	require.NoError(t, err)
	defer db.Close(t.Context())
	var session string
	require.Eventually(t, func() bool {
		return db.QueryRow(t.Context(), `SELECT session_id FROM shep.messages WHERE sender = 'portal' AND message_id = $1`,
			req.GetMessageId()).Scan(&session) == nil
	}, 10*time.Second, 10*time.Millisecond, "ШЭП routed the message")

	receipt, err := proto.Marshal(&shepv1.DeliveryNotification{MessageId: req.GetMessageId(), CorrelationId: req.GetCorrelationId(),
		SessionId: session, State: shepv1.MessageState_MESSAGE_STATE_DELIVERED, Time: timestamppb.Now(), Sender: "portal", Recipient: "rshep-55"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			// Each copy under its own id, as after the window was lost.
			m := shepsdk.NewMsg(t.Context(), shepv1.InSubject("rshep-55"), "receipt/copy-"+strconv.Itoa(i)+"/"+req.GetMessageId(), receipt)
			m.Header.Set(shepv1.HeaderKind, shepv1.KindDelivery)
			_, err := rshep.JS.PublishMsg(t.Context(), m)
			require.NoError(t, err)
		})
	}
	wg.Wait()
	// Every copy is taken (acknowledged) once the stream holds none of them.
	require.Eventually(t, func() bool {
		var st string
		err := db.QueryRow(t.Context(), `SELECT state FROM shep.messages WHERE sender = 'portal' AND message_id = $1`, req.GetMessageId()).Scan(&st)
		if err != nil || st != "DELIVERED" {
			return false
		}
		info, err := rshep.JS.Stream(t.Context(), "SHEP_IN")
		return err == nil && info.CachedInfo().State.Msgs == 0
	}, 20*time.Second, 20*time.Millisecond)
	var delivered int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM shep.message_log WHERE sender = 'portal' AND message_id = $1 AND event = 'DELIVERED'`,
		req.GetMessageId()).Scan(&delivered))
	require.Equal(t, 1, delivered, "one DELIVERED record however many receipts")
}
