package containers

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

// TestClusterFaultsLoseNothing runs the suite on a three-node NATS JetStream cluster (every stream R3)
// with two replicas of ШЭП and two of РШЭП, all containers. Under a bounded load (two citizens' worth of
// applications without pause) it measures the throughput with two replicas and with one, then kills
// one replica of each (docker kill: SIGKILL) and starts them again, stops one NATS node and starts it
// again, and cuts another off the network (docker network disconnect) and brings it back. Afterwards
// every application that was signed reaches exactly one final state, has one registration number, and
// its citizen sees each status once, in order; and ШЭП's own records agree: no call or message is left
// «в доставке» (ON_DELIVERY) and none has two DELIVERED records in the message log.
func TestClusterFaultsLoseNothing(t *testing.T) {
	// The compact redelivery schedule of the process-mode fault test: it moves when what the faults held
	// back arrives, not whether it does.
	c := harness.StartContainers(t, harness.ContainerOptions{NATSNodes: 3, Replicas: map[string]int{"shep": 2, "rshep": 2},
		Env: []string{"EGOV_SHEP_REDELIVERY=1s,2s,5s,10s,20s,30s,30s,30s", "EGOV_SHEP_ACK_WAIT=10s"}})
	db, err := pgxpool.New(t.Context(), c.Endpoints.Postgres)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	citizen, err := c.Citizen(t.Context(), qakit.Citizen)
	require.NoError(t, err)

	raw := rawJetStream(t, c.AdminNATS())

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var accepted, failed atomic.Int64
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				// West Kazakhstan's automated regulation: decided from ГБД ФЛ (a sync call through ШЭП),
				// no staff needed.
				pg, err := citizen.Submit(ctx, "/services/guardianship-certificate/27", qakit.Form{
					Path: "/services/guardianship-certificate/27", Fields: map[string]string{"ward_iin": qakit.WardIIN}})
				if err == nil && pg.Status == 200 {
					var id string
					if id, err = qakit.Application(pg); err == nil {
						pg, err = citizen.SignPage(ctx, pg, "/applications/"+id+"/sign", citizen.Sign, nil)
					}
				}
				if err != nil || pg.Status != 200 {
					failed.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				accepted.Add(1)
			}
		})
	}
	// throughput is the applications the suite closed per second over d: what it finishes, not what it
	// takes in.
	closed := func() int {
		var n int
		require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM portal.applications WHERE closed_at IS NOT NULL`).Scan(&n))
		return n
	}
	throughput := func(d time.Duration) float64 {
		n0, t0 := closed(), time.Now()
		time.Sleep(d)
		return float64(closed()-n0) / time.Since(t0).Seconds()
	}
	time.Sleep(5 * time.Second) // past the first applications' start
	two := throughput(20 * time.Second)
	t.Log("kill -9 one replica of ШЭП and one of РШЭП")
	c.Kill(c.Service("shep", 1))
	c.Kill(c.Service("rshep", 1))
	one := throughput(20 * time.Second)
	t.Logf("closed applications per second: two replicas %.1f, one replica %.1f; raw JetStream (R3, 1 KiB, async, 500 in flight) %.0f msgs/s", two, one, raw)
	c.Restart("shep", c.Service("shep", 1))
	c.Restart("rshep", c.Service("rshep", 1))
	time.Sleep(3 * time.Second)

	t.Log("stop nats-2 and start it again")
	c.Stop(c.NATS[2])
	time.Sleep(3 * time.Second)
	c.RestartNATS(2)
	time.Sleep(3 * time.Second)

	t.Log("cut nats-1 off the network and bring it back")
	c.Disconnect(c.NATS[1])
	time.Sleep(5 * time.Second)
	c.Connect(c.NATS[1], "nats-1")
	c.WaitNATS(1)
	time.Sleep(3 * time.Second)
	stop()
	wg.Wait()
	t.Logf("applications accepted %d, attempts that met a fault %d", accepted.Load(), failed.Load())
	require.Positive(t, accepted.Load())

	harness.Account(t, db, accepted.Load())
	shepRecords(t, db)
}

// shepRecords checks ШЭП's own records after the faults: every call and message reached a final
// delivery state, and no message was logged DELIVERED twice.
func shepRecords(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var onDelivery []string
	for {
		rows, err := db.Query(t.Context(), `SELECT sender || '/' || message_id || ' ' || service_id || ' in_seq=' || in_seq
			FROM shep.messages WHERE state = 'ON_DELIVERY'`)
		require.NoError(t, err)
		onDelivery, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		if len(onDelivery) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	require.Empty(t, onDelivery, "calls and messages left «в доставке»")
	rows, err := db.Query(t.Context(), `SELECT sender || '/' || message_id || ' x' || count(*) FROM shep.message_log
		WHERE event = 'DELIVERED' AND channel = 'async' GROUP BY sender, message_id HAVING count(*) > 1`)
	require.NoError(t, err)
	twice, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, twice, "messages with two DELIVERED records")
}

// rawJetStream is what the cluster itself carries: 1 KiB messages published asynchronously (500 at a
// time) from the test to an R3 stream of its own, acknowledged by the cluster, per second.
func rawJetStream(t *testing.T, url string) float64 {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW_PROBE", Subjects: []string{"raw.probe"}, Replicas: 3})
	require.NoError(t, err)
	defer func() { require.NoError(t, js.DeleteStream(ctx, "RAW_PROBE")) }()
	const n = 20000
	payload := make([]byte, 1024)
	start := time.Now()
	// In windows of 500 outstanding messages: beyond the client's bound it stalls and refuses more.
	for i := range n {
		_, err := js.PublishAsync("raw.probe", payload)
		require.NoError(t, err, "message %d", i)
		if (i+1)%500 == 0 || i == n-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(2 * time.Minute):
				t.Fatal("raw JetStream: acknowledgements did not arrive")
			}
		}
	}
	rate := n / time.Since(start).Seconds()
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(n), info.State.Msgs, fmt.Sprintf("the stream holds every message (%d)", n))
	return rate
}
