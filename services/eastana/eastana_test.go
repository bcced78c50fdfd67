package eastana

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
)

func TestTerm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		days    int
		want    catalog.Duration
		wantErr string
	}{
		{name: "ok/the passport's deciding step", want: catalog.Duration{Value: 3, Unit: "working_days"}},
		{name: "ok/configured", days: 5, want: catalog.Duration{Value: 5, Unit: "working_days"}},
		{name: "fail/negative", days: -1, wantErr: "EGOV_EASTANA_DECISION_DAYS: -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Config{DecisionDays: c.days}.Term()
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}
