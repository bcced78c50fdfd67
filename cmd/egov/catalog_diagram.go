package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/catalog/diagram"
)

// catalogDiagram is `egov catalog diagram CODE [--region R] [--lang ru|kk]`: the passport's flow as SVG on
// stdout.
func catalogDiagram(stdout io.Writer) *cobra.Command {
	var region, lang string
	cmd := &cobra.Command{
		Use: "diagram CODE", Short: "Draw a passport's flow (steps, roles, terms, branches) as SVG on stdout", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if lang != "ru" && lang != "kk" {
				return fmt.Errorf("--lang %q: ru or kk", lang)
			}
			c, err := catalog.Builtin()
			if err != nil {
				return err
			}
			var found []*catalog.Passport
			var regions []string
			for _, p := range c.All() {
				if p.Code == args[0] {
					regions = append(regions, p.Region)
					if region == "" || p.Region == region {
						found = append(found, p)
					}
				}
			}
			switch {
			case len(found) == 0 && len(regions) == 0:
				return fmt.Errorf("no passport %q; see egov catalog list", args[0])
			case len(found) == 0:
				return fmt.Errorf("no passport %q for region %q; its regions: %s", args[0], region, strings.Join(regions, ", "))
			case len(found) > 1:
				return fmt.Errorf("passport %q exists for regions %s: choose one with --region", args[0], strings.Join(regions, ", "))
			}
			_, err = stdout.Write(diagram.Render(found[0], lang))
			return err
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "the region's variant (required when the service has several)")
	cmd.Flags().StringVar(&lang, "lang", "ru", "the drawing's language: ru or kk")
	return cmd
}

// listTitleOnly prints the services the seeds know only by title, marked so, after the passports.
func listTitleOnly(w io.Writer, c *catalog.Catalog) error {
	l, err := catalog.BuiltinListing(c)
	if err != nil {
		return err
	}
	for _, t := range l.TitleOnly {
		fmt.Fprintf(w, "%s\t%s\t-\t(title only: not offered)\t-\t%s [%s, %s]\n", t.Code, t.Region, t.Name.RU, t.Source.Document, t.Source.Ref)
	}
	return nil
}
