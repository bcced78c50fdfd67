// Package pgcluster runs a PostgreSQL cluster from the machine's own server binaries (initdb, pg_ctl):
// a persistent one for the dev mode, a throw-away one for tests. As root it runs them as the "postgres"
// system user, since the server refuses to run as root.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/freeport"
)

// ErrNoBinaries means the PostgreSQL server binaries are not installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package " +
	"'postgresql' (apt-get install postgresql), set PG_BIN to their folder, or set DATABASE_URL")

// FindBinaries returns the folder holding initdb and pg_ctl: $PG_BIN, else the newest
// /usr/lib/postgresql/<version>/bin, else the folder of initdb on PATH.
func FindBinaries() (string, error) {
	if dir := os.Getenv("PG_BIN"); dir != "" {
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
		return "", fmt.Errorf("PG_BIN=%s has no initdb and pg_ctl: %w", dir, ErrNoBinaries)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	for _, m := range matches {
		dir := filepath.Dir(m)
		if isExec(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if isExec(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Options describe a cluster.
type Options struct {
	// Dir holds the cluster (Dir/data) and its log (Dir/postgres.log). An initialised Dir is reused.
	Dir string
	// Port to listen on, on 127.0.0.1; 0 picks a free one.
	Port int
	// Durable keeps fsync on. Tests turn it off for speed; the dev mode keeps it, so that a crash of the
	// machine does not lose the demo's data.
	Durable bool
	// Database is created on first start when not "postgres".
	Database string
	// Log is told when a server left running by a previous owner of Dir is stopped and started again
	// (nil: not told).
	Log *slog.Logger
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	bin  string
	dir  string
	port int
	db   string
	cred *syscall.Credential
}

// Start initialises Dir when it is empty, starts the server and waits until it accepts connections.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{bin: bin, dir: dir, port: o.Port, db: o.Database}
	if c.db == "" {
		c.db = "postgres"
	}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
		if err := Reachable(dir); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
			"--locale=C", "--no-sync", "--no-instructions"); err != nil {
			return nil, err
		}
	}
	settings := []string{
		"-c listen_addresses=127.0.0.1",
		"-c unix_socket_directories=''",
		"-c max_connections=200",
	}
	if !o.Durable {
		settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	// A server left running by a killed process (kill -9 of egov dev: PostgreSQL is a process of its
	// own and outlives it) still holds the folder; stop it first, and say so: the user sees the
	// restart instead of wondering why the old server's port went away.
	if pid, ok := Leftover(data); ok {
		if o.Log != nil {
			o.Log.Warn("PostgreSQL was left running by a previous run that did not stop it (killed?): stopping it and starting it again; the data are kept",
				"cluster", dir, "pid", pid)
		}
		_ = c.run(ctx, "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
	}
	// A port picked here may still be taken by another process before the server binds it: then pick
	// another, a few times.
	for attempt := 0; ; attempt++ {
		if o.Port == 0 {
			if c.port, err = freeport.One(); err != nil {
				return nil, fmt.Errorf("pgcluster: %w", err)
			}
		}
		err = c.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "60",
			"-o", strings.Join(append([]string{"-p " + strconv.Itoa(c.port)}, settings...), " "), "start")
		if err == nil {
			break
		}
		if o.Port != 0 || attempt == 2 || !freeport.InUse(err.Error()) {
			return nil, err
		}
	}
	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	if c.db != "postgres" {
		if err := c.ensureDatabase(ctx); err != nil {
			_ = c.Stop(context.Background())
			return nil, err
		}
	}
	return c, nil
}

// Leftover reports whether a server still runs on the data folder (its postmaster.pid names a live
// process), and its pid. A pid file whose process is gone (the machine restarted) is no server: pg_ctl
// start replaces it.
func Leftover(data string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, false
	}
	// Signal 0 checks that the process exists; EPERM means it exists under another user (postgres).
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return pid, false
	}
	return pid, true
}

// URL is the connection URL of the cluster's database.
func (c *Cluster) URL() string { return c.DatabaseURL(c.db) }

// DatabaseURL is the connection URL of another database on the cluster.
func (c *Cluster) DatabaseURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Port is the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down ("fast": sessions are ended, the data is kept).
func (c *Cluster) Stop(ctx context.Context) error {
	return c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "-t", "60", "stop")
}

// Kill stops the server without a checkpoint, as a crash would (for fault tests).
func (c *Cluster) Kill(ctx context.Context) error {
	return c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir // the working folder must be readable by the postgres user
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
		return fmt.Errorf("pgcluster: %s %s: %w\n%s%s", name, args[len(args)-1], err, out, tail(log, 2000))
	}
	return nil
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.DatabaseURL("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: not accepting connections after 30s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (c *Cluster) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.DatabaseURL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.db).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.db}.Sanitize()); err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", c.db, err)
	}
	return nil
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs the 'postgres' system user (the Debian package postgresql creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Reachable checks that the postgres user can walk down to dir: when the process is root the server
// runs as that user, so every parent must be searchable by others. It is nil for other users.
func Reachable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgcluster: the postgres user cannot reach %s because %s is not searchable by others "+
				"(mode %s); choose a data folder elsewhere, e.g. under /tmp or /var/lib", dir, p, fi.Mode().Perm())
		}
		if p == "/" {
			return nil
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
