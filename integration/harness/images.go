package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/egov-suite/egov/internal/pgcluster"
)

// The local images of the container mode. Each is built with `docker build` from a folder this
// harness fills: nothing is pulled from a registry, which the machines running the tests may not
// reach.
const (
	// EgovImage is deploy/Dockerfile around the static egov binary: the image `make image` builds.
	EgovImage = "egov-it/egov:latest"
	// NATSImage is nats-server, built from the Go module proxy (the version go.mod pins), FROM scratch.
	NATSImage = "egov-it/nats:latest"
	// PostgresImage is the machine's own PostgreSQL server (Debian's package, as the process mode
	// uses it): its binaries, their shared libraries and a shell for the entrypoint, FROM scratch.
	PostgresImage = "egov-it/postgres:latest"
)

// Docker says whether the container mode runs: EGOV_CONTAINERS=off opts out (a machine without
// Docker; documented in the README), and then the test is skipped with that reason. Otherwise Docker
// must answer: a machine where the test command installed it fails the test rather than skip it.
func Docker(t testing.TB) {
	t.Helper()
	if os.Getenv("EGOV_CONTAINERS") == "off" {
		t.Skip("EGOV_CONTAINERS=off: the container mode is opted out on this machine")
	}
	out, err := exec.CommandContext(t.Context(), "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		t.Fatalf("harness: Docker Engine does not answer (%v: %s); `make deps` as root installs and starts it, "+
			"or set EGOV_CONTAINERS=off to run without the container mode", err, strings.TrimSpace(string(out)))
	}
}

// builtImages caches the images of this test process: building them takes longer than a suite's
// start, and every container-mode test runs the same ones.
var builtImages = struct {
	sync.Mutex
	done bool
}{}

// Images builds the three local images once per test process.
func Images(t testing.TB) {
	t.Helper()
	Docker(t)
	builtImages.Lock()
	defer builtImages.Unlock()
	if builtImages.done {
		return
	}
	// Ryuk, testcontainers' reaper, is an image from a registry: it stays off, and every container and
	// network of a suite is removed by the test's cleanup instead.
	if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
		t.Fatalf("harness: %v", err)
	}
	// The ports are published on this host's loopback (local). Run inside a container (a CI job),
	// testcontainers would look for them at the default gateway instead.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		if err := os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1"); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	ctx := context.Background()
	for _, b := range []func(context.Context) error{buildEgov, buildNATS, buildPostgres} {
		if err := b(ctx); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	builtImages.done = true
}

// sourceRoot is the egov repository this harness belongs to (integration/harness/..).
func sourceRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot tell where the harness's source is")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// goBuild builds a static binary (CGO_ENABLED=0: a scratch image has no C library) of pkg, from dir.
func goBuild(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// dockerBuild builds the image tag from the folder ctxDir, whose Dockerfile is dockerfile.
func dockerBuild(ctx context.Context, tag, dockerfile, ctxDir string) error {
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, "-f", dockerfile, ctxDir)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s: %w\n%s", tag, err, b)
	}
	return nil
}

// withContext runs fill on a fresh build folder holding an empty tmp/ (an image's temporary folder, or
// its data folder), then removes it.
func withContext(fill func(dir string) error) error {
	dir, err := os.MkdirTemp("", "egov-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o777); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	return fill(dir)
}

func buildEgov(ctx context.Context) error {
	root, err := sourceRoot()
	if err != nil {
		return err
	}
	return withContext(func(dir string) error {
		if err := goBuild(ctx, root, filepath.Join(dir, "egov"), "./cmd/egov"); err != nil {
			return err
		}
		return dockerBuild(ctx, EgovImage, filepath.Join(root, "deploy", "Dockerfile"), dir)
	})
}

func buildNATS(ctx context.Context) error {
	root, err := sourceRoot()
	if err != nil {
		return err
	}
	return withContext(func(dir string) error {
		// The integration module requires nats-server for the process mode's embedded server: the
		// same pinned version becomes the container's.
		if err := goBuild(ctx, filepath.Join(root, "integration"), filepath.Join(dir, "nats-server"),
			"github.com/nats-io/nats-server/v2"); err != nil {
			return err
		}
		df := "FROM scratch\nCOPY --chown=65532:65532 tmp /data\nCOPY nats-server /nats-server\nUSER 65532:65532\n" +
			"ENTRYPOINT [\"/nats-server\"]\nCMD [\"-c\", \"/nats.conf\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			return err
		}
		return dockerBuild(ctx, NATSImage, filepath.Join(dir, "Dockerfile"), dir)
	})
}

// pgEntrypoint initialises the cluster on the container's first start and runs the server in the
// foreground. Trust over the suite's private network: a throw-away test cluster, as the process mode's.
const pgEntrypoint = `#!/bin/sh
set -e
D=/var/lib/postgresql/data
if [ ! -s "$D/PG_VERSION" ]; then
  BIN/initdb -D "$D" -U postgres -A trust -E UTF8 --locale=C --no-sync --no-instructions >/dev/null
  echo "host all all all trust" >> "$D/pg_hba.conf"
fi
exec BIN/postgres -D "$D" -c listen_addresses='*' -c unix_socket_directories='' -c max_connections=300 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off
`

// buildPostgres makes a root filesystem of the machine's PostgreSQL server: initdb and postgres, the
// server's modules, its share folder, the libraries ldd names for them, /bin/sh, and a postgres user
// (initdb looks its user up).
func buildPostgres(ctx context.Context) error {
	bin, err := pgcluster.FindBinaries()
	if err != nil {
		return err
	}
	bin, err = filepath.EvalSymlinks(bin)
	if err != nil {
		return err
	}
	base := filepath.Dir(bin) // /usr/lib/postgresql/<version>
	share := filepath.Join("/usr/share/postgresql", filepath.Base(base))
	return withContext(func(dir string) error {
		elves := []string{filepath.Join(bin, "initdb"), filepath.Join(bin, "postgres"), "/bin/sh"}
		mods, err := filepath.Glob(filepath.Join(base, "lib", "*.so"))
		if err != nil {
			return err
		}
		for _, m := range mods {
			// The JIT provider needs LLVM's libraries (a hundred MB); the server runs with jit off.
			if !strings.HasPrefix(filepath.Base(m), "llvmjit") {
				elves = append(elves, m)
			}
		}
		libs := map[string]bool{}
		for _, e := range elves {
			if err := copyFile(e, filepath.Join(dir, "rootfs", e)); err != nil {
				return err
			}
			deps, err := ldd(ctx, e)
			if err != nil {
				return err
			}
			for _, d := range deps {
				libs[d] = true
			}
		}
		for l := range libs {
			if err := copyFile(l, filepath.Join(dir, "rootfs", l)); err != nil {
				return err
			}
		}
		for _, tree := range []string{share, "/usr/share/zoneinfo/UTC", "/usr/share/zoneinfo/Etc/UTC"} {
			if err := copyTree(tree, filepath.Join(dir, "rootfs", tree)); err != nil {
				return err
			}
		}
		uid, gid, err := postgresIDs()
		if err != nil {
			return err
		}
		files := map[string]string{
			"rootfs/etc/passwd":                  fmt.Sprintf("postgres:x:%d:%d::/var/lib/postgresql:/bin/sh\n", uid, gid),
			"rootfs/etc/group":                   fmt.Sprintf("postgres:x:%d:\n", gid),
			"rootfs/usr/local/bin/pg-entrypoint": strings.ReplaceAll(pgEntrypoint, "BIN/", bin+"/"),
		}
		for name, body := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, "pgdata", "lib", "postgresql"), 0o700); err != nil {
			return err
		}
		df := fmt.Sprintf("FROM scratch\nCOPY rootfs /\nCOPY --chown=%d:%d tmp /tmp\nCOPY --chown=%d:%d pgdata /var\n"+
			"USER %d:%d\nENV TZ=UTC\nENTRYPOINT [\"/usr/local/bin/pg-entrypoint\"]\n", uid, gid, uid, gid, uid, gid)
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			return err
		}
		return dockerBuild(ctx, PostgresImage, filepath.Join(dir, "Dockerfile"), dir)
	})
}

// postgresIDs are the machine's postgres user and group ids, or Debian's usual ones when the package
// made none (PG_BIN pointing elsewhere).
func postgresIDs() (int, int, error) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) > 3 && parts[0] == "postgres" {
			var uid, gid int
			if _, err := fmt.Sscan(parts[2], &uid); err != nil {
				return 0, 0, err
			}
			if _, err := fmt.Sscan(parts[3], &gid); err != nil {
				return 0, 0, err
			}
			return uid, gid, nil
		}
	}
	return 101, 104, sc.Err()
}

// ldd lists the shared libraries (and the loader) an ELF file needs, by path.
func ldd(ctx context.Context, path string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", path).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", path, err)
	}
	var libs []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	return libs, nil
}

// copyFile copies src's content (through symbolic links) to dst with src's mode.
func copyFile(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies a file or a folder's files.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}
