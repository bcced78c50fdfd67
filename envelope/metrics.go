package envelope

import (
	"context"
	"errors"
	"time"

	otelattr "go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// checkMetrics count signature checks by outcome and time them. A nil meter records nothing: the
// package is also a library for the tools and other systems' gateways, which need not measure.
type checkMetrics struct {
	checks   metric.Int64Counter
	duration metric.Float64Histogram
}

func newCheckMetrics(m metric.Meter) (*checkMetrics, error) {
	if m == nil {
		return nil, nil
	}
	var err error
	cm := new(checkMetrics)
	if cm.checks, err = m.Int64Counter("egov.signature.checks", metric.WithUnit("{check}"),
		metric.WithDescription("Signature (envelope and CMS) verifications, by purpose and outcome (ok or the failure code)")); err != nil {
		return nil, err
	}
	if cm.duration, err = m.Float64Histogram("egov.signature.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to verify a signature, revocation check included, by purpose and outcome"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)); err != nil {
		return nil, err
	}
	return cm, nil
}

// Outcome is how a check ended as the metrics name it: "ok", or the failure's Code.
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return string(CodeOf(err))
}

func (cm *checkMetrics) record(ctx context.Context, p Purpose, err error, took time.Duration) {
	if cm == nil {
		return
	}
	attrs := metric.WithAttributes(otelattr.String("purpose", p.String()), otelattr.String("outcome", Outcome(err)))
	cm.checks.Add(ctx, 1, attrs)
	cm.duration.Record(ctx, took.Seconds(), attrs)
}

// statusMetrics count OCSP answers by status and the answers cache's hits and misses.
type statusMetrics struct {
	answers metric.Int64Counter
	cache   metric.Int64Counter
}

// The OCSP statuses the metrics name; "error" is no usable answer (unreachable, malformed, stale).
const (
	ocspGood    = "good"
	ocspRevoked = "revoked"
	ocspUnknown = "unknown"
	ocspError   = "error"
)

// errOCSPUnknown is the responder's "unknown": it does not know the certificate.
var errOCSPUnknown = errors.New("OCSP: the responder does not know the certificate")

func newStatusMetrics(m metric.Meter) (*statusMetrics, error) {
	if m == nil {
		return nil, nil
	}
	var err error
	sm := new(statusMetrics)
	if sm.answers, err = m.Int64Counter("egov.ocsp.answers", metric.WithUnit("{answer}"),
		metric.WithDescription("OCSP answers asked of НУЦ, by status (good, revoked, unknown, error)")); err != nil {
		return nil, err
	}
	if sm.cache, err = m.Int64Counter("egov.ocsp.cache", metric.WithUnit("{lookup}"),
		metric.WithDescription("Certificate status look-ups, by whether the OCSP answers cache had a fresh answer (hit, miss)")); err != nil {
		return nil, err
	}
	return sm, nil
}

func (sm *statusMetrics) answer(ctx context.Context, st CertStatus, err error) {
	if sm == nil {
		return
	}
	status := ocspGood
	switch {
	case errors.Is(err, errOCSPUnknown):
		status = ocspUnknown
	case err != nil:
		status = ocspError
	case st.Revoked:
		status = ocspRevoked
	}
	sm.answers.Add(ctx, 1, metric.WithAttributes(otelattr.String("status", status)))
}

func (sm *statusMetrics) lookup(ctx context.Context, hit bool) {
	if sm == nil {
		return
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	sm.cache.Add(ctx, 1, metric.WithAttributes(otelattr.String("result", result)))
}
