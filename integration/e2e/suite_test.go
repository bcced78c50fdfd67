// Package e2e runs the guardianship-certificate passports through every system, each service its own
// OS process (egov run), against a real NATS server and an ephemeral PostgreSQL: every channel and path,
// the exact statuses the citizen sees, the signatures on the results, one trace per application, and
// the faults (kill -9 of ШЭП, РШЭП and the portal; NATS and PostgreSQL restarts) with nothing lost or
// doubled.
package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

// The cast (internal/demo).
const (
	asel       = "880512400011"
	ivanov     = "841103300017"
	ward       = "120921600010"
	child      = "150310500018"
	missing    = "950708300016"
	poaValid   = "2026-ДОВ-000101"
	poaExpired = "2024-ДОВ-000077"
)

// world is a running suite and the people in it.
type world struct {
	s    *harness.Suite
	db   *pgxpool.Pool
	keys string
}

func start(t *testing.T, env ...string) *world {
	t.Helper()
	s := harness.StartSuite(t, harness.SuiteOptions{Env: env})
	db, err := pgxpool.New(context.Background(), s.Endpoints.Postgres)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return &world{s: s, db: db, keys: s.Keys()}
}

// citizen signs a demo citizen in to the portal with the certificate.
func (w *world) citizen(t *testing.T, slug string) *qakit.Person {
	t.Helper()
	p, err := w.s.Citizen(t.Context(), slug)
	require.NoError(t, err, "portal sign-in")
	return p
}

// operator signs the demo operator in to the ЦОН desk.
func (w *world) operator(t *testing.T) *qakit.Person {
	t.Helper()
	p, err := w.s.Operator(t.Context())
	require.NoError(t, err, "desk sign-in")
	return p
}

// staff signs a member of the provider's staff in to АРМ.
func (w *world) staff(t *testing.T, slug, region string) *qakit.Staff {
	t.Helper()
	s, err := w.s.Staff(t.Context(), slug, region)
	require.NoError(t, err)
	return s
}

func TestProcessSuiteStarts(t *testing.T) {
	w := start(t)
	c := w.citizen(t, "citizen-akhmetova")
	pg, err := c.Get(t.Context(), "/services")
	require.NoError(t, err)
	require.Contains(t, pg.Body, "guardianship-certificate")

	// The citizen's sign-in by certificate was a signature check of the portal's, counted and with its
	// OCSP answer, on the portal's /metrics (the platform's meter reaches the channel's verifier).
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.s.URL("portal")+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Regexp(t, `egov_signature_checks_total\{[^}]*otel_scope_name="egov/portal"[^}]*outcome="ok"[^}]*purpose="authentication"[^}]*\} [1-9]`, string(b))
	require.Regexp(t, `egov_ocsp_answers_total\{[^}]*otel_scope_name="egov/portal"[^}]*status="good"[^}]*\} [1-9]`, string(b))
}
