// Package conformance is the behaviour every ЕНИС endpoint must show for the suite to work with it. Run
// it with `egov conformance enis --target host:port`.
package conformance

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/egov-suite/egov/internal/conformance"
	"github.com/egov-suite/egov/internal/demo"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
)

// Options name the records the checks rely on; the defaults are the dev mode's cast.
type Options struct {
	Principal, Representative string
	// Valid, Expired and Revoked are numbers of powers of attorney between the two in those states.
	Valid, Expired, Revoked string
}

// Defaults are the dev mode's cast.
var Defaults = Options{Principal: demo.People[0].IIN, Representative: demo.People[1].IIN,
	Valid: demo.PowerOfAttorneyValid, Expired: demo.PowerOfAttorneyExpired, Revoked: demo.PowerOfAttorneyRevoked}

// Result is the outcome of one check.
type Result = conformance.Result

// Run runs every check against client.
func Run(ctx context.Context, client enisv1.NotaryRegistryServiceClient, o Options) []Result {
	checks := conformance.New(ctx)
	get := func(ctx context.Context, number, principal, representative string) (*enisv1.PowerOfAttorney, error) {
		r, err := client.GetPowerOfAttorney(ctx, &enisv1.GetPowerOfAttorneyRequest{Number: number, PrincipalIin: principal, RepresentativeIin: representative})
		return r.GetPowerOfAttorney(), err
	}
	check := checks.Check
	for name, c := range map[string]struct {
		number string
		want   enisv1.PowerOfAttorneyState
	}{
		"valid":   {o.Valid, enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_VALID},
		"expired": {o.Expired, enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_EXPIRED},
		"revoked": {o.Revoked, enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_REVOKED},
	} {
		check(name+" power of attorney: found, with its state", func(ctx context.Context) error {
			p, err := get(ctx, c.number, o.Principal, o.Representative)
			if err != nil {
				return err
			}
			switch {
			case p.GetState() != c.want:
				return fmt.Errorf("state %v, want %v", p.GetState(), c.want)
			case p.GetNumber() != c.number || p.GetPrincipalIin() != o.Principal || p.GetRepresentativeIin() != o.Representative:
				return fmt.Errorf("answered about another record")
			case p.GetNotaryName() == "":
				return fmt.Errorf("no notary")
			case !p.GetGeneralScope() && len(p.GetServiceCodes()) == 0:
				return fmt.Errorf("neither general nor limited to services")
			}
			for _, d := range []string{p.GetIssuedOn(), p.GetValidUntil()} {
				if _, err := time.Parse(time.DateOnly, d); err != nil {
					return fmt.Errorf("date %q is not YYYY-MM-DD", d)
				}
			}
			return nil
		})
	}
	notFound := map[string][3]string{
		"unknown number":         {"0000-ДОВ-999999", o.Principal, o.Representative},
		"another representative": {o.Valid, o.Principal, demo.MissingIIN},
		"parties swapped":        {o.Valid, o.Representative, o.Principal},
	}
	for name, a := range notFound {
		check(name+": NOT_FOUND", func(ctx context.Context) error {
			_, err := get(ctx, a[0], a[1], a[2])
			return conformance.WantCode(err, codes.NotFound)
		})
	}
	invalid := map[string][3]string{
		"empty number":           {"", o.Principal, o.Representative},
		"SQL in the number":      {"1'; DROP TABLE powers_of_attorney; --", o.Principal, o.Representative},
		"bad principal IIN":      {o.Valid, "12345678901", o.Representative},
		"bad representative IIN": {o.Valid, o.Principal, "ABCDEFGHIJKL"},
	}
	for name, a := range invalid {
		check(name+": INVALID_ARGUMENT", func(ctx context.Context) error {
			_, err := get(ctx, a[0], a[1], a[2])
			return conformance.WantCode(err, codes.InvalidArgument)
		})
	}
	return checks.Results
}
