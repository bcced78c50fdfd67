package engine

import (
	"fmt"
	"time"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/printform"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
)

// positions are the signer's position printed under a result, by the role of the signing step.
var positions = map[string]catalog.Text{
	"head":       {RU: "Руководитель услугодателя", KK: "Қызмет берушінің басшысы"},
	"officer":    {RU: "Ответственный исполнитель услугодателя", KK: "Қызмет берушінің жауапты орындаушысы"},
	"clerk":      {RU: "Сотрудник канцелярии услугодателя", KK: "Қызмет берушінің кеңсе қызметкері"},
	"commission": {RU: "Председатель комиссии", KK: "Комиссия төрағасы"},
	"system":     {RU: "Информационная система РШЭП (автоматически)", KK: "ӨЭҮШ ақпараттық жүйесі (автоматты түрде)"},
}

// print renders each signed result's printable form (PDF) and signs it, detached, with the node's
// system key: the key that signs an automatic result, and for a civil servant's result the node's seal
// on its own rendering of the document the servant signed (the servant's signature stays on the text;
// signing the PDF in NCALayer too is not asked of the servant yet). The QR code opens the portal's
// /verify with the number and the digest of the signed text, so a printed copy leads to the original.
func (e *Engine) print(c *Case, p *catalog.Passport, who Employee, now time.Time) error {
	if e.o.VerifyURL == "" {
		return nil
	}
	signer, err := e.systemSigner(c.Region)
	if err != nil {
		return err
	}
	role := "system" // the node signs automatic results as the employee "system"
	if who.IIN != system.IIN {
		role = ""
		if s := p.SigningStep(); s != nil {
			role = s.Role
		}
	}
	position, ok := positions[role]
	if !ok {
		position = catalog.Text{RU: role, KK: role}
	}
	templates := map[string]catalog.Result{}
	for _, r := range rules.Results(p, c.Outcome) {
		templates[r.DocID()] = r
	}
	for i := range c.Results {
		d := &c.Results[i]
		r, ok := templates[d.ID]
		if !ok || d.Data.Number == "" {
			continue // a document kept from before its data was: no form to lay out
		}
		texts := map[string]string{}
		for _, lang := range catalog.Languages {
			t, err := p.RenderLang(r, d.Data, lang)
			if err != nil {
				return err
			}
			texts[lang] = t
		}
		link := printform.VerifyLink(e.o.VerifyURL, c.Number, d.ID, d.Content)
		pdf, err := printform.Render(printform.ResultDocument(printform.Result{Number: c.Number, DocID: d.ID,
			Provider: d.Data.Provider, Document: d.Name, Texts: texts, Signer: who.Name, Position: position,
			At: now.In(calendar.Zone), VerifyURL: link}))
		if err != nil {
			return fmt.Errorf("case %s: the printable form of %s: %w", c.Number, d.ID, err)
		}
		sig, err := signer.Sign(pdf)
		if err != nil {
			return err
		}
		d.Printable, d.PrintableSignature, d.VerifyURL = pdf, sig, link
	}
	return nil
}

// printable is a document's signed printable form on the wire, or nil when it has none.
func printable(d ResultDoc) *envelopev1.SignedDocument {
	if len(d.Printable) == 0 {
		return nil
	}
	return &envelopev1.SignedDocument{MediaType: printform.MediaType, Content: d.Printable, Signature: d.PrintableSignature}
}
