// Package grpcapi serves НУЦ's admin API (egov.nca.v1.CertificateAuthorityService).
package grpcapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/pki"
	ncav1 "github.com/egov-suite/egov/proto/egov/nca/v1"
	"github.com/egov-suite/egov/services/nca/internal/authority"
	"github.com/egov-suite/egov/services/nca/internal/store"
)

// Server implements the admin API on an authority.
type Server struct {
	ncav1.UnimplementedCertificateAuthorityServiceServer
	a     *authority.Authority
	store *store.Store
}

// New returns the server.
func New(a *authority.Authority, s *store.Store) *Server { return &Server{a: a, store: s} }

// IssueCertificate implements the API.
func (s *Server) IssueCertificate(ctx context.Context, r *ncav1.IssueCertificateRequest) (*ncav1.IssueCertificateResponse, error) {
	req, err := fromProto(r)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	rec, p12, err := s.a.Issue(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &ncav1.IssueCertificateResponse{Certificate: toProto(rec, true), Pkcs12: p12}, nil
}

// RevokeCertificate implements the API.
func (s *Server) RevokeCertificate(ctx context.Context, r *ncav1.RevokeCertificateRequest) (*ncav1.RevokeCertificateResponse, error) {
	rec, err := s.a.Revoke(ctx, r.GetSerial(), int(r.GetReason()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &ncav1.RevokeCertificateResponse{Certificate: toProto(rec, false)}, nil
}

// ListCertificates implements the API.
func (s *Server) ListCertificates(ctx context.Context, r *ncav1.ListCertificatesRequest) (*ncav1.ListCertificatesResponse, error) {
	size := int(r.GetPageSize())
	if size <= 0 {
		size = 100
	}
	if size > 1000 {
		return nil, status.Error(codes.InvalidArgument, "page_size at most 1000")
	}
	f := store.Filter{IIN: r.GetIin(), Limit: size + 1}
	if r.GetProfile() != ncav1.Profile_PROFILE_UNSPECIFIED {
		p, err := profileFromProto(r.GetProfile())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		f.Profile = p.String()
	}
	if tok := r.GetPageToken(); tok != "" {
		at, serial, err := decodeToken(tok)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		f.AfterTime, f.AfterSerial = at, serial
	}
	recs, err := s.store.List(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &ncav1.ListCertificatesResponse{}
	if len(recs) > size {
		last := recs[size-1]
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(last.IssuedAt.Format(time.RFC3339Nano) + "|" + last.Serial))
		recs = recs[:size]
	}
	for _, rec := range recs {
		resp.Certificates = append(resp.Certificates, toProto(rec, false))
	}
	return resp, nil
}

func decodeToken(tok string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", errors.New("page_token is not one this service gave")
	}
	at, serial, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil {
		return time.Time{}, "", errors.New("page_token is not one this service gave")
	}
	return t, serial, nil
}

// GetCACertificates implements the API.
func (s *Server) GetCACertificates(context.Context, *ncav1.GetCACertificatesRequest) (*ncav1.GetCACertificatesResponse, error) {
	return &ncav1.GetCACertificatesResponse{Root: s.a.Root().Raw, Intermediate: s.a.Intermediate().Raw}, nil
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, authority.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, store.ErrAlreadyRevoked):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	default:
		return status.Error(codes.Internal, "certification authority error")
	}
}

func profileFromProto(p ncav1.Profile) (pki.Profile, error) {
	switch p {
	case ncav1.Profile_PROFILE_INDIVIDUAL:
		return pki.Individual, nil
	case ncav1.Profile_PROFILE_EMPLOYEE:
		return pki.Employee, nil
	case ncav1.Profile_PROFILE_SYSTEM:
		return pki.System, nil
	default:
		return 0, fmt.Errorf("profile %v: want INDIVIDUAL, EMPLOYEE or SYSTEM", p)
	}
}

func fromProto(r *ncav1.IssueCertificateRequest) (authority.IssueRequest, error) {
	profile, err := profileFromProto(r.GetProfile())
	if err != nil {
		return authority.IssueRequest{}, err
	}
	var purpose pki.Purpose
	switch r.GetPurpose() {
	case ncav1.KeyPurpose_KEY_PURPOSE_AUTHENTICATION:
		purpose = pki.Auth
	case ncav1.KeyPurpose_KEY_PURPOSE_SIGNING:
		purpose = pki.Sign
	case ncav1.KeyPurpose_KEY_PURPOSE_UNSPECIFIED:
		if profile != pki.System {
			return authority.IssueRequest{}, errors.New("purpose: a person's certificate is AUTHENTICATION or SIGNING")
		}
	}
	alg := pki.ECDSAP256
	switch r.GetAlgorithm() {
	case ncav1.KeyAlgorithm_KEY_ALGORITHM_UNSPECIFIED, ncav1.KeyAlgorithm_KEY_ALGORITHM_ECDSA_P256:
	case ncav1.KeyAlgorithm_KEY_ALGORITHM_RSA_2048:
		alg = pki.RSA2048
	default:
		return authority.IssueRequest{}, fmt.Errorf("algorithm %v not supported", r.GetAlgorithm())
	}
	if r.GetValidityDays() < 0 {
		return authority.IssueRequest{}, errors.New("validity_days must not be negative")
	}
	s := r.GetSubject()
	return authority.IssueRequest{
		Request: pki.Request{Profile: profile, Purpose: purpose, Validity: time.Duration(r.GetValidityDays()) * 24 * time.Hour,
			Subject: pki.Subject{IIN: s.GetIin(), Surname: s.GetSurname(), GivenName: s.GetGivenName(), Patronymic: s.GetPatronymic(),
				Organization: s.GetOrganization(), BIN: s.GetBin(), SystemID: s.GetSystemId()}},
		Algorithm: alg, Password: r.GetPassword(),
	}, nil
}

func toProto(c store.Certificate, withDER bool) *ncav1.Certificate {
	out := &ncav1.Certificate{
		Serial: c.Serial, SubjectDn: c.SubjectDN,
		NotBefore: timestamppb.New(c.NotBefore), NotAfter: timestamppb.New(c.NotAfter),
	}
	switch c.Profile {
	case "individual":
		out.Profile = ncav1.Profile_PROFILE_INDIVIDUAL
	case "employee":
		out.Profile = ncav1.Profile_PROFILE_EMPLOYEE
	case "system":
		out.Profile = ncav1.Profile_PROFILE_SYSTEM
	}
	switch c.Purpose {
	case "auth":
		out.Purpose = ncav1.KeyPurpose_KEY_PURPOSE_AUTHENTICATION
	case "sign":
		out.Purpose = ncav1.KeyPurpose_KEY_PURPOSE_SIGNING
	}
	if c.IIN != nil {
		out.Iin = *c.IIN
	}
	if c.BIN != nil {
		out.Bin = *c.BIN
	}
	if withDER {
		out.Der = c.DER
	}
	if c.RevokedAt != nil {
		out.RevokedAt = timestamppb.New(*c.RevokedAt)
		if c.RevocationReason != nil {
			out.RevocationReason = ncav1.RevocationReason(*c.RevocationReason)
		}
	}
	return out
}
