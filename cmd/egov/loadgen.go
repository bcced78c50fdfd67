package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/loadgen"
)

func loadgenCommand(stdout io.Writer) *cobra.Command {
	var ao loadgen.AppOptions
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Load a running suite from a second process on loopback, with same-run baselines",
		Long: `loadgen submits --applications applications from --concurrency signed-in sessions, each drafted, signed
with the person's key (CMS, as NCALayer makes it) and sent, round robin over the passports the scenario
selects; it follows each one on ШЭП's deliveries to the channel and prints the end-to-end throughput,
p50/p95/p99 of submit→registered and submit→result, the final applications per passport, ШЭП's accepted
envelopes per second, the same run's raw JetStream and gRPC baselines on the same servers, and each
process's memory. It fails when an application reaches no final state.

Scenarios (--scenario):
  portal         the demo citizen applies on the portal for --service in --region
  tson           the ЦОН operator takes the citizen's applications at the desk for every passport the ЦОН
                 offers (or --service/--region when given), signs them, and hands each result over
  all-passports  the citizen applies on the portal for every passport of the built-in catalogue in turn
                 (or those --service/--region select)
Wherever a passport has steps for people, a bot plays the clerk, the head and the officer in АРМ РШЭП,
each with their own keys.`,
		Example: `  egov loadgen --endpoints .egov/endpoints.json --applications 2000 --concurrency 16
  egov loadgen --endpoints .egov/endpoints.json --applications 200 --concurrency 8 --region 55
  egov loadgen --endpoints .egov/endpoints.json --scenario tson --applications 100
  egov loadgen --endpoints .egov/endpoints.json --scenario all-passports --applications 250`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ao.Scenario != loadgen.ScenarioPortal {
				// The defaults name the portal's automated passport; the other scenarios take every
				// passport of their channel unless told otherwise.
				if !cmd.Flags().Changed("service") {
					ao.Service = ""
				}
				if !cmd.Flags().Changed("region") {
					ao.Region = ""
				}
			}
			ao.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			r, err := loadgen.Applications(cmd.Context(), ao)
			if r != nil {
				if _, werr := fmt.Fprint(stdout, r); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&ao.Endpoints, "endpoints", ".egov/endpoints.json", "endpoints.json of the running suite (its folder holds keys/)")
	cmd.Flags().StringVar(&ao.Scenario, "scenario", loadgen.ScenarioPortal, "portal, tson or all-passports")
	cmd.Flags().StringVar(&ao.Service, "service", "guardianship-certificate", "passport code (the catalogue's); tson and all-passports take every one unless given")
	cmd.Flags().StringVar(&ao.Region, "region", "27", "region of the passport (27's guardianship certificate is fully automated)")
	cmd.Flags().IntVar(&ao.Applications, "applications", 1000, "applications to submit")
	cmd.Flags().IntVar(&ao.Concurrency, "concurrency", 8, "sessions submitting at once")
	cmd.Flags().DurationVar(&ao.Wait, "wait", 5*time.Minute, "how long the last results may take")
	var endpoints string
	var o loadgen.PagesOptions
	pages := &cobra.Command{
		Use:   "pages",
		Short: "Page-load figures of the portal's cabinet and history pages under concurrent signed-in users",
		Long: `pages signs --users sessions of the demo citizen Асель in with her AUTH key (keys/ beside
endpoints.json; a portal account opens only with its owner's certificate), leaves --drafts applications in
her history, then asks for /cabinet and /history with those sessions from --concurrency clients for
--duration each, and /livez of the same server as the baseline. It prints requests, errors, throughput
and p50/p99 per page.`,
		Example: `  egov loadgen pages --endpoints .egov/endpoints.json --users 50 --concurrency 16 --duration 15s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eps, err := loadgen.ReadEndpoints(endpoints)
			if err != nil {
				return err
			}
			portal, ok := eps.Services["portal"]
			if !ok {
				return fmt.Errorf("%s names no portal", endpoints)
			}
			o.Portal = portal.HTTP
			o.Keys = filepath.Join(filepath.Dir(endpoints), "keys")
			r, err := loadgen.Pages(cmd.Context(), o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(stdout, r)
			return err
		},
	}
	pages.Flags().StringVar(&endpoints, "endpoints", ".egov/endpoints.json", "endpoints.json of the running suite")
	pages.Flags().IntVar(&o.Users, "users", 50, "signed-in sessions")
	pages.Flags().IntVar(&o.Drafts, "drafts", 5, "applications left in the history")
	pages.Flags().IntVar(&o.Concurrency, "concurrency", 16, "clients asking at once")
	pages.Flags().DurationVar(&o.Duration, "duration", 15*time.Second, "how long each page is asked for")
	cmd.AddCommand(pages)
	return cmd
}
