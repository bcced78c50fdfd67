// Package registries checks ГБД ФЛ and ЕНИС from the outside, as ЦОН reaches them: a signed request
// through ШЭП's sync channel to the registry and back, on the real binary.
package registries

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/participant"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

var dev struct {
	once sync.Once
	d    *harness.Dev
	dir  string
	err  error
}

// suite starts one egov dev for the package (stopped by TestMain).
func suite(t testing.TB) *harness.Dev {
	t.Helper()
	dev.once.Do(func() {
		dev.dir, dev.err = os.MkdirTemp("", "egov-registries-")
		if dev.err == nil {
			dev.err = os.Chmod(dev.dir, 0o755)
		}
		if dev.err == nil {
			dev.d = harness.StartDev(&keepAlive{TB: t}, dev.dir)
		}
	})
	require.NoError(t, dev.err)
	return dev.d
}

// keepAlive lets the shared dev process outlive the test that started it.
type keepAlive struct{ testing.TB }

func (keepAlive) Cleanup(func()) {}

func TestMain(m *testing.M) {
	code := m.Run()
	if dev.d != nil {
		_ = dev.d.Interrupt(time.Minute)
		os.RemoveAll(dev.dir)
	}
	os.Exit(code)
}

// tson is ЦОН's ШЭП client, with the demo system key.
func tson(t testing.TB, d *harness.Dev) *shepsdk.Client {
	t.Helper()
	c, ident, err := participant.Config{KeyFile: filepath.Join(d.DataDir, "keys", "system-tson.p12"), KeyPassword: demo.Password,
		TrustAnchors: filepath.Join(d.DataDir, "keys", "root.pem"), OCSPFreshness: 5 * time.Minute}.LoadTLS("tson", nil)
	require.NoError(t, err)
	conn, err := grpc.NewClient(d.Endpoints.Services["shep"].GRPC, mtls.Transport{}.Dial(ident, "shep"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	c.Sync = shepv1.NewSyncChannelServiceClient(conn)
	return c
}

func call(t testing.TB, c *shepsdk.Client, service string, req, resp proto.Message) error {
	t.Helper()
	e, err := c.Request(service, req)
	require.NoError(t, err)
	out, err := c.Call(context.Background(), e)
	if err != nil {
		return err
	}
	require.NoError(t, proto.Unmarshal(out.GetPayload(), resp))
	return nil
}

func TestLookUpsThroughSHEP(t *testing.T) {
	d := suite(t)
	c := tson(t, d)
	asel, sergei := demo.People[0].IIN, demo.People[1].IIN

	var person gbdflv1.GetPersonResponse
	require.NoError(t, call(t, c, gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: asel}, &person))
	require.Equal(t, "Ахметова", person.GetPerson().GetSurname())
	var children gbdflv1.ListChildrenResponse
	require.NoError(t, call(t, c, gbdflv1.ServiceChildren, &gbdflv1.ListChildrenRequest{Iin: asel}, &children))
	// Асель's ward and her three children (the two youngest for the kindergarten waiting list).
	var got []string
	for _, ch := range children.GetChildren() {
		got = append(got, ch.GetIin())
	}
	require.ElementsMatch(t, []string{demo.WardIIN, demo.ChildIIN, demo.YoungChildIIN, demo.YoungestChildIIN}, got)

	var poa enisv1.GetPowerOfAttorneyResponse
	for number, state := range map[string]enisv1.PowerOfAttorneyState{
		demo.PowerOfAttorneyValid:   enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_VALID,
		demo.PowerOfAttorneyExpired: enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_EXPIRED,
		demo.PowerOfAttorneyRevoked: enisv1.PowerOfAttorneyState_POWER_OF_ATTORNEY_STATE_REVOKED,
	} {
		require.NoError(t, call(t, c, enisv1.ServicePowerOfAttorney, &enisv1.GetPowerOfAttorneyRequest{Number: number, PrincipalIin: asel, RepresentativeIin: sergei}, &poa))
		require.Equal(t, state, poa.GetPowerOfAttorney().GetState(), number)
	}

	for _, tt := range []struct {
		service string
		req     proto.Message
		code    string
		text    string
	}{
		{gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: demo.MissingIIN}, shepv1.CodeNotFound, "отсутствием данных получателя в ГБД ФЛ"},
		{gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "88051240001"}, "E_INVALID_IIN", "12"},
		{gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "880512400012"}, "E_INVALID_IIN", "check digit"},
		{enisv1.ServicePowerOfAttorney, &enisv1.GetPowerOfAttorneyRequest{Number: "2026-ДОВ-999999", PrincipalIin: asel, RepresentativeIin: sergei}, shepv1.CodeNotFound, "данных доверенности в ЕНИС"},
		{enisv1.ServicePowerOfAttorney, &enisv1.GetPowerOfAttorneyRequest{Number: "", PrincipalIin: asel, RepresentativeIin: sergei}, "E_INVALID_REQUEST", "не указан"},
	} {
		err := call(t, c, tt.service, tt.req, &gbdflv1.GetPersonResponse{})
		var se *shepsdk.StatusError
		require.True(t, errors.As(err, &se), "%s %v: %v", tt.service, tt.req, err)
		require.Equal(t, tt.code, se.Code)
		require.Contains(t, se.Message, tt.text)
	}
}

// TestConformanceCommand runs `egov conformance` against the running stubs, as an integration team would
// against the real registries.
func TestConformanceCommand(t *testing.T) {
	d := suite(t)
	for _, reg := range []string{"gbdfl", "enis"} {
		keys := filepath.Join(d.DataDir, "keys")
		// A registry answers ШЭП only: the suite is run with ШЭП's key, as an integration team would
		// with the client certificate the registry's operator accepts.
		p := harness.Start(t, nil, "conformance", reg, "--target", d.Endpoints.Services[reg].GRPC, "--ca-file", filepath.Join(keys, "root.pem"),
			"--server-name", reg, "--p12", filepath.Join(keys, "system-shep.p12"), "--p12-password", demo.Password)
		require.NoError(t, p.Wait(time.Minute), p.Stdout()+p.Stderr())
		require.Contains(t, p.Stdout(), " 0 failed")
	}
}

// key is the TLS identity of a demo key file (keys/<name>.p12).
func key(t testing.TB, d *harness.Dev, name string) *mtls.Identity {
	t.Helper()
	keys := filepath.Join(d.DataDir, "keys")
	cert, err := mtls.LoadP12(filepath.Join(keys, name+".p12"), demo.Password)
	require.NoError(t, err)
	roots, err := mtls.ReadRoots(filepath.Join(keys, "root.pem"))
	require.NoError(t, err)
	return &mtls.Identity{Cert: *cert, Roots: roots}
}

// TestRegistriesRefuseAllButShep: a person's record does not come back to whoever asks ГБД ФЛ or ЕНИС
// directly — the portal's certificate is refused, so is a call without one — while ШЭП's is answered.
func TestRegistriesRefuseAllButShep(t *testing.T) {
	d := suite(t)
	anonymous := key(t, d, "system-shep")
	anonymous.Cert = tls.Certificate{}
	tests := []struct {
		name     string
		registry string
		id       *mtls.Identity
		code     codes.Code
		msg      string
	}{
		{name: "ok/ШЭП asks ГБД ФЛ", registry: "gbdfl", id: key(t, d, "system-shep")},
		{name: "fail/the portal asks ГБД ФЛ directly", registry: "gbdfl", id: key(t, d, "system-portal"), code: codes.PermissionDenied,
			msg: "portal may not call this service: only shep may"},
		{name: "fail/ГБД ФЛ without a client certificate", registry: "gbdfl", id: anonymous, code: codes.Unauthenticated, msg: "no client certificate"},
		{name: "fail/the ЦОН desk asks ЕНИС directly", registry: "enis", id: key(t, d, "system-tson"), code: codes.PermissionDenied,
			msg: "tson may not call this service: only shep may"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := grpc.NewClient(d.Endpoints.Services[tt.registry].GRPC, mtls.Transport{}.Dial(tt.id, tt.registry))
			require.NoError(t, err)
			defer conn.Close()
			if tt.registry == "gbdfl" {
				_, err = gbdflv1.NewPersonRegistryServiceClient(conn).GetPerson(t.Context(), &gbdflv1.GetPersonRequest{Iin: demo.People[0].IIN})
			} else {
				_, err = enisv1.NewNotaryRegistryServiceClient(conn).GetPowerOfAttorney(t.Context(), &enisv1.GetPowerOfAttorneyRequest{
					Number: demo.PowerOfAttorneyValid, PrincipalIin: demo.People[0].IIN, RepresentativeIin: demo.People[1].IIN})
			}
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.msg)
		})
	}
}

// TestAdminCLI: the CLI reaches ШЭП's and НУЦ's admin listeners with the dev folder's administrator
// key by default; with a participant's key it is refused.
func TestAdminCLI(t *testing.T) {
	d := suite(t)
	eps := filepath.Join(d.DataDir, "endpoints.json")
	portal := []string{"--p12", filepath.Join(d.DataDir, "keys", "system-portal.p12"), "--p12-password", demo.Password}
	tests := []struct {
		name string
		args []string
		out  string
		err  string
	}{
		{name: "ok/shep participant list as the administrator", args: []string{"shep", "participant", "list", "--endpoints", eps}, out: "gbdfl"},
		{name: "ok/nca list as the administrator", args: []string{"nca", "list", "--endpoints", eps}, out: "SERIAL"},
		{name: "fail/shep participant list with the portal's key", args: append([]string{"shep", "participant", "list", "--endpoints", eps}, portal...),
			err: "portal presents a system certificate"},
		{name: "fail/nca list with the portal's key", args: append([]string{"nca", "list", "--endpoints", eps}, portal...),
			err: "portal presents a system certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := harness.Start(t, nil, tt.args...)
			err := p.Wait(time.Minute)
			if tt.err == "" {
				require.NoError(t, err, p.Stdout()+p.Stderr())
				require.Contains(t, p.Stdout(), tt.out)
				return
			}
			require.Error(t, err, p.Stdout())
			require.Contains(t, p.Stderr(), tt.err)
		})
	}
}

// BenchmarkLookUp puts a ГБД ФЛ look-up through ШЭП beside the same look-up straight to the registry,
// in one run: go test -run '^$' -bench . ./registries (from integration/).
func BenchmarkLookUp(b *testing.B) {
	d := suite(b)
	c := tson(b, d)
	conn, err := grpc.NewClient(d.Endpoints.Services["gbdfl"].GRPC, mtls.Transport{}.Dial(key(b, d, "system-shep"), "gbdfl"))
	require.NoError(b, err)
	defer conn.Close()
	direct := gbdflv1.NewPersonRegistryServiceClient(conn)
	run := func(b *testing.B, fn func() error) {
		var mu sync.Mutex
		var lat []time.Duration
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t0 := time.Now()
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.Run("through-shep", func(b *testing.B) {
		run(b, func() error {
			e, err := c.Request(gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: demo.People[0].IIN})
			if err != nil {
				return err
			}
			_, err = c.Call(context.Background(), e)
			return err
		})
	})
	b.Run("direct", func(b *testing.B) {
		run(b, func() error {
			r, err := direct.GetPerson(context.Background(), &gbdflv1.GetPersonRequest{Iin: demo.People[0].IIN})
			if err == nil && r.GetPerson().GetIin() != demo.People[0].IIN {
				err = fmt.Errorf("wrong person")
			}
			return err
		})
	})
}
