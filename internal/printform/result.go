package printform

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/catalog"
)

// Result is a result document to print: the text the passport's template rendered in each language
// (the regulation's form), and who signed it.
type Result struct {
	// Number is the application's registration number; DocID the passport's id of the document.
	Number, DocID string
	// Provider is the body that issues the document, Document its name.
	Provider, Document catalog.Text
	// Texts are the template's text in each language (catalog.Languages), as the signed document has it.
	Texts map[string]string
	// Signer is who signed (a civil servant's name, or the node's id for an automatic result) and
	// Position the signer's position.
	Signer   string
	Position catalog.Text
	// At is when the document was issued.
	At time.Time
	// VerifyURL is the public verification page the QR code opens (VerifyLink).
	VerifyURL string
}

// Digest is how a verification link names a document's content: SHA-256 in hex of the signed bytes.
func Digest(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// VerifyLink is the public verification page of a document: the portal's /verify with the
// registration number, the document's id and the digest of its signed content (what the QR code
// carries). base is the portal's public address.
func VerifyLink(base, number, docID string, content []byte) string {
	q := url.Values{"n": {number}, "doc": {docID}, "d": {Digest(content)}}
	return strings.TrimRight(base, "/") + "/verify?" + q.Encode()
}

// resultTexts are the fixed words of a printed result, per language.
var resultTexts = map[string]map[string]string{
	"ru": {
		"signed": "подписано ЭЦП",
		"check":  "Проверить подлинность: отсканируйте QR-код или откройте страницу проверки:",
		"law": "Данный документ согласно пункту 1 статьи 7 Закона Республики Казахстан от 7 января 2003 года " +
			"«Об электронном документе и электронной цифровой подписи» равнозначен документу на бумажном носителе.",
		"number": "Рег. номер заявления",
	},
	"kk": {
		"signed": "ЭЦҚ-мен қол қойылды",
		"check":  "Түпнұсқалығын тексеру: QR-кодты сканерлеңіз немесе тексеру бетін ашыңыз:",
		"law": "Бұл құжат «Электрондық құжат және электрондық цифрлық қолтаңба туралы» 2003 жылғы 7 қаңтардағы " +
			"Қазақстан Республикасы Заңының 7-бабының 1-тармағына сәйкес қағаз тасығыштағы құжатпен бірдей.",
		"number": "Өтініштің тіркеу нөмірі",
	},
}

// ResultDocument is the printable form of a result: a page in Russian, then one in Kazakh, each with
// the signer's name and position and the QR code of the verification page.
func ResultDocument(r Result) Document {
	d := Document{Title: r.Document.RU + " № " + r.Number, Author: r.Provider.RU, At: r.At, QR: r.VerifyURL}
	for _, lang := range catalog.Languages {
		t := resultTexts[lang]
		provider, name := tr(r.Provider, lang), tr(r.Document, lang)
		p := Page{Header: []string{provider}, Title: name}
		lines := strings.Split(strings.TrimRight(r.Texts[lang], "\n"), "\n")
		// The template opens with the provider and the document's name: they are the page's header and
		// title, printed once.
		if len(lines) >= 2 && strings.TrimSpace(lines[0]) == provider && strings.EqualFold(strings.TrimSpace(lines[1]), name) {
			lines = lines[2:]
		}
		p.Body = lines
		p.Signatures = []Signature{{Role: tr(r.Position, lang), Name: r.Signer,
			Signed: t["signed"] + " " + r.At.Format("02.01.2006 15:04")}}
		p.Note = t["law"]
		p.QRCaption = []string{t["check"], r.VerifyURL, t["number"] + ": " + r.Number}
		d.Pages = append(d.Pages, p)
	}
	return d
}

func tr(t catalog.Text, lang string) string {
	if lang == "kk" && t.KK != "" {
		return t.KK
	}
	return t.RU
}
