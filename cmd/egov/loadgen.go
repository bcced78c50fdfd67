package main

import (
	"fmt"
	"io"
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
		Long: `loadgen submits --applications guardianship-certificate applications through the portal, from
--concurrency signed-in sessions of the demo citizen, each drafted, signed with her key (CMS, as NCALayer
makes it) and sent; it follows each one on ШЭП's deliveries to the portal and prints the end-to-end
throughput, p50/p95/p99 of submit→registered and submit→result, ШЭП's accepted envelopes per second, the
same run's raw JetStream and gRPC baselines on the same servers, and each process's memory. It fails when
an application reaches no final state. Region 27 is fully automated; for another, --bot plays the clerk
and the officer in АРМ.`,
		Example: `  egov loadgen --endpoints .egov/endpoints.json --applications 2000 --concurrency 16
  egov loadgen --endpoints .egov/endpoints.json --applications 200 --concurrency 8 --region 55 --bot`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	cmd.Flags().IntVar(&ao.Applications, "applications", 1000, "applications to submit")
	cmd.Flags().IntVar(&ao.Concurrency, "concurrency", 8, "sessions submitting at once")
	cmd.Flags().StringVar(&ao.Region, "region", "27", "region of the guardianship certificate (27 is fully automated)")
	cmd.Flags().BoolVar(&ao.Bot, "bot", false, "decide in АРМ as a bot clerk and officer (regions whose regulation has staff steps)")
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
