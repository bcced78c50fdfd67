package desk

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/registries"
	"github.com/egov-suite/egov/internal/webkit"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

// The form fields the counter fills before the passport's form: who came.
const (
	fieldApplicant      = "applicant_iin"
	fieldRepresentative = "representative_iin"
	fieldPOA            = "poa_number"
)

// check runs the passport's checks of the tson channel (which registry, which field, which refusal
// ground) through ШЭП, as РШЭП does, on the values known so far: at the counter the citizen, the
// representative and the power of attorney; with the form, its fields too (a check of a field not yet
// filled waits for it). A registry that does not answer is an error; a missing record or an absent
// link is in Missing, with the first failed check's refusal text in Refusal. The people at the counter
// are looked up by name for the receipts even where the passport checks nothing of them.
func (d *Desk) check(ctx context.Context, p *catalog.Passport, lang string, values map[string]string) (*counterCheck, error) {
	c := &counterCheck{CitizenIIN: values[fieldApplicant], RepresentativeIIN: values[fieldRepresentative], POANumber: values[fieldPOA]}
	people := map[string]*gbdflv1.Person{}
	asked := map[string]bool{}
	person := func(iin string) (*gbdflv1.Person, error) {
		if asked[iin] {
			return people[iin], nil
		}
		x, err := d.o.Registries.Person(ctx, iin)
		if errors.Is(err, registries.ErrNoRecord) {
			x, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		asked[iin], people[iin] = true, x
		return x, nil
	}
	label := func(id string) string {
		for _, f := range p.Fields {
			if f.ID == id {
				return webkit.Pick(lang, f.Label.RU, f.Label.KK)
			}
		}
		return id
	}
	for _, ch := range p.Checks {
		v := values[ch.Field]
		if !slices.Contains(ch.Channels, "tson") || v == "" || (ch.Relation != "" && values[ch.Of] == "") {
			continue
		}
		problem := ""
		switch ch.Registry {
		case "gbdfl":
			who, err := person(v)
			if err != nil {
				return nil, err
			}
			switch {
			case who == nil:
				problem = webkit.Pick(lang, "нет данных в ГБД ФЛ", "ЖТ МДҚ-да деректер жоқ") + ": " + label(ch.Field)
			case ch.Relation != "" && !registries.Related(who, ch.Relation, values[ch.Of]):
				problem = webkit.Pick(lang, "в ГБД ФЛ нет связи", "ЖТ МДҚ-да байланыс жоқ") + " (" + ch.Relation + "): " + label(ch.Field) + " — " + label(ch.Of)
			}
		case "enis":
			poa, err := d.o.Registries.PowerOfAttorney(ctx, &enisv1.GetPowerOfAttorneyRequest{Number: v,
				PrincipalIin: values[fieldApplicant], RepresentativeIin: values[fieldRepresentative]})
			switch {
			case errors.Is(err, registries.ErrNoRecord):
				problem = webkit.Pick(lang, "нет данных доверенности в ЕНИС", "БНАЖ-да сенімхат деректері жоқ")
			case err != nil:
				return nil, err
			case poa.GetState() != enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_VALID:
				c.POA = poa
				state := strings.ToLower(strings.TrimPrefix(poa.GetState().String(), "POWER_OF_ATTORNEY_STATE_"))
				problem = webkit.Pick(lang, "доверенность в ЕНИС недействительна: ", "БНАЖ-дағы сенімхат жарамсыз: ") + state
			case poa.GetPrincipalIin() != values[fieldApplicant] || poa.GetRepresentativeIin() != values[fieldRepresentative]:
				c.POA = poa
				problem = webkit.Pick(lang, "доверенность в ЕНИС выдана другим лицом или другому лицу", "БНАЖ-дағы сенімхат басқа тұлғаға берілген")
			default:
				c.POA = poa
			}
		}
		if problem == "" {
			continue
		}
		c.Missing = append(c.Missing, problem)
		if c.Refusal == "" {
			c.Refusal = refusalText(p, ch.Refusal, lang)
		}
	}
	var err error
	if c.CitizenIIN != "" {
		if c.Citizen, err = person(c.CitizenIIN); err != nil {
			return nil, err
		}
	}
	if c.RepresentativeIIN != "" {
		if c.Representative, err = person(c.RepresentativeIIN); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// refusalText is the passport's text of a refusal ground in lang.
func refusalText(p *catalog.Passport, code, lang string) string {
	for _, rf := range p.Refusals {
		if rf.Code == code {
			return webkit.Pick(lang, rf.Text.RU, rf.Text.KK)
		}
	}
	return code
}
