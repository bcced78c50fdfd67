// Package participant sets a system of the suite up as a ШЭП participant: its system key, the trust
// anchors it verifies with, and the shepsdk.Client built from them. In the dev mode the key and the
// root come from the demo files НУЦ seeded.
package participant

import (
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/config"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/shepsdk"
)

// Config locates a participant's key and trust anchors. Services embed it with their own env prefix.
type Config struct {
	// KeyFile is the PKCS#12 system key.
	KeyFile string `env:"KEY_FILE"`
	// KeyPassword opens it.
	KeyPassword config.Secret `env:"KEY_PASSWORD"`
	// TrustAnchors is a PEM file with НУЦ's root certificate(s).
	TrustAnchors string `env:"TRUST_ANCHORS"`
	// OCSPFreshness bounds the reuse of certificate status answers.
	OCSPFreshness time.Duration `env:"OCSP_FRESHNESS" envDefault:"5m"`
	// StatusOrigin replaces the origin of the certificates' OCSP and CRL URLs (EGOV_PKI_URL, the
	// platform's; see envelope.RevocationOptions.Origin).
	StatusOrigin string
	// Meter, when set, measures the participant's signature checks and OCSP answers (For sets the
	// platform's, scoped egov/<id>).
	Meter metric.Meter
}

// For fills what is unset from the platform: the dev mode's demo files for participant id and the
// certificate status origin.
func (c Config) For(env *app.Env, id string) Config {
	c = c.WithDevDefaults(env.DevDir, id)
	if c.StatusOrigin == "" {
		c.StatusOrigin = env.PKIURL
	}
	if c.Meter == nil && env.Telemetry != nil {
		c.Meter = env.Telemetry.Meter("egov/" + id)
	}
	return c
}

// WithDevDefaults fills what is unset from the dev mode's demo files for participant id.
func (c Config) WithDevDefaults(devDir, id string) Config {
	if devDir == "" {
		return c
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(devDir, "keys", "system-"+id+".p12")
		c.KeyPassword = demo.Password
	}
	if c.TrustAnchors == "" {
		c.TrustAnchors = filepath.Join(devDir, "keys", "root.pem")
	}
	if c.OCSPFreshness == 0 {
		c.OCSPFreshness = 5 * time.Minute
	}
	return c
}

// Identity opens the system key of participant id (it must be a system certificate whose CN is id) and
// the trust anchors.
func (c Config) Identity(id string) (*envelope.Signer, []*x509.Certificate, error) {
	if c.KeyFile == "" || c.TrustAnchors == "" {
		return nil, nil, errors.New("the participant's key file and trust anchors are required (egov dev sets them)")
	}
	return shepsdk.LoadIdentity(id, c.KeyFile, c.KeyPassword.Value(), c.TrustAnchors)
}

// Load opens the identity and returns a client for participant id (its Sync and Bus are the caller's
// to set), verifying with the trust anchors and revocation checks.
func (c Config) Load(id string, now func() time.Time) (*shepsdk.Client, error) {
	client, _, err := c.LoadTLS(id, now)
	return client, err
}

// LoadTLS is Load that also returns the participant's side of mutual TLS: the same key and anchors,
// and the same revocation checker (one cache for envelopes and TLS peers).
func (c Config) LoadTLS(id string, now func() time.Time) (*shepsdk.Client, *mtls.Identity, error) {
	signer, roots, err := c.Identity(id)
	if err != nil {
		return nil, nil, err
	}
	signer.Now = now
	checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: c.OCSPFreshness, Now: now, Origin: c.StatusOrigin, Meter: c.Meter})
	if err != nil {
		return nil, nil, err
	}
	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: roots, Status: checker, Now: now, Meter: c.Meter})
	if err != nil {
		return nil, nil, err
	}
	return &shepsdk.Client{ID: id, Signer: signer, Verifier: v, Roots: roots, Status: checker, Now: now}, mtls.FromSigner(signer, roots, checker), nil
}

// Registry chooses where a registry's records come from: the suite's stub, or a remote endpoint (the
// real registry or a team's adapter) speaking the same contract. Registries embed it with their prefix.
type Registry struct {
	// Source is "postgres" (the stub) or "remote".
	Source string `env:"SOURCE" envDefault:"postgres"`
	// RemoteTarget is the host:port of the remote endpoint.
	RemoteTarget string `env:"REMOTE_TARGET"`
	// RemoteCAFile is a PEM file of the CA(s) of the remote endpoint's TLS certificate; set, the
	// connection is TLS and presents the registry's own system key as its client certificate. Empty:
	// plaintext, for an adapter on the same host only.
	RemoteCAFile string `env:"REMOTE_CA_FILE"`
	// RemoteServerName is the name the remote endpoint's certificate must carry (default: its host).
	RemoteServerName string `env:"REMOTE_SERVER_NAME"`
}

// Validate checks the choice; prefix names the variables in the message (e.g. "EGOV_GBDFL_").
func (r Registry) Validate(prefix string) error {
	switch r.Source {
	case "postgres":
		return nil
	case "remote":
		if r.RemoteTarget == "" {
			return fmt.Errorf("%sSOURCE=remote needs %sREMOTE_TARGET", prefix, prefix)
		}
		return nil
	default:
		return fmt.Errorf("%sSOURCE=%q: want postgres or remote", prefix, r.Source)
	}
}

// Remote reports whether records come from the remote endpoint.
func (r Registry) Remote() bool { return r.Source == "remote" }

// Dial opens the connection to the remote endpoint, presenting own's certificate over TLS when
// RemoteCAFile is set; prefix names the variables in the error.
func (r Registry) Dial(prefix string, own *mtls.Identity) (*grpc.ClientConn, error) {
	if r.RemoteCAFile == "" && !mtls.OnThisHost(r.RemoteTarget) {
		// A registry's records are personal data: they cross a network only inside TLS.
		return nil, fmt.Errorf("%sREMOTE_TARGET=%s is not on this host: set %sREMOTE_CA_FILE (and %sREMOTE_SERVER_NAME) to reach it over TLS; "+
			"plaintext is only for an adapter on the same host", prefix, r.RemoteTarget, prefix, prefix)
	}
	remote := mtls.Remote{CAFile: r.RemoteCAFile, ServerName: r.RemoteServerName}
	if own != nil && len(own.Cert.Certificate) > 0 {
		remote.Client = &own.Cert
	}
	creds, err := remote.Dial()
	if err != nil {
		return nil, fmt.Errorf("%sREMOTE_CA_FILE: %w", prefix, err)
	}
	conn, err := grpc.NewClient(r.RemoteTarget, creds)
	if err != nil {
		return nil, fmt.Errorf("%sREMOTE_TARGET: %w", prefix, err)
	}
	return conn, nil
}
