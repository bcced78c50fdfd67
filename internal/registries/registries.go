// Package registries asks the state registers through ШЭП's sync channel, as one participant: ГБД ФЛ
// (the population register) for a person, ЕНИС (the notary register) for a power of attorney. РШЭП's
// checks, the portal's registration and the ЦОН desk's look-ups all use it.
package registries

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// ErrNoRecord is a registry's answer that it has no such record.
var ErrNoRecord = errors.New("no record in the register")

// ШЭП service ids of the registries (their contracts' names).
const (
	ServicePerson          = gbdflv1.ServicePerson
	ServiceChildren        = gbdflv1.ServiceChildren
	ServicePowerOfAttorney = enisv1.ServicePowerOfAttorney
)

// Client asks through one participant's connection to ШЭП.
type Client struct {
	C *shepsdk.Client
}

func (r Client) call(ctx context.Context, service string, req, resp proto.Message) error {
	env, err := r.C.Request(service, req)
	if err != nil {
		return err
	}
	out, err := r.C.Call(ctx, env)
	var se *shepsdk.StatusError
	if errors.As(err, &se) && se.Code == shepv1.CodeNotFound {
		return ErrNoRecord
	}
	if err != nil {
		return fmt.Errorf("%s: %w", service, err)
	}
	return proto.Unmarshal(out.GetPayload(), resp)
}

// Person returns a person of ГБД ФЛ, or ErrNoRecord.
func (r Client) Person(ctx context.Context, iin string) (*gbdflv1.Person, error) {
	var resp gbdflv1.GetPersonResponse
	if err := r.call(ctx, ServicePerson, &gbdflv1.GetPersonRequest{Iin: iin}, &resp); err != nil {
		return nil, err
	}
	return resp.GetPerson(), nil
}

// PowerOfAttorney returns a power of attorney of ЕНИС, or ErrNoRecord.
func (r Client) PowerOfAttorney(ctx context.Context, req *enisv1.GetPowerOfAttorneyRequest) (*enisv1.PowerOfAttorney, error) {
	var resp enisv1.GetPowerOfAttorneyResponse
	if err := r.call(ctx, ServicePowerOfAttorney, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetPowerOfAttorney(), nil
}

// Related reports whether person has, in ГБД ФЛ, a family link of relation (parent, guardian,
// parent_or_guardian) to iin: a passport's check with a relation asks it.
func Related(person *gbdflv1.Person, relation, iin string) bool {
	for _, l := range person.GetFamily() {
		if l.GetIin() != iin {
			continue
		}
		switch l.GetRelation() {
		case gbdflv1.Relation_RELATION_PARENT:
			if relation == "parent" || relation == "parent_or_guardian" {
				return true
			}
		case gbdflv1.Relation_RELATION_GUARDIAN:
			if relation == "guardian" || relation == "parent_or_guardian" {
				return true
			}
		}
	}
	return false
}
