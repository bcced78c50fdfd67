package devmode

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/demo"
)

func TestSummaryShowsIINsOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	seeded := []demo.Entry{
		{Service: "nca", Kind: "sign", Name: "Ахметова Асель", IIN: "880512400011", File: "citizen-akhmetova-SIGN.p12", Password: "egov-demo"},
		{Service: "enis", Kind: "poa", Name: "доверенность", Role: "представитель 841103300017"},
	}
	fullIIN := regexp.MustCompile(`(^|[^0-9])[0-9]{12}([^0-9]|$)`)
	tests := []struct {
		name     string
		terminal bool
	}{
		{name: "ok/a terminal shows the cast whole", terminal: true},
		{name: "fail/output kept as a log carries no full IIN", terminal: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			printSummary(&out, "data", Endpoints{}, nil, seeded, tt.terminal, time.Second)
			require.Contains(t, out.String(), "citizen-akhmetova-SIGN.p12", "the key files are named either way")
			if tt.terminal {
				require.Contains(t, out.String(), "880512400011")
				return
			}
			require.False(t, fullIIN.MatchString(out.String()), out.String())
			require.Contains(t, out.String(), "88********11")
			require.Contains(t, out.String(), "84********17", "an IIN inside a role too")
		})
	}
}

func TestDataFolderAndSecretsArePrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "egov")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o777)) // as an earlier version or a careless umask left it
	// A left-over of an interrupted run, world-readable.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "endpoints.json.tmp"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nats-credentials.json"), []byte(`{"egov":"pw"}`), 0o644))

	require.NoError(t, privateDir(dir))
	require.NoError(t, writeEndpoints(dir, Endpoints{NATSUsers: map[string]string{"portal": "nats://portal:pw@127.0.0.1:4222"}}))
	creds, err := natsCredentials(dir, []string{"egov", "portal"})
	require.NoError(t, err)
	require.Equal(t, "pw", creds["egov"], "a kept password stays")

	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Zero(t, fi.Mode().Perm()&0o066, "others may not list or write the data folder: %v", fi.Mode().Perm())
	for _, name := range []string{"endpoints.json", "nats-credentials.json"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
}

// TestSuiteOriginsAreExact: the signer pre-allows the suite's sites as the browser sends their Origin,
// scheme included, by IP and by the name localhost.
func TestSuiteOriginsAreExact(t *testing.T) {
	t.Parallel()
	eps := Endpoints{Services: map[string]app.Endpoint{
		"portal":  {HTTP: "http://127.0.0.1:8060"},
		"tson":    {HTTP: "http://127.0.0.1:8061"},
		"rshep":   {HTTP: "https://127.0.0.1:8062"},
		"gbdfl":   {HTTP: "http://127.0.0.1:8063"},
		"eastana": {HTTP: "http://127.0.0.1:8069"},
	}}
	require.Equal(t, []string{"http://127.0.0.1:8060", "http://127.0.0.1:8061", "http://127.0.0.1:8069", "http://localhost:8060",
		"http://localhost:8061", "http://localhost:8069", "https://127.0.0.1:8062", "https://localhost:8062"}, suiteOrigins(eps))
}
