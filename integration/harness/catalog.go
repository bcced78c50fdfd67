package harness

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Builtin is the folder of the built-in passports (internal/catalog/passports).
func Builtin() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "internal", "catalog", "passports")
}

// Catalog copies the built-in passports into a folder of the test's, each through edit (nil: as they
// are), with the document templates they name (templates/, as they are), for a suite started with
// EGOV_<SERVICE>_CATALOG_DIR pointing there.
func Catalog(t testing.TB, edit func(name string, yaml []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	// A passport names its templates relative to its folder: without them РШЭП refuses the catalogue.
	if err := os.CopyFS(filepath.Join(dir, "templates"), os.DirFS(filepath.Join(Builtin(), "templates"))); err != nil {
		t.Fatalf("harness: passport templates: %v", err)
	}
	names, err := filepath.Glob(filepath.Join(Builtin(), "*.yaml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("harness: built-in passports: %v (found %d)", err, len(names))
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			b = edit(filepath.Base(n), b)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
