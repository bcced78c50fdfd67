// Package printform renders the documents people print: a result of a state service (печатная форма
// результата) with the QR code of its public verification page, and the receipt of a service centre or
// of a provider's office (расписка). It renders a page description to PDF bytes and does no I/O: the
// caller signs the bytes and stores them.
//
// PDF is written by github.com/go-pdf/fpdf with the DejaVu Sans TrueType fonts embedded in the binary
// (Cyrillic and the Kazakh letters ә ғ қ ң ө ұ ү һ і; cut to the scripts the suite prints, see
// fonts/README.md), so nothing is read from the machine at run time;
// the QR code by github.com/skip2/go-qrcode.
//
// The fonts are most of a document's cost, and fpdf gives no way to parse them once per process:
// AddUTF8FontFromBytes parses the TrueType file into the document it is added to, and Output writes to
// that parsed font when it cuts the subset of the glyphs used — sharing one parsed font between
// documents is the data race of go-pdf/fpdf#37, which fpdf fixed by parsing per document — and no
// function hands a parsed font to another document (github.com/go-pdf/fpdf v0.9.0, and its successor
// codeberg.org/go-pdf/fpdf v0.12.0 alike). So only the embedded bytes are shared, read-only, and each
// Render parses both fonts again; Render is safe for concurrent use. With the whole DejaVu Sans
// (6253 glyphs) the fonts were four fifths of a document (go test -bench . -benchmem -count=6 on the
// shared 2-core machine: BenchmarkRenderResult median 25 ms, 21 MB, 35.6k allocations; BenchmarkFonts,
// the two fonts alone, median 21 ms, 16.8 MB, 25k allocations). What is left to cut is how much there
// is to parse: the embedded fonts are subsets (1701 glyphs). Measured in one run, the test binaries of
// both alternating, one CPU, 60 documents each, five rounds: BenchmarkRenderResult 32–46 ms (median
// 35 ms), 20.6 MB, 35.6k allocations a document with the whole fonts; 23.7–26.4 ms (median 24 ms),
// 16.4 MB, 21.5k allocations with the subsets. The rest of the fonts' cost is fpdf's own (a table of
// 65536 widths per font, marshalled to JSON to name it): removing it needs fpdf changed to share a
// parsed font read-only and cut the subset into a copy.
package printform

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"
)

// MediaType is the media type of every document the package renders.
const MediaType = "application/pdf"

var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

// Document is what is printed: one page per language, the same QR code on each.
type Document struct {
	// Title is the PDF's title (its metadata), Author who issues it.
	Title, Author string
	// At is when it was issued: the PDF's creation date, so the same input gives the same bytes.
	At time.Time
	// QR is what the QR code carries (the verification page's URL); none when empty.
	QR    string
	Pages []Page
}

// Page is one language's page.
type Page struct {
	// Header lines are printed first, bold (the issuing body, its address).
	Header []string
	// Title is printed large and centred.
	Title string
	// Body lines are printed as they are; an empty line is a gap.
	Body []string
	// Rows are label–value pairs, printed after the body.
	Rows []Row
	// Note is a paragraph in a smaller type (an honest word on what is still pending).
	Note string
	// Signatures are the signature lines at the foot: who signs and, when known, the name.
	Signatures []Signature
	// QRCaption is printed beside the QR code.
	QRCaption []string
}

// Row is a label and its value.
type Row struct{ Label, Value string }

// Signature is a signature line: the role (position) and the name, or a line to sign by hand when
// Name is empty. Signed says the name was signed with an ЭЦП rather than to be signed on paper.
type Signature struct {
	Role, Name, Signed string
}

const (
	family  = "DejaVu"
	margin  = 18.0
	lineH   = 5.5
	qrSide  = 32.0
	qrImage = "qr"
)

// Render writes the document as PDF.
func Render(d Document) ([]byte, error) {
	if len(d.Pages) == 0 {
		return nil, errors.New("printform: a document needs at least one page")
	}
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin)
	f.AddUTF8FontFromBytes(family, "", fontRegular)
	f.AddUTF8FontFromBytes(family, "B", fontBold)
	f.SetTitle(d.Title, true)
	f.SetAuthor(d.Author, true)
	f.SetCreator("egov suite", true)
	f.SetProducer("egov suite", true)
	f.SetCreationDate(d.At.UTC())
	f.SetModificationDate(d.At.UTC())
	f.SetCatalogSort(true)
	if d.QR != "" {
		// One pixel a module: the page scales the image up without smoothing (PDF's default), so the
		// code prints sharp at any size, and a large image would only cost time to encode.
		png, err := qrcode.Encode(d.QR, qrcode.Medium, -1)
		if err != nil {
			return nil, fmt.Errorf("printform: QR code: %w", err)
		}
		f.RegisterImageOptionsReader(qrImage, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
	}
	for _, p := range d.Pages {
		page(f, p, d.QR != "")
	}
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, fmt.Errorf("printform: %w", err)
	}
	return b.Bytes(), nil
}

func page(f *fpdf.Fpdf, p Page, qr bool) {
	f.AddPage()
	w, _ := f.GetPageSize()
	width := w - 2*margin
	f.SetFont(family, "B", 11)
	for _, h := range p.Header {
		f.MultiCell(width, lineH, h, "", "C", false)
	}
	f.Ln(lineH)
	f.SetFont(family, "B", 14)
	f.MultiCell(width, 7, p.Title, "", "C", false)
	f.Ln(lineH)
	f.SetFont(family, "", 11)
	for _, l := range p.Body {
		if strings.TrimSpace(l) == "" {
			f.Ln(lineH / 2)
			continue
		}
		f.MultiCell(width, lineH, l, "", "L", false)
	}
	label := width * 0.42
	for _, r := range p.Rows {
		x, y := f.GetXY()
		f.SetFont(family, "B", 10)
		f.MultiCell(label, lineH, r.Label, "", "L", false)
		below := f.GetY()
		f.SetXY(x+label, y)
		f.SetFont(family, "", 11)
		f.MultiCell(width-label, lineH, r.Value, "", "L", false)
		f.SetY(max(below, f.GetY()) + 1)
	}
	if p.Note != "" {
		f.Ln(lineH / 2)
		f.SetFont(family, "", 9)
		f.MultiCell(width, 4.5, p.Note, "", "L", false)
	}
	f.Ln(lineH * 2)
	for _, s := range p.Signatures {
		f.SetFont(family, "B", 10)
		f.MultiCell(width, lineH, s.Role, "", "L", false)
		f.SetFont(family, "", 11)
		switch {
		case s.Signed != "":
			f.MultiCell(width, lineH, s.Name+" — "+s.Signed, "", "L", false)
		default:
			f.MultiCell(width, lineH, "______________________   "+s.Name, "", "L", false)
		}
		f.Ln(lineH)
	}
	if !qr {
		return
	}
	// The QR code and its caption at the foot of the page, or below the text when it runs long.
	_, h := f.GetPageSize()
	y := max(f.GetY()+lineH, h-margin-qrSide)
	if y+qrSide > h-margin {
		f.AddPage()
		y = margin
	}
	f.ImageOptions(qrImage, margin, y, qrSide, qrSide, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	f.SetXY(margin+qrSide+4, y+2)
	f.SetFont(family, "", 8)
	for _, c := range p.QRCaption {
		f.SetX(margin + qrSide + 4)
		f.MultiCell(width-qrSide-4, 4, c, "", "L", false)
	}
}
