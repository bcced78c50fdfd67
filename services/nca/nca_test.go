package nca_test

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/apptest"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/natstest"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	ncav1 "github.com/egov-suite/egov/proto/egov/nca/v1"
	"github.com/egov-suite/egov/services/nca"
	"github.com/egov-suite/egov/services/nca/internal/authority"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type running struct {
	client ncav1.CertificateAuthorityServiceClient
	conn   *grpc.ClientConn
	rn     *apptest.Running
	admin  *mtls.Identity
	http   string
	dbURL  string
	cfg    nca.Config
	stop   func()
}

// start runs НУЦ the way egov runs it: app.Start on a real NATS, a real PostgreSQL and real sockets.
// Its client calls the admin listener as the operator's administrator.
func start(t *testing.T, dbURL string, cfg nca.Config) *running {
	t.Helper()
	rn, err := apptest.StartWith(t, apptest.Options{NATSURL: natstest.New(t).ClientURL(), DBURL: dbURL,
		Env: map[string]string{"EGOV_ADMIN_IINS": adminIIN, "EGOV_ADMIN_BIN": operatorBIN}}, nca.Descriptor(cfg))
	require.NoError(t, err)
	admin := issueBeside(t, dbURL, cfg, rn.Endpoints["nca"].HTTP, pki.Request{Profile: pki.Employee, Purpose: pki.Auth,
		Subject: pki.Subject{IIN: adminIIN, Surname: "Омарова", GivenName: "Жанар", Organization: "egov suite", BIN: operatorBIN}})
	conn := rn.DialAdmin(t, "nca", admin)
	return &running{client: ncav1.NewCertificateAuthorityServiceClient(conn), conn: rn.Dial(t, "nca", admin), rn: rn, admin: admin,
		http: rn.Endpoints["nca"].HTTP, dbURL: dbURL, cfg: cfg, stop: func() { require.NoError(t, rn.Stop()) }}
}

// The operator's administrator (the demo one's IIN) and the operator's BIN.
const (
	adminIIN    = "810109300001"
	operatorBIN = "990840000012"
)

// issueBeside issues a key from the running authority's store directly (as an operator would bootstrap
// the first administrator) and returns its TLS identity; httpBase is where its OCSP is asked.
func issueBeside(t *testing.T, dbURL string, cfg nca.Config, httpBase string, req pki.Request) *mtls.Identity {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), dbURL, "nca", 2)
	require.NoError(t, err)
	defer pool.Close()
	a, err := authority.Open(t.Context(), authority.Options{Pool: pool, Passphrase: cfg.KeyPassphrase.Value(), BaseURL: httpBase,
		OCSPValidity: time.Hour, CRLValidity: 24 * time.Hour, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	_, p12, err := a.Issue(t.Context(), authority.IssueRequest{Request: req, Algorithm: pki.ECDSAP256, Password: "secret1"})
	require.NoError(t, err)
	signer, err := envelope.LoadPKCS12(p12, "secret1")
	require.NoError(t, err)
	return mtls.FromSigner(signer, []*x509.Certificate{a.Root()}, nil)
}

func defaultConfig(t *testing.T) nca.Config {
	t.Helper()
	var c nca.Config
	require.NoError(t, config.Load(&c, map[string]string{}))
	return c
}

const asel = "880512400011"

func person(purpose ncav1.KeyPurpose) *ncav1.IssueCertificateRequest {
	return &ncav1.IssueCertificateRequest{
		Profile: ncav1.Profile_PROFILE_INDIVIDUAL, Purpose: purpose, Password: "secret1",
		Subject: &ncav1.Subject{Iin: asel, Surname: "Ахметова", GivenName: "Асель", Patronymic: "Маратовна"},
	}
}

func TestIssueProfiles(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	ctx := t.Context()

	hc, err := healthpb.NewHealthClient(n.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, hc.GetStatus())

	tests := []struct {
		name  string
		req   *ncav1.IssueCertificateRequest
		check func(t *testing.T, c *x509.Certificate)
	}{
		{name: "ok/individual sign", req: person(ncav1.KeyPurpose_KEY_PURPOSE_SIGNING), check: func(t *testing.T, c *x509.Certificate) {
			require.Equal(t, "IIN"+asel, c.Subject.SerialNumber)
			require.Equal(t, []string{"KZ"}, c.Subject.Country)
			require.Equal(t, "АХМЕТОВА АСЕЛЬ", c.Subject.CommonName)
			require.NotZero(t, c.KeyUsage&x509.KeyUsageContentCommitment)
			require.Contains(t, envelope.SubjectString(c), "GIVENNAME=МАРАТОВНА")
		}},
		{name: "ok/individual auth", req: person(ncav1.KeyPurpose_KEY_PURPOSE_AUTHENTICATION), check: func(t *testing.T, c *x509.Certificate) {
			require.Zero(t, c.KeyUsage&x509.KeyUsageContentCommitment)
			require.Contains(t, c.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		}},
		{name: "ok/employee RSA", req: &ncav1.IssueCertificateRequest{
			Profile: ncav1.Profile_PROFILE_EMPLOYEE, Purpose: ncav1.KeyPurpose_KEY_PURPOSE_SIGNING, Password: "secret1",
			Algorithm: ncav1.KeyAlgorithm_KEY_ALGORITHM_RSA_2048,
			Subject: &ncav1.Subject{Iin: "750723300016", Surname: "Касымов", GivenName: "Ерлан",
				Organization: "ГУ «Отдел образования города Павлодара»", Bin: "041240000016"},
		}, check: func(t *testing.T, c *x509.Certificate) {
			require.Equal(t, x509.RSA, c.PublicKeyAlgorithm)
			require.Equal(t, []string{"BIN041240000016"}, c.Subject.OrganizationalUnit)
			require.Equal(t, "041240000016", envelope.HolderOf(c).BIN)
		}},
		{name: "ok/system", req: &ncav1.IssueCertificateRequest{
			Profile: ncav1.Profile_PROFILE_SYSTEM, Password: "secret1", Subject: &ncav1.Subject{SystemId: "portal"},
		}, check: func(t *testing.T, c *x509.Certificate) {
			require.Equal(t, "portal", c.Subject.CommonName)
			require.Contains(t, c.DNSNames, "portal")
			require.True(t, envelope.HolderOf(c).System)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := n.client.IssueCertificate(ctx, tt.req)
			require.NoError(t, err)
			key, cert, chain, err := pkcs12.DecodeChain(resp.GetPkcs12(), "secret1")
			require.NoError(t, err)
			require.NotNil(t, key)
			require.Len(t, chain, 2, "intermediate and root travel in the key file")
			require.Equal(t, resp.GetCertificate().GetDer(), cert.Raw)
			require.Equal(t, []string{n.http + "/ocsp"}, cert.OCSPServer)
			require.Equal(t, []string{n.http + "/crl"}, cert.CRLDistributionPoints)
			require.NoError(t, cert.CheckSignatureFrom(chain[0]))
			tt.check(t, cert)

			_, err = envelope.LoadPKCS12(resp.GetPkcs12(), "wrong-password")
			require.ErrorIs(t, err, envelope.ErrPassword)
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	ctx := t.Context()
	bad := func(mut func(r *ncav1.IssueCertificateRequest)) *ncav1.IssueCertificateRequest {
		r := person(ncav1.KeyPurpose_KEY_PURPOSE_SIGNING)
		mut(r)
		return r
	}
	tests := map[string]*ncav1.IssueCertificateRequest{
		"fail/IIN check digit": bad(func(r *ncav1.IssueCertificateRequest) { r.Subject.Iin = "880512400012" }),
		"fail/IIN letters":     bad(func(r *ncav1.IssueCertificateRequest) { r.Subject.Iin = "88051240001A" }),
		"fail/short password":  bad(func(r *ncav1.IssueCertificateRequest) { r.Password = "123" }),
		"fail/no profile":      bad(func(r *ncav1.IssueCertificateRequest) { r.Profile = ncav1.Profile_PROFILE_UNSPECIFIED }),
		"fail/no purpose":      bad(func(r *ncav1.IssueCertificateRequest) { r.Purpose = ncav1.KeyPurpose_KEY_PURPOSE_UNSPECIFIED }),
		"fail/no name":         bad(func(r *ncav1.IssueCertificateRequest) { r.Subject.Surname = "" }),
		"fail/negative days":   bad(func(r *ncav1.IssueCertificateRequest) { r.ValidityDays = -1 }),
		"fail/employee no BIN": bad(func(r *ncav1.IssueCertificateRequest) { r.Profile = ncav1.Profile_PROFILE_EMPLOYEE }),
		"fail/system bad id":   {Profile: ncav1.Profile_PROFILE_SYSTEM, Password: "secret1", Subject: &ncav1.Subject{SystemId: "shep.in.>"}},
		"fail/nil subject":     {Profile: ncav1.Profile_PROFILE_INDIVIDUAL, Purpose: ncav1.KeyPurpose_KEY_PURPOSE_SIGNING, Password: "secret1"},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := n.client.IssueCertificate(ctx, req)
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		})
	}
	_, err := n.client.RevokeCertificate(ctx, &ncav1.RevokeCertificateRequest{Serial: "abcdef"})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = n.client.RevokeCertificate(ctx, &ncav1.RevokeCertificateRequest{Serial: "'; DROP TABLE certificates; --"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = n.client.RevokeCertificate(ctx, &ncav1.RevokeCertificateRequest{Serial: ""})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = n.client.ListCertificates(ctx, &ncav1.ListCertificatesRequest{PageToken: "not-a-token"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	for _, body := range [][]byte{nil, []byte("garbage"), {0x30, 0x03, 0x0a, 0x01}} {
		resp, err := http.Post(n.http+"/ocsp", "application/ocsp-request", bytes.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, []byte{0x30, 0x03, 0x0a, 0x01, 0x01}, b, "malformedRequest")
	}
}

func TestRevocationThroughOCSPAndCRL(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	ctx := t.Context()
	resp, err := n.client.IssueCertificate(ctx, person(ncav1.KeyPurpose_KEY_PURPOSE_SIGNING))
	require.NoError(t, err)
	signer, err := envelope.LoadPKCS12(resp.GetPkcs12(), "secret1")
	require.NoError(t, err)
	cas, err := n.client.GetCACertificates(ctx, &ncav1.GetCACertificatesRequest{})
	require.NoError(t, err)
	root, err := x509.ParseCertificate(cas.GetRoot())
	require.NoError(t, err)

	checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: time.Nanosecond})
	require.NoError(t, err)
	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{root}, Status: checker})
	require.NoError(t, err)
	doc := []byte("заявление")
	sig, err := signer.Sign(doc)
	require.NoError(t, err)
	res, err := v.Verify(ctx, doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: asel})
	require.NoError(t, err)
	require.Equal(t, "ocsp", res.Status.Source)

	openssl := opensslFiles(t, n, resp.GetCertificate().GetDer(), cas)
	require.Contains(t, openssl.ocsp(t), ": good")
	require.Contains(t, openssl.crl(t), "verify OK")

	_, err = n.client.RevokeCertificate(ctx, &ncav1.RevokeCertificateRequest{
		Serial: resp.GetCertificate().GetSerial(), Reason: ncav1.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE})
	require.NoError(t, err)
	_, err = n.client.RevokeCertificate(ctx, &ncav1.RevokeCertificateRequest{Serial: resp.GetCertificate().GetSerial()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))

	_, err = v.Verify(ctx, doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: asel})
	require.Equal(t, envelope.CodeRevoked, envelope.CodeOf(err), "%v", err)
	out := openssl.ocsp(t)
	require.Contains(t, out, ": revoked")
	require.Contains(t, out, "keyCompromise")

	// The CRL was re-signed in the revocation's transaction: it lists the serial at once.
	crlDER := get(t, n.http+"/crl")
	crl, err := x509.ParseRevocationList(crlDER)
	require.NoError(t, err)
	require.Len(t, crl.RevokedCertificateEntries, 1)
	require.Equal(t, signer.Cert.SerialNumber, crl.RevokedCertificateEntries[0].SerialNumber)
	require.Contains(t, openssl.crl(t), "verify OK")
}

func TestTimeStampVerifiesWithOpenSSL(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	cas, err := n.client.GetCACertificates(t.Context(), &ncav1.GetCACertificatesRequest{})
	require.NoError(t, err)
	files := opensslFiles(t, n, nil, cas)
	data := files.write(t, "data.txt", []byte("результат оказания услуги"))
	query := filepath.Join(files.dir, "q.tsq")
	run(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
	q, err := os.ReadFile(query)
	require.NoError(t, err)
	resp, err := http.Post(n.http+"/tsa", "application/timestamp-query", bytes.NewReader(q))
	require.NoError(t, err)
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", reply)
	tsr := files.write(t, "r.tsr", reply)
	out := run(t, "ts", "-verify", "-in", tsr, "-data", data, "-CAfile", files.chain)
	require.Contains(t, out, "Verification: OK")
}

// TestTimeStampRejections: a request the TSA refuses gets an RFC 3161 TimeStampResp with status
// rejection and the failure bit that names the fault (RFC 3161 §2.4.2), as application/timestamp-reply:
// digitorus/timestamp and openssl both read it.
func TestTimeStampRejections(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	query := func(t *testing.T, alg asn1.ObjectIdentifier, imprint []byte, policy asn1.ObjectIdentifier) []byte {
		t.Helper()
		type imprintASN1 struct {
			HashAlgorithm pkix.AlgorithmIdentifier
			HashedMessage []byte
		}
		req := struct {
			Version        int
			MessageImprint imprintASN1
			ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
		}{1, imprintASN1{pkix.AlgorithmIdentifier{Algorithm: alg, Parameters: asn1.NullRawValue}, imprint}, policy}
		b, err := asn1.Marshal(req)
		require.NoError(t, err)
		return b
	}
	sha256OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	digest := make([]byte, 32)
	tests := []struct {
		name, method, ctype string
		body                []byte
		httpStatus          int
		failure             timestamp.FailureInfo
		openssl             string
	}{
		{"fail/garbage body", http.MethodPost, "application/timestamp-query", []byte("garbage"), http.StatusBadRequest,
			timestamp.BadDataFormat, "the data submitted has the wrong format"},
		{"fail/wrong content type", http.MethodPost, "text/plain", query(t, sha256OID, digest, nil), http.StatusUnsupportedMediaType,
			timestamp.BadRequest, "transaction not permitted or supported"},
		{"fail/GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed, timestamp.BadRequest, "transaction not permitted or supported"},
		{"fail/unknown hash algorithm", http.MethodPost, "application/timestamp-query", query(t, asn1.ObjectIdentifier{1, 2, 3, 4}, digest, nil),
			http.StatusBadRequest, timestamp.BadAlgorithm, "unrecognized or unsupported algorithm identifier"},
		{"fail/SHA-1", http.MethodPost, "application/timestamp-query", query(t, asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, digest[:20], nil),
			http.StatusBadRequest, timestamp.BadAlgorithm, "unrecognized or unsupported algorithm identifier"},
		{"fail/imprint of the wrong length", http.MethodPost, "application/timestamp-query", query(t, sha256OID, digest[:20], nil),
			http.StatusBadRequest, timestamp.BadDataFormat, "the data submitted has the wrong format"},
		{"fail/another policy", http.MethodPost, "application/timestamp-query", query(t, sha256OID, digest, asn1.ObjectIdentifier{1, 2, 3}),
			http.StatusBadRequest, timestamp.UnacceptedPolicy, "the requested TSA policy is not supported by the TSA"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, n.http+"/tsa", bytes.NewReader(tt.body))
			require.NoError(t, err)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			reply, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, tt.httpStatus, resp.StatusCode)
			require.Equal(t, "application/timestamp-reply", resp.Header.Get("Content-Type"))

			_, err = timestamp.ParseResponse(reply)
			require.ErrorContains(t, err, "the request is rejected")
			require.ErrorContains(t, err, tt.failure.String())

			tsr := filepath.Join(dir, fmt.Sprintf("%d.tsr", i))
			require.NoError(t, os.WriteFile(tsr, reply, 0o600))
			out := run(t, "ts", "-reply", "-in", tsr, "-text")
			require.Contains(t, out, "Status: Rejected.")
			require.Contains(t, out, "Failure info: "+tt.openssl)
		})
	}
}

func TestKeysPersistAndSeal(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	cfg := defaultConfig(t)
	cfg.KeyPassphrase = "correct horse"
	first := start(t, url, cfg)
	a, err := first.client.GetCACertificates(t.Context(), &ncav1.GetCACertificatesRequest{})
	require.NoError(t, err)
	first.stop()

	second := start(t, url, cfg)
	b, err := second.client.GetCACertificates(t.Context(), &ncav1.GetCACertificatesRequest{})
	require.NoError(t, err)
	require.Equal(t, a.GetRoot(), b.GetRoot(), "the root survives a restart")
	second.stop()

	// A wrong passphrase stops start-up with a clear message.
	cfg.KeyPassphrase = "wrong"
	_, err = apptest.Start(t, natstest.New(t).ClientURL(), url, nca.Descriptor(cfg))
	require.ErrorContains(t, err, "EGOV_NCA_KEY_PASSPHRASE")
}

func TestListPages(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	for range 5 {
		_, err := n.client.IssueCertificate(t.Context(), person(ncav1.KeyPurpose_KEY_PURPOSE_AUTHENTICATION))
		require.NoError(t, err)
	}
	seen := map[string]bool{}
	tok := ""
	for pages := 0; ; pages++ {
		resp, err := n.client.ListCertificates(t.Context(), &ncav1.ListCertificatesRequest{Iin: asel, PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		for _, c := range resp.GetCertificates() {
			require.False(t, seen[c.GetSerial()], "a certificate on two pages")
			require.Empty(t, c.GetDer(), "lists carry no DER")
			seen[c.GetSerial()] = true
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			require.Equal(t, 2, pages)
			break
		}
	}
	require.Len(t, seen, 5)
}

type files struct {
	dir, root, chain, cert, issuer string
	n                              *running
}

func opensslFiles(t *testing.T, n *running, certDER []byte, cas *ncav1.GetCACertificatesResponse) *files {
	t.Helper()
	f := &files{dir: t.TempDir(), n: n}
	pemOf := func(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }
	f.root = f.write(t, "root.pem", pemOf(cas.GetRoot()))
	f.issuer = f.write(t, "inter.pem", pemOf(cas.GetIntermediate()))
	f.chain = f.write(t, "chain.pem", append(pemOf(cas.GetIntermediate()), pemOf(cas.GetRoot())...))
	if certDER != nil {
		f.cert = f.write(t, "cert.pem", pemOf(certDER))
	}
	return f
}

func (f *files) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// ocsp asks with openssl ocsp (which sends a nonce and checks it comes back).
func (f *files) ocsp(t *testing.T) string {
	t.Helper()
	return run(t, "ocsp", "-issuer", f.issuer, "-cert", f.cert, "-url", f.n.http+"/ocsp", "-CAfile", f.root, "-resp_text")
}

func (f *files) crl(t *testing.T) string {
	t.Helper()
	p := f.write(t, "crl.der", get(t, f.n.http+"/crl"))
	return run(t, "crl", "-inform", "DER", "-in", p, "-CAfile", f.chain, "-noout")
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed (apt-get install openssl)")
	out, err := exec.CommandContext(t.Context(), openssl, args...).CombinedOutput()
	require.NoError(t, err, "openssl %v: %s", args, out)
	require.NotContains(t, string(out), "WARNING: no nonce in response")
	return string(out)
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// TestAdminListener: issuing and revoking answer an administrator only, on the admin listener; the
// participants' listener has nothing but health.
func TestAdminListener(t *testing.T) {
	t.Parallel()
	n := start(t, pgtest.URL(t), defaultConfig(t))
	portal := issueBeside(t, n.dbURL, n.cfg, n.http, pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: "portal"}})
	anonymous := &mtls.Identity{Roots: n.admin.Roots}
	issue := func(conn *grpc.ClientConn) error {
		_, err := ncav1.NewCertificateAuthorityServiceClient(conn).IssueCertificate(t.Context(), person(ncav1.KeyPurpose_KEY_PURPOSE_SIGNING))
		return err
	}
	tests := []struct {
		name string
		conn *grpc.ClientConn
		code codes.Code
		msg  string
	}{
		{name: "ok/the administrator issues", conn: n.rn.DialAdmin(t, "nca", n.admin)},
		{name: "fail/issue without a client certificate", conn: n.rn.DialAdmin(t, "nca", anonymous), code: codes.Unauthenticated,
			msg: "no client certificate"},
		{name: "fail/issue with a participant's certificate", conn: n.rn.DialAdmin(t, "nca", portal), code: codes.PermissionDenied,
			msg: "portal presents a system certificate"},
		{name: "fail/issue on the participants' listener", conn: n.rn.Dial(t, "nca", portal), code: codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := issue(tt.conn)
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.msg)
		})
	}
}

// TestInternalTLSOff: EGOV_INTERNAL_TLS=off (kept to measure what TLS costs) serves the admin API in
// plaintext; with TLS on, the same plaintext call is refused.
func TestInternalTLSOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tls  string
		code codes.Code
	}{
		{name: "ok/plaintext with TLS off", tls: "off"},
		{name: "fail/plaintext with TLS on", tls: "on", code: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rn, err := apptest.StartWith(t, apptest.Options{NATSURL: natstest.New(t).ClientURL(), DBURL: pgtest.URL(t),
				Env: map[string]string{"EGOV_INTERNAL_TLS": tt.tls}}, nca.Descriptor(defaultConfig(t)))
			require.NoError(t, err)
			conn, err := grpc.NewClient(rn.Endpoints["nca"].Admin, mtls.Transport{Off: true}.Dial(nil, "nca"))
			require.NoError(t, err)
			defer conn.Close()
			_, err = ncav1.NewCertificateAuthorityServiceClient(conn).GetCACertificates(t.Context(), &ncav1.GetCACertificatesRequest{})
			require.Equal(t, tt.code, status.Code(err), "%v", err)
		})
	}
}
