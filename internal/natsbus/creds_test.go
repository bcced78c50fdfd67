package natsbus_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/natsbus"
)

// TestConnectsWithCredentialsFile: a service given a NATS credentials file (a user JWT and its NKey seed,
// as a decentralised NATS deployment issues them) connects with it, and its JWT carries the service's
// permissions from natsbus.Access, which the server enforces.
func TestConnectsWithCredentialsFile(t *testing.T) {
	t.Parallel()
	operatorKey, err := nkeys.CreateOperator()
	require.NoError(t, err)
	operatorPub, err := operatorKey.PublicKey()
	require.NoError(t, err)
	operator := jwt.NewOperatorClaims(operatorPub)
	_, err = operator.Encode(operatorKey)
	require.NoError(t, err)

	accountKey, err := nkeys.CreateAccount()
	require.NoError(t, err)
	accountPub, err := accountKey.PublicKey()
	require.NoError(t, err)
	account := jwt.NewAccountClaims(accountPub)
	account.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accountJWT, err := account.Encode(operatorKey)
	require.NoError(t, err)

	// JetStream in operator mode runs its API through the system account.
	systemKey, err := nkeys.CreateAccount()
	require.NoError(t, err)
	systemPub, err := systemKey.PublicKey()
	require.NoError(t, err)
	systemJWT, err := jwt.NewAccountClaims(systemPub).Encode(operatorKey)
	require.NoError(t, err)

	resolver := &server.MemAccResolver{}
	require.NoError(t, resolver.Store(accountPub, accountJWT))
	require.NoError(t, resolver.Store(systemPub, systemJWT))
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, TrustedOperators: []*jwt.OperatorClaims{operator}, AccountResolver: resolver, SystemAccount: systemPub})
	require.NoError(t, err)
	go ns.Start()
	t.Cleanup(func() { natsbus.StopEmbedded(ns) })
	require.True(t, ns.ReadyForConnections(10*time.Second))

	// The administrator's credentials create the topology; the portal's carry only its permissions.
	creds := func(name string, perms *server.Permissions) string {
		userKey, err := nkeys.CreateUser()
		require.NoError(t, err)
		userPub, err := userKey.PublicKey()
		require.NoError(t, err)
		user := jwt.NewUserClaims(userPub)
		user.Name = name
		if perms != nil {
			user.Pub.Allow.Add(perms.Publish.Allow...)
			user.Sub.Allow.Add(perms.Subscribe.Allow...)
		}
		userJWT, err := user.Encode(accountKey)
		require.NoError(t, err)
		seed, err := userKey.Seed()
		require.NoError(t, err)
		file, err := jwt.FormatUserConfig(userJWT, seed)
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), name+".creds")
		require.NoError(t, os.WriteFile(path, file, 0o600))
		return path
	}
	admin, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), CredsFile: creds("egov", nil)}, discardLog())
	require.NoError(t, err)
	t.Cleanup(admin.Conn.Close)
	require.NoError(t, natsbus.DefaultTopology(1).Apply(t.Context(), admin.JS))

	access := natsbus.ChannelAccess("portal")
	portal, err := natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), CredsFile: creds("portal", access.Permissions()),
		InboxPrefix: natsbus.InboxPrefix("portal")}, discardLog())
	require.NoError(t, err)
	t.Cleanup(portal.Conn.Close)
	require.NoError(t, access.Needs(natsbus.DefaultTopology(1)).Check(t.Context(), portal.JS), "ok/its own streams")
	_, err = portal.JS.Publish(t.Context(), natsbus.InSubject("portal"), []byte("x"))
	require.NoError(t, err, "ok/its own shep.in subject")
	_, err = admin.JS.Publish(t.Context(), natsbus.InSubject("rshep-55"), []byte("x"))
	require.NoError(t, err, "the subject takes messages from a user allowed to publish there")
	_, err = portal.JS.Publish(t.Context(), natsbus.InSubject("rshep-55"), []byte("x"))
	require.Error(t, err, "fail/another participant's subject, refused by the JWT's permissions")

	_, err = natsbus.Connect(t.Context(), natsbus.ConnOptions{URL: ns.ClientURL(), CredsFile: filepath.Join(t.TempDir(), "none.creds")}, discardLog())
	require.ErrorContains(t, err, "none.creds", "fail/a missing credentials file is named")
}
