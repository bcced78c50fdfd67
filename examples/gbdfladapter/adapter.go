// Package gbdfladapter is an example of an integration team's adapter: a gRPC server speaking
// egov.gbdfl.v1 (the suite's contract of ГБД ФЛ, the population register) in front of a remote register
// with an API of its own. The suite's ГБД ФЛ service, run with EGOV_GBDFL_SOURCE=remote, reads persons
// through it; `egov conformance gbdfl --target … --ca-file … --server-name …` checks it. It uses
// public packages of the suite only (the generated contract), as a team outside the repository would.
package gbdfladapter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

// Registry is the remote register, as the adapter needs it.
type Registry interface {
	// Person returns the person with iin, or ErrNoRecord.
	Person(ctx context.Context, iin string) (*RemotePerson, error)
	// Children returns the children of the person with iin, or ErrNoRecord.
	Children(ctx context.Context, iin string) ([]RemotePerson, error)
}

// Server implements PersonRegistryService on a Registry.
type Server struct {
	gbdflv1.UnimplementedPersonRegistryServiceServer
	Registry Registry
}

// GetPerson returns the person with the IIN: INVALID_ARGUMENT for an IIN that fails its check,
// NOT_FOUND for one the register does not hold, UNAVAILABLE when the register cannot be reached.
func (s *Server) GetPerson(ctx context.Context, in *gbdflv1.GetPersonRequest) (*gbdflv1.GetPersonResponse, error) {
	if err := ValidIIN(in.GetIin()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	p, err := s.Registry.Person(ctx, in.GetIin())
	if err != nil {
		return nil, remoteError(err)
	}
	person, err := convert(p)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "запись удалённого реестра не читается: %v", err)
	}
	return &gbdflv1.GetPersonResponse{Person: person}, nil
}

// ListChildren returns the children of the person with the IIN, oldest first.
func (s *Server) ListChildren(ctx context.Context, in *gbdflv1.ListChildrenRequest) (*gbdflv1.ListChildrenResponse, error) {
	if err := ValidIIN(in.GetIin()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ps, err := s.Registry.Children(ctx, in.GetIin())
	if err != nil {
		return nil, remoteError(err)
	}
	out := make([]*gbdflv1.Person, 0, len(ps))
	for i := range ps {
		c, err := convert(&ps[i])
		if err != nil {
			return nil, status.Errorf(codes.Internal, "запись удалённого реестра не читается: %v", err)
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b *gbdflv1.Person) int { return strings.Compare(a.GetBirthDate(), b.GetBirthDate()) })
	return &gbdflv1.ListChildrenResponse{Children: out}, nil
}

func remoteError(err error) error {
	if errors.Is(err, ErrNoRecord) {
		return status.Error(codes.NotFound, "нет данных в ГБД ФЛ")
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Errorf(codes.Unavailable, "удалённый реестр недоступен: %v", err)
}

// convert turns the remote register's record into the contract's.
func convert(p *RemotePerson) (*gbdflv1.Person, error) {
	birth, err := isoDate(p.BirthDate)
	if err != nil {
		return nil, err
	}
	out := &gbdflv1.Person{
		Iin: p.IIN, Surname: p.LastName, Name: p.FirstName, Patronymic: p.MiddleName, BirthDate: birth,
		BirthPlace: p.BirthPlace, Citizenship: p.Citizenship, LegalCapacity: !p.Incapable,
		Address: &gbdflv1.Address{RegionCode: p.Region, Line: p.Address},
	}
	switch p.Gender {
	case "M":
		out.Sex = gbdflv1.Sex_SEX_MALE
	case "F":
		out.Sex = gbdflv1.Sex_SEX_FEMALE
	default:
		return nil, errors.New("gender " + p.Gender + " is neither M nor F")
	}
	if p.DeathDate != "" {
		if out.DeathDate, err = isoDate(p.DeathDate); err != nil {
			return nil, err
		}
		out.Deceased = true
	}
	for _, l := range []struct {
		iins []string
		rel  gbdflv1.Relation
	}{{p.Parents, gbdflv1.Relation_RELATION_PARENT}, {p.Guardians, gbdflv1.Relation_RELATION_GUARDIAN}, {p.Children, gbdflv1.Relation_RELATION_CHILD}} {
		for _, iin := range l.iins {
			out.Family = append(out.Family, &gbdflv1.FamilyLink{Iin: iin, Relation: l.rel})
		}
	}
	return out, nil
}

// isoDate turns the remote register's DD.MM.YYYY into the contract's YYYY-MM-DD.
func isoDate(s string) (string, error) {
	d, err := time.Parse("02.01.2006", s)
	if err != nil {
		return "", errors.New("date " + s + " is not DD.MM.YYYY")
	}
	return d.Format(time.DateOnly), nil
}

// ValidIIN checks an ИИН (individual identification number): twelve digits whose last is the check
// digit of the first eleven (weights 1…11, and 3…11, 1, 2 when the first pass gives 10).
func ValidIIN(s string) error {
	if len(s) != 12 {
		return errors.New("ИИН должен состоять из 12 цифр")
	}
	var d [12]int
	for i := range 12 {
		if s[i] < '0' || s[i] > '9' {
			return errors.New("ИИН должен состоять из 12 цифр")
		}
		d[i] = int(s[i] - '0')
	}
	weighted := func(first int) int {
		sum := 0
		for i := range 11 {
			sum += d[i] * ((first+i-1)%11 + 1)
		}
		return sum % 11
	}
	k := weighted(1)
	if k == 10 {
		k = weighted(3)
	}
	if k == 10 || k != d[11] {
		return errors.New("ИИН не прошёл проверку контрольного разряда (check digit)")
	}
	return nil
}

// ServerTLS is the adapter's TLS: it presents cert (issued by the CA its clients are given as
// --ca-file / EGOV_GBDFL_REMOTE_CA_FILE) and, when clientCAs is set, admits only a client whose
// certificate chains to them and names one of clients (the suite's ГБД ФЛ presents its НУЦ-issued
// system certificate, CN "gbdfl").
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool, clients ...string) grpc.ServerOption {
	c := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	if clientCAs != nil {
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, clientCAs
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.VerifiedChains) == 0 || !slices.Contains(clients, cs.VerifiedChains[0][0].Subject.CommonName) {
				return errors.New("gbdfladapter: the client is not one this adapter serves")
			}
			return nil
		}
	}
	return grpc.Creds(credentials.NewTLS(c))
}
