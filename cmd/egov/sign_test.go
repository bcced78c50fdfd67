package main

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

// TestVerifyCommand: egov verify with the README's flags takes every document the suite issues — the
// automatic result signed by the node's system key (it failed with WRONG_KEY_USAGE before), a result or
// application signed with a SIGN key, a printable PDF with its detached signature — and fails, with the
// code and exit status, on what it must not take.
func TestVerifyCommand(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	root := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}))
	node, citizen, auth := ca.System(t, "rshep-27"), ca.Person(t, "880512400011", pki.Sign), ca.Person(t, "880512400011", pki.Auth)
	result := write("result.txt", []byte("СПРАВКА ОБ ОПЕКЕ И ПОПЕЧИТЕЛЬСТВЕ\n"))
	pdf := write("result.pdf", []byte("%PDF-1.3 the printable form\n"))
	sign := func(name string, s interface{ Sign([]byte) ([]byte, error) }, file string) string {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		sig, err := s.Sign(b)
		require.NoError(t, err)
		return write(name, sig)
	}
	nodeSig, pdfSig := sign("result.txt.p7s", node, result), sign("result.pdf.p7s", node, pdf)
	citizenSig, authSig := sign("citizen.p7s", citizen, result), sign("auth.p7s", auth, result)
	altered := write("altered.pdf", []byte("%PDF-1.3 the printable form, changed\n"))

	tests := []struct {
		name string
		args []string
		want []string
		fail bool
	}{
		{name: "ok/automatic result, the node's system key", args: []string{"--in", result, "--sig", nodeSig},
			want: []string{"OK", "system   rshep-27", "status   good (ocsp"}},
		{name: "ok/printable PDF with its detached signature", args: []string{"--in", pdf, "--sig", pdfSig}, want: []string{"OK", "rshep-27"}},
		{name: "ok/SIGN key with the IIN", args: []string{"--in", result, "--sig", citizenSig, "--iin", "880512400011"}, want: []string{"OK", "IIN      880512400011"}},
		{name: "fail/system key where a person's is asked", args: []string{"--in", result, "--sig", nodeSig, "--purpose", "document"},
			want: []string{"FAILED WRONG_KEY_USAGE"}, fail: true},
		{name: "fail/an AUTH key signs no document", args: []string{"--in", result, "--sig", authSig}, want: []string{"FAILED WRONG_KEY_USAGE"}, fail: true},
		{name: "fail/a changed PDF", args: []string{"--in", altered, "--sig", pdfSig}, want: []string{"FAILED BAD_SIGNATURE"}, fail: true},
		{name: "fail/a system key has no IIN", args: []string{"--in", result, "--sig", nodeSig, "--iin", "880512400011"}, want: []string{"FAILED IIN_MISMATCH"}, fail: true},
		{name: "fail/unknown purpose", args: []string{"--in", result, "--sig", nodeSig, "--purpose", "seal"}, fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			cmd := verifyCommand(&out)
			cmd.SetArgs(append([]string{"--ca", root}, tt.args...))
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.ExecuteContext(t.Context())
			if tt.fail {
				require.Error(t, err, out.String())
			} else {
				require.NoError(t, err, out.String())
			}
			for _, w := range tt.want {
				require.Contains(t, out.String(), w)
			}
		})
	}
}
