// Package apptest runs services in a test the way egov runs them: app.Start on a real NATS server, a
// real PostgreSQL and real sockets, stopped in order when the test ends.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/telemetry"
)

// Running is a started process.
type Running struct {
	// Endpoints by service name.
	Endpoints map[string]app.Endpoint
	// Spans records every span the process ended.
	Spans *tracetest.SpanRecorder
	// Telemetry is the process's providers.
	Telemetry *telemetry.Providers

	stopOnce sync.Once
	stop     func() error
}

// Start runs the services against the NATS server at natsURL and the database at dbURL, and waits
// until every one is ready. Start-up errors are returned (for tests of them); the process stops when t
// ends, or at Stop.
func Start(t testing.TB, natsURL, dbURL string, services ...app.Descriptor) (*Running, error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "egov-test", SampleRatio: 1, SpanProcessor: spans})
	if err != nil {
		return nil, err
	}
	var p config.Platform
	if err := config.Load(&p, map[string]string{"EGOV_NATS_URL": natsURL, "DATABASE_URL": dbURL}); err != nil {
		return nil, err
	}
	listeners := map[string]app.Listeners{}
	eps := map[string]app.Endpoint{}
	r := serve.NewRunner(log, 10*time.Second)
	for _, d := range services {
		h, err := serve.Listen("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		g, err := serve.Listen("127.0.0.1:0")
		if err != nil {
			h.Close()
			return nil, err
		}
		listeners[d.Name] = app.Listeners{HTTP: h, GRPC: g}
		eps[d.Name] = app.Endpoint{HTTP: "http://" + h.Addr().String(), GRPC: g.Addr().String()}
	}
	ready := make(chan struct{})
	if _, err := app.Start(t.Context(), r, app.Options{Platform: p, Log: log, Telemetry: tel, Services: services,
		Listeners: listeners, Topology: natsbus.DefaultTopology(1), ApplyTopology: true, OnReady: func() { close(ready) }}); err != nil {
		_ = r.Stop()
		for _, l := range listeners {
			l.HTTP.Close()
			l.GRPC.Close()
		}
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	rn := &Running{Endpoints: eps, Spans: spans, Telemetry: tel, stop: func() error { cancel(); return <-done }}
	t.Cleanup(func() {
		if err := rn.Stop(); err != nil {
			t.Errorf("apptest: stop: %v", err)
		}
	})
	select {
	case <-ready:
		return rn, nil
	case <-time.After(30 * time.Second):
		return nil, context.DeadlineExceeded
	}
}

// MustStart is Start that fails the test on an error.
func MustStart(t testing.TB, natsURL, dbURL string, services ...app.Descriptor) *Running {
	t.Helper()
	rn, err := Start(t, natsURL, dbURL, services...)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return rn
}

// Stop stops the process in order and returns the stop error, once.
func (r *Running) Stop() error {
	var err error
	r.stopOnce.Do(func() { err = r.stop() })
	return err
}

// Dial returns a gRPC client connection to a service, closed when t ends.
func (r *Running) Dial(t testing.TB, service string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(r.Endpoints[service].GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
