// Package telemetry sets up the three signals of every process: JSON logs (log/slog) with trace ids and
// IIN masking, OpenTelemetry traces, and metrics served to Prometheus.
package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"github.com/egov-suite/egov/internal/iin"
)

// NewLogger returns a JSON logger at level ("debug", "info", "warn", "error") that adds trace_id and
// span_id from the context and masks every 12-digit number (an IIN or a BIN) wherever it appears: in
// the message, in string, number, error and structured attribute values.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: maskAttr})
	return slog.New(traceHandler{h})
}

// traceHandler adds the span context of the record's context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

func maskAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Key == "trace_id" || a.Key == "span_id" {
		return a // hex identifiers; a run of twelve digits in them is no IIN
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); hasIIN(s) {
			a.Value = slog.StringValue(MaskIINs(s))
		}
	case slog.KindInt64:
		// Numbers are masked when they have twelve digits; IINs are kept as strings in the suite, so a
		// number with a leading zero is not expected here.
		if n := v.Int64(); n >= 1e11 && n < 1e12 {
			a.Value = slog.StringValue(MaskIINs(strconv.FormatInt(n, 10)))
		}
	case slog.KindUint64:
		if n := v.Uint64(); n >= 1e11 && n < 1e12 {
			a.Value = slog.StringValue(MaskIINs(strconv.FormatUint(n, 10)))
		}
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			b, err := json.Marshal(x)
			if err != nil {
				s = fmt.Sprint(x)
			} else {
				s = string(b)
			}
		}
		if hasIIN(s) {
			a.Value = slog.StringValue(MaskIINs(s))
		}
	default:
	}
	return a
}

// MaskIINs replaces every run of exactly twelve digits in s with its masked form ("90********23").
// Longer or shorter digit runs are left alone: they are not IINs.
func MaskIINs(s string) string {
	if !hasIIN(s) {
		return s
	}
	b := []byte(s)
	forEachRun(b, func(i int) { copy(b[i:i+iin.Len], iin.Mask(string(b[i:i+iin.Len]))) })
	return string(b)
}

func hasIIN(s string) bool {
	found := false
	forEachRun([]byte(s), func(int) { found = true })
	return found
}

// forEachRun calls f with the start of every maximal run of exactly twelve ASCII digits.
func forEachRun(b []byte, f func(start int)) {
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i == iin.Len {
			f(i)
		}
		i = j
	}
}
