package applicant_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// counted is a counter's points as "attr=value,…" → value, the attributes in the order given.
func (f *fixture) counted(t *testing.T, name string, keys ...string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, f.metrics.Collect(t.Context(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%s: a counter, got %T", name, m.Data)
			for _, p := range sum.DataPoints {
				key := ""
				for i, k := range keys {
					v, _ := p.Attributes.Value(attribute.Key(k))
					if i > 0 {
						key += ","
					}
					key += k + "=" + v.AsString()
				}
				out[key] += p.Value
			}
		}
	}
	return out
}

// TestChannelMetrics: the channel counts what it submitted, what it refused at signing (by the
// failure's code) and the statuses it received — each once, a repeated delivery not — by channel and
// service.
func TestChannelMetrics(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.draft(t)

	// fail/an authentication key: refused at signing, the draft stays.
	a, err := f.desk.Get(t.Context(), owner, id)
	require.NoError(t, err)
	sig, err := f.ca.Person(t, applicantID, pki.Auth).Sign(a.Content)
	require.NoError(t, err)
	var refused *applicant.Refused
	require.True(t, errors.As(f.desk.Submit(t.Context(), owner, id, sig, envelope.Expect{IIN: applicantID}), &refused))
	// ok/signed with the signing key.
	require.NoError(t, f.submit(t, id))

	_, msg := f.sent(t, id)
	receipt := &shepsdk.Delivery{Notification: &shepv1.DeliveryNotification{MessageId: msg, State: shepv1.MessageState_MESSAGE_STATE_DELIVERED, Time: timestamppb.Now()}}
	registered := notification(t, &applicationv1.StatusNotification{ApplicationId: id, Status: applicationv1.CaseStatus_CASE_STATUS_REGISTERED, Sequence: 1, Time: timestamppb.Now()})
	for range 2 { // the second delivery of each is a repeat
		require.NoError(t, f.desk.Handle(t.Context(), receipt))
		require.NoError(t, f.desk.Handle(t.Context(), registered))
	}
	// A notification of an application the channel does not hold records nothing and counts nothing.
	require.NoError(t, f.desk.Handle(t.Context(), notification(t, &applicationv1.StatusNotification{ApplicationId: "00000000-0000-0000-0000-000000000000",
		Status: applicationv1.CaseStatus_CASE_STATUS_REGISTERED, Sequence: 1, Time: timestamppb.Now()})))

	require.Equal(t, map[string]int64{"channel=portal,service=guardianship-certificate": 1},
		f.counted(t, "egov.applications.submitted", "channel", "service"))
	require.Equal(t, map[string]int64{"channel=portal,service=guardianship-certificate,code=WRONG_KEY_USAGE": 1},
		f.counted(t, "egov.applications.refused", "channel", "service", "code"))
	require.Equal(t, map[string]int64{
		"channel=portal,service=guardianship-certificate,status=DELIVERED":  1,
		"channel=portal,service=guardianship-certificate,status=REGISTERED": 1,
	}, f.counted(t, "egov.applications.statuses", "channel", "service", "status"))
}
