package pgcluster_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/pgcluster"
)

// TestRestartKeepsData is what the dev mode relies on: a second start on the same folder finds the
// data of the first.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "egov-pgcluster-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))

	c, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir + "/pg", Database: "egov"})
	require.NoError(t, err)
	conn, err := pgx.Connect(t.Context(), c.URL())
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))
	require.NoError(t, c.Stop(t.Context()))

	c, err = pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir + "/pg", Database: "egov"})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Stop(t.Context())) }()
	conn, err = pgx.Connect(t.Context(), c.URL())
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var v string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT v FROM kept`).Scan(&v))
	require.Equal(t, "still here", v)
}

func TestMissingBinariesNamePackage(t *testing.T) {
	t.Setenv("PG_BIN", t.TempDir())
	_, err := pgcluster.FindBinaries()
	require.ErrorIs(t, err, pgcluster.ErrNoBinaries)
	require.ErrorContains(t, err, "apt-get install postgresql")
}
