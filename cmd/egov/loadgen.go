package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/loadgen"
)

func loadgenCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Load a running suite from a second process on loopback, with same-run baselines",
	}
	var endpoints string
	var o loadgen.PagesOptions
	pages := &cobra.Command{
		Use:   "pages",
		Short: "Page-load figures of the portal's cabinet and history pages under concurrent signed-in users",
		Long: `pages opens accounts for --users persons of ГБД ФЛ's dev population (or signs them in again), leaves
--drafts applications in each history, then asks for /cabinet and /history with their sessions from
--concurrency clients for --duration each, and /livez of the same server as the baseline. It prints
requests, errors, throughput and p50/p99 per page.`,
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
			r, err := loadgen.Pages(cmd.Context(), o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(stdout, r)
			return err
		},
	}
	pages.Flags().StringVar(&endpoints, "endpoints", ".egov/endpoints.json", "endpoints.json of the running suite")
	pages.Flags().IntVar(&o.Users, "users", 50, "signed-in citizens")
	pages.Flags().IntVar(&o.Drafts, "drafts", 5, "applications in each history")
	pages.Flags().IntVar(&o.Concurrency, "concurrency", 16, "clients asking at once")
	pages.Flags().DurationVar(&o.Duration, "duration", 15*time.Second, "how long each page is asked for")
	pages.Flags().IntVar(&o.Population, "population", 2000, "size of ГБД ФЛ's dev population (EGOV_GBDFL_DEV_PERSONS)")
	cmd.AddCommand(pages)
	return cmd
}
