package pgcluster_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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

// TestLeftoverServerIsRestartedAndSaid is a kill -9 of egov dev (Durable, as egov dev runs it: an
// immediate stop loses what an unsynced server had not written): its PostgreSQL keeps running (a
// process of its own); the next start on the folder stops and starts it, says so in the log, and keeps
// the data.
func TestLeftoverServerIsRestartedAndSaid(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "egov-pgcluster-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))

	var quiet bytes.Buffer
	first, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir + "/pg", Database: "egov", Durable: true,
		Log: slog.New(slog.NewJSONHandler(&quiet, nil))})
	require.NoError(t, err)
	require.Empty(t, quiet.String(), "a fresh folder has nothing to restart")
	conn, err := pgx.Connect(t.Context(), first.URL())
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))
	pid, running := pgcluster.Leftover(filepath.Join(dir, "pg", "data"))
	require.True(t, running, "the first server is running")

	// The owner is gone without stopping it; the next start finds it running.
	var log bytes.Buffer
	second, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir + "/pg", Database: "egov", Durable: true,
		Log: slog.New(slog.NewJSONHandler(&log, nil))})
	require.NoError(t, err)
	defer func() { require.NoError(t, second.Stop(t.Context())) }()
	require.Contains(t, log.String(), "PostgreSQL was left running by a previous run")
	require.Contains(t, log.String(), `"pid":`+strconv.Itoa(pid))
	conn, err = pgx.Connect(t.Context(), second.URL())
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var v string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT v FROM kept`).Scan(&v))
	require.Equal(t, "still here", v)
	newPid, running := pgcluster.Leftover(filepath.Join(dir, "pg", "data"))
	require.True(t, running)
	require.NotEqual(t, pid, newPid, "the server was started again")
}

func TestMissingBinariesNamePackage(t *testing.T) {
	t.Setenv("PG_BIN", t.TempDir())
	_, err := pgcluster.FindBinaries()
	require.ErrorIs(t, err, pgcluster.ErrNoBinaries)
	require.ErrorContains(t, err, "apt-get install postgresql")
}
