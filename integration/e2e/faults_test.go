package e2e

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

// TestFaultsLoseNothing submits applications without pause while, one after the other, ШЭП, РШЭП and
// the portal are killed with SIGKILL and started again, the NATS server restarts and PostgreSQL
// restarts. Afterwards every application that was signed reaches exactly one final state, has exactly
// one registration number, and its citizen sees each status exactly once, in order.
func TestFaultsLoseNothing(t *testing.T) {
	// A compact redelivery schedule, so that what the faults held back arrives within the test's wait:
	// messages stranded in a killed process's pull buffer wait out the ack wait, and a delivery that met
	// several faults in a row would otherwise sit in the default schedule's 2- and 10-minute steps. It
	// moves the time things arrive, not whether they do.
	w := start(t, "EGOV_SHEP_REDELIVERY=1s,2s,5s,10s,20s,30s,30s,30s", "EGOV_SHEP_ACK_WAIT=10s")
	citizen := w.citizen(t, "citizen-akhmetova")

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var accepted, failed atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// West Kazakhstan's automated regulation: no staff needed to reach the result.
				pg, err := citizen.Submit(ctx, "/services/guardianship-certificate/27", qakit.Form{
					Path: "/services/guardianship-certificate/27", Fields: map[string]string{"ward_iin": ward}})
				if err == nil && pg.Status == 200 {
					var id string
					if id, err = qakit.Application(pg); err == nil {
						pg, err = citizen.SignPage(ctx, pg, "/applications/"+id+"/sign", citizen.Sign, nil)
					}
				}
				if err != nil || pg.Status != 200 {
					failed.Add(1) // the portal, ШЭП, NATS or PostgreSQL is down: try again
					time.Sleep(100 * time.Millisecond)
					continue
				}
				accepted.Add(1)
			}
		}()
	}
	pause := func() { time.Sleep(2 * time.Second) }
	pause()
	for _, name := range []string{"shep", "rshep", "portal"} {
		t.Logf("kill -9 %s", name)
		w.s.Restart(name)
		pause()
	}
	t.Log("restart NATS")
	w.s.RestartNATS(time.Second)
	pause()
	t.Log("restart PostgreSQL")
	w.s.RestartPostgres(time.Second)
	pause()
	stop()
	wg.Wait()
	t.Logf("applications accepted %d, attempts that met a fault %d", accepted.Load(), failed.Load())
	require.Positive(t, accepted.Load())

	harness.Account(t, w.db, accepted.Load())
}
