package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/services/rshep/internal/cases"
	"github.com/egov-suite/egov/shepsdk"
)

// BenchmarkIntake measures applications registered per second by the engine (the citizen's signature
// verified, the form validated against the passport, the case registered with its number, its history,
// its timers and its REGISTERED notification in the outbox), against the bare numbering transaction
// (cases.Register alone) on the same database in the same run.
func BenchmarkIntake(b *testing.B) {
	s := start(b)
	b.Run("baseline=register-only", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			require.NoError(b, pgdb.InTx(b.Context(), s.db, func(tx pgx.Tx) error {
				_, err := cases.Register(b.Context(), tx, cases.Application{Sender: "bench", MessageID: fmt.Sprint(i), Provider: "bench", ServiceCode: "x", Region: "55"}, s.clock.Now())
				return err
			}))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	})
	b.Run("engine", func(b *testing.B) {
		a := guardianship(s, b, "55", portal, nil)
		deliveries := make([]*shepsdk.Delivery, 0, 1024)
		next := func() *shepsdk.Delivery {
			env, _, from := s.build(b, a)
			signed, err := from.Signer.SignEnvelope(env)
			require.NoError(b, err)
			return &shepsdk.Delivery{Envelope: env, Signed: signed, Attempt: 1}
		}
		for range 2000 { // b.Loop starts the timer afresh on its first call
			deliveries = append(deliveries, next())
		}
		i := 0
		for b.Loop() {
			if i == len(deliveries) {
				b.StopTimer()
				deliveries = append(deliveries, next())
				b.StartTimer()
			}
			require.NoError(b, s.eng.Handle(context.Background(), "55", deliveries[i]))
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	})
}
