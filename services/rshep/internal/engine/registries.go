package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/registries"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// ErrNoRecord is a registry's answer that it has no such record.
var ErrNoRecord = registries.ErrNoRecord

// Registries answers the passports' checks.
type Registries interface {
	// Person returns a person of ГБД ФЛ, or ErrNoRecord.
	Person(ctx context.Context, region, iin string) (*gbdflv1.Person, error)
	// PowerOfAttorney returns a power of attorney of ЕНИС, or ErrNoRecord.
	PowerOfAttorney(ctx context.Context, region string, req *enisv1.GetPowerOfAttorneyRequest) (*enisv1.PowerOfAttorney, error)
}

// ShepRegistries asks the registries through ШЭП's sync channel, as the region's node.
type ShepRegistries struct {
	Nodes map[string]*shepsdk.Client
}

func (r ShepRegistries) node(region string) (registries.Client, error) {
	c, ok := r.Nodes[region]
	if !ok {
		return registries.Client{}, fmt.Errorf("region %s is not served here", region)
	}
	return registries.Client{C: c}, nil
}

// Person implements Registries.
func (r ShepRegistries) Person(ctx context.Context, region, iin string) (*gbdflv1.Person, error) {
	c, err := r.node(region)
	if err != nil {
		return nil, err
	}
	return c.Person(ctx, iin)
}

// PowerOfAttorney implements Registries.
func (r ShepRegistries) PowerOfAttorney(ctx context.Context, region string, req *enisv1.GetPowerOfAttorneyRequest) (*enisv1.PowerOfAttorney, error) {
	c, err := r.node(region)
	if err != nil {
		return nil, err
	}
	return c.PowerOfAttorney(ctx, req)
}

// failedCheck is a check whose record is missing: the refusal it leads to.
type failedCheck struct {
	check catalog.Check
	// why goes to the applicant (the refusal's motivation, the notification, the result document): it
	// names no one. A check's Summary, with the person's full name, stays in the case for АРМ's staff,
	// who are entitled to it; the applicant typed an IIN, and a refusal must not tell them whose it is.
	why catalog.Text
}

// runChecks asks the registries what the passport checks on the case's channel. A registry that cannot
// answer is an error (the delivery is retried); a missing record is a failed check.
func (e *Engine) runChecks(ctx context.Context, c *Case, p *catalog.Passport) ([]CheckResult, *failedCheck, error) {
	var out []CheckResult
	var failed *failedCheck
	for _, ch := range checksFor(p, c.Channel) {
		value := c.Form[ch.Field]
		if value == "" {
			continue // an optional field left empty: nothing to check
		}
		r := CheckResult{ID: ch.ID, Registry: ch.Registry, Field: ch.Field, At: e.o.Now()}
		var why catalog.Text // the applicant's text when the check fails
		switch ch.Registry {
		case "gbdfl":
			person, err := e.o.Registries.Person(ctx, c.Region, value)
			switch {
			case errors.Is(err, ErrNoRecord):
				why = catalog.Text{RU: "нет данных в ГБД ФЛ", KK: "ЖТ МДҚ-да деректер жоқ"}
				r.Summary = why.RU
			case err != nil:
				return nil, nil, err
			default:
				r.Found, r.Summary = true, fullName(person)
				if ch.Relation != "" {
					r.Found = registries.Related(person, ch.Relation, c.Form[ch.Of])
					if r.Found {
						r.Summary += "; связь с заявителем подтверждена (" + ch.Relation + ")"
					} else {
						why = catalog.Text{RU: "в ГБД ФЛ нет связи с заявителем (" + ch.Relation + ")",
							KK: "ЖТ МДҚ-да өтініш берушімен байланыс жоқ (" + ch.Relation + ")"}
						r.Summary += "; " + why.RU
					}
				}
			}
		case "enis":
			poa, err := e.o.Registries.PowerOfAttorney(ctx, c.Region, &enisv1.GetPowerOfAttorneyRequest{Number: value,
				PrincipalIin: c.ApplicantIIN, RepresentativeIin: c.Form["representative_iin"]})
			switch {
			case errors.Is(err, ErrNoRecord):
				why = catalog.Text{RU: "нет данных доверенности в ЕНИС", KK: "БНАЖ-да сенімхат туралы деректер жоқ"}
				r.Summary = why.RU
			case err != nil:
				return nil, nil, err
			default:
				r.Found = poa.GetState() == enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_VALID &&
					(poa.GetRepresentativeIin() == c.Form["representative_iin"] || c.Form["representative_iin"] == "")
				state := strings.ToLower(strings.TrimPrefix(poa.GetState().String(), "POWER_OF_ATTORNEY_STATE_"))
				r.Summary = fmt.Sprintf("доверенность %s, %s, действует до %s, нотариус %s", poa.GetNumber(), state, poa.GetValidUntil(), poa.GetNotaryName())
				why = catalog.Text{RU: fmt.Sprintf("доверенность %s выдана другому представителю", poa.GetNumber()),
					KK: fmt.Sprintf("%s сенімхаты басқа өкілге берілген", poa.GetNumber())}
				if poa.GetState() != enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_VALID {
					why = catalog.Text{RU: fmt.Sprintf("доверенность %s недействительна (%s)", poa.GetNumber(), state),
						KK: fmt.Sprintf("%s сенімхаты жарамсыз (%s)", poa.GetNumber(), state)}
				}
			}
		}
		out = append(out, r)
		if !r.Found && failed == nil {
			failed = &failedCheck{check: ch, why: why}
		}
	}
	return out, failed, nil
}

func fullName(p *gbdflv1.Person) string {
	return strings.TrimSpace(p.GetSurname() + " " + p.GetName() + " " + p.GetPatronymic())
}
