// Package natstest runs a real NATS server with JetStream inside a test: a random port, a temporary
// store, shut down when the test ends.
package natstest

import (
	"io"
	"log/slog"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/egov-suite/egov/internal/natsbus"
)

// New starts an embedded JetStream server for t.
func New(t testing.TB) *server.Server {
	t.Helper()
	return NewWithUsers(t, nil)
}

// NewWithUsers starts an embedded JetStream server that enforces the given users' permissions.
func NewWithUsers(t testing.TB, users []*server.User) *server.Server {
	t.Helper()
	ns, err := natsbus.RunEmbedded(natsbus.EmbeddedOptions{Port: -1, StoreDir: t.TempDir(), Users: users})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(func() { natsbus.StopEmbedded(ns) })
	return ns
}

// Connect returns a bus connected to ns, with the suite's topology applied, closed when t ends.
func Connect(t testing.TB, ns *server.Server) *natsbus.Bus {
	t.Helper()
	bus, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), Name: t.Name()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(bus.Conn.Close)
	if err := natsbus.DefaultTopology(1).Apply(t.Context(), bus.JS); err != nil {
		t.Fatalf("natstest: %v", err)
	}
	return bus
}
