package shep_test

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep"
)

// logRecords writes n records to the message log: each a sync envelope ШЭП rejects (and logs).
func (s *suite) logRecords(t *testing.T, n int) {
	t.Helper()
	for range n {
		out, err := s.syncCl.SendMessage(t.Context(), &shepv1.SendMessageRequest{Envelope: &envelopev1.SignedEnvelope{Envelope: []byte{0xff}}})
		require.NoError(t, err)
		require.Equal(t, shepv1.CodeUnsigned, envelopeStatus(t, out))
	}
}

func envelopeStatus(t *testing.T, out *shepv1.SendMessageResponse) string {
	t.Helper()
	var e envelopev1.Envelope
	require.NoError(t, proto.Unmarshal(out.GetEnvelope().GetEnvelope(), &e))
	return e.GetStatus().GetCode()
}

func (s *suite) checkpoint(t *testing.T) *shepv1.CheckpointLogResponse {
	t.Helper()
	r, err := s.admin.CheckpointLog(t.Context(), &shepv1.CheckpointLogRequest{})
	require.NoError(t, err)
	return r
}

// tamper runs statements on ШЭП's schema as a superuser would, with the append-only triggers off.
func (s *suite) tamper(t *testing.T, fn func(db *pgx.Conn)) {
	t.Helper()
	db, err := pgx.Connect(t.Context(), s.dbURL)
	require.NoError(t, err)
	defer db.Close(t.Context())
	_, err = db.Exec(t.Context(), `ALTER TABLE shep.message_log DISABLE TRIGGER message_log_no_update;
		ALTER TABLE shep.log_checkpoints DISABLE TRIGGER log_checkpoints_no_update`)
	require.NoError(t, err)
	fn(db)
}

func exec(t *testing.T, db *pgx.Conn, sql string, args ...any) {
	t.Helper()
	_, err := db.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

// rehash recomputes the hash of every record from seq on, as someone who knows the chain's format would
// after rewriting a record: the chain itself then holds again.
func rehash(t *testing.T, db *pgx.Conn, from int64) {
	t.Helper()
	var prev []byte
	require.NoError(t, db.QueryRow(t.Context(), `SELECT hash FROM shep.message_log WHERE seq = $1`, from-1).Scan(&prev))
	link := prev
	rows, err := db.Query(t.Context(), `SELECT seq, at, channel, event, sender, recipient, service_id, message_id, session_id,
		message_type, code, reason, envelope_sha256, payload_sha256 FROM shep.message_log WHERE seq >= $1 ORDER BY seq`, from)
	require.NoError(t, err)
	type rec struct {
		seq  int64
		hash []byte
	}
	var recs []rec
	for rows.Next() {
		var seq int64
		var at time.Time
		var str [10]string
		var env, pay []byte
		require.NoError(t, rows.Scan(&seq, &at, &str[0], &str[1], &str[2], &str[3], &str[4], &str[5], &str[6], &str[7], &str[8], &str[9], &env, &pay))
		h := sha256.New()
		put := func(b []byte) {
			h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
			h.Write(b)
		}
		put(prev)
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(seq)))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(at.UTC().UnixMicro())))
		for _, v := range str {
			put([]byte(v))
		}
		put(env)
		put(pay)
		recs = append(recs, rec{seq, h.Sum(nil)})
		prev = recs[len(recs)-1].hash
	}
	require.NoError(t, rows.Err())
	for _, r := range recs {
		exec(t, db, `UPDATE shep.message_log SET prev_hash = $2, hash = $3 WHERE seq = $1`, r.seq, link, r.hash)
		link = r.hash
	}
}

// TestLogCheckpoints: the log is anchored by checkpoints signed by ШЭП and time-stamped by НУЦ, so rows
// cut from its end, a row rewritten with every hash after it recomputed, and a checkpoint whose
// signature or time-stamp was changed all show — though each keeps the hash chain itself intact.
func TestLogCheckpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *pgx.Conn)
		records int64
		want    []string
		// refused: no new checkpoint may paper over rows cut under an old one.
		refused bool
	}{
		{name: "ok/intact log verifies with its checkpoints", records: 7},
		{name: "fail/last rows deleted", records: 4, tamper: func(t *testing.T, db *pgx.Conn) {
			exec(t, db, `DELETE FROM shep.message_log WHERE seq >= 5`)
		}, want: []string{"rows 5..6 missing: checkpoint 3 of "}, refused: true},
		{name: "fail/last rows and their checkpoint deleted from the database", records: 4, tamper: func(t *testing.T, db *pgx.Conn) {
			exec(t, db, `DELETE FROM shep.message_log WHERE seq >= 5; DELETE FROM shep.log_checkpoints WHERE number = 3`)
		}, want: []string{"checkpoint 3 of ", "is missing from the database; its JetStream copy is used", "rows 5..6 missing: checkpoint 3 of "}},
		{name: "fail/a row rewritten and every hash after it recomputed", records: 4 /* read up to the fault */, tamper: func(t *testing.T, db *pgx.Conn) {
			exec(t, db, `UPDATE shep.message_log SET code = 'SCSS001' WHERE seq = 3`)
			rehash(t, db, 3)
		}, want: []string{"chain differs from checkpoint 2 of ", "at sequence 4; rows in (2, 4] altered"}},
		{name: "fail/checkpoint signature altered", records: 7, tamper: func(t *testing.T, db *pgx.Conn) {
			exec(t, db, `UPDATE shep.log_checkpoints SET signature = set_byte(signature, length(signature) - 5, get_byte(signature, length(signature) - 5) # 1) WHERE number = 2`)
		}, want: []string{"checkpoint 2 in the database differs from its JetStream copy", "checkpoint 2 (through record 4): ШЭП's signature does not hold"}},
		{name: "fail/checkpoint time-stamp altered", records: 7, tamper: func(t *testing.T, db *pgx.Conn) {
			exec(t, db, `UPDATE shep.log_checkpoints SET timestamp_token = set_byte(timestamp_token, length(timestamp_token) - 5,
				get_byte(timestamp_token, length(timestamp_token) - 5) # 1) WHERE number = 2`)
		}, want: []string{"checkpoint 2 (through record 4): НУЦ's time-stamp does not hold"}},
		{name: "fail/checkpoint carries another checkpoint's time-stamp", records: 7, tamper: func(t *testing.T, db *pgx.Conn) {
			exec(t, db, `UPDATE shep.log_checkpoints SET timestamp_token = (SELECT timestamp_token FROM shep.log_checkpoints WHERE number = 1) WHERE number = 2`)
		}, want: []string{"checkpoint 2 (through record 4): НУЦ's time-stamp does not hold: its imprint is not this checkpoint's digest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			require.Nil(t, s.checkpoint(t).GetCheckpoint(), "an empty log has nothing to checkpoint")
			for n := range 3 {
				s.logRecords(t, 2)
				r := s.checkpoint(t)
				require.True(t, r.GetMade())
				require.EqualValues(t, n+1, r.GetCheckpoint().GetNumber())
				require.EqualValues(t, 2*(n+1), r.GetCheckpoint().GetSeq())
			}
			again := s.checkpoint(t)
			require.False(t, again.GetMade(), "nothing new since the last checkpoint")
			require.EqualValues(t, 3, again.GetCheckpoint().GetNumber())
			s.logRecords(t, 1) // after the last checkpoint

			if tt.tamper != nil {
				s.tamper(t, func(db *pgx.Conn) { tt.tamper(t, db) })
			}
			v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
			require.NoError(t, err)
			require.Equal(t, tt.records, v.GetRecords())
			if tt.want == nil {
				require.True(t, v.GetOk(), "%v", v.GetProblems())
				require.EqualValues(t, 3, v.GetCheckpoints())
				require.EqualValues(t, 6, v.GetAnchoredSeq())
				require.NotNil(t, v.GetAnchoredAt())
				return
			}
			require.False(t, v.GetOk())
			require.Equal(t, v.GetProblems()[0], v.GetProblem())
			for _, w := range tt.want {
				require.True(t, containsAny(v.GetProblems(), w), "want %q among %q", w, v.GetProblems())
			}
			if tt.refused {
				_, err := s.admin.CheckpointLog(t.Context(), &shepv1.CheckpointLogRequest{})
				require.Equal(t, codes.Unavailable, status.Code(err))
				require.ErrorContains(t, err, "the log ends at record 4, before checkpoint 3's record 6")
			}
		})
	}
}

func containsAny(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

// TestCheckpointWhileTSADown: with НУЦ's TSA down no checkpoint can be made, routing goes on, and the
// worker makes the checkpoint once the TSA is back.
func TestCheckpointWhileTSADown(t *testing.T) {
	t.Parallel()
	s := startWith(t, func(c *shep.Config) { c.CheckpointInterval = 20 * time.Millisecond })
	s.ca.TSADown.Store(true)
	s.logRecords(t, 3) // routing answers while the TSA is down

	_, err := s.admin.CheckpointLog(t.Context(), &shepv1.CheckpointLogRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err), "no checkpoint without a time-stamp: %v", err)
	require.Contains(t, err.Error(), "time-stamp")
	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk())
	require.Zero(t, v.GetCheckpoints())

	s.ca.TSADown.Store(false)
	require.Eventually(t, func() bool {
		v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
		return err == nil && v.GetOk() && v.GetAnchoredSeq() == 3
	}, 20*time.Second, 20*time.Millisecond, "the worker retries and anchors the log")
}

// TestCheckpointRefusedWithRevokedKey: ШЭП verifies each checkpoint as it makes it, so with its
// certificate revoked it makes none (a checkpoint signed after the revocation would prove nothing), and a
// forged or wrong time-stamp is refused while the TSA can still be asked again.
func TestCheckpointRefusedWithRevokedKey(t *testing.T) {
	t.Parallel()
	s := start(t)
	// The test's connections are made first: a client checks ШЭП's certificate in the handshake and
	// would refuse a new connection to a ШЭП whose certificate is revoked.
	s.connect()
	s.logRecords(t, 2)
	s.ca.Revoke(s.shepKey.Cert, 1)
	_, err := s.admin.CheckpointLog(t.Context(), &shepv1.CheckpointLogRequest{})
	require.ErrorContains(t, err, "checkpoint 1 does not verify as made: ШЭП's certificate was revoked")
	v, err := s.admin.VerifyLog(t.Context(), &shepv1.VerifyLogRequest{})
	require.NoError(t, err)
	require.Zero(t, v.GetCheckpoints(), "no checkpoint was stored")
}
