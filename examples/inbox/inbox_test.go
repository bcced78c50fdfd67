package inbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/examples/inbox"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
	"github.com/egov-suite/egov/shepsdk/sheptest"
)

func TestMain(m *testing.M) { sheptest.Main(m) }

// The new system, its service, and the channel that sends to it.
const (
	system  = "welfare"
	service = "WELFARE_APPLICATION"
	sender  = "portal"
)

// join opens participant id the way a system outside the repository does: its НУЦ-issued key file and
// НУЦ's root, its restricted NATS user, mutual TLS to ШЭП's sync channel.
func join(t *testing.T, g *sheptest.Gateway, id string) *shepsdk.Client {
	t.Helper()
	keyFile, password := g.Key(t, id)
	c, err := shepsdk.Open(id, shepsdk.Options{KeyFile: keyFile, KeyPassword: password, TrustAnchors: g.TrustAnchors})
	require.NoError(t, err)
	nc, js, err := shepsdk.ConnectNATS(g.NATSURL, id, g.NATSPassword(id))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	c.JS = js
	conn, err := c.DialSync(g.SyncAddr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// gateway starts ШЭП with the system and the sender registered, the service offered by the system
// and granted to the sender, as the operator's administrator does with `egov shep participant|service|grant`.
func gateway(t *testing.T) *sheptest.Gateway {
	t.Helper()
	g := sheptest.Start(t, system, sender)
	for _, id := range []string{system, sender} {
		_, err := g.Admin.PutParticipant(t.Context(), &shepv1.PutParticipantRequest{Participant: &shepv1.Participant{Id: id}})
		require.NoError(t, err)
	}
	_, err := g.Admin.PutService(t.Context(), &shepv1.PutServiceRequest{Service: &shepv1.Service{
		Id: service, Provider: system, Channel: shepv1.Channel_CHANNEL_ASYNC}})
	require.NoError(t, err)
	_, err = g.Admin.Grant(t.Context(), &shepv1.GrantRequest{Sender: sender, ServiceId: service})
	require.NoError(t, err)
	return g
}

// receipts collects the delivery notifications the sender receives.
type receipts struct {
	mu   sync.Mutex
	seen map[string]*shepv1.DeliveryNotification
	got  chan struct{}
}

func listen(t *testing.T, c *shepsdk.Client) *receipts {
	t.Helper()
	r := &receipts{seen: map[string]*shepv1.DeliveryNotification{}, got: make(chan struct{}, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.ReceiveUntilDone(ctx, nil, func(_ context.Context, d *shepsdk.Delivery) error {
			if d.Notification != nil {
				r.mu.Lock()
				r.seen[d.Notification.GetMessageId()+"/"+d.Notification.GetState().String()] = d.Notification
				r.mu.Unlock()
				r.got <- struct{}{}
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return r
}

// await waits for the notification of message in state; the test's deadline bounds the wait.
func (r *receipts) await(t *testing.T, message string, state shepv1.MessageState) *shepv1.DeliveryNotification {
	t.Helper()
	for {
		r.mu.Lock()
		n := r.seen[message+"/"+state.String()]
		r.mu.Unlock()
		if n != nil {
			return n
		}
		select {
		case <-r.got:
		case <-t.Context().Done():
			t.Fatalf("no %s notification of %s", state, message)
		}
	}
}

func application(t *testing.T, c *shepsdk.Client, payload proto.Message) *envelopev1.Envelope {
	t.Helper()
	e, err := c.Request(service, payload)
	require.NoError(t, err)
	return e
}

func TestInbox(t *testing.T) {
	t.Parallel()
	g := gateway(t)
	portal := join(t, g, sender)
	notes := listen(t, portal)
	dir := filepath.Join(t.TempDir(), "db")
	sys := &inbox.System{Client: join(t, g, system), Store: inbox.Store{Dir: dir}}

	// The system's database is not there for the first delivery; it is by the second.
	var mu sync.Mutex
	attempts := map[string][]uint64{}
	failing := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sys.Client.ReceiveUntilDone(ctx, nil, func(ctx context.Context, d *shepsdk.Delivery) error {
			mu.Lock()
			attempts[d.Envelope.GetMessageId()] = append(attempts[d.Envelope.GetMessageId()], d.Attempt)
			fail := failing[d.Envelope.GetMessageId()] && d.Attempt == 1
			mu.Unlock()
			if fail {
				return errors.New("the database is restarting")
			}
			return sys.Handle(ctx, d)
		})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	app := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: "welfare-benefit", Region: "55",
		ApplicantIin: "880512400011", SubmittedAt: timestamppb.Now(), Fields: map[string]string{"reason": "многодетная семья"}}
	tests := []struct {
		name        string
		payload     proto.Message
		failFirst   bool
		wantApp     bool
		wantRefusal string
		wantTries   int
	}{
		{name: "ok/committed, then acknowledged; the sender gets the receipt", payload: app, wantApp: true, wantTries: 1},
		{name: "ok/a failed commit is delivered again and committed then", payload: app, failFirst: true, wantApp: true, wantTries: 2},
		{name: "fail/not an application: the refusal is committed, nothing is lost", payload: &gbdflv1.GetPersonRequest{Iin: "880512400011"},
			wantRefusal: "is not egov.application.v1.Application", wantTries: 1},
		{name: "fail/an application without an applicant is refused", payload: &applicationv1.Application{ApplicationId: "x"},
			wantRefusal: "no id or no applicant", wantTries: 1},
	}
	// One after another: the cases share one ШЭП and one system (starting ШЭП is the test's cost).
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := application(t, portal, tt.payload)
			mu.Lock()
			failing[e.GetMessageId()] = tt.failFirst
			mu.Unlock()
			require.NoError(t, portal.Send(t.Context(), e))
			n := notes.await(t, e.GetMessageId(), shepv1.MessageState_MESSAGE_STATE_DELIVERED)
			require.Equal(t, system, n.GetRecipient())
			// Copied under the lock and checked outside it: a failed check must not leave the lock held.
			// Delivery is at least once: a slow acknowledgement under load may bring a message once more,
			// which the system's store takes idempotently, so the tries are at least those the case needs.
			mu.Lock()
			tries := append([]uint64(nil), attempts[e.GetMessageId()]...)
			mu.Unlock()
			require.GreaterOrEqual(t, len(tries), tt.wantTries, "deliveries %v", tries)
			got, err := sys.Store.Application(e.GetMessageId())
			if tt.wantApp {
				require.NoError(t, err)
				require.True(t, proto.Equal(tt.payload, got))
				return
			}
			require.ErrorIs(t, err, inbox.ErrNotStored)
			reason, err := os.ReadFile(sys.Store.Refused(e.GetMessageId()))
			require.NoError(t, err)
			require.Contains(t, string(reason), tt.wantRefusal)
		})
	}
}

// TestSyncChannelOverMutualTLS: the participant's key and НУЦ's root carry a sync call to ШЭП and its
// signed answer back (a service ШЭП does not know is refused with its code).
func TestSyncChannelOverMutualTLS(t *testing.T) {
	t.Parallel()
	g := gateway(t)
	portal := join(t, g, sender)
	req, err := portal.Request("NO_SUCH_SERVICE", &gbdflv1.GetPersonRequest{Iin: "880512400011"})
	require.NoError(t, err)
	_, err = portal.Call(t.Context(), req)
	var se *shepsdk.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, shepv1.CodeUnknownService, se.Code)

	// A key file of another participant does not open as this one.
	keyFile, password := g.Key(t, system)
	_, err = shepsdk.Open(sender, shepsdk.Options{KeyFile: keyFile, KeyPassword: password, TrustAnchors: g.TrustAnchors})
	require.ErrorContains(t, err, `not the system certificate of "portal"`)
}
