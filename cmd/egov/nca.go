package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	ncav1 "github.com/egov-suite/egov/proto/egov/nca/v1"
)

// target is how a CLI command finds a service: --addr, or the dev mode's endpoints.json. The admin
// commands present an administrator's key (--p12) over mutual TLS.
type target struct {
	addr      string
	endpoints string
	p12       string
	password  string
	roots     string
	plaintext bool
}

func (t *target) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.addr, "addr", "", "the service's address (default: from --endpoints)")
	cmd.Flags().StringVar(&t.endpoints, "endpoints", ".egov/endpoints.json", "endpoints.json written by egov dev")
}

// adminFlags are the flags of a command of an admin API.
func (t *target) adminFlags(cmd *cobra.Command) {
	t.flags(cmd)
	cmd.Flags().StringVar(&t.p12, "p12", "", "the administrator's PKCS#12 key file (default: keys/admin.p12 beside --endpoints)")
	cmd.Flags().StringVar(&t.password, "p12-password", "", "its password (default: the demo password, with the dev folder's key)")
	cmd.Flags().StringVar(&t.roots, "trust-anchors", "", "PEM file of НУЦ's root (default: keys/root.pem beside --endpoints)")
	cmd.Flags().BoolVar(&t.plaintext, "plaintext", false, "dial without TLS (a suite run with EGOV_INTERNAL_TLS=off)")
}

// devEndpoints is what the CLI reads of endpoints.json.
type devEndpoints struct {
	Postgres string                       `json:"postgres"`
	Services map[string]map[string]string `json:"services"`
}

// read loads endpoints.json; why names what the caller wanted instead ("no --addr").
func (t *target) read(why string) (devEndpoints, error) {
	var eps devEndpoints
	b, err := os.ReadFile(t.endpoints)
	if err != nil {
		return eps, fmt.Errorf("%s, and %w (is egov dev running?)", why, err)
	}
	if err := json.Unmarshal(b, &eps); err != nil {
		return eps, fmt.Errorf("%s: %w", t.endpoints, err)
	}
	return eps, nil
}

func (t *target) resolve(service, kind string) (string, error) {
	if t.addr != "" {
		return t.addr, nil
	}
	eps, err := t.read("no --addr")
	if err != nil {
		return "", err
	}
	addr := eps.Services[service][kind]
	if addr == "" {
		return "", fmt.Errorf("%s names no %s endpoint for %s", t.endpoints, kind, service)
	}
	return addr, nil
}

// dial connects to service's admin listener as the administrator.
func (t *target) dial(service string) (*grpc.ClientConn, error) {
	addr, err := t.resolve(service, "admin")
	if err != nil {
		return nil, err
	}
	if t.plaintext {
		return grpc.NewClient(addr, mtls.Transport{Off: true}.Dial(nil, service))
	}
	keys := filepath.Join(filepath.Dir(t.endpoints), "keys")
	p12, password, roots := t.p12, t.password, t.roots
	if p12 == "" {
		p12 = filepath.Join(keys, demo.Admin.Slug+".p12")
		if password == "" {
			password = demo.Password
		}
	}
	if roots == "" {
		roots = filepath.Join(keys, "root.pem")
	}
	id, err := mtls.Admin(p12, password, roots)
	if err != nil {
		return nil, fmt.Errorf("%w (--p12, --p12-password, --trust-anchors)", err)
	}
	return grpc.NewClient(addr, mtls.Transport{}.Dial(id, service))
}

// grpcError turns a gRPC status into a plain message.
func grpcError(err error) error {
	if s, ok := status.FromError(err); ok {
		return fmt.Errorf("%s (%s)", s.Message(), s.Code())
	}
	return err
}

func ncaCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "nca", Short: "Talk to НУЦ, the certification authority: issue, revoke, list, root"}
	cmd.AddCommand(ncaIssue(stdout), ncaRevoke(stdout), ncaList(stdout), ncaRoot(stdout), ncaBootstrap(stdout))
	return cmd
}

func ncaIssue(stdout io.Writer) *cobra.Command {
	var t target
	var profile, purpose, alg, out, password string
	var subj ncav1.Subject
	var days int32
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a certificate and write its PKCS#12 key file",
		Example: `  egov nca issue --profile individual --purpose sign --iin 880512400011 --surname Ахметова --name Асель \
      --password secret1 --out asel-SIGN.p12
  egov nca issue --profile system --system-id portal --password secret1 --out portal.p12`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &ncav1.IssueCertificateRequest{Subject: &subj, Password: password, ValidityDays: days}
			switch profile {
			case "individual":
				req.Profile = ncav1.Profile_PROFILE_INDIVIDUAL
			case "employee":
				req.Profile = ncav1.Profile_PROFILE_EMPLOYEE
			case "system":
				req.Profile = ncav1.Profile_PROFILE_SYSTEM
			default:
				return fmt.Errorf("--profile %q: want individual, employee or system", profile)
			}
			switch purpose {
			case "auth":
				req.Purpose = ncav1.KeyPurpose_KEY_PURPOSE_AUTHENTICATION
			case "sign":
				req.Purpose = ncav1.KeyPurpose_KEY_PURPOSE_SIGNING
			case "":
			default:
				return fmt.Errorf("--purpose %q: want auth or sign", purpose)
			}
			switch alg {
			case "ecdsa-p256":
				req.Algorithm = ncav1.KeyAlgorithm_KEY_ALGORITHM_ECDSA_P256
			case "rsa-2048":
				req.Algorithm = ncav1.KeyAlgorithm_KEY_ALGORITHM_RSA_2048
			default:
				return fmt.Errorf("--algorithm %q: want ecdsa-p256 or rsa-2048", alg)
			}
			if out == "" {
				return errors.New("--out is required: where to write the key file")
			}
			conn, err := t.dial("nca")
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := ncav1.NewCertificateAuthorityServiceClient(conn).IssueCertificate(cmd.Context(), req)
			if err != nil {
				return grpcError(err)
			}
			if err := os.WriteFile(out, resp.GetPkcs12(), 0o600); err != nil {
				return err
			}
			c := resp.GetCertificate()
			fmt.Fprintf(stdout, "issued %s\nserial  %s\nvalid   %s – %s\nfile    %s\n", c.GetSubjectDn(), c.GetSerial(),
				c.GetNotBefore().AsTime().Format(time.DateOnly), c.GetNotAfter().AsTime().Format(time.DateOnly), out)
			return nil
		},
	}
	t.adminFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "individual", "individual, employee or system")
	f.StringVar(&purpose, "purpose", "", "auth or sign (a person's certificate)")
	f.StringVar(&alg, "algorithm", "ecdsa-p256", "ecdsa-p256 or rsa-2048")
	f.StringVar(&subj.Iin, "iin", "", "the person's IIN")
	f.StringVar(&subj.Surname, "surname", "", "surname")
	f.StringVar(&subj.GivenName, "name", "", "given name")
	f.StringVar(&subj.Patronymic, "patronymic", "", "patronymic")
	f.StringVar(&subj.Organization, "org", "", "organisation (employee, system)")
	f.StringVar(&subj.Bin, "bin", "", "organisation BIN (employee, system)")
	f.StringVar(&subj.SystemId, "system-id", "", "ШЭП participant id (system)")
	f.Int32Var(&days, "days", 0, "validity in days (default: the profile's)")
	f.StringVar(&password, "password", "", "password of the key file (at least 6 characters)")
	f.StringVar(&out, "out", "", "where to write the PKCS#12 key file")
	return cmd
}

var reasons = map[string]ncav1.RevocationReason{
	"unspecified":            ncav1.RevocationReason_REVOCATION_REASON_UNSPECIFIED,
	"key-compromise":         ncav1.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE,
	"ca-compromise":          ncav1.RevocationReason_REVOCATION_REASON_CA_COMPROMISE,
	"affiliation-changed":    ncav1.RevocationReason_REVOCATION_REASON_AFFILIATION_CHANGED,
	"superseded":             ncav1.RevocationReason_REVOCATION_REASON_SUPERSEDED,
	"cessation-of-operation": ncav1.RevocationReason_REVOCATION_REASON_CESSATION_OF_OPERATION,
	"certificate-hold":       ncav1.RevocationReason_REVOCATION_REASON_CERTIFICATE_HOLD,
}

func ncaRevoke(stdout io.Writer) *cobra.Command {
	var t target
	var serial, reason string
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a certificate by serial (OCSP and the CRL say so at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, ok := reasons[reason]
			if !ok {
				return fmt.Errorf("--reason %q: want one of unspecified, key-compromise, ca-compromise, affiliation-changed, superseded, cessation-of-operation, certificate-hold", reason)
			}
			conn, err := t.dial("nca")
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := ncav1.NewCertificateAuthorityServiceClient(conn).RevokeCertificate(cmd.Context(),
				&ncav1.RevokeCertificateRequest{Serial: serial, Reason: r})
			if err != nil {
				return grpcError(err)
			}
			c := resp.GetCertificate()
			fmt.Fprintf(stdout, "revoked %s (%s) at %s\n", c.GetSerial(), c.GetSubjectDn(), c.GetRevokedAt().AsTime().Format(time.RFC3339))
			return nil
		},
	}
	t.adminFlags(cmd)
	cmd.Flags().StringVar(&serial, "serial", "", "serial number, hex")
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "RFC 5280 reason, e.g. key-compromise")
	return cmd
}

func ncaList(stdout io.Writer) *cobra.Command {
	var t target
	var iin string
	var size int32
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List issued certificates, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := t.dial("nca")
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := ncav1.NewCertificateAuthorityServiceClient(conn).ListCertificates(cmd.Context(),
				&ncav1.ListCertificatesRequest{Iin: iin, PageSize: size})
			if err != nil {
				return grpcError(err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tPROFILE\tPURPOSE\tSUBJECT\tVALID UNTIL\tSTATUS")
			for _, c := range resp.GetCertificates() {
				st := "valid"
				if c.GetRevokedAt() != nil {
					st = "revoked " + c.GetRevokedAt().AsTime().Format(time.DateOnly)
				}
				purpose := strings.TrimPrefix(c.GetPurpose().String(), "KEY_PURPOSE_")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.GetSerial(), strings.TrimPrefix(c.GetProfile().String(), "PROFILE_"),
					purpose, c.GetSubjectDn(), c.GetNotAfter().AsTime().Format(time.DateOnly), st)
			}
			return tw.Flush()
		},
	}
	t.adminFlags(cmd)
	cmd.Flags().StringVar(&iin, "iin", "", "only this person's certificates")
	cmd.Flags().Int32Var(&size, "limit", 100, "at most this many")
	return cmd
}

func ncaRoot(stdout io.Writer) *cobra.Command {
	var t target
	var out string
	cmd := &cobra.Command{
		Use:   "root",
		Short: "Print (or write) the root and issuing CA certificates, PEM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := fetchCA(cmd.Context(), &t)
			if err != nil {
				return err
			}
			w := stdout
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if err := pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: resp.GetRoot()}); err != nil {
				return err
			}
			return pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: resp.GetIntermediate()})
		},
	}
	t.adminFlags(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// fetchCA asks the running НУЦ for its root and issuing certificates.
func fetchCA(ctx context.Context, t *target) (*ncav1.GetCACertificatesResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := t.dial("nca")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := ncav1.NewCertificateAuthorityServiceClient(conn).GetCACertificates(ctx, &ncav1.GetCACertificatesRequest{})
	if err != nil {
		return nil, grpcError(err)
	}
	return resp, nil
}
