package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/egov-suite/egov/internal/iin"
)

// Platform is the configuration every process of the suite shares: where NATS and PostgreSQL are, how
// to log and export telemetry, and how long shutdown may take.
type Platform struct {
	// NATSURL is the NATS server (or cluster seed) URL.
	NATSURL string `env:"EGOV_NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	// NATSUser and NATSPassword, or NATSCreds (a NATS credentials file), are the NATS administrator's:
	// egov nats provision uses them to create the streams and buckets, and egov dev to run its own server. Each service connects with its own
	// restricted user (EGOV_<SERVICE>_NATS_USER and _PASSWORD, or _CREDS); one without falls back to these.
	NATSUser     string `env:"EGOV_NATS_USER"`
	NATSPassword Secret `env:"EGOV_NATS_PASSWORD"`
	NATSCreds    string `env:"EGOV_NATS_CREDS"`
	// NATSCA verifies the NATS server's TLS certificate; NATSCert and NATSKey are the client certificate
	// when the server asks for one.
	NATSCA   string `env:"EGOV_NATS_CA"`
	NATSCert string `env:"EGOV_NATS_CERT"`
	NATSKey  string `env:"EGOV_NATS_KEY"`
	// DatabaseURL is the PostgreSQL URL; each service keeps to its own schema.
	DatabaseURL URL `env:"DATABASE_URL"`
	// DatabaseMaxConns bounds each service's pool.
	DatabaseMaxConns int32 `env:"EGOV_DATABASE_MAX_CONNS" envDefault:"10"`

	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"EGOV_LOG_LEVEL" envDefault:"info"`

	// TraceExporter is none, stdout or otlp (OTLP over gRPC; the endpoint comes from the standard
	// OTEL_EXPORTER_OTLP_ENDPOINT variable).
	TraceExporter string `env:"EGOV_TRACE_EXPORTER" envDefault:"none"`
	// MetricsExporter is none, stdout or otlp; Prometheus is always served on each service's /metrics.
	MetricsExporter string `env:"EGOV_METRICS_EXPORTER" envDefault:"none"`
	// TraceSampleRatio is the share of new traces recorded, 0 to 1; child spans follow their parent.
	TraceSampleRatio float64 `env:"EGOV_TRACE_SAMPLE_RATIO" envDefault:"1"`

	// ShutdownTimeout bounds the whole ordered shutdown.
	ShutdownTimeout time.Duration `env:"EGOV_SHUTDOWN_TIMEOUT" envDefault:"15s"`

	// SignerURL is where the web pages reach NCALayer on the user's own machine (the WebSocket of
	// NCALayer or `egov ncalayer`); it is written into the pages and their Content-Security-Policy.
	SignerURL string `env:"EGOV_NCALAYER_URL" envDefault:"ws://127.0.0.1:13579/"`

	// PKIURL is НУЦ's HTTP origin (http://host:port) for certificate status: when set, every OCSP
	// request and CRL download goes there, keeping the path of the URL written in the certificate, as
	// when a cluster reaches НУЦ by its own service name or through a mirror. Empty: the certificates'
	// own URLs; the dev mode (and `egov run --dev-dir`) use their НУЦ's current address, so that keys
	// issued in an earlier run on other ports stay checkable.
	PKIURL string `env:"EGOV_PKI_URL"`

	// InternalTLS is "on" (mutual TLS on every gRPC hop between systems, certificates from НУЦ) or
	// "off", only to measure what TLS costs: it is logged as a warning.
	InternalTLS string `env:"EGOV_INTERNAL_TLS" envDefault:"on"`
	// AdminIINs are the administrators allowed on the admin listeners (ШЭП's registry, НУЦ's
	// issue/revoke), by the IIN of their employee certificate; empty refuses everyone. The dev mode
	// (and egov run --dev-dir) uses the demo administrator.
	AdminIINs []string `env:"EGOV_ADMIN_IINS"`
	// AdminBIN is the operator's organisation, which the administrators' certificates must name.
	AdminBIN string `env:"EGOV_ADMIN_BIN"`

	// SMTP is the mail server through which the services e-mail results (internal/mail); the dev mode
	// runs its own when EGOV_SMTP_ADDR is not set.
	SMTP SMTP
}

// SMTP is how a service reaches its mail server.
type SMTP struct {
	// Addr is the SMTP server (host:port); empty turns e-mail delivery off.
	Addr string `env:"EGOV_SMTP_ADDR"`
	// From is the sender of every message («Name <address>» or an address).
	From string `env:"EGOV_SMTP_FROM" envDefault:"egov <noreply@egov.localhost>"`
	// User and Password authenticate (AUTH PLAIN), only over TLS or to a server on this machine.
	User     string `env:"EGOV_SMTP_USER"`
	Password Secret `env:"EGOV_SMTP_PASSWORD"`
	// CAFile is a PEM file of the authorities the server's certificate is checked against after
	// STARTTLS; the system's roots when empty.
	CAFile string `env:"EGOV_SMTP_CA_FILE"`
	// AllowPlain lets a server on another machine take mail without STARTTLS (a relay inside the
	// cluster's own network). Off: such a server is refused, since every message carries personal data.
	AllowPlain bool `env:"EGOV_SMTP_ALLOW_PLAIN"`
}

// Validate checks the values that the environment parser cannot.
func (p Platform) Validate() error {
	var errs []error
	if p.NATSURL == "" {
		errs = append(errs, errors.New("EGOV_NATS_URL must not be empty"))
	}
	if (p.NATSCert == "") != (p.NATSKey == "") {
		errs = append(errs, errors.New("EGOV_NATS_CERT and EGOV_NATS_KEY go together: set both or neither"))
	}
	switch p.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("EGOV_LOG_LEVEL=%q: want debug, info, warn or error", p.LogLevel))
	}
	for name, v := range map[string]string{"EGOV_TRACE_EXPORTER": p.TraceExporter, "EGOV_METRICS_EXPORTER": p.MetricsExporter} {
		switch v {
		case "none", "stdout", "otlp":
		default:
			errs = append(errs, fmt.Errorf("%s=%q: want none, stdout or otlp", name, v))
		}
	}
	if p.TraceSampleRatio < 0 || p.TraceSampleRatio > 1 {
		errs = append(errs, fmt.Errorf("EGOV_TRACE_SAMPLE_RATIO=%v: want a number from 0 to 1", p.TraceSampleRatio))
	}
	if p.DatabaseMaxConns < 1 {
		errs = append(errs, fmt.Errorf("EGOV_DATABASE_MAX_CONNS=%d: want at least 1", p.DatabaseMaxConns))
	}
	for _, v := range p.AdminIINs {
		if !iin.Valid(v) {
			errs = append(errs, fmt.Errorf("EGOV_ADMIN_IINS: %q is not a valid IIN (12 digits with its check digit, comma-separated, no spaces)", v))
		}
	}
	if p.AdminBIN != "" && !iin.Valid(p.AdminBIN) {
		errs = append(errs, fmt.Errorf("EGOV_ADMIN_BIN=%q is not a valid BIN", p.AdminBIN))
	}
	if len(p.AdminIINs) > 0 && p.AdminBIN == "" {
		// An IIN alone would admit that person's employee certificate of any organisation.
		errs = append(errs, errors.New("EGOV_ADMIN_IINS needs EGOV_ADMIN_BIN: the operator's BIN, which the administrators' certificates must name"))
	}
	if p.InternalTLS != "on" && p.InternalTLS != "off" {
		errs = append(errs, fmt.Errorf("EGOV_INTERNAL_TLS=%q: want on or off", p.InternalTLS))
	}
	if p.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("EGOV_SHUTDOWN_TIMEOUT=%v: want a positive duration", p.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
