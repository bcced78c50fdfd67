package printform

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
	"github.com/stretchr/testify/require"
)

// BenchmarkFonts is the fonts' part of BenchmarkRenderResult: a one-page PDF with a line in each
// font, which costs what the fonts cost — fpdf parsing both TrueType files when they are added and
// cutting their subsets when the PDF is written. fpdf holds the parsed font in the document and has no
// way to share it (see the package's doc), so this is paid per document.
func BenchmarkFonts(b *testing.B) {
	for b.Loop() {
		f := fpdf.New("P", "mm", "A4", "")
		f.AddUTF8FontFromBytes(family, "", fontRegular)
		f.AddUTF8FontFromBytes(family, "B", fontBold)
		f.AddPage()
		for _, style := range []string{"", "B"} {
			f.SetFont(family, style, 11)
			f.Cell(0, lineH, "Справка · Анықтама")
			f.Ln(lineH)
		}
		if err := f.Output(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFontsCoverTheTexts: the embedded fonts are cut to a few Unicode blocks (fonts/README.md), so
// every character the suite puts on paper by itself — the passports' texts and templates, this
// package's own words — must have a glyph in both; a passport with a character outside them fails here
// rather than print a box.
func TestFontsCoverTheTexts(t *testing.T) {
	t.Parallel()
	var files []string
	for _, pattern := range []string{"*.go", "../catalog/passports/*.yaml", "../catalog/passports/templates/*"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		require.NotEmpty(t, m, pattern)
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	runes := map[rune]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, r := range string(b) {
			if r >= ' ' {
				runes[r] = f
			}
		}
	}
	require.Contains(t, runes, 'ә', "the passports' Kazakh texts are read")
	for _, font := range []struct {
		name string
		ttf  []byte
	}{{"regular", fontRegular}, {"bold", fontBold}} {
		covered := cmap(t, font.ttf)
		require.True(t, covered['₸'], "%s: the tenge sign is kept", font.name)
		require.False(t, covered['✎'], "%s: dingbats are cut", font.name)
		for r, f := range runes {
			require.True(t, covered[r], "%s: %q (U+%04X, in %s) has no glyph", font.name, r, r, f)
		}
	}
}

// cmap is the set of characters a TrueType font maps to a glyph, read from its Unicode BMP subtable
// (format 4: segments of consecutive characters).
func cmap(t *testing.T, ttf []byte) map[rune]bool {
	t.Helper()
	u16 := func(b []byte, at int) int { return int(binary.BigEndian.Uint16(b[at:])) }
	u32 := func(b []byte, at int) int { return int(binary.BigEndian.Uint32(b[at:])) }
	table := -1
	for i := range u16(ttf, 4) {
		rec := 12 + 16*i
		if string(ttf[rec:rec+4]) == "cmap" {
			table = u32(ttf, rec+8)
		}
	}
	require.GreaterOrEqual(t, table, 0, "a cmap table")
	sub := -1
	for i := range u16(ttf, table+2) {
		rec := table + 4 + 8*i
		if platform, encoding := u16(ttf, rec), u16(ttf, rec+2); (platform == 3 && encoding == 1) || (platform == 0 && encoding == 3) {
			sub = table + u32(ttf, rec+4)
		}
	}
	require.GreaterOrEqual(t, sub, 0, "a Unicode BMP cmap subtable")
	require.Equal(t, 4, u16(ttf, sub), "format 4")
	segs := u16(ttf, sub+6) / 2
	ends, starts, deltas, offsets := sub+14, sub+16+2*segs, sub+16+4*segs, sub+16+6*segs
	got := map[rune]bool{}
	for s := range segs {
		start, end, delta, offset := u16(ttf, starts+2*s), u16(ttf, ends+2*s), u16(ttf, deltas+2*s), u16(ttf, offsets+2*s)
		for c := start; c <= end && c != 0xFFFF; c++ {
			glyph := (c + delta) & 0xFFFF
			if offset != 0 {
				glyph = u16(ttf, offsets+2*s+offset+2*(c-start))
				if glyph != 0 {
					glyph = (glyph + delta) & 0xFFFF
				}
			}
			got[rune(c)] = glyph != 0
		}
	}
	return got
}
