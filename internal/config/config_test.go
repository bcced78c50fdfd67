package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/config"
)

func TestPlatformDefaults(t *testing.T) {
	t.Parallel()
	var p config.Platform
	require.NoError(t, config.Load(&p, map[string]string{}))
	require.Equal(t, "nats://127.0.0.1:4222", p.NATSURL)
	require.Equal(t, "info", p.LogLevel)
	require.Equal(t, "none", p.TraceExporter)
	require.Equal(t, 15*time.Second, p.ShutdownTimeout)
	require.EqualValues(t, 10, p.DatabaseMaxConns)
	require.Equal(t, "on", p.InternalTLS, "mutual TLS between the systems unless switched off")
	require.Empty(t, p.AdminIINs, "no administrator unless configured")
	require.NoError(t, p.Validate())
}

func TestPlatformFromEnvironment(t *testing.T) {
	t.Parallel()
	var p config.Platform
	require.NoError(t, config.Load(&p, map[string]string{
		"EGOV_NATS_URL":         "nats://nats:4222",
		"EGOV_NATS_PASSWORD":    "s3cret",
		"DATABASE_URL":          "postgres://egov:pa55@db:5432/egov?sslmode=disable",
		"EGOV_SHUTDOWN_TIMEOUT": "3s",
		"EGOV_TRACE_EXPORTER":   "otlp",
	}))
	require.Equal(t, "nats://nats:4222", p.NATSURL)
	require.Equal(t, "s3cret", p.NATSPassword.Value())
	require.Equal(t, "postgres://egov:pa55@db:5432/egov?sslmode=disable", p.DatabaseURL.Value())
	require.Equal(t, 3*time.Second, p.ShutdownTimeout)
	require.NoError(t, p.Validate())
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ map[string]string
		want    string
	}{
		{name: "fail/duration", environ: map[string]string{"EGOV_SHUTDOWN_TIMEOUT": "soon"}, want: "EGOV_SHUTDOWN_TIMEOUT"},
		{name: "fail/int", environ: map[string]string{"EGOV_DATABASE_MAX_CONNS": "many"}, want: "EGOV_DATABASE_MAX_CONNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p config.Platform
			err := config.Load(&p, tt.environ)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*config.Platform)
		want   string
	}{
		{name: "fail/log level", mutate: func(p *config.Platform) { p.LogLevel = "loud" }, want: "EGOV_LOG_LEVEL"},
		{name: "fail/internal TLS neither on nor off", mutate: func(p *config.Platform) { p.InternalTLS = "maybe" }, want: "EGOV_INTERNAL_TLS"},
		{name: "fail/an administrator's IIN with a space", mutate: func(p *config.Platform) { p.AdminIINs = []string{"810109300001", " 880512400011"} },
			want: `EGOV_ADMIN_IINS: " 880512400011" is not a valid IIN`},
		{name: "fail/administrators' BIN", mutate: func(p *config.Platform) { p.AdminBIN = "99084000001" }, want: "EGOV_ADMIN_BIN"},
		{name: "fail/administrators without the operator's BIN", mutate: func(p *config.Platform) { p.AdminIINs = []string{"810109300001"} },
			want: "EGOV_ADMIN_IINS needs EGOV_ADMIN_BIN"},
		{name: "fail/exporter", mutate: func(p *config.Platform) { p.TraceExporter = "jaeger" }, want: "EGOV_TRACE_EXPORTER"},
		{name: "fail/ratio", mutate: func(p *config.Platform) { p.TraceSampleRatio = 2 }, want: "EGOV_TRACE_SAMPLE_RATIO"},
		{name: "fail/nats", mutate: func(p *config.Platform) { p.NATSURL = "" }, want: "EGOV_NATS_URL"},
		{name: "fail/timeout", mutate: func(p *config.Platform) { p.ShutdownTimeout = 0 }, want: "EGOV_SHUTDOWN_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p config.Platform
			require.NoError(t, config.Load(&p, map[string]string{}))
			tt.mutate(&p)
			require.ErrorContains(t, p.Validate(), tt.want)
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	var p config.Platform
	require.NoError(t, config.Load(&p, map[string]string{
		"EGOV_NATS_PASSWORD": "s3cret",
		"DATABASE_URL":       "postgres://egov:pa55@db:5432/egov",
	}))

	var printed bytes.Buffer
	require.NoError(t, config.Print(&printed, p))
	require.Contains(t, printed.String(), "EGOV_NATS_PASSWORD=****\n")
	require.Contains(t, printed.String(), "DATABASE_URL=postgres://egov:****@db:5432/egov\n")
	require.Contains(t, printed.String(), "EGOV_NATS_URL=nats://127.0.0.1:4222\n")

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "password", p.NATSPassword, "db", p.DatabaseURL)
	js, err := json.Marshal(p)
	require.NoError(t, err)
	for _, out := range []string{printed.String(), logged.String(), string(js), fmt.Sprintf("%v %+v %#v", p, p, p)} {
		require.NotContains(t, out, "s3cret")
		require.NotContains(t, out, "pa55")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"postgres://u:p@h:5432/db":            "postgres://u:****@h:5432/db",
		"postgres://u@h/db":                   "postgres://u@h/db",
		"host=/tmp port=5 password=p user=u":  "host=/tmp port=5 password=**** user=u",
		"nats://127.0.0.1:4222":               "nats://127.0.0.1:4222",
		"postgres://u:p@h/db?sslmode=disable": "postgres://u:****@h/db?sslmode=disable",
	}
	for in, want := range tests {
		require.Equal(t, want, config.RedactURL(in), in)
	}
}
