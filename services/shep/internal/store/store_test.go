package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestConditionalStateChange is what keeps one final record per message when two replicas (or two
// copies of a receipt) change one message together, as the log writer sends them: in one batch, in one
// transaction. The second change finds the first's state and is ErrUnchanged, which leaves its log
// record out.
func TestConditionalStateChange(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, err := pgdb.Open(ctx, pgtest.URL(t), "shep", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(ctx, pool, "shep", store.Migrations())
	require.NoError(t, err)
	now := time.Now()
	change := func(id, state, from, unless string) store.Op {
		return store.Op{Update: &store.StateChange{Sender: "portal", MessageID: id, State: state, At: now, From: from, Unless: unless}}
	}
	tests := []struct {
		name string
		// initial is the message's state before the ops ("": no message).
		initial string
		ops     func(id string) []store.Op
		want    []error
		final   string
	}{
		{"ok/two copies of a receipt: the first moves it, the second is unchanged", "ON_DELIVERY",
			func(id string) []store.Op {
				return []store.Op{change(id, "DELIVERED", "", "DELIVERED"), change(id, "DELIVERED", "", "DELIVERED")}
			},
			[]error{nil, store.ErrUnchanged}, "DELIVERED"},
		{"ok/the sweep and a late outcome: whichever comes first wins", "ON_DELIVERY",
			func(id string) []store.Op {
				return []store.Op{change(id, "NOT_DELIVERED", "ON_DELIVERY", ""), change(id, "DELIVERED", "ON_DELIVERY", "")}
			},
			[]error{nil, store.ErrUnchanged}, "NOT_DELIVERED"},
		{"fail/a message no longer ON_DELIVERY is not moved from it", "NOT_DELIVERED",
			func(id string) []store.Op { return []store.Op{change(id, "DELIVERED", "ON_DELIVERY", "")} },
			[]error{store.ErrUnchanged}, "NOT_DELIVERED"},
		{"fail/an unconditional change of an unknown message is not found", "",
			func(id string) []store.Op { return []store.Op{change(id, "DELIVERED", "", "")} },
			[]error{store.ErrNotFound}, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := "m" + strconv.Itoa(i)
			if tc.initial != "" {
				_, err := pool.Exec(ctx, `INSERT INTO messages (sender, message_id, session_id, state, updated_at)
					VALUES ('portal', $1, 's', $2, $3)`, id, tc.initial, now)
				require.NoError(t, err)
			}
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			b := &pgx.Batch{}
			ops := tc.ops(id)
			for _, op := range ops {
				op.Queue(b)
			}
			br := tx.SendBatch(ctx, b)
			for j, op := range ops {
				err := op.Read(br)
				if tc.want[j] == nil {
					require.NoError(t, err, "op %d", j)
				} else {
					require.ErrorIs(t, err, tc.want[j], "op %d", j)
				}
			}
			require.NoError(t, br.Close())
			require.NoError(t, tx.Commit(ctx))
			var st string
			err = pool.QueryRow(ctx, `SELECT state FROM messages WHERE sender = 'portal' AND message_id = $1`, id).Scan(&st)
			if tc.final == "" {
				require.ErrorIs(t, err, pgx.ErrNoRows)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.final, st)
		})
	}
}
