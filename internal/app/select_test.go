package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/app"
)

func TestSelect(t *testing.T) {
	t.Parallel()
	all := []app.Descriptor{{Name: "nca"}, {Name: "shep"}, {Name: "gbdfl"}}
	names := func(ds []app.Descriptor) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Name)
		}
		return out
	}
	got, err := app.Select(all, " gbdfl, nca ,gbdfl")
	require.NoError(t, err)
	require.Equal(t, []string{"nca", "gbdfl"}, names(got), "start order, each once")
	got, err = app.Select(all, "all")
	require.NoError(t, err)
	require.Equal(t, []string{"nca", "shep", "gbdfl"}, names(got))
	_, err = app.Select(all, "shep,portal")
	require.ErrorContains(t, err, `unknown service "portal"`)
	_, err = app.Select(all, " , ")
	require.ErrorContains(t, err, "no services chosen")
}
