// Command inbox runs the example information system: it joins ШЭП as participant INBOX_ID and keeps
// the applications routed to it under INBOX_DIR.
//
//	INBOX_ID=welfare INBOX_KEY_FILE=system-welfare.p12 INBOX_KEY_PASSWORD=… INBOX_TRUST_ANCHORS=root.pem \
//	INBOX_NATS_URL=nats://nats.example.kz:4222 INBOX_NATS_PASSWORD=… INBOX_DIR=/var/lib/inbox inbox
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/egov-suite/egov/examples/inbox"
	"github.com/egov-suite/egov/shepsdk"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "inbox:", err)
		os.Exit(1)
	}
}

func run() error {
	env := func(k string) (string, error) {
		if v := os.Getenv(k); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("%s is required", k)
	}
	var id, keyFile, password, anchors, natsURL, natsPassword, dir string
	for _, v := range []struct {
		key string
		to  *string
	}{{"INBOX_ID", &id}, {"INBOX_KEY_FILE", &keyFile}, {"INBOX_KEY_PASSWORD", &password}, {"INBOX_TRUST_ANCHORS", &anchors},
		{"INBOX_NATS_URL", &natsURL}, {"INBOX_NATS_PASSWORD", &natsPassword}, {"INBOX_DIR", &dir}} {
		var err error
		if *v.to, err = env(v.key); err != nil {
			return err
		}
	}
	c, err := shepsdk.Open(id, shepsdk.Options{KeyFile: keyFile, KeyPassword: password, TrustAnchors: anchors})
	if err != nil {
		return err
	}
	nc, js, err := shepsdk.ConnectNATS(natsURL, id, natsPassword)
	if err != nil {
		return err
	}
	defer nc.Close()
	c.JS = js
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	sys := &inbox.System{Client: c, Store: inbox.Store{Dir: dir}, Log: log}
	log.Info("receiving", "participant", id)
	return sys.Run(ctx)
}
