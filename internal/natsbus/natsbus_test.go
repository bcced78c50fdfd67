package natsbus_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/natstest"
)

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMain(m *testing.M) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	m.Run()
}

func TestTopologyIsIdempotentAndChecked(t *testing.T) {
	t.Parallel()
	bus := natstest.Connect(t, natstest.New(t))
	topo := natsbus.DefaultTopology(1)
	require.NoError(t, topo.Apply(t.Context(), bus.JS), "applying twice must be a no-op")
	require.NoError(t, topo.Check(t.Context(), bus.JS))
	require.NoError(t, bus.Check(t.Context()))

	require.NoError(t, bus.JS.DeleteStream(t.Context(), natsbus.StreamDLQ))
	require.ErrorContains(t, topo.Check(t.Context(), bus.JS), natsbus.StreamDLQ)
}

func TestDuplicateMessageIDIsStoredOnce(t *testing.T) {
	t.Parallel()
	bus := natstest.Connect(t, natstest.New(t))
	ctx := t.Context()
	for range 3 {
		ack, err := bus.JS.PublishMsg(ctx, natsbus.NewMsg(ctx, natsbus.InSubject("portal"), "msg-1", []byte("x")))
		require.NoError(t, err)
		require.EqualValues(t, 1, ack.Sequence)
	}
	s, err := bus.JS.Stream(ctx, natsbus.StreamIn)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, info.State.Msgs)
}

func TestTraceContextCrossesNATS(t *testing.T) {
	t.Parallel()
	bus := natstest.Connect(t, natstest.New(t))
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(t.Context(), "send")
	defer span.End()

	_, err := bus.JS.PublishMsg(ctx, natsbus.NewMsg(ctx, natsbus.OutSubject("rshep-55", "guardianship"), "m", []byte("x")))
	require.NoError(t, err)

	cons, err := bus.JS.CreateOrUpdateConsumer(t.Context(), natsbus.StreamOut, natsbus.RecipientConsumer("rshep-55", natsbus.DefaultRedelivery))
	require.NoError(t, err)
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	got := trace.SpanContextFromContext(natsbus.Extract(context.Background(), msg.Headers()))
	require.Equal(t, span.SpanContext().TraceID(), got.TraceID())
	require.Equal(t, span.SpanContext().SpanID(), got.SpanID())
	require.NoError(t, msg.Ack())
}

func TestDrainClosesConnection(t *testing.T) {
	t.Parallel()
	bus := natstest.Connect(t, natstest.New(t))
	require.NoError(t, bus.Drain(t.Context()))
	require.True(t, bus.Conn.IsClosed())
	require.Error(t, bus.Check(t.Context()))
	require.NoError(t, bus.Drain(t.Context()), "draining a closed connection is a no-op")
}

func TestValidToken(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"portal", "rshep-55", "GBDFL_PERSON"} {
		require.NoError(t, natsbus.ValidToken(ok), ok)
	}
	for _, bad := range []string{"", "a.b", "a*", ">", "a b", string(make([]byte, 65))} {
		require.Error(t, natsbus.ValidToken(bad), bad)
	}
}
