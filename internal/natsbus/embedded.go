package natsbus

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure an in-process NATS server with JetStream.
type EmbeddedOptions struct {
	// Host to listen on; 127.0.0.1 when empty.
	Host string
	// Port to listen on; -1 picks a free one.
	Port int
	// StoreDir holds JetStream's files; data survives a restart on the same folder.
	StoreDir string
	// Accounts and users, when the server enforces permissions (nil: no authentication).
	Users []*server.User
}

// RunEmbedded starts a NATS server with JetStream in this process and waits until it accepts clients.
func RunEmbedded(o EmbeddedOptions) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("natsbus: embedded server needs a store folder")
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		port = -1
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "egov-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		Users:      o.Users,
		NoLog:      true,
		NoSigs:     true,
		// A cap keeps a runaway test from filling the disk; far above what the suite stores in dev mode.
		JetStreamMaxStore:  8 << 30,
		JetStreamMaxMemory: 512 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: embedded server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("natsbus: embedded server on %s:%d not ready within 15s", host, o.Port)
	}
	return ns, nil
}

// StopEmbedded shuts the server down and waits until it has.
func StopEmbedded(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}
