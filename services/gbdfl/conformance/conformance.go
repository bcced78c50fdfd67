// Package conformance is the behaviour every ГБД ФЛ endpoint must show for the suite to work with it:
// the suite's stub, the adapter in front of a real registry, or the real registry itself. Run it with
// `egov conformance gbdfl --target host:port`.
package conformance

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/egov-suite/egov/internal/conformance"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

// Options name the records the checks rely on; the defaults are the dev mode's cast.
type Options struct {
	// KnownIIN is a person the register holds.
	KnownIIN string
	// ParentIIN is a person with at least one child or ward.
	ParentIIN string
	// UnknownIIN is a valid IIN the register does not hold.
	UnknownIIN string
}

// Defaults are the cast of the dev mode.
var Defaults = Options{KnownIIN: demo.People[0].IIN, ParentIIN: demo.People[0].IIN, UnknownIIN: demo.MissingIIN}

// Result is the outcome of one check.
type Result = conformance.Result

// Run runs every check against client.
func Run(ctx context.Context, client gbdflv1.PersonRegistryServiceClient, o Options) []Result {
	checks := conformance.New(ctx)
	check := checks.Check
	check("known person: a complete record", func(ctx context.Context) error {
		r, err := client.GetPerson(ctx, &gbdflv1.GetPersonRequest{Iin: o.KnownIIN})
		if err != nil {
			return err
		}
		return validPerson(r.GetPerson(), o.KnownIIN)
	})
	check("known person: family links name valid IINs", func(ctx context.Context) error {
		r, err := client.GetPerson(ctx, &gbdflv1.GetPersonRequest{Iin: o.KnownIIN})
		if err != nil {
			return err
		}
		for _, l := range r.GetPerson().GetFamily() {
			if !iin.Valid(l.GetIin()) || l.GetRelation() == gbdflv1.Relation_RELATION_UNSPECIFIED {
				return fmt.Errorf("link %v to %q", l.GetRelation(), l.GetIin())
			}
		}
		return nil
	})
	check("unknown valid IIN: NOT_FOUND", func(ctx context.Context) error {
		_, err := client.GetPerson(ctx, &gbdflv1.GetPersonRequest{Iin: o.UnknownIIN})
		return conformance.WantCode(err, codes.NotFound)
	})
	for name, bad := range map[string]string{
		"bad check digit": badCheckDigit(o.KnownIIN), "11 digits": o.KnownIIN[:11], "13 digits": o.KnownIIN + "0",
		"Latin letters": "88O5124OOO11", "SQL": "1' OR '1'='1", "empty": "", "Cyrillic": "ИИН880512400",
	} {
		check("invalid IIN ("+name+"): INVALID_ARGUMENT", func(ctx context.Context) error {
			_, err := client.GetPerson(ctx, &gbdflv1.GetPersonRequest{Iin: bad})
			if err := conformance.WantCode(err, codes.InvalidArgument); err != nil {
				return err
			}
			_, err = client.ListChildren(ctx, &gbdflv1.ListChildrenRequest{Iin: bad})
			return conformance.WantCode(err, codes.InvalidArgument)
		})
	}
	check("children: each names the parent, oldest first", func(ctx context.Context) error {
		r, err := client.ListChildren(ctx, &gbdflv1.ListChildrenRequest{Iin: o.ParentIIN})
		if err != nil {
			return err
		}
		if len(r.GetChildren()) == 0 {
			return fmt.Errorf("no children of %s", iin.Mask(o.ParentIIN))
		}
		prev := ""
		for _, c := range r.GetChildren() {
			if err := validPerson(c, c.GetIin()); err != nil {
				return err
			}
			linked := false
			for _, l := range c.GetFamily() {
				linked = linked || (l.GetIin() == o.ParentIIN && (l.GetRelation() == gbdflv1.Relation_RELATION_PARENT || l.GetRelation() == gbdflv1.Relation_RELATION_GUARDIAN))
			}
			if !linked {
				return fmt.Errorf("child %s does not name the parent or guardian", iin.Mask(c.GetIin()))
			}
			if c.GetBirthDate() < prev {
				return fmt.Errorf("children not ordered by birth date")
			}
			prev = c.GetBirthDate()
		}
		return nil
	})
	check("children of an unknown person: NOT_FOUND", func(ctx context.Context) error {
		_, err := client.ListChildren(ctx, &gbdflv1.ListChildrenRequest{Iin: o.UnknownIIN})
		return conformance.WantCode(err, codes.NotFound)
	})
	return checks.Results
}

func validPerson(p *gbdflv1.Person, want string) error {
	switch {
	case p.GetIin() != want:
		return fmt.Errorf("record for %q, asked for %q", iin.Mask(p.GetIin()), iin.Mask(want))
	case p.GetSurname() == "" || p.GetName() == "":
		return fmt.Errorf("no surname or name")
	case p.GetSex() == gbdflv1.Sex_SEX_UNSPECIFIED:
		return fmt.Errorf("no sex")
	case p.GetAddress().GetRegionCode() == "":
		return fmt.Errorf("no region code in the address")
	}
	if _, err := time.Parse(time.DateOnly, p.GetBirthDate()); err != nil {
		return fmt.Errorf("birth date %q is not YYYY-MM-DD", p.GetBirthDate())
	}
	if p.GetDeceased() {
		if _, err := time.Parse(time.DateOnly, p.GetDeathDate()); err != nil {
			return fmt.Errorf("deceased without a death date")
		}
	}
	return nil
}

func badCheckDigit(s string) string {
	last := (s[11]-'0'+1)%10 + '0'
	return s[:11] + string(rune(last))
}
