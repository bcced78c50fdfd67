package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/devmode"
)

func devCommand(stdout, stderr io.Writer) *cobra.Command {
	var dataDir string
	var basePort int
	var signer string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole suite in one process on an embedded NATS and PostgreSQL, with demo data",
		Long: `dev is the embedded default. It starts an embedded NATS server with JetStream and a PostgreSQL
cluster (from the machine's initdb/pg_ctl) in the data folder — or uses DATABASE_URL when set — runs every
service in this process, seeds demo data, and prints every endpoint (also written to
<data-dir>/endpoints.json). Ctrl-C stops everything; a second run on the same folder keeps the data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPlatform()
			if err != nil {
				return err
			}
			svcs, err := services()
			if err != nil {
				return err
			}
			tel, log, err := setupTelemetry(cmd.Context(), p, "egov-dev", stderr)
			if err != nil {
				return err
			}
			return devmode.Run(cmd.Context(), devmode.Options{
				DataDir: dataDir, BasePort: basePort, Platform: p, Services: svcs,
				Log: log, Telemetry: tel, Out: stdout, ShowIINs: isTerminal(stdout), SignerAddr: signer,
			})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", ".egov", "folder for NATS, PostgreSQL, key files and endpoints.json")
	cmd.Flags().IntVar(&basePort, "base-port", 18000, "first port of the layout (NATS, PostgreSQL, then two per service); 0 for free ports")
	cmd.Flags().StringVar(&signer, "ncalayer", "127.0.0.1:13579", "address of the local signer with the demo keys (NCALayer's); off to run none (with --base-port 0 a free port)")
	return cmd
}

// isTerminal reports whether w is a terminal, where a person reads what is printed; anything else (a
// pipe, a file, a container's log) is kept as a log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
