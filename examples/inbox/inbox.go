// Package inbox is an example of a new information system joining ШЭП as an asynchronous participant:
// it receives the applications ШЭП routes to its service, commits each to its own store, and only then
// lets the SDK acknowledge the delivery and send the delivery receipt to the sender. It uses public
// packages of the suite only (shepsdk and the generated contracts), as a team outside the repository
// would.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// PayloadType is the payload the system takes: an application of the application contract.
var PayloadType = string((&applicationv1.Application{}).ProtoReflect().Descriptor().FullName())

// Store is the system's own database; here a folder with one file per message, each written whole
// (a temporary file, synced, then renamed), so a crash leaves either the message or nothing.
type Store struct {
	// Dir holds accepted/<message id> and refused/<message id>.
	Dir string
}

// Accepted is the file of an accepted message.
func (s Store) Accepted(messageID string) string { return filepath.Join(s.Dir, "accepted", messageID) }

// Refused is the file of a refused message: its reason.
func (s Store) Refused(messageID string) string { return filepath.Join(s.Dir, "refused", messageID) }

// commit writes b to path once: a second delivery of the same message finds it there and changes
// nothing (the handler must be idempotent: ШЭП delivers at least once).
func commit(path string, b []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".incoming-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // gone after the rename; removes what a failed write left
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// System is the information system.
type System struct {
	// Client is its connection to ШЭП (shepsdk.Open, Client.JS from shepsdk.ConnectNATS).
	Client *shepsdk.Client
	// Store is its database.
	Store Store
	// Log is where it reports; slog.Default when nil.
	Log *slog.Logger
}

func (s *System) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Run takes deliveries until ctx ends, waiting while ШЭП has not registered the participant yet.
func (s *System) Run(ctx context.Context) error {
	return s.Client.ReceiveUntilDone(ctx, s.log(), s.Handle)
}

// Handle processes one delivery and returns nil only once it is committed: the SDK then sends the
// delivery receipt and acknowledges. An error leaves the message to ШЭП, which delivers it again after
// its back-off (and, after the last attempt, moves it to the dead letters an operator sees).
func (s *System) Handle(ctx context.Context, d *shepsdk.Delivery) error {
	if n := d.Notification; n != nil {
		// A receipt about a message this system sent; this one sends none, so it only reports it.
		s.log().InfoContext(ctx, "delivery notification", "message", n.GetMessageId(), "state", n.GetState().String())
		return nil
	}
	e := d.Envelope
	if e.GetPayloadType() != PayloadType {
		// Not an application: delivering it again would not change that, so the refusal is committed
		// (nothing is lost) and the delivery acknowledged.
		return s.refuse(e.GetMessageId(), fmt.Sprintf("payload %q is not %s", e.GetPayloadType(), PayloadType))
	}
	var a applicationv1.Application
	if err := proto.Unmarshal(e.GetPayload(), &a); err != nil {
		return s.refuse(e.GetMessageId(), "the application cannot be read: "+err.Error())
	}
	if a.GetApplicationId() == "" || a.GetApplicantIin() == "" {
		return s.refuse(e.GetMessageId(), "the application has no id or no applicant")
	}
	// The signed envelope is what is kept: the sender's signature stays verifiable later.
	b, err := proto.Marshal(d.Signed)
	if err != nil {
		return err
	}
	if err := commit(s.Store.Accepted(e.GetMessageId()), b); err != nil {
		return fmt.Errorf("inbox: commit %s: %w", e.GetMessageId(), err)
	}
	s.log().InfoContext(ctx, "application accepted", "message", e.GetMessageId(), "application", a.GetApplicationId(), "attempt", d.Attempt)
	return nil
}

func (s *System) refuse(messageID, reason string) error {
	if err := commit(s.Store.Refused(messageID), []byte(reason)); err != nil {
		return fmt.Errorf("inbox: commit the refusal of %s: %w", messageID, err)
	}
	s.log().Warn("message refused", "message", messageID, "reason", reason)
	return nil
}

// ErrNotStored is the answer of Application for a message the system does not hold.
var ErrNotStored = errors.New("inbox: no such message")

// Application returns the accepted application of a message, read back from the signed envelope kept.
func (s Store) Application(messageID string) (*applicationv1.Application, error) {
	b, err := os.ReadFile(s.Accepted(messageID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotStored
	}
	if err != nil {
		return nil, err
	}
	var signed envelopev1.SignedEnvelope
	if err := proto.Unmarshal(b, &signed); err != nil {
		return nil, err
	}
	var e envelopev1.Envelope
	if err := proto.Unmarshal(signed.GetEnvelope(), &e); err != nil {
		return nil, err
	}
	var a applicationv1.Application
	if err := proto.Unmarshal(e.GetPayload(), &a); err != nil {
		return nil, err
	}
	return &a, nil
}
