package diagram_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/catalog/diagram"
)

var update = flag.Bool("update", false, "rewrite the golden drawings in testdata/")

// element is any SVG element, parsed generically.
type element struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []element  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (e element) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls fn on e and every element under it.
func (e element) walk(fn func(element)) {
	fn(e)
	for _, c := range e.Children {
		c.walk(fn)
	}
}

// texts is every text of the drawing, joined.
func (e element) texts() string {
	var b strings.Builder
	e.walk(func(x element) { b.WriteString(x.Text); b.WriteString(" ") })
	return b.String()
}

// TestRender draws every passport of the catalogue in both languages: valid XML, accessible (title,
// desc, role, aria-label), a lane per performer, a box per step with its term, both branches of the
// decision, the extension, and Госкорпорация's refusal to accept where the service is taken at a ЦОН.
func TestRender(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	for _, p := range cat.All() {
		for _, lang := range []string{"ru", "kk"} {
			t.Run("ok/"+p.Code+"."+p.Region+"/"+lang, func(t *testing.T) {
				t.Parallel()
				out := diagram.Render(p, lang)
				var root element
				require.NoError(t, xml.Unmarshal(out, &root), "the drawing is not well-formed XML")
				require.Equal(t, "svg", root.XMLName.Local)
				require.Equal(t, "http://www.w3.org/2000/svg", root.XMLName.Space)
				require.Equal(t, "img", root.attr("role"))
				require.NotEmpty(t, root.attr("aria-label"))
				require.Equal(t, lang, root.attr("lang"))
				ids := map[string]element{}
				lanes := 0
				root.walk(func(e element) {
					if id := e.attr("id"); id != "" {
						require.NotContains(t, ids, id, "id %q twice", id)
						ids[id] = e
					}
					if e.attr("class") == "swimlane" {
						lanes++
					}
				})
				require.Contains(t, ids, "dg-title")
				require.Contains(t, ids["dg-title"].Text, map[string]string{"ru": p.Name.RU, "kk": p.Name.KK}[lang])
				require.NotEmpty(t, ids["dg-desc"].Text, "a text equivalent for screen readers")
				performers := map[string]bool{}
				for _, s := range p.Steps {
					performers[s.Performer()] = true
					box, ok := ids["dg-step-"+s.ID]
					require.True(t, ok, "no box for step %s", s.ID)
					require.Contains(t, box.texts(), diagram.Term(s.Duration, lang), "step %s's term", s.ID)
				}
				want := 1 + len(performers) // the applicant's lane
				if slices.Contains(p.Channels, "tson") {
					want++
					require.Contains(t, ids, "dg-intake")
					require.Contains(t, ids, "dg-intake-refusal")
				} else {
					require.NotContains(t, ids, "dg-intake")
				}
				require.Equal(t, want, lanes)
				require.Contains(t, ids, "dg-approve")
				require.Contains(t, ids, "dg-refuse")
				require.Contains(t, ids["dg-extension"].texts(), diagram.Term(p.Extension.Max, lang))
				for _, b := range p.Bodies {
					require.Contains(t, root.texts(), map[string]string{"ru": b.Name.RU, "kk": b.Name.KK}[lang][:20], "the body's lane")
				}
			})
		}
	}
}

// TestGolden pins one drawing byte for byte (go test -update rewrites it).
func TestGolden(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	tests := []struct{ name, code, region, lang string }{
		{"ok/Pavlodar in Russian", "guardianship-certificate", "55", "ru"},
		{"ok/minors' property in Kazakh", "minors-property-certificate", "27", "kk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := cat.Get(tt.code, tt.region)
			require.True(t, ok)
			got := diagram.Render(p, tt.lang)
			file := filepath.Join("testdata", tt.code+"."+tt.region+"."+tt.lang+".svg")
			if *update {
				require.NoError(t, os.WriteFile(file, got, 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "the drawing of %s changed; review it and run go test -update", file)
		})
	}
}

func TestTerm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    catalog.Duration
		lang string
		want string
	}{
		{"ok/one working day", catalog.Duration{Value: 1, Unit: "working_days"}, "ru", "1 рабочий день"},
		{"ok/three calendar days", catalog.Duration{Value: 3, Unit: "calendar_days"}, "ru", "3 календарных дня"},
		{"ok/eleven minutes", catalog.Duration{Value: 11, Unit: "minutes"}, "ru", "11 минут"},
		{"ok/twenty one hours", catalog.Duration{Value: 21, Unit: "hours"}, "ru", "21 час"},
		{"ok/five working days in Kazakh", catalog.Duration{Value: 5, Unit: "working_days"}, "kk", "5 жұмыс күні"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, diagram.Term(tt.d, tt.lang))
		})
	}
}

// TestRenderAt marks the step a case is at, for sight (a heavier frame and a caption) and for screen
// readers (aria-current and the text equivalent); no other step is marked.
func TestRenderAt(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := cat.Get("minors-property-certificate", "27")
	require.True(t, ok)
	tests := []struct{ name, step, lang, caption string }{
		{"ok/the head's assignment, in Russian", "assign", "ru", "дело сейчас здесь"},
		{"ok/the officer's examination, in Kazakh", "examine", "kk", "іс қазір осында"},
		{"ok/a closed case marks nothing", "", "ru", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := diagram.RenderAt(p, tt.lang, tt.step)
			var root element
			require.NoError(t, xml.Unmarshal(out, &root))
			var marked []string
			root.walk(func(e element) {
				if e.attr("aria-current") == "step" {
					marked = append(marked, e.attr("id"))
				}
			})
			var desc string
			root.walk(func(e element) {
				if e.attr("id") == "dg-desc" {
					desc = e.Text
				}
			})
			if tt.step == "" {
				require.Empty(t, marked)
				require.Equal(t, diagram.Render(p, tt.lang), out)
				return
			}
			require.Equal(t, []string{"dg-step-" + tt.step}, marked)
			require.Contains(t, root.texts(), tt.caption)
			require.Contains(t, desc, tt.caption)
		})
	}
}
