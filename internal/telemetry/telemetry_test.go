package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/egov-suite/egov/internal/telemetry"
)

type applicant struct {
	IIN  string `json:"iin"`
	Name string `json:"name"`
}

type iinStringer string

func (s iinStringer) String() string { return "holder " + string(s) }

func TestLoggerMasksIINs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, "debug")
	const whole = "900101300126"
	log.Info("application from "+whole,
		"iin", whole,
		"n", int64(900101300126),
		"u", uint64(900101300126),
		"err", errors.New("person "+whole+" not found"),
		"person", applicant{IIN: whole, Name: "Асель"},
		"who", iinStringer(whole),
		"group", map[string]string{"child": whole},
		"card", "1234567890123456", // sixteen digits: not an IIN, left alone
	)
	log.With("principal", whole).WithGroup("g").Debug("x", "rep", whole)

	out := buf.String()
	require.NotContains(t, out, whole)
	require.Contains(t, out, "90********26")
	require.Contains(t, out, "1234567890123456")
	require.Equal(t, 2, strings.Count(out, "\n"))
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
	}
}

func TestMaskIINs(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                            "",
		"no digits":                   "no digits",
		"900101300126":                "90********26",
		"a900101300126b 050505600001": "a90********26b 05********01",
		"9001013001261":               "9001013001261",
		"90010130012":                 "90010130012",
		"ИИН:900101300126, БИН 120340000011": "ИИН:90********26, БИН 12********11",
	}
	for in, want := range tests {
		require.Equal(t, want, telemetry.MaskIINs(in), in)
	}
}

func TestLoggerAddsTraceIDs(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	// Ids whose hex holds a run of twelve digits are kept whole (they once were masked as IINs).
	tid, err := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	require.NoError(t, err)
	sid, err := trace.SpanIDFromHex("869b660148273395")
	require.NoError(t, err)
	parent := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	var pbuf bytes.Buffer
	telemetry.NewLogger(&pbuf, "info").InfoContext(parent, "hello")
	var pm map[string]string
	require.NoError(t, json.Unmarshal(pbuf.Bytes(), &pm))
	require.Equal(t, "869b660148273395", pm["span_id"])

	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	var buf bytes.Buffer
	telemetry.NewLogger(&buf, "info").InfoContext(ctx, "hello")
	span.End()

	var m map[string]string
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	require.Equal(t, span.SpanContext().TraceID().String(), m["trace_id"])
	require.Equal(t, span.SpanContext().SpanID().String(), m["span_id"])
}

func TestSetupServesMetrics(t *testing.T) {
	t.Parallel()
	p, err := telemetry.Setup(t.Context(), telemetry.Options{ServiceName: "egov-test", SampleRatio: 1})
	require.NoError(t, err)
	counter, err := p.Meter("test").Int64Counter("egov.test.things")
	require.NoError(t, err)
	counter.Add(t.Context(), 3)

	rr := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, 200, rr.Code)
	require.Contains(t, rr.Body.String(), "egov_test_things_total")
	require.Contains(t, rr.Body.String(), "go_goroutines")
	require.NoError(t, p.Shutdown(t.Context()))

	_, err = telemetry.Setup(t.Context(), telemetry.Options{TraceExporter: "jaeger"})
	require.ErrorContains(t, err, "jaeger")
}
