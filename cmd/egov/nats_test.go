package main

import (
	"bytes"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/natstest"
)

// TestNATSProvision runs the command an operator runs once, against a real NATS server that enforces
// users: the administrator creates the topology, a second run changes nothing, and what is missing or
// wrong is said plainly.
func TestNATSProvision(t *testing.T) {
	t.Parallel()
	ns := natstest.NewWithUsers(t, []*server.User{{Username: "egov", Password: "admin-pw"}})
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		root := rootCommand(&out, &errOut)
		root.SetArgs(args)
		err := root.ExecuteContext(t.Context())
		return out.String(), err
	}
	admin := []string{"nats", "provision", "--server", ns.ClientURL(), "--user", "egov", "--password", "admin-pw"}

	out, err := run(append(admin, "--replicas", "1")...)
	require.NoError(t, err, "ok/first provisioning")
	require.Regexp(t, `stream\s+SHEP_IN\s+1\s+created`, out)
	require.Regexp(t, `bucket\s+attachments\s+1\s+created`, out)

	out, err = run(append(admin, "--replicas", "1")...)
	require.NoError(t, err, "ok/second provisioning")
	require.Regexp(t, `stream\s+SHEP_LOG_CHECKPOINTS\s+1\s+unchanged`, out)
	require.NotContains(t, out, "created")

	_, err = run(admin...)
	require.ErrorContains(t, err, "--replicas must be given", "fail/no replicas: no default to fall back on")

	_, err = run(append(admin, "--replicas", "3")...)
	require.ErrorContains(t, err, "replicas", "fail/three replicas on one server")

	_, err = run("nats", "provision", "--server", ns.ClientURL(), "--user", "egov", "--password", "wrong", "--replicas", "1")
	require.ErrorContains(t, err, "as egov", "fail/wrong password")

	_, err = run("run", "--services", "shep", "--stream-replicas", "3")
	require.ErrorContains(t, err, "egov nats provision --replicas N", "fail/the old flag says where the replicas went")
}
