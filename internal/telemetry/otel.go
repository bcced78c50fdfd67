package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Options chooses the exporters.
type Options struct {
	// ServiceName names the process in traces and metrics, e.g. "egov-shep".
	ServiceName string
	// Version of the binary.
	Version string
	// TraceExporter is "none", "stdout" or "otlp".
	TraceExporter string
	// MetricsExporter is "none", "stdout" or "otlp"; Prometheus is always on.
	MetricsExporter string
	// SampleRatio is the share of root traces recorded.
	SampleRatio float64
	// SpanProcessor, when set, also receives every span (tests record spans with it).
	SpanProcessor sdktrace.SpanProcessor
}

// Providers holds the process's tracer and meter providers and the Prometheus registry behind /metrics.
type Providers struct {
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	Registry       *prometheus.Registry
	Propagator     propagation.TextMapPropagator
}

// Setup builds the providers. It does not install them globally; call Install for that once per process.
func Setup(ctx context.Context, o Options) (*Providers, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(o.ServiceName), semconv.ServiceVersion(o.Version)))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	topts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	}
	switch o.TraceExporter {
	case "", "none":
	case "stdout":
		exp, err := stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
		if err != nil {
			return nil, fmt.Errorf("telemetry: stdout traces: %w", err)
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
	case "otlp":
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP traces: %w", err)
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
	default:
		return nil, fmt.Errorf("telemetry: unknown trace exporter %q (want none, stdout or otlp)", o.TraceExporter)
	}
	if o.SpanProcessor != nil {
		topts = append(topts, sdktrace.WithSpanProcessor(o.SpanProcessor))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus: %w", err)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	switch o.MetricsExporter {
	case "", "none":
	case "stdout":
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(os.Stderr))
		if err != nil {
			return nil, fmt.Errorf("telemetry: stdout metrics: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	case "otlp":
		exp, err := otlpmetricgrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP metrics: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	default:
		return nil, fmt.Errorf("telemetry: unknown metrics exporter %q (want none, stdout or otlp)", o.MetricsExporter)
	}

	return &Providers{
		TracerProvider: sdktrace.NewTracerProvider(topts...),
		MeterProvider:  sdkmetric.NewMeterProvider(mopts...),
		Registry:       reg,
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// Install makes the providers the process's global ones, for instrumentation libraries that use them.
func (p *Providers) Install() {
	otel.SetTracerProvider(p.TracerProvider)
	otel.SetMeterProvider(p.MeterProvider)
	otel.SetTextMapPropagator(p.Propagator)
}

// Tracer returns a named tracer.
func (p *Providers) Tracer(name string) trace.Tracer { return p.TracerProvider.Tracer(name) }

// Meter returns a named meter.
func (p *Providers) Meter(name string) metric.Meter { return p.MeterProvider.Meter(name) }

// MetricsHandler serves the Prometheus registry.
func (p *Providers) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(p.Registry, promhttp.HandlerOpts{})
}

// Shutdown flushes and stops both providers: the last step of an ordered shutdown.
func (p *Providers) Shutdown(ctx context.Context) error {
	return errors.Join(p.TracerProvider.Shutdown(ctx), p.MeterProvider.Shutdown(ctx))
}
