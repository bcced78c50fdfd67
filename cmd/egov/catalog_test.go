package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCatalogDiagramAndList: `egov catalog diagram` writes one passport's SVG in the language asked and
// refuses an ambiguous or unknown code with what to do; `egov catalog list` lists the services known by
// title only, marked.
func TestCatalogDiagramAndList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
		err  string
	}{
		{name: "ok/Russian by default", args: []string{"diagram", "guardianship-certificate", "--region", "55"},
			want: []string{`<svg xmlns="http://www.w3.org/2000/svg" role="img"`, `lang="ru"`, "Выдача справок по опеке и попечительству"}},
		{name: "ok/Kazakh", args: []string{"diagram", "minors-property-certificate", "--lang", "kk"},
			want: []string{`lang="kk"`, "Кәмелетке толмаған"}},
		{name: "fail/several regions, none chosen", args: []string{"diagram", "guardianship-certificate"},
			err: "exists for regions 27, 55, 59: choose one with --region"},
		{name: "fail/a region without the service", args: []string{"diagram", "guardianship-certificate", "--region", "71"},
			err: `no passport "guardianship-certificate" for region "71"; its regions: 27, 55, 59`},
		{name: "fail/unknown code", args: []string{"diagram", "no-such-service"}, err: `no passport "no-such-service"; see egov catalog list`},
		{name: "fail/unknown language", args: []string{"diagram", "minors-property-certificate", "--lang", "en"}, err: `--lang "en": ru or kk`},
		{name: "ok/list marks the services known by title", args: []string{"list"},
			want: []string{"guardianship-certificate", "archive-certificate", "(title only: not offered)", "seeds/001_90afdf2ffce9722a.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			cmd := catalogCommand(&out)
			cmd.SetArgs(tt.args)
			cmd.SetOut(&out)
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			for _, w := range tt.want {
				require.Contains(t, out.String(), w)
			}
			if tt.args[0] == "diagram" {
				require.NoError(t, xml.Unmarshal(out.Bytes(), new(struct{})), "the SVG parses")
				require.True(t, strings.HasSuffix(out.String(), "</svg>\n"))
			}
		})
	}
}
