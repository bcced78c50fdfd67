package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The manifests of deploy/k8s hold two things written from code, and one sum; these tests keep them true.
const k8sBase = "../../deploy/k8s/base"

// TestNATSAuthConfigIsDeployed: the NATS users of the manifests are exactly what `egov nats auth-config`
// prints from natsbus.Access, and the server configuration they are part of loads, with those
// permissions, as nats-server reads it.
func TestNATSAuthConfigIsDeployed(t *testing.T) {
	var out bytes.Buffer
	root := rootCommand(&out, &out)
	root.SetArgs([]string{"nats", "auth-config"})
	require.NoError(t, root.ExecuteContext(t.Context()))
	deployed, err := os.ReadFile(filepath.Join(k8sBase, "nats", "auth.conf"))
	require.NoError(t, err)
	require.Equal(t, out.String(), string(deployed),
		"deploy/k8s/base/nats/auth.conf is stale: egov nats auth-config > deploy/k8s/base/nats/auth.conf")

	// The passwords and the server name come from the pod's environment.
	for _, v := range []string{"ADMIN", "SHEP", "RSHEP", "PORTAL", "TSON", "EASTANA"} {
		t.Setenv("EGOV_NATS_PASSWORD_"+v, "pw-"+strings.ToLower(v))
	}
	t.Setenv("SERVER_NAME", "nats-0")
	opts, err := server.ProcessConfigFile(filepath.Join(k8sBase, "nats", "nats.conf"))
	require.NoError(t, err)
	require.True(t, opts.JetStream)
	require.Len(t, opts.Routes, 3, "a three-node cluster")
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	require.Nil(t, users["egov"].Permissions, "the administrator provisions")
	require.Equal(t, "pw-shep", users["shep"].Password)
	all, err := services()
	require.NoError(t, err)
	for _, d := range all {
		if d.NATS == nil {
			require.NotContains(t, users, d.Name, "%s does not use NATS and has no user", d.Name)
			continue
		}
		a, err := d.NATS()
		require.NoError(t, err)
		require.Contains(t, users, a.User)
		require.Equal(t, a.Permissions().Publish.Allow, users[a.User].Permissions.Publish.Allow, a.User)
		require.Equal(t, a.Permissions().Subscribe.Allow, users[a.User].Permissions.Subscribe.Allow, a.User)
	}
}

// TestConnectionBudget: each service's role allows its pool on every replica its autoscaler may run plus
// a surge pod; the roles fit what the poolers may open; that fits PostgreSQL's max_connections with room
// for the superuser, replication and the operator.
func TestConnectionBudget(t *testing.T) {
	t.Parallel()
	docs := func(path string) []map[string]any {
		b, err := os.ReadFile(filepath.Join(k8sBase, path))
		require.NoError(t, err)
		var out []map[string]any
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var d map[string]any
			if dec.Decode(&d) != nil {
				break
			}
			out = append(out, d)
		}
		return out
	}
	get := func(m any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m = m.(map[string]any)[k]
			case int:
				m = m.([]any)[k]
			}
		}
		return m
	}
	atoi := func(v any) int {
		n, err := strconv.Atoi(v.(string))
		require.NoError(t, err)
		return n
	}
	limits := map[string]int{}
	var cluster, pooler map[string]any
	for _, d := range append(docs("postgres/cluster.yaml"), docs("postgres/pooler.yaml")...) {
		switch d["kind"] {
		case "Cluster":
			cluster = d
			for _, r := range get(d, "spec", "managed", "roles").([]any) {
				limits[get(r, "name").(string)] = get(r, "connectionLimit").(int)
			}
		case "Pooler":
			pooler = d
		}
	}
	all, err := services()
	require.NoError(t, err)
	total := 0
	for _, svc := range all {
		var conns, maxReplicas, surge int
		for _, d := range docs("services/" + svc.Name + ".yaml") {
			switch d["kind"] {
			case "Deployment":
				maxReplicas = max(maxReplicas, get(d, "spec", "replicas").(int))
				surge = get(d, "spec", "strategy", "rollingUpdate", "maxSurge").(int)
				for _, e := range get(d, "spec", "template", "spec", "containers", 0, "env").([]any) {
					if get(e, "name") == "EGOV_DATABASE_MAX_CONNS" {
						conns = atoi(get(e, "value"))
					}
				}
			case "HorizontalPodAutoscaler":
				maxReplicas = get(d, "spec", "maxReplicas").(int)
			}
		}
		require.Positive(t, conns, "%s sets its pool size", svc.Name)
		need := conns * (maxReplicas + surge)
		require.GreaterOrEqual(t, limits[svc.Name], need, "%s's role allows %d × (%d + %d)", svc.Name, conns, maxReplicas, surge)
		total += limits[svc.Name]
	}
	require.Len(t, limits, len(all), "one role per service")
	params := get(pooler, "spec", "pgbouncer", "parameters")
	server := get(pooler, "spec", "instances").(int) * atoi(get(params, "max_db_connections"))
	require.GreaterOrEqual(t, server, total, "the poolers may open every role's connections (session mode)")
	for name, limit := range limits {
		require.GreaterOrEqual(t, atoi(get(params, "default_pool_size")), limit,
			"one pooler alone can carry all of %s's connections (the balancing is not even)", name)
	}
	maxConns := atoi(get(cluster, "spec", "postgresql", "parameters", "max_connections"))
	reserved := atoi(get(cluster, "spec", "postgresql", "parameters", "superuser_reserved_connections"))
	require.GreaterOrEqual(t, maxConns-reserved-20, server, "max_connections keeps 20 for replication, the operator and monitoring")
}
