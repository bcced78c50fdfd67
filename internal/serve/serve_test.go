package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/egov-suite/egov/internal/serve"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestShutdownOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	rec := func(name string) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			return nil
		}
	}
	r := serve.NewRunner(discard, 5*time.Second)
	// Added out of order on purpose: the phases decide.
	r.OnStop(serve.PhaseTelemetry, "flush", rec("flush"))
	r.OnStop(serve.PhaseStores, "pool", rec("pool"))
	r.OnStop(serve.PhaseHTTP, "http", rec("http"))
	r.OnStop(serve.PhaseGRPC, "grpc", rec("grpc"))
	r.OnStop(serve.PhaseConsumers, "drain", rec("drain"))
	r.OnStop(serve.PhaseNotReady, "not-ready", rec("not-ready"))
	r.OnStop(serve.PhaseStores, "nats", rec("nats"))
	stopped := make(chan struct{})
	r.OnStop(serve.PhaseGRPC, "release", func(context.Context) error { close(stopped); return nil })
	r.Go("worker", func(ctx context.Context) error {
		<-stopped
		return nil
	})

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"not-ready", "drain", "grpc", "http", "pool", "nats", "flush"}, order)
}

func TestTaskFailureStopsEverything(t *testing.T) {
	t.Parallel()
	r := serve.NewRunner(discard, 5*time.Second)
	stopped := make(chan struct{})
	r.OnStop(serve.PhaseHTTP, "server", func(context.Context) error { close(stopped); return nil })
	r.Go("server", func(context.Context) error { <-stopped; return nil })
	r.Go("broken", func(context.Context) error { return errors.New("boom") })
	err := r.Run(t.Context())
	require.ErrorContains(t, err, "broken: boom")
}

func TestStopStepErrorsAreReported(t *testing.T) {
	t.Parallel()
	r := serve.NewRunner(discard, 5*time.Second)
	ran := false
	r.OnStop(serve.PhaseGRPC, "bad", func(context.Context) error { return errors.New("stuck") })
	r.OnStop(serve.PhaseHTTP, "after", func(context.Context) error { ran = true; return nil })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := r.Run(ctx)
	require.ErrorContains(t, err, "stop bad: stuck")
	require.True(t, ran, "a failing step must not skip the later ones")
}

func TestHealthEndpointsAndGRPC(t *testing.T) {
	t.Parallel()
	h := serve.NewHealth()
	var dbUp sync.Mutex
	dbErr := errors.New("connection refused")
	h.Add(serve.Check{Name: "postgres", Fn: func(context.Context) error {
		dbUp.Lock()
		defer dbUp.Unlock()
		return dbErr
	}})

	r := serve.NewRunner(discard, 5*time.Second)
	mux := http.NewServeMux()
	h.Register(mux)
	hlis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	serve.HTTP(r, "http", hlis, mux)
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, h.GRPCServer())
	glis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	serve.GRPC(r, "grpc", glis, gs)
	r.Go("health", func(ctx context.Context) error { return h.Watch(ctx, 10*time.Millisecond, "egov.test") })
	r.OnStop(serve.PhaseNotReady, "not-ready", func(context.Context) error { h.SetStopping(); return nil })

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()

	base := "http://" + hlis.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/livez")
	require.Equal(t, 200, code)
	code, body := get("/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, body, "connection refused")

	conn, err := grpc.NewClient(glis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	status := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "egov.test"})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return resp.GetStatus()
	}
	require.Eventually(t, func() bool { return status() == healthpb.HealthCheckResponse_NOT_SERVING }, 5*time.Second, 10*time.Millisecond)

	dbUp.Lock()
	dbErr = nil
	dbUp.Unlock()
	code, body = get("/readyz")
	require.Equal(t, 200, code)
	var rep struct {
		Ready  bool
		Checks []serve.Result
	}
	require.NoError(t, json.Unmarshal([]byte(body), &rep))
	require.True(t, rep.Ready)
	require.Equal(t, []serve.Result{{Name: "postgres", OK: true}}, rep.Checks)
	require.Eventually(t, func() bool { return status() == healthpb.HealthCheckResponse_SERVING }, 5*time.Second, 10*time.Millisecond)

	cancel()
	require.NoError(t, <-done)
}

// TestStoppingEndsLongAnswers: a long answer (a stream of events) that waits on Stopping ends when the
// server begins to shut down, so the graceful shutdown does not wait for it; outside a server Stopping
// is never closed.
func TestStoppingEndsLongAnswers(t *testing.T) {
	t.Parallel()
	require.Nil(t, serve.Stopping(t.Context()))
	lis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	entered := make(chan struct{})
	r := serve.NewRunner(discard, 30*time.Second)
	serve.HTTP(r, "http", lis, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		close(entered)
		select {
		case <-serve.Stopping(req.Context()):
		case <-req.Context().Done():
		}
	}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	resp, err := http.Get("http://" + lis.Addr().String() + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	<-entered
	cancel()
	require.NoError(t, <-done, "the shutdown ended the stream and finished")
}

// TestGRPCHealthNotServingUntilReady: the gRPC health service answers NOT_SERVING, for the server and
// for each named service, from the moment it serves until every readiness check has passed (grpc-go's
// health server starts SERVING).
func TestGRPCHealthNotServingUntilReady(t *testing.T) {
	t.Parallel()
	h := serve.NewHealth()
	release := make(chan struct{})
	h.Add(serve.Check{Name: "migrations", Fn: func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		default:
			return errors.New("still migrating")
		}
	}})
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, h.GRPCServer())
	glis, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(glis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(glis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	hc := healthpb.NewHealthClient(conn)
	status := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err, "service %q is known", service)
		return resp.GetStatus()
	}

	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, status(""), "fail/before any check has run")
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	watching := make(chan error, 1)
	go func() { watching <- h.Watch(ctx, 10*time.Millisecond, "egov.test") }()
	require.Eventually(t, func() bool {
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "egov.test"})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
	}, 5*time.Second, 5*time.Millisecond, "fail/a check failing")
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, status(""))

	close(release)
	require.Eventually(t, func() bool {
		return status("") == healthpb.HealthCheckResponse_SERVING && status("egov.test") == healthpb.HealthCheckResponse_SERVING
	}, 5*time.Second, 5*time.Millisecond, "ok/every check passed")
	cancel()
	require.NoError(t, <-watching)
}
