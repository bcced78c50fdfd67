package qakit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// BuildOptions say which egov binary a suite runs.
type BuildOptions struct {
	// Bin is the binary to run; "" means EGOV_BIN, else a `go build` of the module's cmd/egov.
	Bin string
	// Race builds with the race detector (the integration tests do unless EGOV_RACE=0).
	Race bool
}

// builds caches the binaries built in this process, one per race setting: every suite a test process
// starts runs the same build, and building takes longer than starting the suite.
var builds = struct {
	sync.Mutex
	path map[bool]string
}{path: map[bool]string{}}

// Binary is the egov binary to run: o.Bin, else $EGOV_BIN, else one built from the source of the
// module this package belongs to (once per process).
func Binary(ctx context.Context, o BuildOptions) (string, error) {
	bin := o.Bin
	if bin == "" {
		bin = os.Getenv("EGOV_BIN")
	}
	if bin != "" {
		// Checked before anything starts: a wrong path would otherwise surface only after NATS and
		// PostgreSQL are up.
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("qakit: the egov binary: %w", err)
		}
		return bin, nil
	}
	builds.Lock()
	defer builds.Unlock()
	if p, ok := builds.path[o.Race]; ok {
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "egov-bin-")
	if err != nil {
		return "", err
	}
	bin = filepath.Join(dir, "egov")
	args := []string{"build", "-o", bin, "./cmd/egov"}
	if o.Race {
		args = []string{"build", "-race", "-o", bin, "./cmd/egov"}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("qakit: go build of cmd/egov: %w\n%s", err, out)
	}
	builds.path[o.Race] = bin
	return bin, nil
}

// moduleRoot is the folder of the egov module's source this package was compiled from (the module's
// own tree, a replace directive's target, or the module cache).
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("qakit: cannot tell where the egov source is; set EGOV_BIN")
	}
	root := filepath.Join(filepath.Dir(file), "..")
	if _, err := os.Stat(filepath.Join(root, "cmd", "egov")); err != nil {
		return "", fmt.Errorf("qakit: no egov source beside the kit (%w); set EGOV_BIN to an egov binary", err)
	}
	return root, nil
}
