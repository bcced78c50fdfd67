package engine_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// editedCatalog is the builtin catalogue with one passport file rewritten by edit.
func editedCatalog(t *testing.T, file string, edit func(string) string) *catalog.Catalog {
	t.Helper()
	files, err := catalog.Files()
	require.NoError(t, err)
	m := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		if path == file {
			edited := edit(string(b))
			require.NotEqual(t, string(b), edited, "the edit changes the file")
			b = []byte(edited)
		}
		m[path] = &fstest.MapFile{Data: b}
		return nil
	}))
	cat, err := catalog.Load(m)
	require.NoError(t, err)
	return cat
}

// reviewStep is the step version 3 of the Pavlodar passport adds: the head reviews before the officer
// examines.
const reviewStep = `  - id: review
    role: head
    action: {ru: "Рассмотрение руководителем", kk: "Басшының қарауы"}
    duration: {value: 1, unit: calendar_days}
    source: {document: seeds/000_e904fed1dceb5ab9.txt, ref: "test edit: a step added in version 3"}
  - id: examine
`

// actOn applies an employee's action through engine e (a replica on another catalogue).
func (s *suite) actOn(t *testing.T, e *engine.Engine, c *engine.Case, who string, a engine.Action) {
	t.Helper()
	require.NoError(t, s.actWith(t, e, c, who, a))
}

func stepsOf(t *testing.T, e *engine.Engine, c *engine.Case) []string {
	t.Helper()
	h, err := e.History(t.Context(), c.ID)
	require.NoError(t, err)
	var out []string
	for _, ev := range h {
		if ev.Action == engine.ActCompleted {
			out = append(out, ev.Step)
		}
	}
	return out
}

// TestEditedPassportAppliesToNewCasesOnly: a case registered under the passport's version (2) finishes on
// its steps after the passport is edited to version 3; a case registered after the edit runs version 3;
// a file changed under a version already recorded is refused.
func TestEditedPassportAppliesToNewCasesOnly(t *testing.T) {
	s := start(t)
	const file = "guardianship-certificate.55.yaml"
	old := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, old, "REGISTERED")
	c1 := s.caseOf(t, old)
	require.Equal(t, 2, c1.PassportVersion)

	v2 := editedCatalog(t, file, func(y string) string {
		y = strings.Replace(y, "\nversion: 2\n", "\nversion: 3\n", 1)
		return strings.Replace(y, "  - id: examine\n", reviewStep, 1)
	})
	e2 := s.engineOn(t, "replica-v2", v2)
	s.live.Store(e2)

	// The old case, driven by the replica on version 3, keeps version 2's two steps.
	s.actOn(t, e2, c1, "clerk", engine.Action{Kind: "complete"})
	c1 = s.get(t, c1)
	require.Equal(t, "examine", s.stepOf(t, c1), "no review step for a case of version 2")
	s.actOn(t, e2, c1, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve})
	s.actOn(t, e2, c1, "officer", engine.Action{Kind: "sign"})
	s.waitFor(t, old, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	require.Equal(t, []string{"register", "examine"}, stepsOf(t, e2, c1))

	// A new case takes version 3, and the old replica (still on version 2) reads it from the stored
	// version.
	fresh := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, fresh, "REGISTERED")
	c2 := s.caseOf(t, fresh)
	require.Equal(t, 3, c2.PassportVersion)
	s.actOn(t, e2, c2, "clerk", engine.Action{Kind: "complete"})
	c2 = s.get(t, c2)
	require.Equal(t, "review", s.stepOf(t, c2), "the replica on version 2 reads version 3 from passport_versions")
	var ae *engine.ActionError
	require.ErrorAs(t, s.act(t, c2, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve}), &ae)
	require.Equal(t, "wrong_role", ae.Code, "version 3's review is the head's")
	s.actOn(t, e2, c2, "head", engine.Action{Kind: "complete"})
	s.actOn(t, e2, c2, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve})
	s.actOn(t, e2, c2, "officer", engine.Action{Kind: "sign"})
	s.waitFor(t, fresh, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	require.Equal(t, []string{"register", "review", "examine"}, stepsOf(t, e2, c2))

	// Version 2 changed in place: refused, naming the passport and the way out.
	same := editedCatalog(t, file, func(y string) string {
		return strings.Replace(y, "duration: {value: 3, unit: calendar_days}", "duration: {value: 5, unit: calendar_days}", 1)
	})
	e3, err := engine.New(engine.Options{Catalog: same, Nodes: s.nodes, DB: s.db, Registries: engine.ShepRegistries{Nodes: s.nodes}, Now: s.clock.Now})
	require.NoError(t, err)
	err = e3.RecordPassports(t.Context())
	var changed *engine.PassportChangedError
	require.ErrorAs(t, err, &changed)
	require.Equal(t, 2, changed.Version)
	require.Contains(t, err.Error(), "passport guardianship-certificate for region 55, version 2: the file differs")
	require.Contains(t, err.Error(), "needs a new version number (version: 3)")
}
