// Package source is the seam of ЕНИС: the suite's stub reads its own schema; Remote forwards to an
// external endpoint speaking egov.enis.v1. Both pass the same conformance suite.
package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	"github.com/egov-suite/egov/services/enis/internal/store"
)

// ErrNotFound means no power of attorney matches.
var ErrNotFound = errors.New("no data in ЕНИС")

// Source finds a power of attorney by number and both parties (callers validate first).
type Source interface {
	PowerOfAttorney(ctx context.Context, number, principal, representative string) (*enisv1.PowerOfAttorney, error)
}

// Kazakhstan keeps one time zone, UTC+5: a power of attorney "valid until" a date is valid through
// that day there.
var almaty = time.FixedZone("UTC+5", 5*3600)

// Postgres is the stub.
type Postgres struct {
	Store *store.Store
	Now   func() time.Time
}

// PowerOfAttorney implements Source.
func (p Postgres) PowerOfAttorney(ctx context.Context, number, principal, representative string) (*enisv1.PowerOfAttorney, error) {
	r, err := p.Store.Get(ctx, number, principal, representative)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := &enisv1.PowerOfAttorney{Number: r.Number, IssuedOn: r.IssuedOn.Format(time.DateOnly), ValidUntil: r.ValidUntil.Format(time.DateOnly),
		NotaryName: r.NotaryName, NotaryLicence: r.NotaryLicence, PrincipalIin: r.PrincipalIIN, RepresentativeIin: r.RepresentativeIIN,
		ServiceCodes: r.ServiceCodes, GeneralScope: r.GeneralScope, Revoked: r.Revoked}
	today := p.Now().In(almaty).Format(time.DateOnly)
	switch {
	case r.Revoked:
		out.State = enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_REVOKED
	case out.ValidUntil < today:
		out.State = enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_EXPIRED
	default:
		out.State = enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_VALID
	}
	return out, nil
}

// Remote forwards to an external NotaryRegistryService.
type Remote struct {
	Client enisv1.NotaryRegistryServiceClient
}

// PowerOfAttorney implements Source.
func (r Remote) PowerOfAttorney(ctx context.Context, number, principal, representative string) (*enisv1.PowerOfAttorney, error) {
	resp, err := r.Client.GetPowerOfAttorney(ctx, &enisv1.GetPowerOfAttorneyRequest{Number: number, PrincipalIin: principal, RepresentativeIin: representative})
	if status.Code(err) == codes.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("remote ЕНИС: %w", err)
	}
	p := resp.GetPowerOfAttorney()
	if p.GetNumber() != number || p.GetPrincipalIin() != principal || p.GetRepresentativeIin() != representative {
		return nil, errors.New("remote ЕНИС answered about another power of attorney")
	}
	return p, nil
}
