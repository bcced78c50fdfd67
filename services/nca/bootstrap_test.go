package nca_test

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	ncav1 "github.com/egov-suite/egov/proto/egov/nca/v1"
	"github.com/egov-suite/egov/services/nca"
)

// TestBootstrap: the key ceremony opens the store of a НУЦ (whose admin API no one can use yet), and the
// administrator's key it writes opens that API; each service's Secret gets its system keys and their
// password, and a bad request writes nothing.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	admin := pki.Subject{IIN: adminIIN, Surname: "Омарова", GivenName: "Жанар", BIN: operatorBIN}
	systems := map[string][]string{"shep": {"shep"}, "rshep": {"rshep-27", "rshep-55"}}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		mutate  func(*nca.Bootstrap, *nca.Config)
		wantErr string
	}{
		{name: "ok/administrator and systems"},
		{name: "fail/administrator's IIN", mutate: func(b *nca.Bootstrap, _ *nca.Config) { b.Admin.IIN = "810109300002" }, wantErr: "the administrator's IIN"},
		{name: "fail/operator's BIN", mutate: func(b *nca.Bootstrap, _ *nca.Config) { b.Admin.BIN = "99084" }, wantErr: `the operator's BIN "99084": want 12 digits`},
		{name: "fail/no public URL", mutate: func(_ *nca.Bootstrap, c *nca.Config) { c.PublicURL = "" }, wantErr: "EGOV_NCA_PUBLIC_URL must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dbURL := pgtest.URL(t)
			cfg := defaultConfig(t)
			cfg.PublicURL = "http://nca.egov.svc.cluster.local:8010"
			out := filepath.Join(t.TempDir(), "keys")
			b := nca.Bootstrap{Admin: admin, Systems: systems, Organization: "egov suite", BIN: operatorBIN, Out: out}
			var n *running
			if tt.wantErr == "" {
				n = start(t, dbURL, defaultConfig(t))
				t.Cleanup(n.stop)
				cfg.PublicURL = n.http // where the running НУЦ answers OCSP
			}
			if tt.mutate != nil {
				tt.mutate(&b, &cfg)
			}
			err := nca.RunBootstrap(t.Context(), cfg, dbURL, b, discard)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NoDirExists(t, out, "nothing written")
				return
			}
			require.NoError(t, err)

			kust, err := os.ReadFile(filepath.Join(out, "kustomization.yaml"))
			require.NoError(t, err)
			require.Contains(t, string(kust), "  - name: egov-keys-shep\n    files: [root.pem, system.p12=system-shep.p12]\n")
			require.Contains(t, string(kust), "  - name: egov-keys-rshep\n    files: [root.pem, system-rshep-27.p12, system-rshep-55.p12]\n")
			passwords := map[string]string{}
			for _, m := range regexp.MustCompile(`name: (egov-[a-z-]+)\n.*\n    literals: \[password=([0-9a-f]{36})\]`).FindAllStringSubmatch(string(kust), -1) {
				passwords[m[1]] = m[2]
			}
			require.Len(t, passwords, 3, "a password per Secret")
			require.NotEqual(t, passwords["egov-keys-shep"], passwords["egov-keys-rshep"])

			p12, err := os.ReadFile(filepath.Join(out, "system-rshep-55.p12"))
			require.NoError(t, err)
			sys, err := envelope.LoadPKCS12(p12, passwords["egov-keys-rshep"])
			require.NoError(t, err)
			require.Contains(t, sys.Cert.Subject.String(), "rshep-55")

			// The written administrator's key, under the written root, opens the admin API.
			rootPEM, err := os.ReadFile(filepath.Join(out, "root.pem"))
			require.NoError(t, err)
			block, _ := pem.Decode(rootPEM)
			require.NotNil(t, block)
			root, err := x509.ParseCertificate(block.Bytes)
			require.NoError(t, err)
			p12, err = os.ReadFile(filepath.Join(out, "admin.p12"))
			require.NoError(t, err)
			signer, err := envelope.LoadPKCS12(p12, passwords["egov-admin-key"])
			require.NoError(t, err)
			conn := n.rn.DialAdmin(t, "nca", mtls.FromSigner(signer, []*x509.Certificate{root}, nil))
			list, err := ncav1.NewCertificateAuthorityServiceClient(conn).ListCertificates(t.Context(),
				&ncav1.ListCertificatesRequest{Profile: ncav1.Profile_PROFILE_SYSTEM})
			require.NoError(t, err, "the bootstrapped administrator is accepted")
			var dns string
			for _, c := range list.GetCertificates() {
				dns += c.GetSubjectDn() + "\n"
			}
			for _, id := range []string{"shep", "rshep-27", "rshep-55"} {
				require.Contains(t, dns, "CN="+id+"\n", "НУЦ lists the system key it issued in the ceremony")
			}
		})
	}
}
