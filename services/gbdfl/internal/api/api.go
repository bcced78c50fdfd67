// Package api serves ГБД ФЛ on a Source two ways: as egov.gbdfl.v1.PersonRegistryService (the contract a
// real registry speaks; the conformance target) and as a ШЭП sync provider (services GBDFL_PERSON and
// GBDFL_CHILDREN), which is how the suite's systems reach it.
package api

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/registries"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/gbdfl/internal/source"
	"github.com/egov-suite/egov/shepsdk"
)

// ШЭП service ids of the register.
const (
	ServicePerson   = registries.ServicePerson
	ServiceChildren = registries.ServiceChildren
)

// Status codes of the register's answers through ШЭП.
const (
	CodeInvalidIIN = "E_INVALID_IIN"
	CodeNotFound   = shepv1.CodeNotFound
	CodeBadRequest = "E_BAD_REQUEST"
)

// NotFoundText is the regulations' wording when the register has no record of the applicant.
const NotFoundText = "невозможности получения данных в связи с отсутствием данных получателя в ГБД ФЛ"

// Server implements PersonRegistryService on a Source.
type Server struct {
	gbdflv1.UnimplementedPersonRegistryServiceServer
	Source source.Source
}

func checkIIN(s string) error {
	if _, err := iin.Parse(s); err != nil {
		return status.Errorf(codes.InvalidArgument, "ИИН %q: %v", truncate(s, 32), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func failure(err error) error {
	if errors.Is(err, source.ErrNotFound) {
		return status.Error(codes.NotFound, NotFoundText)
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return err
	}
	return status.Error(codes.Unavailable, "ГБД ФЛ unavailable")
}

// GetPerson implements the API.
func (s *Server) GetPerson(ctx context.Context, r *gbdflv1.GetPersonRequest) (*gbdflv1.GetPersonResponse, error) {
	if err := checkIIN(r.GetIin()); err != nil {
		return nil, err
	}
	p, err := s.Source.Person(ctx, r.GetIin())
	if err != nil {
		return nil, failure(err)
	}
	return &gbdflv1.GetPersonResponse{Person: p}, nil
}

// ListChildren implements the API.
func (s *Server) ListChildren(ctx context.Context, r *gbdflv1.ListChildrenRequest) (*gbdflv1.ListChildrenResponse, error) {
	if err := checkIIN(r.GetIin()); err != nil {
		return nil, err
	}
	cs, err := s.Source.Children(ctx, r.GetIin())
	if err != nil {
		return nil, failure(err)
	}
	return &gbdflv1.ListChildrenResponse{Children: cs}, nil
}

// Provider answers ШЭП requests with the same server.
func (s *Server) Provider(ctx context.Context, req *envelopev1.Envelope) (*shepsdk.Answer, error) {
	var (
		out proto.Message
		err error
	)
	switch req.GetPayloadType() {
	case "egov.gbdfl.v1.GetPersonRequest":
		var in gbdflv1.GetPersonRequest
		if !decode(req.GetPayload(), &in) {
			return bad("payload is not a GetPersonRequest"), nil
		}
		out, err = s.GetPerson(ctx, &in)
	case "egov.gbdfl.v1.ListChildrenRequest":
		var in gbdflv1.ListChildrenRequest
		if !decode(req.GetPayload(), &in) {
			return bad("payload is not a ListChildrenRequest"), nil
		}
		out, err = s.ListChildren(ctx, &in)
	default:
		return bad(fmt.Sprintf("payload type %q is not a ГБД ФЛ request", req.GetPayloadType())), nil
	}
	switch status.Code(err) {
	case codes.OK:
		return &shepsdk.Answer{Payload: out}, nil
	case codes.InvalidArgument:
		return &shepsdk.Answer{Status: &envelopev1.Status{Code: CodeInvalidIIN, Message: status.Convert(err).Message()}}, nil
	case codes.NotFound:
		return &shepsdk.Answer{Status: &envelopev1.Status{Code: CodeNotFound, Message: NotFoundText}}, nil
	default:
		return nil, err
	}
}

// decode reads a payload; a payload that does not decode is the caller's error, answered as such.
func decode(b []byte, m proto.Message) bool { return proto.Unmarshal(b, m) == nil }

func bad(msg string) *shepsdk.Answer {
	return &shepsdk.Answer{Status: &envelopev1.Status{Code: CodeBadRequest, Message: msg}}
}
