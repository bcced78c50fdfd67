package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/natsbus"
)

func natsCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "nats", Short: "Provision the suite's NATS JetStream topology (streams and buckets)"}
	cmd.AddCommand(natsProvision(stdout, stderr), natsAuthConfig(stdout))
	return cmd
}

// natsAuthConfig prints the authorization block of a NATS server configuration: the administrator and
// each NATS-using service's user with exactly the permissions of its natsbus.Access, passwords read
// from the server's environment ($EGOV_NATS_PASSWORD_<SERVICE>). deploy/k8s keeps its output, and a test
// keeps the two equal, so the permissions are written in one place only.
func natsAuthConfig(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "auth-config",
		Short: "Print the NATS server's authorization block: one restricted user per service (regions from EGOV_RSHEP_REGIONS)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			all, err := services()
			if err != nil {
				return err
			}
			var b strings.Builder
			b.WriteString("# Written by `egov nats auth-config`; do not edit: the permissions are natsbus.Access's.\n")
			b.WriteString("authorization {\n  users: [\n")
			b.WriteString("    # The administrator: egov nats provision only; no service connects as it.\n")
			b.WriteString("    {user: egov, password: $EGOV_NATS_PASSWORD_ADMIN}\n")
			for _, d := range all {
				if d.NATS == nil {
					continue
				}
				a, err := d.NATS()
				if err != nil {
					return fmt.Errorf("%s: %w", d.Name, err)
				}
				perms := a.Permissions()
				fmt.Fprintf(&b, "    {user: %s, password: $EGOV_NATS_PASSWORD_%s, permissions: {\n", a.User, strings.ToUpper(a.User))
				fmt.Fprintf(&b, "      publish: {allow: %s}\n", natsList(perms.Publish.Allow))
				fmt.Fprintf(&b, "      subscribe: {allow: %s}\n", natsList(perms.Subscribe.Allow))
				b.WriteString("    }}\n")
			}
			b.WriteString("  ]\n}\n")
			_, err = io.WriteString(stdout, b.String())
			return err
		},
	}
}

func natsList(subjects []string) string {
	q := make([]string, len(subjects))
	for i, s := range subjects {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// natsProvision is the one step that creates and changes the streams and buckets; the services only
// verify them. The defaults come from the environment egov run reads (EGOV_NATS_URL, the administrator's
// EGOV_NATS_USER/EGOV_NATS_PASSWORD or EGOV_NATS_CREDS, EGOV_NATS_CA/_CERT/_KEY), so a Job can share the
// services' ConfigMap; the replicas have no default, as they are the one choice that must be made.
func natsProvision(stdout, stderr io.Writer) *cobra.Command {
	co := natsbus.ConnOptions{
		URL: os.Getenv("EGOV_NATS_URL"), User: os.Getenv("EGOV_NATS_USER"), Password: os.Getenv("EGOV_NATS_PASSWORD"),
		CredsFile: os.Getenv("EGOV_NATS_CREDS"), CAFile: os.Getenv("EGOV_NATS_CA"), CertFile: os.Getenv("EGOV_NATS_CERT"),
		KeyFile: os.Getenv("EGOV_NATS_KEY"), Name: "egov-provision",
	}
	if co.URL == "" {
		co.URL = "nats://127.0.0.1:4222"
	}
	var replicas int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Create or update the suite's streams and buckets with N replicas, as the NATS administrator",
		Long: `provision creates the suite's JetStream streams and object store buckets, or updates them to the
declared configuration, and prints what it did to each. Run it once when installing and again after an
upgrade that changes the topology; it is idempotent. The services never create or change the topology:
each checks at start that the streams it needs are as it needs them and refuses to start otherwise.
--replicas has no default: 1 for a single server, 3 for a three-node JetStream cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if replicas < 1 || replicas > 5 {
				return errors.New("--replicas must be given, from 1 to 5 (JetStream's limit): 1 for a single NATS server, 3 for a three-node cluster")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			bus, err := natsbus.Connect(ctx, co, log)
			if err != nil {
				return err
			}
			defer bus.Conn.Close()
			done, err := natsbus.DefaultTopology(replicas).Provision(ctx, bus.JS)
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tNAME\tREPLICAS\tOUTCOME")
			for _, p := range done {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Kind, p.Name, p.Replicas, p.Outcome)
			}
			if ferr := tw.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&co.URL, "server", co.URL, "NATS URL ($EGOV_NATS_URL)")
	f.StringVar(&co.User, "user", co.User, "the NATS administrator ($EGOV_NATS_USER)")
	f.StringVar(&co.Password, "password", co.Password, "the administrator's password ($EGOV_NATS_PASSWORD)")
	f.StringVar(&co.CredsFile, "creds", co.CredsFile, "the administrator's NATS credentials file, instead of user and password ($EGOV_NATS_CREDS)")
	f.StringVar(&co.CAFile, "tls-ca", co.CAFile, "CA that verifies the server's certificate ($EGOV_NATS_CA)")
	f.StringVar(&co.CertFile, "tls-cert", co.CertFile, "client certificate, when the server asks for one ($EGOV_NATS_CERT)")
	f.StringVar(&co.KeyFile, "tls-key", co.KeyFile, "client key ($EGOV_NATS_KEY)")
	f.IntVar(&replicas, "replicas", 0, "JetStream replicas of every stream and bucket: 1 (single server) or 3 (three-node cluster); required")
	f.DurationVar(&timeout, "timeout", time.Minute, "give up after this long (a cluster still electing its leaders answers late)")
	return cmd
}
