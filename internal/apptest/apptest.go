// Package apptest runs services in a test the way egov runs them: app.Start on a real NATS server, a
// real PostgreSQL and real sockets, stopped in order when the test ends.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/mtls"
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

// Options are what StartWith takes beside the services.
type Options struct {
	NATSURL, DBURL string
	// Env are platform variables, e.g. EGOV_ADMIN_IINS or EGOV_INTERNAL_TLS.
	Env map[string]string
	// SeedDir, when set, has the services seed their demo data there (НУЦ its demo keys), as egov dev.
	SeedDir string
}

// Start runs the services against the NATS server at natsURL and the database at dbURL, and waits
// until every one is ready. Start-up errors are returned (for tests of them); the process stops when t
// ends, or at Stop.
func Start(t testing.TB, natsURL, dbURL string, services ...app.Descriptor) (*Running, error) {
	t.Helper()
	return StartWith(t, Options{NATSURL: natsURL, DBURL: dbURL}, services...)
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options, services ...app.Descriptor) (*Running, error) {
	t.Helper()
	natsURL, dbURL := o.NATSURL, o.DBURL
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "egov-test", SampleRatio: 1, SpanProcessor: spans})
	if err != nil {
		return nil, err
	}
	var p config.Platform
	vars := map[string]string{"EGOV_NATS_URL": natsURL, "DATABASE_URL": dbURL}
	maps.Copy(vars, o.Env)
	if err := config.Load(&p, vars); err != nil {
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
		l := app.Listeners{HTTP: h, GRPC: g}
		e := app.Endpoint{HTTP: "http://" + h.Addr().String(), GRPC: g.Addr().String()}
		if d.Ports.Admin != 0 {
			if l.Admin, err = serve.Listen("127.0.0.1:0"); err != nil {
				h.Close()
				g.Close()
				return nil, err
			}
			e.Admin = l.Admin.Addr().String()
		}
		listeners[d.Name], eps[d.Name] = l, e
	}
	ready := make(chan struct{})
	if _, err := app.Start(t.Context(), r, app.Options{Platform: p, Log: log, Telemetry: tel, Services: services,
		Listeners: listeners, Topology: natsbus.DefaultTopology(1), ApplyTopology: true, OnReady: func() { close(ready) }, SeedDir: o.SeedDir}); err != nil {
		_ = r.Stop()
		for _, l := range listeners {
			l.HTTP.Close()
			l.GRPC.Close()
			if l.Admin != nil {
				l.Admin.Close()
			}
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

// Dial returns a gRPC client connection to a service's participant listener, over mutual TLS as id (an
// Identity without a certificate dials without a client certificate), closed when t ends.
func (r *Running) Dial(t testing.TB, service string, id *mtls.Identity) *grpc.ClientConn {
	t.Helper()
	return dial(t, r.Endpoints[service].GRPC, service, id)
}

// DialAdmin is Dial to the service's admin listener.
func (r *Running) DialAdmin(t testing.TB, service string, id *mtls.Identity) *grpc.ClientConn {
	t.Helper()
	return dial(t, r.Endpoints[service].Admin, service, id)
}

func dial(t testing.TB, target, service string, id *mtls.Identity) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(target, mtls.Transport{}.Dial(id, service))
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
