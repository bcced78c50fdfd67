// Package sheptest runs a real ШЭП for the tests of a participant written outside the repository: an
// embedded NATS server with JetStream that enforces each participant's restricted user, a throw-away
// PostgreSQL, a test НУЦ that issues system keys, and ШЭП itself serving its sync channel over mutual
// TLS. It is the smallest public seam over the suite's own test helpers (which are internal): nothing
// in it stands in for a component, so a participant tested here meets ШЭП as it runs.
//
// A machine without the PostgreSQL server binaries fails the tests with a message naming the package
// to install; it never skips them.
package sheptest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/egov-suite/egov/internal/apptest"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/services/shep"
)

// Main runs a test package's tests with the throw-away PostgreSQL cluster ШЭП stores in. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { sheptest.Main(m) }
func Main(m *testing.M) { pgtest.Main(m) }

// The operator's administrator and the operator's BIN: the one who may call ШЭП's admin API.
const (
	adminIIN    = "810109300001"
	operatorBIN = "990840000012"
)

// Gateway is a running ШЭП.
type Gateway struct {
	// SyncAddr is ШЭП's participant listener (host:port): the sync channel, mutual TLS, server name
	// shepv1.ServerName.
	SyncAddr string
	// NATSURL is the NATS server's client URL.
	NATSURL string
	// TrustAnchors is a PEM file of НУЦ's root certificate.
	TrustAnchors string
	// Admin is ШЭП's admin API as the operator's administrator (`egov shep participant|service|grant`
	// call the same API).
	Admin shepv1.ShepAdminServiceClient

	ca        *ncatest.Authority
	dir       string
	passwords map[string]string
}

// Start runs ШЭП until t ends. Each of participants gets a NATS user restricted to its own subjects and
// consumer, as ШЭП's operator makes one for a participant (NATSPassword); registering the participants
// and their services is the test's, through Admin.
func Start(t testing.TB, participants ...string) *Gateway {
	t.Helper()
	ca := ncatest.New(t)
	dir := t.TempDir()
	g := &Gateway{ca: ca, dir: dir, passwords: map[string]string{}, TrustAnchors: filepath.Join(dir, "root.pem")}
	if err := os.WriteFile(g.TrustAnchors, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}), 0o600); err != nil {
		t.Fatalf("sheptest: %v", err)
	}
	adminPW := secret(t)
	users := []*server.User{{Username: "egov", Password: adminPW}}
	for _, id := range participants {
		g.passwords[id] = secret(t)
		users = append(users, natsbus.ParticipantAccess(id).NATSUser(g.passwords[id]))
	}
	ns := natstest.NewWithUsers(t, users)
	g.NATSURL = ns.ClientURL()

	keyFile, keyPW := g.Key(t, shepv1.ServerName)
	cfg := shep.Config{KeyFile: keyFile, KeyPassword: config.Secret(keyPW), TrustAnchors: g.TrustAnchors, OCSPFreshness: 5 * time.Minute,
		Redelivery: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}, AckWait: 5 * time.Second,
		CheckpointInterval: 24 * time.Hour}
	rn, err := apptest.StartWith(t, apptest.Options{NATSURL: g.NATSURL, DBURL: pgtest.URL(t), Env: map[string]string{
		"EGOV_NATS_USER": "egov", "EGOV_NATS_PASSWORD": adminPW, "EGOV_ADMIN_IINS": adminIIN, "EGOV_ADMIN_BIN": operatorBIN,
	}}, shep.Descriptor(cfg))
	if err != nil {
		t.Fatalf("sheptest: start ШЭП: %v", err)
	}
	g.SyncAddr = rn.Endpoints["shep"].GRPC
	conn := rn.DialAdmin(t, "shep", ca.TLS(ca.Employee(t, adminIIN, operatorBIN)))
	g.Admin = shepv1.NewShepAdminServiceClient(conn)
	return g
}

// Key issues a fresh system key of participant id (as `egov nca issue --profile system` does), writes
// it to a PKCS#12 file and returns the file and its password.
func (g *Gateway) Key(t testing.TB, id string) (file, password string) {
	t.Helper()
	key := g.ca.System(t, id)
	password = secret(t)
	p12, err := pki.PKCS12(key.Key, key.Cert, key.Chain, password)
	if err != nil {
		t.Fatalf("sheptest: %v", err)
	}
	file = filepath.Join(g.dir, "system-"+id+"-"+key.Cert.SerialNumber.Text(16)+".p12")
	if err := os.WriteFile(file, p12, 0o600); err != nil {
		t.Fatalf("sheptest: %v", err)
	}
	return file, password
}

// NATSPassword is the password of participant id's NATS user (its user name is id).
func (g *Gateway) NATSPassword(id string) string { return g.passwords[id] }

func secret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("sheptest: %v", err)
	}
	return hex.EncodeToString(b)
}
