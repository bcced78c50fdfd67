package printform

import (
	"io"
	"testing"

	"github.com/go-pdf/fpdf"
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
