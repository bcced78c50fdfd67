package engine_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// TestMetricsByRegionAndService: one РШЭП process serves several regions and services, so its counters
// say which: a registration in Pavlodar (55) counts under region 55 and its passport's code.
func TestMetricsByRegionAndService(t *testing.T) {
	s := start(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	e, err := engine.New(engine.Options{Catalog: cat, Nodes: s.nodes, DB: s.db, Registries: engine.ShepRegistries{Nodes: s.nodes},
		Now: s.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Worker: "metered", Meter: mp.Meter("egov/rshep")})
	require.NoError(t, err)
	s.live.Store(e)

	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, id, "REGISTERED")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(t.Context(), &rm))
	var points []metricdata.DataPoint[int64]
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "egov.rshep.cases.registered" {
				points = m.Data.(metricdata.Sum[int64]).DataPoints
			}
		}
	}
	require.Len(t, points, 1)
	require.EqualValues(t, 1, points[0].Value)
	region, _ := points[0].Attributes.Value(attribute.Key("region"))
	service, _ := points[0].Attributes.Value(attribute.Key("service"))
	require.Equal(t, "55", region.AsString())
	require.Equal(t, "guardianship-certificate", service.AsString())
}
