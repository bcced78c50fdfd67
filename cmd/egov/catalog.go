package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/egov-suite/egov/internal/catalog"
)

func catalogCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Service passports (regulations as data): list, validate, show — without starting the suite"}
	list := &cobra.Command{
		Use: "list", Short: "List the suite's passports", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := catalog.Builtin()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tREGION\tVERSION\tCHANNELS\tPROVIDER\tNAME")
			for _, p := range c.All() {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", p.Code, p.Region, p.Version, strings.Join(p.Channels, ","), p.Provider.Name.RU, p.Name.RU)
			}
			if err := listTitleOnly(tw, c); err != nil {
				return err
			}
			return tw.Flush()
		},
	}
	validate := &cobra.Command{
		Use: "validate [FILE.yaml…]", Short: "Validate passport files (or the suite's own); every problem names the file and the field",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				c, err := catalog.Builtin()
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%d passports valid\n", len(c.All()))
				return nil
			}
			var errs []error
			for _, f := range args {
				// With the templates it names, from templates/ beside the file.
				if _, err := catalog.LoadFile(os.DirFS(filepath.Dir(f)), filepath.Base(f)); err != nil {
					if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
						err = fmt.Errorf("%s: %w", f, pe.Err)
					}
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(stdout, "%s: valid\n", f)
			}
			return errors.Join(errs...)
		},
	}
	var region string
	show := &cobra.Command{
		Use: "show CODE", Short: "Print a passport", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := catalog.Builtin()
			if err != nil {
				return err
			}
			var found []*catalog.Passport
			for _, p := range c.All() {
				if p.Code == args[0] && (region == "" || p.Region == region) {
					found = append(found, p)
				}
			}
			if len(found) == 0 {
				return fmt.Errorf("no passport %q (region %q); see egov catalog list", args[0], region)
			}
			enc := yaml.NewEncoder(stdout)
			for _, p := range found {
				if err := enc.Encode(p); err != nil {
					return err
				}
			}
			return enc.Close()
		},
	}
	show.Flags().StringVar(&region, "region", "", "only this region's variant")
	cmd.AddCommand(list, validate, show, catalogDiagram(stdout))
	return cmd
}
