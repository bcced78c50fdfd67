package main

import (
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/services/nca"
)

// ncaBootstrap is the installation's key ceremony (nca.Bootstrap): the Job egov-bootstrap-keys of
// deploy/k8s runs it, then applies the folder it writes.
func ncaBootstrap(stdout io.Writer) *cobra.Command {
	var b nca.Bootstrap
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Key ceremony: open НУЦ's store directly and issue the first administrator's key and every participant's system key",
		Long: `bootstrap opens НУЦ's store as the service does (DATABASE_URL, EGOV_NCA_KEY_PASSPHRASE,
EGOV_NCA_PUBLIC_URL; the CA is made when it does not exist yet) and issues the first administrator's
authentication key and a system key for every participant the services act as (ШЭП, ГБД ФЛ, ЕНИС, ПЭП,
ЦОН, and РШЭП's regions from EGOV_RSHEP_REGIONS), each service's with a fresh random password. It writes
them with НУЦ's root and a kustomization.yaml to --out: "kubectl apply -k <out>" makes the Secrets
egov-keys-<service> and egov-admin-key. Run it once, when installing; later keys are issued with
"egov nca issue" by the administrator.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPlatform()
			if err != nil {
				return err
			}
			cfg, err := nca.LoadConfig()
			if err != nil {
				return err
			}
			if b.Systems, err = participantSystems(); err != nil {
				return err
			}
			b.Admin.BIN = b.BIN
			b.Admin.Organization = b.Organization
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			if err := nca.RunBootstrap(cmd.Context(), cfg, p.DatabaseURL.Value(), b, log); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "keys written to %s: kubectl apply -k %s\n", b.Out, b.Out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&b.Out, "out", "", "folder to write the keys and the kustomization to (required)")
	f.StringVar(&b.Admin.IIN, "admin-iin", "", "the first administrator's IIN (list it in EGOV_ADMIN_IINS)")
	f.StringVar(&b.Admin.Surname, "admin-surname", "", "the administrator's surname")
	f.StringVar(&b.Admin.GivenName, "admin-name", "", "the administrator's given name")
	f.StringVar(&b.Admin.Patronymic, "admin-patronymic", "", "the administrator's patronymic")
	f.StringVar(&b.BIN, "bin", "", "the operator's BIN (EGOV_ADMIN_BIN), written into the administrator's and the systems' certificates")
	f.StringVar(&b.Organization, "org", "", "the operator's name, written into the certificates")
	return cmd
}

// participantSystems are the ШЭП participants of every service but НУЦ (which issues its own), by
// service: a NATS participant's ids from its access (РШЭП: one per region), otherwise the service's
// own name (ШЭП, and the registries, which answer on gRPC only).
func participantSystems() (map[string][]string, error) {
	all, err := services()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range all {
		if d.Name == "nca" {
			continue
		}
		ids := []string{d.Name}
		if d.NATS != nil {
			a, err := d.NATS()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Name, err)
			}
			if len(a.Participants) > 0 {
				ids = slices.Clone(a.Participants)
			}
		}
		out[d.Name] = ids
	}
	return out, nil
}
