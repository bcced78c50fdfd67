package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/egov-suite/egov/internal/conformance"
	"github.com/egov-suite/egov/internal/mtls"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/enis"
	enisconformance "github.com/egov-suite/egov/services/enis/conformance"
	"github.com/egov-suite/egov/services/gbdfl"
	gbdflconformance "github.com/egov-suite/egov/services/gbdfl/conformance"
)

// databaseURL is DATABASE_URL, or the dev mode's PostgreSQL from endpoints.json.
func databaseURL(t *target) (string, error) {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u, nil
	}
	eps, err := t.read("no DATABASE_URL")
	if err != nil {
		return "", err
	}
	if eps.Postgres == "" {
		return "", fmt.Errorf("%s names no postgres URL", t.endpoints)
	}
	return eps.Postgres, nil
}

func gbdflCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "gbdfl", Short: "ГБД ФЛ, the population register stub"}
	cmd.AddCommand(seedCommand(stdout,
		"Replace the stub's population with a synthetic one (deterministic for --seed), loaded with COPY",
		"how many persons (households are not split, so a few more)", "the generator's seed",
		func(cmd *cobra.Command, url string, persons int, seed uint64) (string, error) {
			st, err := gbdfl.Seed(cmd.Context(), url, persons, seed)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("loaded %d persons and %d family links in %s (%.0f persons/s)", st.Persons, st.Links,
				st.Took.Round(1e6), float64(st.Persons)/st.Took.Seconds()), nil
		}))
	return cmd
}

func enisCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "enis", Short: "ЕНИС, the notary register stub"}
	cmd.AddCommand(seedCommand(stdout,
		"Replace the stub's powers of attorney with those matching a ГБД ФЛ population (same --persons and --seed)",
		"the size of the matching ГБД ФЛ population", "the generator's seed (as given to egov gbdfl seed)",
		func(cmd *cobra.Command, url string, persons int, seed uint64) (string, error) {
			n, took, err := enis.Seed(cmd.Context(), url, persons, seed)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("loaded %d powers of attorney in %s", n, took.Round(1e6)), nil
		}))
	return cmd
}

// seedCommand is a registry stub's "seed" command: --persons and --seed, the database from DATABASE_URL
// or the dev mode's endpoints, and load's one-line report.
func seedCommand(stdout io.Writer, short, personsHelp, seedHelp string,
	load func(cmd *cobra.Command, url string, persons int, seed uint64) (string, error)) *cobra.Command {
	var t target
	var persons int
	var seed uint64
	c := &cobra.Command{
		Use:   "seed",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if persons < 1 {
				return errors.New("--persons must be at least 1")
			}
			url, err := databaseURL(&t)
			if err != nil {
				return err
			}
			line, err := load(cmd, url, persons, seed)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, line)
			return nil
		},
	}
	t.flags(c)
	c.Flags().IntVar(&persons, "persons", 10000, personsHelp)
	c.Flags().Uint64Var(&seed, "seed", 1, seedHelp)
	return c
}

func conformanceCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "conformance", Short: "Check that an endpoint behaves as the suite expects of a registry"}
	var targetAddr, known, parent, unknown string
	var remote remoteTLS
	g := &cobra.Command{
		Use:   "gbdfl",
		Short: "Run the ГБД ФЛ conformance suite against --target (the stub, an adapter, or the real register)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if targetAddr == "" {
				return errors.New("--target host:port is required")
			}
			creds, err := remote.dial()
			if err != nil {
				return err
			}
			conn, err := grpc.NewClient(targetAddr, creds)
			if err != nil {
				return err
			}
			defer conn.Close()
			o := gbdflconformance.Options{KnownIIN: known, ParentIIN: parent, UnknownIIN: unknown}
			results := gbdflconformance.Run(cmd.Context(), gbdflv1.NewPersonRegistryServiceClient(conn), o)
			return report(stdout, results)
		},
	}
	g.Flags().StringVar(&targetAddr, "target", "", "host:port speaking egov.gbdfl.v1.PersonRegistryService")
	remote.flags(g)
	g.Flags().StringVar(&known, "known-iin", gbdflconformance.Defaults.KnownIIN, "a person the register holds")
	g.Flags().StringVar(&parent, "parent-iin", gbdflconformance.Defaults.ParentIIN, "a person with children")
	g.Flags().StringVar(&unknown, "unknown-iin", gbdflconformance.Defaults.UnknownIIN, "a valid IIN the register does not hold")
	ev := enisconformance.Defaults
	var enisTarget string
	e := &cobra.Command{
		Use:   "enis",
		Short: "Run the ЕНИС conformance suite against --target (the stub, an adapter, or the real register)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if enisTarget == "" {
				return errors.New("--target host:port is required")
			}
			creds, err := remote.dial()
			if err != nil {
				return err
			}
			conn, err := grpc.NewClient(enisTarget, creds)
			if err != nil {
				return err
			}
			defer conn.Close()
			return report(stdout, enisconformance.Run(cmd.Context(), enisv1.NewNotaryRegistryServiceClient(conn), ev))
		},
	}
	e.Flags().StringVar(&enisTarget, "target", "", "host:port speaking egov.enis.v1.NotaryRegistryService")
	remote.flags(e)
	e.Flags().StringVar(&ev.Principal, "principal-iin", ev.Principal, "principal of the powers of attorney below")
	e.Flags().StringVar(&ev.Representative, "representative-iin", ev.Representative, "their representative")
	e.Flags().StringVar(&ev.Valid, "valid", ev.Valid, "number of a valid power of attorney between them")
	e.Flags().StringVar(&ev.Expired, "expired", ev.Expired, "number of an expired one")
	e.Flags().StringVar(&ev.Revoked, "revoked", ev.Revoked, "number of a revoked one")
	cmd.AddCommand(g, e)
	return cmd
}

// report prints a table of checks and fails when any failed.
func report(stdout io.Writer, rs []conformance.Result) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	failed := 0
	for _, r := range rs {
		verdict := "ok"
		if r.Err != nil {
			verdict, failed = "FAIL: "+r.Err.Error(), failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.Name, verdict)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(rs)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d conformance checks failed", failed)
	}
	return nil
}

// remoteTLS are the TLS flags of a command reaching a registry: its CA, its server name, and the
// client key to present (a registry of the suite takes ШЭП's system key only).
type remoteTLS struct {
	caFile, serverName, p12, password string
}

func (r *remoteTLS) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.caFile, "ca-file", "", "PEM file of the CA of the endpoint's TLS certificate (НУЦ's root for the suite's registries); empty dials in plaintext")
	cmd.Flags().StringVar(&r.serverName, "server-name", "", "the name the endpoint's certificate must carry (e.g. gbdfl; default: the target's host)")
	cmd.Flags().StringVar(&r.p12, "p12", "", "PKCS#12 key file presented as the client certificate (e.g. keys/system-shep.p12)")
	cmd.Flags().StringVar(&r.password, "p12-password", "", "its password")
}

func (r *remoteTLS) dial() (grpc.DialOption, error) {
	m := mtls.Remote{CAFile: r.caFile, ServerName: r.serverName}
	if r.p12 != "" {
		cert, err := mtls.LoadP12(r.p12, r.password)
		if err != nil {
			return nil, fmt.Errorf("--p12: %w", err)
		}
		m.Client = cert
	}
	opt, err := m.Dial()
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	return opt, nil
}
