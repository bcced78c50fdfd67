package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/egov-suite/egov/envelope"
)

func signCommand(stdout io.Writer) *cobra.Command {
	var p12, password, in, out string
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign a file with a PKCS#12 key file: a detached CMS signature (DER)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for name, v := range map[string]string{"--p12": p12, "--in": in, "--out": out} {
				if v == "" {
					return fmt.Errorf("%s is required", name)
				}
			}
			keyFile, err := os.ReadFile(p12)
			if err != nil {
				return err
			}
			s, err := envelope.LoadPKCS12(keyFile, password)
			if err != nil {
				return err
			}
			content, err := os.ReadFile(in)
			if err != nil {
				return err
			}
			sig, err := s.Sign(content)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, sig, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "signed %s by %s, signature in %s\n", in, s.Cert.Subject.CommonName, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&p12, "p12", "", "PKCS#12 key file")
	cmd.Flags().StringVar(&password, "password", "", "its password")
	cmd.Flags().StringVar(&in, "in", "", "file to sign")
	cmd.Flags().StringVar(&out, "out", "", "where to write the signature (.p7s)")
	return cmd
}

func verifyCommand(stdout io.Writer) *cobra.Command {
	var in, sig, caFile, purpose, iin, pkiURL string
	var t target
	var offline bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify a detached CMS signature: signer, IIN/BIN, certificate status; non-zero exit on any failure",
		Long: `verify checks a detached signature against НУЦ's root (--ca, or fetched from the running НУЦ), validity,
key usage for --purpose (by default any document the suite issues: signed with a person's SIGN key or
with a system key, as the signer's certificate says), the IIN binding (--iin) and revocation (OCSP from the certificate, CRL as fall-back).
A failure prints the code and the citizen's refusal text and exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || sig == "" {
				return errors.New("--in and --sig are required")
			}
			roots, err := trustAnchors(cmd, caFile, &t)
			if err != nil {
				return err
			}
			p := map[string]envelope.Purpose{"issued": envelope.PurposeIssued, "document": envelope.PurposeDocument,
				"envelope": envelope.PurposeEnvelope, "auth": envelope.PurposeAuthentication}[purpose]
			if p == 0 {
				return fmt.Errorf("--purpose %q: want issued, document, envelope or auth", purpose)
			}
			opts := envelope.VerifierOptions{Roots: roots, SkipRevocation: offline}
			if !offline {
				checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Origin: pkiURL})
				if err != nil {
					return fmt.Errorf("--pki-url: %w", err)
				}
				opts.Status = checker
			}
			v, err := envelope.NewVerifier(opts)
			if err != nil {
				return err
			}
			content, err := os.ReadFile(in)
			if err != nil {
				return err
			}
			signature, err := os.ReadFile(sig)
			if err != nil {
				return err
			}
			res, err := v.Verify(cmd.Context(), content, signature, envelope.Expect{Purpose: p, IIN: iin})
			if err != nil {
				if ru, _, ok := envelope.Refusal(err); ok {
					fmt.Fprintf(stdout, "FAILED %s\n%s\n", envelope.CodeOf(err), ru)
				}
				return err
			}
			h := res.Holder
			fmt.Fprintf(stdout, "OK\nsigner   %s\n", envelope.SubjectString(res.Signer))
			if h.IIN != "" {
				fmt.Fprintf(stdout, "IIN      %s\n", h.IIN)
			}
			if h.BIN != "" {
				fmt.Fprintf(stdout, "BIN      %s\n", h.BIN)
			}
			if h.System {
				fmt.Fprintf(stdout, "system   %s (the node's system key: a fully automated result)\n", h.Name)
			}
			fmt.Fprintf(stdout, "signed   %s\nvalid    %s – %s\nstatus   ", res.SigningTime.Format(time.RFC3339),
				res.Signer.NotBefore.Format(time.DateOnly), res.Signer.NotAfter.Format(time.DateOnly))
			if res.Status.Source == "none" {
				fmt.Fprintln(stdout, "not checked (--offline)")
			} else {
				fmt.Fprintf(stdout, "good (%s)\n", res.Status.Source)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "the signed file")
	cmd.Flags().StringVar(&sig, "sig", "", "its detached signature (.p7s, DER)")
	cmd.Flags().StringVar(&pkiURL, "pki-url", os.Getenv("EGOV_PKI_URL"), "ask НУЦ here (http://host:port) instead of the host in the certificate's OCSP and CRL URLs")
	cmd.Flags().StringVar(&caFile, "ca", "", "PEM file with НУЦ's root (default: ask the running НУЦ)")
	// The default takes every document the suite issues: a person's or civil servant's SIGN key, or the
	// provider node's system key on the result of a fully automated regulation (its certificate says which).
	cmd.Flags().StringVar(&purpose, "purpose", "issued", "issued (a SIGN key or a system key, as the certificate says), document (SIGN key only), envelope (system key only) or auth")
	cmd.Flags().StringVar(&iin, "iin", "", "the IIN the signer's certificate must carry")
	cmd.Flags().BoolVar(&offline, "offline", false, "skip the revocation check")
	t.flags(cmd)
	return cmd
}

// trustAnchors reads the root from --ca, or asks the running НУЦ for it.
func trustAnchors(cmd *cobra.Command, caFile string, t *target) ([]*x509.Certificate, error) {
	var pemBytes []byte
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pemBytes = b
	} else {
		resp, err := fetchCA(cmd.Context(), t)
		if err != nil {
			return nil, fmt.Errorf("no --ca, and the root could not be fetched from НУЦ: %w", err)
		}
		pemBytes = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: resp.GetRoot()})
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM certificate in the trust anchor")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{c}, nil
}
