package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
)

// MediaTypeResult is the media type of a result document: UTF-8 text in Russian and Kazakh, signed as it
// is (the bytes the signature covers are the bytes the citizen downloads).
const MediaTypeResult = "text/plain; charset=utf-8"

// renderResult writes the result or the refusal letter of a decided case.
func (e *Engine) renderResult(c *Case, p *catalog.Passport, who Employee, now time.Time) []byte {
	kind := "refusal"
	if c.Outcome == Approve {
		for _, r := range p.Results {
			if r.Kind != "refusal" {
				kind = r.Kind
				break
			}
		}
	}
	var res catalog.Result
	for _, r := range p.Results {
		if r.Kind == kind {
			res = r
		}
	}
	var ground catalog.Text
	for _, r := range p.Refusals {
		if r.Code == c.RefusalCode {
			ground = r.Text
		}
	}
	at := now.In(calendar.Zone).Format("02.01.2006 15:04")
	var b strings.Builder
	for _, lang := range []string{"ru", "kk"} {
		t := func(x catalog.Text) string {
			if lang == "kk" {
				return x.KK
			}
			return x.RU
		}
		l := labels[lang]
		fmt.Fprintf(&b, "%s\n%s\n\n", t(p.Provider.Name), strings.ToUpper(t(res.Name)))
		fmt.Fprintf(&b, "%s: %s\n%s: %s\n%s: %s\n", l.service, t(p.Name), l.number, c.Number, l.applicant, c.ApplicantIIN)
		for _, f := range p.Fields {
			if v := c.Form[f.ID]; v != "" && f.ID != "applicant_iin" {
				fmt.Fprintf(&b, "%s: %s\n", t(f.Label), v)
			}
		}
		if c.Outcome == Approve {
			fmt.Fprintf(&b, "%s: %s\n", l.decision, l.approved)
		} else {
			fmt.Fprintf(&b, "%s: %s\n%s: %s\n", l.decision, t(ground), l.motivation, c.Comment)
		}
		fmt.Fprintf(&b, "%s: %s\n%s: %s\n\n", l.decided, who.Name, l.at, at)
	}
	return []byte(b.String())
}

var labels = map[string]struct{ service, number, applicant, decision, approved, motivation, decided, at string }{
	"ru": {"Услуга", "Регистрационный номер заявления", "ИИН услугополучателя", "Решение", "услуга оказана", "Мотивировка", "Решение принял", "Дата и время"},
	"kk": {"Қызмет", "Өтініштің тіркеу нөмірі", "Қызмет алушының ЖСН", "Шешім", "қызмет көрсетілді", "Негіздеме", "Шешім қабылдаған", "Күні мен уақыты"},
}
