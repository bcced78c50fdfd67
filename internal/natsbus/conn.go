package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConnOptions says how to reach NATS.
type ConnOptions struct {
	URL string
	// User and Password, or CredsFile (a NATS credentials file: JWT and NKey seed), authenticate the
	// connection; none for a server without authentication.
	User      string
	Password  string
	CredsFile string
	// CAFile verifies the server's TLS certificate; CertFile and KeyFile are this client's, when the
	// server asks for one. TLS is used when any is set (or the URL says tls://).
	CAFile, CertFile, KeyFile string
	// InboxPrefix is where replies come back: a restricted user may subscribe only to its own
	// (InboxPrefix(Access.User)); "" for the default.
	InboxPrefix string
	// Name shows in the server's connection list, e.g. "egov-shep".
	Name string
}

// Bus is a NATS connection and its JetStream context.
type Bus struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
}

// Connect dials NATS, reconnecting forever after a loss (JetStream keeps what is published while a
// client is away), and returns the bus.
func Connect(ctx context.Context, o ConnOptions, log *slog.Logger) (*Bus, error) {
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("nats async error", "subject", subj, "err", err)
		}),
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, errors.New("natsbus: a client certificate needs both its certificate and its key file")
		}
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	if o.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		who := ""
		if o.User != "" {
			who = " as " + o.User
		}
		return nil, fmt.Errorf("natsbus: connect %s%s: %w", o.URL, who, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: jetstream: %w", err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: JetStream is not enabled for this account on %s: %w", o.URL, err)
	}
	return &Bus{Conn: nc, JS: js}, nil
}

// Check reports whether the connection is up: a readiness check.
func (b *Bus) Check(context.Context) error {
	if s := b.Conn.Status(); s != nats.CONNECTED {
		return fmt.Errorf("nats %s", s)
	}
	return nil
}

// Drain stops taking messages, lets handlers in flight finish, flushes and closes the connection.
func (b *Bus) Drain(ctx context.Context) error {
	if b.Conn.IsClosed() {
		return nil
	}
	closed := make(chan struct{})
	b.Conn.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := b.Conn.Drain(); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil
		}
		return fmt.Errorf("natsbus: drain: %w", err)
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		b.Conn.Close()
		return fmt.Errorf("natsbus: drain cut short: %w", ctx.Err())
	}
}

// ConnectParticipant dials NATS as a participant's user, with its inbox prefix; the connection can
// publish to ШЭП and pull its own deliveries, nothing else.
func ConnectParticipant(ctx context.Context, url, participant, password string) (*Bus, error) {
	nc, err := nats.Connect(url, nats.Name("egov-"+participant), nats.UserInfo(participant, password),
		nats.CustomInboxPrefix(InboxPrefix(participant)), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect %s as %s: %w", url, participant, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: jetstream: %w", err)
	}
	return &Bus{Conn: nc, JS: js}, nil
}
