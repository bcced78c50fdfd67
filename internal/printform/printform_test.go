package printform_test

import (
	"bytes"
	"encoding/pem"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/printform"
)

var at = time.Date(2026, 12, 2, 9, 30, 0, 0, time.FixedZone("Asia/Oral", 5*3600))

func result() printform.Result {
	content := []byte("Справка об опеке\n")
	return printform.Result{
		Number: "27-2026-000123", DocID: "certificate",
		Provider: catalog.Text{RU: "ГУ «Отдел образования города Уральск»", KK: "«Орал қаласының білім бөлімі» ММ"},
		Document: catalog.Text{RU: "Справка об опеке и попечительстве", KK: "Қорғаншылық және қамқоршылық туралы анықтама"},
		Texts: map[string]string{
			"ru": "ГУ «Отдел образования города Уральск»\nСПРАВКА ОБ ОПЕКЕ И ПОПЕЧИТЕЛЬСТВЕ\n\nРегистрационный номер заявления: 27-2026-000123\nИИН услугополучателя: 880512400011\nРешение: услуга оказана\n",
			"kk": "«Орал қаласының білім бөлімі» ММ\nҚОРҒАНШЫЛЫҚ ЖӘНЕ ҚАМҚОРШЫЛЫҚ ТУРАЛЫ АНЫҚТАМА\n\nҚызмет алушының ЖСН: 880512400011\nШешім: қызмет көрсетілді; әғқңөұүһі\n",
		},
		Signer: "rshep-27", Position: catalog.Text{RU: "Информационная система РШЭП (автоматически)", KK: "ӨЭҮШ ақпараттық жүйесі (автоматты түрде)"},
		At: at, VerifyURL: printform.VerifyLink("https://portal.example.kz/", "27-2026-000123", "certificate", content),
	}
}

// pdfText is what pdftotext (Debian's poppler-utils, which make test installs) reads from the PDF.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	require.NoError(t, err, "pdftotext is needed (apt-get install poppler-utils)")
	p := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(p, pdf, 0o600))
	out, err := exec.CommandContext(t.Context(), bin, "-layout", p, "-").Output()
	require.NoError(t, err)
	return string(out)
}

// pageQR renders a page with pdftoppm and decodes the QR code on it, as a phone's camera would.
func pageQR(t *testing.T, pdf []byte, page string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftoppm")
	require.NoError(t, err, "pdftoppm is needed (apt-get install poppler-utils)")
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.pdf")
	require.NoError(t, os.WriteFile(p, pdf, 0o600))
	out, err := exec.CommandContext(t.Context(), bin, "-png", "-r", "150", "-f", page, "-l", page, "-singlefile", p, filepath.Join(dir, "page")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Open(filepath.Join(dir, "page.png"))
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	require.NoError(t, err)
	return res.GetText()
}

func TestResultDocument(t *testing.T) {
	t.Parallel()
	r := result()
	pdf, err := printform.Render(printform.ResultDocument(r))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))

	text := pdfText(t, pdf)
	pages := strings.Split(text, "\f")
	require.GreaterOrEqual(t, len(pages), 2, "a Russian page and a Kazakh page")
	tests := []struct {
		name, page string
		want       []string
	}{
		{name: "ok/russian page", page: pages[0], want: []string{"ГУ «Отдел образования города Уральск»", "Справка об опеке и попечительстве",
			"Регистрационный номер заявления: 27-2026-000123", "ИИН услугополучателя: 880512400011", "Информационная система РШЭП (автоматически)",
			"rshep-27 — подписано ЭЦП 02.12.2026 09:30", "равнозначен документу на", "Проверить подлинность"}},
		{name: "ok/kazakh page with every Kazakh letter", page: pages[1], want: []string{"«Орал қаласының білім бөлімі» ММ",
			"Қорғаншылық және қамқоршылық туралы анықтама", "Қызмет алушының ЖСН: 880512400011", "әғқңөұүһі",
			"ЭЦҚ-мен қол қойылды", "Түпнұсқалығын тексеру"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, w := range tt.want {
				require.Contains(t, tt.page, w)
			}
			// The template's first two lines are the header and the title, printed once.
			require.Equal(t, 1, strings.Count(strings.ToUpper(tt.page), "СПРАВКА ОБ ОПЕКЕ")+strings.Count(strings.ToUpper(tt.page), "ҚОРҒАНШЫЛЫҚ ЖӘНЕ"))
		})
	}
	for _, page := range []string{"1", "2"} {
		require.Equal(t, r.VerifyURL, pageQR(t, pdf, page), "page %s: the QR code opens the verification page", page)
	}
	require.Equal(t, "https://portal.example.kz/verify?d="+printform.Digest([]byte("Справка об опеке\n"))+"&doc=certificate&n=27-2026-000123", r.VerifyURL)

	again, err := printform.Render(printform.ResultDocument(r))
	require.NoError(t, err)
	require.Equal(t, pdf, again, "the same document renders to the same bytes")
}

func TestRenderRefusesEmpty(t *testing.T) {
	t.Parallel()
	_, err := printform.Render(printform.Document{Title: "x"})
	require.ErrorContains(t, err, "at least one page")
}

// TestOpenSSLVerifiesSignedPDF: the PDF signed with a detached CMS by a system key, as РШЭП signs an
// automatic result, verifies with openssl; a changed PDF does not.
func TestOpenSSLVerifiesSignedPDF(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed (apt-get install openssl)")
	pdf, err := printform.Render(printform.ResultDocument(result()))
	require.NoError(t, err)
	ca := ncatest.New(t)
	sig, err := ca.System(t, "rshep-27").Sign(pdf)
	require.NoError(t, err)

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	root := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}))
	sigPath := write("result.pdf.p7s", sig)
	changed := bytes.Clone(pdf)
	changed[len(changed)/2] ^= 1
	tests := []struct {
		name string
		pdf  []byte
		ok   bool
	}{
		{name: "ok/the signed PDF", pdf: pdf, ok: true},
		{name: "fail/one byte changed", pdf: changed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(dir, "doc"+string(rune('a'+i))+".pdf")
			require.NoError(t, os.WriteFile(p, tt.pdf, 0o600))
			out, err := exec.CommandContext(t.Context(), openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath,
				"-content", p, "-CAfile", root, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
			if !tt.ok {
				require.Error(t, err, "openssl must refuse a changed PDF: %s", out)
				return
			}
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "Verification successful")
		})
	}
}

func TestReceiptDocument(t *testing.T) {
	t.Parallel()
	due := at.Add(5 * 24 * time.Hour)
	base := printform.Receipt{
		Issuer: catalog.Text{RU: "ЦОН № 1 г. Уральск", KK: "Орал қ. № 1 ХҚКО"}, Address: "г. Уральск, ул. Достык, 1",
		Title: catalog.Text{RU: "Расписка о приеме документов", KK: "Құжаттарды қабылдау туралы қолхат"},
		At:    at, Service: catalog.Text{RU: "Выдача справок по опеке", KK: "Қорғаншылық бойынша анықтамалар беру"},
		Applicant:      printform.Person{Name: "АХМЕТОВА АСЕЛЬ", IIN: "880512400011"},
		Representative: &printform.Person{Name: "СЕЙТКАЛИ ЕРЖАН", IIN: "841103300017"}, PowerOfAttorney: "2026-ДОВ-000101",
		Persons:   []printform.LabelledPerson{{Label: catalog.Text{RU: "ИИН подопечного", KK: "Қамқордағы адамның ЖСН"}, IIN: "120921600010"}},
		Documents: []catalog.Text{{RU: "Удостоверение личности — оригинал принят", KK: "Жеке куәлік — түпнұсқасы қабылданды"}},
		Acceptor:  "ОПЕРАТОР ЦОН", AcceptorRole: catalog.Text{RU: "оператор ЦОН", KK: "ХҚКО операторы"},
		Note: catalog.Text{RU: "Результат выдаётся в Центре.", KK: "Нәтиже Орталықта беріледі."},
	}
	registered := base
	registered.Number, registered.Deadline = "55-2026-000001", &due
	tests := []struct {
		name    string
		r       printform.Receipt
		want    []string
		wantNot []string
	}{
		{name: "ok/registered", r: registered, want: []string{"ЦОН № 1 г. Уральск", "Адрес: г. Уральск, ул. Достык, 1",
			"55-2026-000001", "АХМЕТОВА АСЕЛЬ, ИИН 880512400011", "ИИН подопечного 120921600010", "СЕЙТКАЛИ ЕРЖАН, ИИН 841103300017",
			"2026-ДОВ-000101", "07.12.2026", "Документы принял (оператор ЦОН)", "Документы сдал", "қабылдау туралы қолхат", "Қамқордағы адамның ЖСН 120921600010"},
			wantNot: []string{"присваивается", "ещё не присвоен"}},
		{name: "ok/printed before registration says so", r: base, want: []string{"ещё не присвоен", "исчисляется со дня регистрации",
			"распечатанной повторно после регистрации", "әлі берілмеген"}, wantNot: []string{"присваивается…", "Срок —"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pdf, err := printform.Render(printform.ReceiptDocument(tt.r))
			require.NoError(t, err)
			text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
			for _, w := range tt.want {
				require.Contains(t, text, w)
			}
			for _, w := range tt.wantNot {
				require.NotContains(t, text, w)
			}
		})
	}
}

// BenchmarkRenderResult is what a printable form adds to issuing a result: the PDF of two pages with
// the fonts' subsets and the QR code.
func BenchmarkRenderResult(b *testing.B) {
	d := printform.ResultDocument(result())
	for b.Loop() {
		if _, err := printform.Render(d); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderConcurrent: Render shares only the embedded font bytes, read-only, so documents rendered at
// once (РШЭП's workers do) come out byte for byte as one rendered alone; run with -race.
func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	d := printform.ResultDocument(result())
	want, err := printform.Render(d)
	require.NoError(t, err)
	const n = 4
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = printform.Render(d) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, want, got[i], "document %d", i)
	}
}
