package e2e

import (
	"bytes"
	"html"
	pngimage "image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/qakit"
)

var printableRe = regexp.MustCompile(`href="([^"]+)" class="result-pdf"`)

// fetch gets path from the portal with client; the status and the body.
func fetch(t *testing.T, client *http.Client, base, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// qrOf renders the PDF's first page with pdftoppm (poppler-utils) and decodes its QR code.
func qrOf(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftoppm")
	require.NoError(t, err, "pdftoppm is needed (apt-get install poppler-utils)")
	dir := t.TempDir()
	p := filepath.Join(dir, "result.pdf")
	require.NoError(t, os.WriteFile(p, pdf, 0o600))
	out, err := exec.CommandContext(t.Context(), bin, "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", p, filepath.Join(dir, "page")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Open(filepath.Join(dir, "page.png"))
	require.NoError(t, err)
	defer f.Close()
	img, err := pngimage.Decode(f)
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	require.NoError(t, err, "the QR code of the printed result decodes")
	return res.GetText()
}

// printedResult: whoever holds the application at channel (the citizen at "portal", the operator at
// "tson") downloads the result's printable form from the application's page; its QR code opens the
// portal's public /verify, which — with no session — says who signed and serves the very same PDF; its
// detached signature verifies with the node's system key; an altered digest is unknown.
func (w *world) printedResult(t *testing.T, c *qakit.Person, channel, app, region string) {
	t.Helper()
	pg, err := c.Get(t.Context(), app)
	require.NoError(t, err)
	m := printableRe.FindStringSubmatch(pg.Body)
	require.NotNil(t, m, "the application's page links the printable form: %s", pg.Body)
	portal := w.s.URL("portal")
	status, pdf := fetch(t, c.Client(), w.s.URL(channel), html.UnescapeString(m[1]))
	require.Equal(t, http.StatusOK, status)
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))

	link := qrOf(t, pdf)
	require.True(t, strings.HasPrefix(link, portal+"/verify?"), "the QR code opens the portal's /verify: %s", link)
	anonymous := &http.Client{} // no session: the page is public
	status, page := fetch(t, anonymous, portal, strings.TrimPrefix(link, portal))
	require.Equal(t, http.StatusOK, status, "%s", page)
	require.Contains(t, string(page), `data-verified="true"`)
	require.Contains(t, string(page), "rshep-"+region)

	status, again := fetch(t, anonymous, portal, strings.TrimPrefix(link, portal)+"&part=pdf")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, pdf, again, "/verify serves the PDF the citizen printed")
	status, sig := fetch(t, anonymous, portal, strings.TrimPrefix(link, portal)+"&part=pdf&sig=1")
	require.Equal(t, http.StatusOK, status)
	v, err := w.s.Verifier()
	require.NoError(t, err)
	res, err := v.Verify(t.Context(), pdf, sig, envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err, "the PDF's detached signature verifies")
	require.Equal(t, "rshep-"+region, res.Holder.Name)

	altered := regexp.MustCompile(`d=[0-9a-f]{64}`).ReplaceAllString(strings.TrimPrefix(link, portal), "d="+strings.Repeat("0", 64))
	status, page = fetch(t, anonymous, portal, altered)
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, string(page), "не найден среди документов, выданных через портал и ЦОН")
}

// pdfText reads a PDF's text with pdftotext (poppler-utils), words joined by single spaces.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	require.NoError(t, err, "pdftotext is needed (apt-get install poppler-utils)")
	p := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(p, pdf, 0o600))
	out, err := exec.CommandContext(t.Context(), bin, p, "-").Output()
	require.NoError(t, err)
	return strings.Join(strings.Fields(string(out)), " ")
}

// printedReceipt: the receipt the ЦОН prints as PDF names the centre, the applicant's, the ward's and
// the representative's IIN and the number — or, printed before registration, says it is not assigned
// yet; never «присваивается…». want are further texts it must carry.
func (w *world) printedReceipt(t *testing.T, op *qakit.Person, app string, want ...string) string {
	t.Helper()
	pg, err := op.Get(t.Context(), app+"/receipt")
	require.NoError(t, err)
	require.Contains(t, pg.Body, `id="receipt-print"`, "the HTML receipt has a print button")
	require.Contains(t, pg.Body, `id="receipt-centre"`)
	status, pdf := fetch(t, op.Client(), w.s.URL("tson"), app+"/receipt.pdf")
	require.Equal(t, http.StatusOK, status)
	text := pdfText(t, pdf)
	for _, s := range append([]string{"Расписка о приеме документов", "Құжаттарды қабылдау туралы қолхат", "Центр обслуживания населения",
		"Документы принял (оператор ЦОН)", "Документы сдал"}, want...) {
		require.Contains(t, text, s)
	}
	require.NotContains(t, text, "присваивается")
	return text
}
