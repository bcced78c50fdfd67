// Package api serves ЕНИС on a Source as egov.enis.v1.NotaryRegistryService and as the ШЭП sync service
// ENIS_POWER_OF_ATTORNEY.
package api

import (
	"context"
	"errors"
	"unicode"

	"github.com/egov-suite/egov/internal/registries"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/iin"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/enis/internal/source"
	"github.com/egov-suite/egov/shepsdk"
)

// Service is the ШЭП service id of the register.
const Service = registries.ServicePowerOfAttorney

// Status codes of answers through ШЭП.
const (
	CodeInvalidRequest = "E_INVALID_REQUEST"
	CodeNotFound       = shepv1.CodeNotFound
)

// NotFoundText is the regulations' wording when the register has no such power of attorney.
const NotFoundText = "невозможности получения данных в связи с отсутствием данных доверенности в ЕНИС"

// Server implements NotaryRegistryService on a Source.
type Server struct {
	enisv1.UnimplementedNotaryRegistryServiceServer
	Source source.Source
}

// validNumber accepts what notaries write: letters (Cyrillic too), digits, '-', '/' and '.'.
func validNumber(n string) error {
	if n == "" {
		return status.Error(codes.InvalidArgument, "номер доверенности не указан")
	}
	if len(n) > 64 {
		return status.Error(codes.InvalidArgument, "номер доверенности длиннее 64 байт")
	}
	for _, r := range n {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '/' && r != '.' {
			return status.Errorf(codes.InvalidArgument, "номер доверенности содержит недопустимый символ %q", r)
		}
	}
	return nil
}

// GetPowerOfAttorney implements the API.
func (s *Server) GetPowerOfAttorney(ctx context.Context, r *enisv1.GetPowerOfAttorneyRequest) (*enisv1.GetPowerOfAttorneyResponse, error) {
	if err := validNumber(r.GetNumber()); err != nil {
		return nil, err
	}
	for who, v := range map[string]string{"доверителя": r.GetPrincipalIin(), "представителя": r.GetRepresentativeIin()} {
		if _, err := iin.Parse(v); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "ИИН %s: %v", who, err)
		}
	}
	p, err := s.Source.PowerOfAttorney(ctx, r.GetNumber(), r.GetPrincipalIin(), r.GetRepresentativeIin())
	if errors.Is(err, source.ErrNotFound) {
		return nil, status.Error(codes.NotFound, NotFoundText)
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "ЕНИС unavailable")
	}
	return &enisv1.GetPowerOfAttorneyResponse{PowerOfAttorney: p}, nil
}

// Provider answers ШЭП requests.
func (s *Server) Provider(ctx context.Context, req *envelopev1.Envelope) (*shepsdk.Answer, error) {
	var in enisv1.GetPowerOfAttorneyRequest
	if req.GetPayloadType() != "egov.enis.v1.GetPowerOfAttorneyRequest" || !decode(req.GetPayload(), &in) {
		return &shepsdk.Answer{Status: &envelopev1.Status{Code: CodeInvalidRequest, Message: "payload is not a GetPowerOfAttorneyRequest"}}, nil
	}
	out, err := s.GetPowerOfAttorney(ctx, &in)
	switch status.Code(err) {
	case codes.OK:
		return &shepsdk.Answer{Payload: out}, nil
	case codes.InvalidArgument:
		return &shepsdk.Answer{Status: &envelopev1.Status{Code: CodeInvalidRequest, Message: status.Convert(err).Message()}}, nil
	case codes.NotFound:
		return &shepsdk.Answer{Status: &envelopev1.Status{Code: CodeNotFound, Message: NotFoundText}}, nil
	default:
		return nil, err
	}
}

func decode(b []byte, m proto.Message) bool { return proto.Unmarshal(b, m) == nil }
