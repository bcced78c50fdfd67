package desk

import (
	"net/http"
	"strings"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/printform"
)

// operatorRole is the position on the receipt's signature line of who took the documents.
var operatorRole = catalog.Text{RU: "оператор ЦОН", KK: "ХҚКО операторы"}

// Centre is the ЦОН a receipt names: its name in both languages and its address.
type Centre struct {
	Name    catalog.Text
	Address string
}

// printableReceipt is what the receipt of a carries, from the counter's record and the passport.
func (d *Desk) printableReceipt(r *http.Request, a *applicant.Application) (printform.Receipt, error) {
	c, err := d.counter(r.Context(), a.ID)
	if err != nil {
		return printform.Receipt{}, err
	}
	rc := printform.Receipt{Issuer: d.o.Centre.Name, Address: d.o.Centre.Address,
		Title:  catalog.Text{RU: texts["ru"]["receipt_title"], KK: texts["kk"]["receipt_title"]},
		Number: a.Number, At: c.At, Deadline: a.Deadline, Applicant: printform.Person{Name: c.CitizenName, IIN: a.ApplicantIIN},
		Acceptor: c.OperatorName, AcceptorRole: operatorRole,
		Note: catalog.Text{RU: texts["ru"]["receipt_note"], KK: texts["kk"]["receipt_note"]}}
	if a.RepresentativeIIN != "" {
		rc.Representative, rc.PowerOfAttorney = &printform.Person{Name: c.RepresentativeName, IIN: a.RepresentativeIIN}, c.PowerOfAttorney
	}
	p, ok := d.o.Desk.Catalog().Get(a.ServiceCode, a.Region)
	if !ok {
		rc.Service = catalog.Text{RU: a.ServiceCode, KK: a.ServiceCode}
		return rc, nil
	}
	rc.Service = p.Name
	// The other people the application names by IIN (the ward, the child), as the form labels them.
	fields := a.Doc.GetFields()
	for _, f := range p.Fields {
		if f.Type == "iin" && f.ID != "applicant_iin" && fields[f.ID] != "" && fields[f.ID] != a.RepresentativeIIN {
			rc.Persons = append(rc.Persons, printform.LabelledPerson{Label: f.Label, IIN: fields[f.ID]})
		}
	}
	names := map[string]catalog.Text{}
	for _, x := range p.Documents {
		names[x.ID] = x.Name
	}
	for _, sd := range a.Doc.GetDocuments() {
		n := names[sd.GetId()]
		if n.RU == "" {
			n = catalog.Text{RU: sd.GetId(), KK: sd.GetId()}
		}
		var ru, kk []string
		if sd.GetPaperReceived() {
			ru, kk = append(ru, texts["ru"]["paper_received"]), append(kk, texts["kk"]["paper_received"])
		}
		if sd.GetAttachment() != nil {
			ru, kk = append(ru, texts["ru"]["scan"]), append(kk, texts["kk"]["scan"])
		}
		if len(ru) > 0 {
			n = catalog.Text{RU: n.RU + " — " + strings.Join(ru, ", "), KK: n.KK + " — " + strings.Join(kk, ", ")}
		}
		rc.Documents = append(rc.Documents, n)
	}
	return rc, nil
}

// receiptPDF is the receipt as PDF, to print or hand over as a file; printed before registration it
// says the number is not assigned yet, and the operator prints it again once it is.
func (d *Desk) receiptPDF(w http.ResponseWriter, r *http.Request, op *operator) {
	a, ok := d.pages.Load(w, r, op)
	if !ok {
		return
	}
	rc, err := d.printableReceipt(r, a)
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	pdf, err := printform.Render(printform.ReceiptDocument(rc))
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	name := a.Number
	if name == "" {
		name = a.ID
	}
	w.Header().Set("Content-Type", printform.MediaType)
	w.Header().Set("Content-Disposition", `inline; filename="receipt-`+name+`.pdf"`)
	_, _ = w.Write(pdf)
}
