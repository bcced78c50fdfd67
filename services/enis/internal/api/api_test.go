package api_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/serve"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/enis/conformance"
	"github.com/egov-suite/egov/services/enis/internal/api"
	"github.com/egov-suite/egov/services/enis/internal/source"
	"github.com/egov-suite/egov/services/enis/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var today = func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }

func stub(t *testing.T) source.Source {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "enis", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "enis", store.Migrations())
	require.NoError(t, err)
	st := store.New(pool)
	n, err := st.Load(t.Context(), store.Generate(3000, 1))
	require.NoError(t, err)
	require.Greater(t, n, int64(50), "about one adult in twenty gives a power of attorney")
	return source.Postgres{Store: st, Now: today}
}

func serveRegistry(t *testing.T, src source.Source) enisv1.NotaryRegistryServiceClient {
	t.Helper()
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	enisv1.RegisterNotaryRegistryServiceServer(gs, &api.Server{Source: src})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return enisv1.NewNotaryRegistryServiceClient(conn)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	direct := serveRegistry(t, stub(t))
	adapter := serveRegistry(t, source.Remote{Client: direct})
	for name, client := range map[string]enisv1.NotaryRegistryServiceClient{"stub": direct, "adapter": adapter} {
		t.Run(name, func(t *testing.T) {
			results := conformance.Run(t.Context(), client, conformance.Defaults)
			require.Len(t, results, 10)
			for _, r := range results {
				require.NoError(t, r.Err, r.Name)
			}
		})
	}
	// The suite fails an endpoint that hides states: every record VALID.
	wrong := conformance.Defaults
	wrong.Expired = demo.PowerOfAttorneyValid
	failed := 0
	for _, r := range conformance.Run(t.Context(), direct, wrong) {
		if r.Err != nil {
			failed++
		}
	}
	require.Equal(t, 1, failed)
}

func TestProviderAnswers(t *testing.T) {
	t.Parallel()
	srv := &api.Server{Source: stub(t)}
	ask := func(m proto.Message) (*enisv1.GetPowerOfAttorneyResponse, *envelopev1.Status) {
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		ans, err := srv.Provider(t.Context(), &envelopev1.Envelope{PayloadType: string(m.ProtoReflect().Descriptor().FullName()), Payload: b})
		require.NoError(t, err)
		if ans.Status != nil {
			return nil, ans.Status
		}
		return ans.Payload.(*enisv1.GetPowerOfAttorneyResponse), nil
	}
	p, st := ask(&enisv1.GetPowerOfAttorneyRequest{Number: demo.PowerOfAttorneyRevoked, PrincipalIin: demo.People[0].IIN, RepresentativeIin: demo.People[1].IIN})
	require.Nil(t, st)
	require.Equal(t, enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_REVOKED, p.GetPowerOfAttorney().GetState())
	_, st = ask(&enisv1.GetPowerOfAttorneyRequest{Number: "нет-такой", PrincipalIin: demo.People[0].IIN, RepresentativeIin: demo.People[1].IIN})
	require.Equal(t, api.CodeNotFound, st.GetCode())
	require.Equal(t, api.NotFoundText, st.GetMessage())
	_, st = ask(&enisv1.GetPowerOfAttorneyRequest{Number: "", PrincipalIin: demo.People[0].IIN, RepresentativeIin: demo.People[1].IIN})
	require.Equal(t, api.CodeInvalidRequest, st.GetCode())
	_, st = ask(&envelopev1.Status{Code: "x"})
	require.Equal(t, api.CodeInvalidRequest, st.GetCode())
}
