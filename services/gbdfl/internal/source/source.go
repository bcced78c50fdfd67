// Package source is the seam of ГБД ФЛ: where person records come from. The suite's stub reads its own
// PostgreSQL schema; the Remote adapter forwards to an external endpoint speaking egov.gbdfl.v1 — the
// real registry, or a team's gateway to it. Both pass the same conformance suite.
package source

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/gbdfl/internal/store"
)

// ErrNotFound means the register has no person with the IIN.
var ErrNotFound = errors.New("no data in ГБД ФЛ")

// Source answers look-ups by a valid IIN (callers validate first).
type Source interface {
	Person(ctx context.Context, iin string) (*gbdflv1.Person, error)
	Children(ctx context.Context, iin string) ([]*gbdflv1.Person, error)
}

// Postgres is the stub: the suite's own population.
type Postgres struct{ Store *store.Store }

// Person implements Source.
func (p Postgres) Person(ctx context.Context, iin string) (*gbdflv1.Person, error) {
	r, err := p.Store.Person(ctx, iin)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return r, err
}

// Children implements Source.
func (p Postgres) Children(ctx context.Context, iin string) ([]*gbdflv1.Person, error) {
	r, err := p.Store.Children(ctx, iin)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return r, err
}

// Remote forwards to an external PersonRegistryService.
type Remote struct {
	Client gbdflv1.PersonRegistryServiceClient
}

// Person implements Source.
func (r Remote) Person(ctx context.Context, iin string) (*gbdflv1.Person, error) {
	resp, err := r.Client.GetPerson(ctx, &gbdflv1.GetPersonRequest{Iin: iin})
	if err != nil {
		return nil, remoteError(err)
	}
	if resp.GetPerson().GetIin() != iin {
		return nil, fmt.Errorf("remote ГБД ФЛ answered for another IIN")
	}
	return resp.GetPerson(), nil
}

// Children implements Source.
func (r Remote) Children(ctx context.Context, iin string) ([]*gbdflv1.Person, error) {
	resp, err := r.Client.ListChildren(ctx, &gbdflv1.ListChildrenRequest{Iin: iin})
	if err != nil {
		return nil, remoteError(err)
	}
	return resp.GetChildren(), nil
}

func remoteError(err error) error {
	if status.Code(err) == codes.NotFound {
		return ErrNotFound
	}
	return fmt.Errorf("remote ГБД ФЛ: %w", err)
}
