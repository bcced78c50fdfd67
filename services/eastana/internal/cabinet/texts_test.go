package cabinet

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTexts: both languages have every word, and every word a page asks for exists (a missing key would
// render as nothing, silently).
func TestTexts(t *testing.T) {
	t.Parallel()
	for key := range texts["ru"] {
		require.NotEmpty(t, texts["kk"][key], "kk lacks %q", key)
	}
	for key := range texts["kk"] {
		require.NotEmpty(t, texts["ru"][key], "ru lacks %q", key)
	}
	used := regexp.MustCompile(`(?:\.T|\$t)\.([a-z0-9_]+)`)
	prefixed := regexp.MustCompile(`printf "([a-z]+_)%s"`)
	pages, err := fs.Glob(web, "web/*.html")
	require.NoError(t, err)
	require.NotEmpty(t, pages)
	for _, name := range pages {
		b, err := fs.ReadFile(web, name)
		require.NoError(t, err)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			require.NotEmpty(t, texts["ru"][m[1]], "%s asks for %q", name, m[1])
		}
		for _, m := range prefixed.FindAllStringSubmatch(string(b), -1) {
			found := false
			for key := range texts["ru"] {
				found = found || len(key) > len(m[1]) && key[:len(m[1])] == m[1]
			}
			require.True(t, found, "%s asks for words %q…", name, m[1])
		}
	}
	for _, kind := range []string{"registration_ticket", "referral", "refusal"} {
		require.NotEmpty(t, texts["kk"]["decision_"+kind], kind)
	}
	for _, ch := range []string{"portal", "tson", "office", "eastana"} {
		require.NotEmpty(t, texts["kk"]["ch_"+ch], ch)
	}
}
