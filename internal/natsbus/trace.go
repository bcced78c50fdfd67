package natsbus

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/egov-suite/egov/shepsdk"
)

// Inject writes the trace context of ctx into h (traceparent, tracestate, baggage), using the
// process's global propagator.
func Inject(ctx context.Context, h nats.Header) { shepsdk.Inject(ctx, h) }

// Extract returns ctx carrying the trace context found in h.
func Extract(ctx context.Context, h nats.Header) context.Context { return shepsdk.Extract(ctx, h) }

// NewMsg returns a message for subject with the message id (for JetStream de-duplication) and the
// trace context of ctx in its headers.
func NewMsg(ctx context.Context, subject, msgID string, data []byte) *nats.Msg {
	return shepsdk.NewMsg(ctx, subject, msgID, data)
}

// TraceParent is ctx's trace context as a W3C traceparent value, for a row that a later publication
// (an outbox's) continues from; "" when ctx has none.
func TraceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, c)
	return c.Get("traceparent")
}

// WithTraceParent returns ctx continuing the trace of a stored traceparent value.
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
