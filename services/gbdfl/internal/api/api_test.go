package api_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/population"
	"github.com/egov-suite/egov/internal/serve"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/gbdfl/conformance"
	"github.com/egov-suite/egov/services/gbdfl/internal/api"
	"github.com/egov-suite/egov/services/gbdfl/internal/source"
	"github.com/egov-suite/egov/services/gbdfl/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// serveRegistry serves a PersonRegistryService on src over a real socket and returns a client.
func serveRegistry(t *testing.T, src source.Source) gbdflv1.PersonRegistryServiceClient {
	t.Helper()
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	gbdflv1.RegisterPersonRegistryServiceServer(gs, &api.Server{Source: src})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return gbdflv1.NewPersonRegistryServiceClient(conn)
}

func stub(t *testing.T) source.Source {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "gbdfl", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "gbdfl", store.Migrations())
	require.NoError(t, err)
	st := store.New(pool)
	_, _, err = st.Load(t.Context(), population.Generate(1000, 1))
	require.NoError(t, err)
	return source.Postgres{Store: st}
}

// TestConformance runs the one suite on both sides of the seam: the stub, and the adapter that forwards
// to an external endpoint (here, the stub behind a socket).
func TestConformance(t *testing.T) {
	t.Parallel()
	direct := serveRegistry(t, stub(t))
	adapter := serveRegistry(t, source.Remote{Client: direct})
	for name, client := range map[string]gbdflv1.PersonRegistryServiceClient{"stub": direct, "adapter": adapter} {
		t.Run(name, func(t *testing.T) {
			results := conformance.Run(t.Context(), client, conformance.Defaults)
			require.Len(t, results, 12)
			for _, r := range results {
				require.NoError(t, r.Err, r.Name)
			}
		})
	}
}

// TestConformanceCatchesABrokenRegistry: the suite is not a check that cannot fail.
func TestConformanceCatchesABrokenRegistry(t *testing.T) {
	t.Parallel()
	results := conformance.Run(t.Context(), serveRegistry(t, broken{}), conformance.Defaults)
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	require.GreaterOrEqual(t, failed, 3)
}

// broken answers every valid IIN with an empty record and never says NOT_FOUND.
type broken struct{}

func (broken) Person(_ context.Context, iin string) (*gbdflv1.Person, error) {
	return &gbdflv1.Person{Iin: iin}, nil
}

func (broken) Children(context.Context, string) ([]*gbdflv1.Person, error) { return nil, nil }

func TestProviderAnswers(t *testing.T) {
	t.Parallel()
	srv := &api.Server{Source: stub(t)}
	ask := func(typ string, m proto.Message) (*gbdflv1.GetPersonResponse, *envelopev1.Status) {
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		ans, err := srv.Provider(t.Context(), &envelopev1.Envelope{PayloadType: typ, Payload: b})
		require.NoError(t, err)
		if ans.Status != nil {
			return nil, ans.Status
		}
		out, ok := ans.Payload.(*gbdflv1.GetPersonResponse)
		if !ok {
			return nil, nil
		}
		return out, nil
	}
	p, st := ask("egov.gbdfl.v1.GetPersonRequest", &gbdflv1.GetPersonRequest{Iin: demo.People[0].IIN})
	require.Nil(t, st)
	require.Equal(t, "Асель", p.GetPerson().GetName())
	_, st = ask("egov.gbdfl.v1.GetPersonRequest", &gbdflv1.GetPersonRequest{Iin: demo.MissingIIN})
	require.Equal(t, api.CodeNotFound, st.GetCode())
	require.Equal(t, api.NotFoundText, st.GetMessage())
	_, st = ask("egov.gbdfl.v1.GetPersonRequest", &gbdflv1.GetPersonRequest{Iin: "12345"})
	require.Equal(t, api.CodeInvalidIIN, st.GetCode())
	_, st = ask("egov.gbdfl.v1.ListChildrenRequest", &gbdflv1.ListChildrenRequest{Iin: demo.People[0].IIN})
	require.Nil(t, st)
	_, st = ask("egov.enis.v1.Nothing", &gbdflv1.GetPersonRequest{})
	require.Equal(t, api.CodeBadRequest, st.GetCode())
	ans, err := srv.Provider(t.Context(), &envelopev1.Envelope{PayloadType: "egov.gbdfl.v1.GetPersonRequest", Payload: []byte{0xff, 0xff}})
	require.NoError(t, err)
	require.Equal(t, api.CodeBadRequest, ans.Status.GetCode())
}
