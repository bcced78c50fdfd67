package intake_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// BenchmarkDecision: one application through the decision flow on the package's throw-away PostgreSQL
// cluster — received (ГБД ФЛ's record in memory), drafted and signed by the employee (the signature
// verified; the certificate status from the in-memory НУЦ's OCSP, cached after the first), its decision
// sent from the outbox — without and with the printable PDF.
//
//	go test -run '^$' -bench Decision -benchtime 200x ./services/eastana/internal/intake/
func BenchmarkDecision(b *testing.B) {
	for _, pdf := range []bool{false, true} {
		b.Run(fmt.Sprintf("pdf=%t", pdf), func(b *testing.B) {
			reg := register{}
			w := setup(b, reg)
			if pdf {
				w.in.VerifyURL = "https://portal.example.kz"
			}
			ctx := b.Context()
			var receive, sign, forward time.Duration
			i := 0
			for b.Loop() {
				i++
				kid := fmt.Sprintf("23%010d", i)
				reg[kid] = person(kid, t0.AddDate(-3, -1, 0), false, parent)
				start := time.Now()
				_, err := w.in.Receive(ctx, portal, application(fmt.Sprint("b", i), kid, applicationv1.Channel_CHANNEL_PORTAL), t0)
				require.NoError(b, err)
				receive += time.Since(start)
				cases, err := w.in.Cases(ctx, intake.Filter{State: "awaiting", Limit: 1})
				require.NoError(b, err)
				start = time.Now()
				d, err := w.in.Draft(ctx, cases[0].ID, w.mio, t0)
				require.NoError(b, err)
				sig, err := w.key.Sign(d.Content)
				require.NoError(b, err)
				require.NoError(b, w.in.Sign(ctx, cases[0].ID, w.mio, d.Content, sig, t0))
				sign += time.Since(start)
				start = time.Now()
				n, err := w.in.ForwardOnce(ctx, 10, (&outbox{}).send)
				require.NoError(b, err)
				require.Equal(b, 1, n)
				forward += time.Since(start)
			}
			b.ReportMetric(float64(receive.Microseconds())/float64(i)/1000, "ms-receive/op")
			b.ReportMetric(float64(sign.Microseconds())/float64(i)/1000, "ms-draft+sign/op")
			b.ReportMetric(float64(forward.Microseconds())/float64(i)/1000, "ms-forward/op")
		})
	}
}
