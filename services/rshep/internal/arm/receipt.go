package arm

import (
	"net/http"
	"strings"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/printform"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// clerkRole is the position on the office receipt's signature line of who took the documents.
var clerkRole = catalog.Text{RU: "работник канцелярии услугодателя", KK: "қызмет берушінің кеңсе қызметкері"}

func both(key string) catalog.Text { return catalog.Text{RU: texts["ru"][key], KK: texts["kk"][key]} }

// officeReceipt is what the office's receipt of case carries: the provider (with its office's address
// when EGOV_RSHEP_OFFICE_ADDRESSES names one), the number (an office application is registered as it is
// taken), the term, the applicant and the other people the form names, the documents, the signature lines.
func (a *ARM) officeReceipt(c *engine.Case, p *catalog.Passport, name string, history []engine.Event) printform.Receipt {
	rc := printform.Receipt{Issuer: p.Provider.Name, Address: a.o.OfficeAddresses[c.Region], Title: both("receipt_title"),
		Number: c.Number, Service: p.Name, Applicant: printform.Person{Name: name, IIN: c.ApplicantIIN}, Deadline: c.DueAt,
		AcceptorRole: clerkRole, Note: both("receipt_statuses"), At: c.RegisteredAt}
	for _, e := range history {
		if e.Action == engine.ActRegistered {
			rc.Acceptor = e.ActorName
		}
	}
	for _, f := range p.Fields {
		if v := c.Form[f.ID]; f.Type == "iin" && f.ID != "applicant_iin" && v != "" {
			rc.Persons = append(rc.Persons, printform.LabelledPerson{Label: f.Label, IIN: v})
		}
	}
	names := map[string]catalog.Text{}
	for _, d := range p.Documents {
		names[d.ID] = d.Name
	}
	for _, d := range c.Documents {
		n := names[d.ID]
		if n.RU == "" {
			n = catalog.Text{RU: d.ID, KK: d.ID}
		}
		var ru, kk []string
		if d.PaperReceived {
			ru, kk = append(ru, texts["ru"]["paper_office"]), append(kk, texts["kk"]["paper_office"])
		}
		if d.ObjectKey != "" {
			ru, kk = append(ru, texts["ru"]["scan_kept"]), append(kk, texts["kk"]["scan_kept"])
		}
		if len(ru) > 0 {
			n = catalog.Text{RU: n.RU + " — " + strings.Join(ru, ", "), KK: n.KK + " — " + strings.Join(kk, ", ")}
		}
		rc.Documents = append(rc.Documents, n)
	}
	return rc
}

// receiptPDF is the office's receipt as PDF.
func (a *ARM) receiptPDF(w http.ResponseWriter, r *http.Request, s *session) {
	c, p, history, ok := a.loadFull(w, r, s)
	if !ok {
		return
	}
	name, err := a.personName(r, s, c.ApplicantIIN)
	if err != nil {
		name = "" // the receipt stands without the name; the IIN identifies the applicant
	}
	pdf, err := printform.Render(printform.ReceiptDocument(a.officeReceipt(c, p, name, history)))
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", printform.MediaType)
	w.Header().Set("Content-Disposition", `inline; filename="receipt-`+c.Number+`.pdf"`)
	_, _ = w.Write(pdf)
}

// servePrintable writes a signed result's printable form (PDF) to print and hand over at the office, or
// its detached signature by the node's system key; 404 before the result is signed.
func servePrintable(w http.ResponseWriter, r *http.Request, d engine.ResultDoc, name string, sig bool) {
	if len(d.Printable) == 0 {
		http.NotFound(w, r)
		return
	}
	if sig {
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pdf.p7s"`)
		_, _ = w.Write(d.PrintableSignature)
		return
	}
	w.Header().Set("Content-Type", printform.MediaType)
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`.pdf"`)
	_, _ = w.Write(d.Printable)
}
