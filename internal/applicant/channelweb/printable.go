package channelweb

import (
	"context"
	"net/http"
	"strconv"

	"github.com/egov-suite/egov/internal/applicant"
)

// Printable is a result document's printable form (PDF) as the "result" partial links it.
type Printable struct {
	NameRU, NameKK string
	// Link downloads the PDF, SigLink its detached signature; VerifyURL is where its QR code leads.
	Link, SigLink, VerifyURL string
}

// printables are the printable forms of a's result documents, linked under the result's link.
func printables(ctx context.Context, d *applicant.Desk, a *applicant.Application, link string) []Printable {
	docs, err := d.Documents(ctx, a)
	if err != nil {
		return nil // the page still shows the result; the printable forms are an addition to it
	}
	var out []Printable
	for _, doc := range docs {
		if len(doc.Printable) == 0 {
			continue
		}
		l := link + "?part=pdf&doc=" + strconv.Itoa(doc.Position)
		out = append(out, Printable{NameRU: doc.NameRU, NameKK: doc.NameKK, Link: l, SigLink: l + "&sig=1", VerifyURL: doc.VerifyURL})
	}
	return out
}

// ServePrintable writes the printable form (PDF) of a's result document ?doc=n, or with &sig=1 its
// detached CMS signature.
func ServePrintable(w http.ResponseWriter, r *http.Request, d *applicant.Desk, a *applicant.Application) {
	docs, err := d.Documents(r.Context(), a)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("doc"))
	var doc *applicant.Document
	for _, x := range docs {
		if err == nil && x.Position == n && len(x.Printable) > 0 {
			doc = x
		}
	}
	if doc == nil {
		http.NotFound(w, r)
		return
	}
	WritePrintable(w, doc, r.URL.Query().Get("sig") != "")
}

// WritePrintable writes doc's PDF, or its detached signature.
func WritePrintable(w http.ResponseWriter, doc *applicant.Document, sig bool) {
	name := doc.Number + "-" + doc.DocID + ".pdf"
	if sig {
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.p7s"`)
		_, _ = w.Write(doc.PrintableSignature)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	_, _ = w.Write(doc.Printable)
}
