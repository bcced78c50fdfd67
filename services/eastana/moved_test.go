package eastana

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

func TestMovedConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		env     map[string]string
		want    intake.Moved
		wantErr string
	}{
		{name: "ok/defaults", want: intake.Moved{Step: 10, Quiet: 24 * time.Hour, Limit: 1000}},
		{name: "ok/every change, no quiet interval", env: map[string]string{"EGOV_EASTANA_MOVED_STEP": "1", "EGOV_EASTANA_MOVED_QUIET": "0s"},
			want: intake.Moved{Step: 1, Limit: 1000}},
		{name: "fail/step 0", env: map[string]string{"EGOV_EASTANA_MOVED_STEP": "0"}, wantErr: "EGOV_EASTANA_MOVED_STEP: 0: at least 1"},
		{name: "fail/negative quiet", env: map[string]string{"EGOV_EASTANA_MOVED_QUIET": "-1h"}, wantErr: "EGOV_EASTANA_MOVED_QUIET: -1h0m0s"},
		{name: "fail/no interval", env: map[string]string{"EGOV_EASTANA_MOVED_INTERVAL": "0s"}, wantErr: "EGOV_EASTANA_MOVED_INTERVAL: 0s: positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			environ := map[string]string{} // never the process's environment
			for k, v := range c.env {
				environ[k] = v
			}
			var cfg Config
			require.NoError(t, config.Load(&cfg, environ))
			got, err := cfg.Moved()
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}
