package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/serve"
)

func runCommand(stderr io.Writer) *cobra.Command {
	var list, devDir string
	var replicas int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run chosen services against external NATS and PostgreSQL: the production shape",
		Long: `run starts the chosen services in this process against the NATS and PostgreSQL named by the
environment (EGOV_NATS_URL, DATABASE_URL; see "egov config"). Each service listens on
EGOV_<NAME>_HTTP_ADDR and EGOV_<NAME>_GRPC_ADDR, and ШЭП and НУЦ their admin API on EGOV_<NAME>_ADMIN_ADDR
(defaults in its README), and connects to NATS as its own restricted user: EGOV_<NAME>_NATS_USER and
EGOV_<NAME>_NATS_PASSWORD, or EGOV_<NAME>_NATS_CREDS (TLS: EGOV_NATS_CA, EGOV_NATS_CERT, EGOV_NATS_KEY). No
service creates or changes the streams: they are provisioned once, before, with "egov nats provision
--replicas N" as the NATS administrator, and each service refuses to start when what it finds differs
from what it needs. In production every service is its own Deployment of the same image:
egov run --services=shep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if replicas != 0 {
				return errors.New("--stream-replicas is gone: egov run no longer creates or changes the streams (one process started " +
					"without it once turned a cluster's streams from three replicas to one); provision them once with " +
					"egov nats provision --replicas N as the NATS administrator")
			}
			if list == "" {
				list = os.Getenv("EGOV_SERVICES")
			}
			all, err := services()
			if err != nil {
				return err
			}
			chosen, err := app.Select(all, list)
			if err != nil {
				return err
			}
			p, err := loadPlatform()
			if err != nil {
				return err
			}
			if p.DatabaseURL == "" {
				return errors.New("DATABASE_URL is not set (egov run uses an external PostgreSQL; egov dev makes one)")
			}
			tel, log, err := setupTelemetry(cmd.Context(), p, processName(chosen), stderr)
			if err != nil {
				return err
			}
			r := serve.NewRunner(log, p.ShutdownTimeout)
			r.OnStop(serve.PhaseTelemetry, "telemetry", tel.Shutdown)
			listeners := map[string]app.Listeners{}
			for _, d := range chosen {
				l, err := listenService(d)
				if err != nil {
					return errors.Join(err, r.Stop())
				}
				listeners[d.Name] = l
			}
			users := natsUsers(chosen)
			if _, err := app.Start(cmd.Context(), r, app.Options{
				Platform: p, Log: log, Telemetry: tel, Services: chosen, Listeners: listeners,
				Topology: natsbus.DefaultTopology(1), NATSUsers: users,
				SeedDir: devDir, Peers: peers(all),
			}); err != nil {
				return errors.Join(err, r.Stop())
			}
			return r.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&list, "services", "", `comma-separated services to run, or "all" (default $EGOV_SERVICES)`)
	// Kept only to say where the replicas went: a deployment still passing it learns it at once.
	cmd.Flags().IntVar(&replicas, "stream-replicas", 0, "gone: see egov nats provision --replicas")
	_ = cmd.Flags().MarkHidden("stream-replicas") // fails only for a flag that does not exist
	cmd.Flags().StringVar(&devDir, "dev-dir", os.Getenv("EGOV_DEV_DIR"), "demo data and demo keys in this folder, as egov dev seeds them (QA and demos only; $EGOV_DEV_DIR)")
	return cmd
}

// processName is the process's service.name in its traces and metrics: egov-<service> for a process of
// one service (every Deployment), egov-<a>-<b> for several; all of them reported "egov" before, so a
// trace could not tell ШЭП's spans from a registry's.
func processName(chosen []app.Descriptor) string {
	names := make([]string, len(chosen))
	for i, d := range chosen {
		names[i] = d.Name
	}
	return "egov-" + strings.Join(names, "-")
}

// natsUsers are the chosen services' own NATS credentials: EGOV_<NAME>_NATS_USER and _PASSWORD, or
// EGOV_<NAME>_NATS_CREDS (a NATS credentials file).
func natsUsers(chosen []app.Descriptor) map[string]natsbus.ConnOptions {
	out := map[string]natsbus.ConnOptions{}
	for _, d := range chosen {
		pre := "EGOV_" + strings.ToUpper(d.Name) + "_NATS_"
		co := natsbus.ConnOptions{User: os.Getenv(pre + "USER"), Password: os.Getenv(pre + "PASSWORD"), CredsFile: os.Getenv(pre + "CREDS")}
		if co.User != "" || co.CredsFile != "" {
			out[d.Name] = co
		}
	}
	return out
}

// peers are where the services of other processes listen, from their EGOV_<NAME>_HTTP_ADDR and
// _GRPC_ADDR (a bare ":port" is this host's loopback): ШЭП registers the registries there in a demo,
// РШЭП and the channels reach ШЭП's gRPC there unless told otherwise.
func peers(all []app.Descriptor) map[string]app.Endpoint {
	out := map[string]app.Endpoint{}
	addr := func(name, kind string) string {
		v := os.Getenv("EGOV_" + strings.ToUpper(name) + "_" + kind + "_ADDR")
		if strings.HasPrefix(v, ":") {
			v = "127.0.0.1" + v
		}
		return v
	}
	for _, d := range all {
		h, g := addr(d.Name, "HTTP"), addr(d.Name, "GRPC")
		if h != "" || g != "" {
			out[d.Name] = app.Endpoint{HTTP: h, GRPC: g}
		}
	}
	return out
}

// listenService opens a service's listeners at EGOV_<NAME>_HTTP_ADDR / _GRPC_ADDR (/ _ADMIN_ADDR for a
// service with an admin API), or its default ports.
func listenService(d app.Descriptor) (app.Listeners, error) {
	env := func(kind string, port int) string {
		if v := os.Getenv("EGOV_" + strings.ToUpper(d.Name) + "_" + kind + "_ADDR"); v != "" {
			return v
		}
		return fmt.Sprintf(":%d", port)
	}
	h, err := serve.Listen(env("HTTP", d.Ports.HTTP))
	if err != nil {
		return app.Listeners{}, fmt.Errorf("%s: %w", d.Name, err)
	}
	g, err := serve.Listen(env("GRPC", d.Ports.GRPC))
	if err != nil {
		h.Close()
		return app.Listeners{}, fmt.Errorf("%s: %w", d.Name, err)
	}
	l := app.Listeners{HTTP: h, GRPC: g}
	if d.Ports.Admin != 0 {
		if l.Admin, err = serve.Listen(env("ADMIN", d.Ports.Admin)); err != nil {
			h.Close()
			g.Close()
			return app.Listeners{}, fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	return l, nil
}
