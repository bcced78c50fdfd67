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
	var list string
	var replicas int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run chosen services against external NATS and PostgreSQL: the production shape",
		Long: `run starts the chosen services in this process against the NATS and PostgreSQL named by the
environment (EGOV_NATS_URL, DATABASE_URL; see "egov config"). Each service listens on
EGOV_<NAME>_HTTP_ADDR and EGOV_<NAME>_GRPC_ADDR (defaults in its README). In production every service is its
own Deployment of the same image: egov run --services=shep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			tel, log, err := setupTelemetry(cmd.Context(), p, "egov", stderr)
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
			if _, err := app.Start(cmd.Context(), r, app.Options{
				Platform: p, Log: log, Telemetry: tel, Services: chosen, Listeners: listeners,
				Topology: natsbus.DefaultTopology(replicas),
			}); err != nil {
				return errors.Join(err, r.Stop())
			}
			return r.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&list, "services", "", `comma-separated services to run, or "all" (default $EGOV_SERVICES)`)
	cmd.Flags().IntVar(&replicas, "stream-replicas", 1, "JetStream replicas for the suite's streams (3 on a production cluster)")
	return cmd
}

// listenService opens a service's listeners at EGOV_<NAME>_HTTP_ADDR / _GRPC_ADDR, or its default ports.
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
	return app.Listeners{HTTP: h, GRPC: g}, nil
}
