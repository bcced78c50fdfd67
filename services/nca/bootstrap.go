package nca

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/nca/internal/authority"
	"github.com/egov-suite/egov/services/nca/internal/store"
)

// Bootstrap is the installation's key ceremony: before any administrator holds a key, НУЦ's own store
// is opened (the same database, schema and passphrase as the service; the CA is made here when it does
// not exist yet) to issue the first administrator's authentication key and every participant's system
// key. Afterwards keys are issued through the admin API by that administrator.
type Bootstrap struct {
	// Admin is the first administrator, an employee of the operator: IIN, names and the operator's BIN.
	Admin pki.Subject
	// Systems are the ШЭП participants to issue system keys for, grouped by the service (the Secret)
	// that holds them: "shep": {"shep"}, "rshep": {"rshep-27", "rshep-55"}.
	Systems map[string][]string
	// Organization and BIN written into the system certificates.
	Organization, BIN string
	// Out is the folder the key files, НУЦ's root and a kustomization.yaml are written to: `kubectl
	// apply -k Out` turns them into one Secret per service (egov-keys-<service>: the keys, root.pem and
	// the password of the keys) and egov-admin-key.
	Out string
}

func (b Bootstrap) validate() error {
	var errs []error
	if _, err := iin.Parse(b.Admin.IIN); err != nil {
		errs = append(errs, fmt.Errorf("the administrator's IIN: %w", err))
	}
	if len(b.Admin.BIN) != 12 || strings.Trim(b.Admin.BIN, "0123456789") != "" {
		errs = append(errs, fmt.Errorf("the operator's BIN %q: want 12 digits", b.Admin.BIN))
	}
	if b.Admin.Surname == "" || b.Admin.GivenName == "" {
		errs = append(errs, errors.New("the administrator's surname and given name are required"))
	}
	if len(b.Systems) == 0 {
		errs = append(errs, errors.New("no systems to issue keys for"))
	}
	if b.Out == "" {
		errs = append(errs, errors.New("no folder to write the keys to"))
	}
	return errors.Join(errs...)
}

// RunBootstrap opens НУЦ's store at databaseURL as the service does (migrations included), issues what
// b asks for and writes it to b.Out.
func RunBootstrap(ctx context.Context, cfg Config, databaseURL string, b Bootstrap, log *slog.Logger) error {
	if err := b.validate(); err != nil {
		return err
	}
	if cfg.PublicURL == "" {
		return errors.New("EGOV_NCA_PUBLIC_URL must be set: it is written into every certificate, and the service must use the same")
	}
	alg, err := algorithm(cfg.Algorithm)
	if err != nil {
		return err
	}
	pool, err := pgdb.Open(ctx, databaseURL, "nca", 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pgdb.Migrate(ctx, pool, "nca", store.Migrations()); err != nil {
		return err
	}
	a, err := openAuthority(ctx, cfg, pool, alg, log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.Out, 0o700); err != nil {
		return err
	}
	write := func(name string, data []byte) error { return os.WriteFile(filepath.Join(b.Out, name), data, 0o600) }
	if err := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Root().Raw})); err != nil {
		return err
	}
	var k strings.Builder
	k.WriteString("# Written by egov nca bootstrap: kubectl apply -k turns it into the suite's key Secrets.\n")
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	k.WriteString("generatorOptions:\n  disableNameSuffixHash: true\n  labels: {app.kubernetes.io/part-of: egov}\nsecretGenerator:\n")

	adminPW, err := password()
	if err != nil {
		return err
	}
	admin := b.Admin
	admin.Organization = b.Organization
	_, p12, err := a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: adminPW,
		Request: pki.Request{Profile: pki.Employee, Purpose: pki.Auth, Subject: admin}})
	if err != nil {
		return fmt.Errorf("the administrator's key: %w", err)
	}
	if err := write("admin.p12", p12); err != nil {
		return err
	}
	fmt.Fprintf(&k, "  - name: egov-admin-key\n    files: [admin.p12, root.pem]\n    literals: [password=%s]\n", adminPW)

	services := make([]string, 0, len(b.Systems))
	for s := range b.Systems {
		services = append(services, s)
	}
	slices.Sort(services)
	for _, svc := range services {
		pw, err := password()
		if err != nil {
			return err
		}
		files := []string{"root.pem"}
		ids := b.Systems[svc]
		for _, id := range ids {
			_, p12, err := a.Issue(ctx, authority.IssueRequest{Algorithm: pki.ECDSAP256, Password: pw,
				Request: pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: id, Organization: b.Organization, BIN: b.BIN}}})
			if err != nil {
				return fmt.Errorf("system %s: %w", id, err)
			}
			name := "system-" + id + ".p12"
			if err := write(name, p12); err != nil {
				return err
			}
			// A service that is one participant reads its key as system.p12 (EGOV_<NAME>_KEY_FILE); РШЭП
			// reads a folder of system-<id>.p12, one per region (EGOV_RSHEP_KEY_DIR).
			if len(ids) == 1 && id == svc {
				files = append(files, "system.p12="+name)
			} else {
				files = append(files, name)
			}
		}
		fmt.Fprintf(&k, "  - name: egov-keys-%s\n    files: [%s]\n    literals: [password=%s]\n", svc, strings.Join(files, ", "), pw)
	}
	return write("kustomization.yaml", []byte(k.String()))
}

func openAuthority(ctx context.Context, cfg Config, pool *pgxpool.Pool, alg pki.Algorithm, log *slog.Logger) (*authority.Authority, error) {
	return authority.Open(ctx, authority.Options{
		Pool: pool, Passphrase: cfg.KeyPassphrase.Value(), Algorithm: alg, BaseURL: cfg.PublicURL,
		OCSPValidity: cfg.OCSPValidity, CRLValidity: cfg.CRLValidity, Now: time.Now, Log: log,
	})
}

// password is a fresh random key-file password: hex, so it is safe in a Secret literal and a URL.
func password() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
