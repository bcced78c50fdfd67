package engine

import (
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
)

// MediaTypeResult is the media type of a result document: UTF-8 text in Russian and Kazakh, signed as it
// is (the bytes the signature covers are the bytes the citizen downloads).
const MediaTypeResult = "text/plain; charset=utf-8"

// renderResults renders the result documents of a decided case from the passport's templates: the
// refusal, or every positive result. Each keeps the structured data it was rendered from, for a
// printable form.
func (e *Engine) renderResults(c *Case, p *catalog.Passport, who Employee) ([]ResultDoc, error) {
	var ground catalog.Text
	for _, r := range p.Refusals {
		if r.Code == c.RefusalCode {
			ground = r.Text
		}
	}
	var fields []catalog.FieldValue
	for _, f := range p.Fields {
		if v := c.Form[f.ID]; v != "" && f.ID != "applicant_iin" {
			fields = append(fields, catalog.FieldValue{ID: f.ID, Label: f.Label, Value: v})
		}
	}
	signer := p.Provider.Name
	if s := p.SigningStepOf(c.Outcome == Refuse); s != nil && s.Body != "" {
		if b, ok := p.BodyOf(s.Body); ok {
			signer = b.Name
		}
	}
	var out []ResultDoc
	for _, r := range rules.Results(p, c.Outcome) {
		d := catalog.ResultData{Provider: signer, Document: r.Name, Kind: r.Kind, ID: r.DocID(), Service: p.Name, Number: c.Number,
			Applicant: c.ApplicantIIN, Fields: fields, Approved: c.Outcome == Approve, Ground: ground, Motivation: c.Comment, MotivationKK: c.CommentKK,
			DecidedBy: who.Name, At: e.o.Now().In(calendar.Zone).Format("02.01.2006 15:04")}
		content, err := p.Render(r, d)
		if err != nil {
			return nil, err
		}
		out = append(out, ResultDoc{ID: r.DocID(), Kind: r.Kind, Name: r.Name, MediaType: MediaTypeResult, Content: content, Data: d})
	}
	return out, nil
}
