package site

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/webkit"
)

// verifyTexts are the words of /verify, the public page a printed result's QR code opens.
var verifyTexts = map[string]map[string]string{
	"ru": {
		"title":     "Проверка подлинности документа",
		"intro":     "Введите регистрационный номер заявления, код документа и отпечаток (SHA-256) из QR-кода печатной формы.",
		"number":    "Регистрационный номер",
		"doc":       "Код документа",
		"digest":    "Отпечаток документа (SHA-256)",
		"check":     "Проверить",
		"valid":     "Документ подлинный: он выдан услугодателем и подписан ЭЦП, подпись верна.",
		"invalid":   "Подпись документа не прошла проверку",
		"unknown":   "Документ с таким номером, кодом и отпечатком не найден среди документов, выданных через портал и ЦОН. Проверьте, что QR-код считан полностью: изменённый документ не совпадает с выданным. Подписанный документ можно проверить также в ЦОН или командой egov verify.",
		"malformed": "Ссылка проверки неполна: нужны регистрационный номер, код документа и отпечаток из 64 шестнадцатеричных символов.",
		"document":  "Документ", "issued_no": "Регистрационный номер заявления",
		"signer": "Подписал", "signed_at": "Время подписи", "cert": "Статус сертификата", "cert_good": "действителен",
		"cert_revoked": "отозван", "sealed": "Печатная форма заверена", "pdf": "Скачать печатную форму (PDF)",
		"pdf_sig": "Подпись печатной формы (CMS)", "text": "Электронный документ (текст)", "text_sig": "Подпись документа (CMS)",
		"system": "информационная система", "checked_by": "проверено",
	},
	"kk": {
		"title":     "Құжаттың түпнұсқалығын тексеру",
		"intro":     "Басып шығару нысанының QR-кодындағы өтініштің тіркеу нөмірін, құжат кодын және таңбасын (SHA-256) енгізіңіз.",
		"number":    "Тіркеу нөмірі",
		"doc":       "Құжат коды",
		"digest":    "Құжат таңбасы (SHA-256)",
		"check":     "Тексеру",
		"valid":     "Құжат түпнұсқа: оны қызмет беруші берген және ЭЦҚ-мен қол қойылған, қолтаңба дұрыс.",
		"invalid":   "Құжаттың қолтаңбасы тексеруден өтпеді",
		"unknown":   "Мұндай нөмірі, коды және таңбасы бар құжат портал және ХҚКО арқылы берілген құжаттардың арасынан табылмады. QR-кодтың толық оқылғанын тексеріңіз: өзгертілген құжат берілген құжатпен сәйкес келмейді. Қол қойылған құжатты ХҚКО-да немесе egov verify командасымен де тексеруге болады.",
		"malformed": "Тексеру сілтемесі толық емес: тіркеу нөмірі, құжат коды және 64 оналтылық таңбадан тұратын таңба қажет.",
		"document":  "Құжат", "issued_no": "Өтініштің тіркеу нөмірі",
		"signer": "Қол қойған", "signed_at": "Қол қойылған уақыт", "cert": "Сертификат мәртебесі", "cert_good": "жарамды",
		"cert_revoked": "кері қайтарылған", "sealed": "Басып шығару нысанын куәландырған", "pdf": "Басып шығару нысанын жүктеу (PDF)",
		"pdf_sig": "Басып шығару нысанының қолтаңбасы (CMS)", "text": "Электрондық құжат (мәтін)", "text_sig": "Құжаттың қолтаңбасы (CMS)",
		"system": "ақпараттық жүйе", "checked_by": "тексерілді",
	},
}

var (
	digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fieldPattern  = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
)

// verifyView is what /verify shows.
type verifyView struct {
	T                map[string]string
	Number, Doc, Dig string
	Asked            bool
	Problem, Err     string
	Found            *applicant.Document
	Name             string
	Text, Printable  *envelope.Result
	Link             string
}

// verify is the public page a printed result's QR code opens (no sign-in): the document the number, the
// document's id and the digest of its signed text name, who signed it and when, the certificate's status
// now (OCSP), and the printable form to download (?part=pdf, &sig=1 for its signature; ?part=text for the
// signed text). The digest is 256 bits of the document itself: only who holds the document, on paper or
// as a file, can name it, so the page shows nothing to one who guesses numbers.
func (s *Site) verify(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	q := r.URL.Query()
	v := verifyView{T: verifyTexts[l], Number: strings.TrimSpace(q.Get("n")), Doc: strings.TrimSpace(q.Get("doc")),
		Dig: strings.ToLower(strings.TrimSpace(q.Get("d")))}
	v.Asked = v.Number != "" || v.Doc != "" || v.Dig != ""
	status := http.StatusOK
	switch {
	case !v.Asked:
	case !fieldPattern.MatchString(v.Number) || !fieldPattern.MatchString(v.Doc) || !digestPattern.MatchString(v.Dig):
		v.Problem, status = v.T["malformed"], http.StatusBadRequest
	default:
		doc, err := s.o.Desk.FindDocument(r.Context(), v.Number, v.Doc, v.Dig)
		switch {
		case errors.Is(err, applicant.ErrNotFound):
			v.Problem, status = v.T["unknown"], http.StatusNotFound
		case err != nil:
			s.web.Fail(w, r, err)
			return
		default:
			switch q.Get("part") {
			case "pdf":
				channelweb.WritePrintable(w, doc, q.Get("sig") != "")
				return
			case "text":
				serveSignedText(w, doc, q.Get("sig") != "")
				return
			}
			v.Found, v.Name = doc, webkit.Pick(l, doc.NameRU, doc.NameKK)
			v.Link = "/verify?" + r.URL.Query().Encode()
			checked, err := s.o.Desk.VerifyDocument(r.Context(), doc)
			v.Text, v.Printable = checked.Text, checked.Printable
			if err != nil {
				v.Err = err.Error()
				if ru, kk, ok := envelope.Refusal(err); ok {
					v.Err = webkit.Pick(l, ru, kk) + " (" + string(envelope.CodeOf(err)) + ")"
				}
			}
		}
	}
	s.render(w, r, "verify.html", status, nil, "", v)
}

func serveSignedText(w http.ResponseWriter, doc *applicant.Document, sig bool) {
	name := doc.Number + "-" + doc.DocID + ".txt"
	if sig {
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.p7s"`)
		_, _ = w.Write(doc.Signature)
		return
	}
	w.Header().Set("Content-Type", doc.MediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(doc.Content)
}
