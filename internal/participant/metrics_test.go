package participant_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/app"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/participant"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/internal/telemetry"
)

// TestForMeasuresTheParticipantsChecks: a participant set up through For (the channels, РШЭП, the
// registries) counts its signature checks and OCSP answers on the platform's meter, under its own scope.
func TestForMeasuresTheParticipantsChecks(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	dir := t.TempDir()
	sys := ca.System(t, "portal")
	p12, err := pki.PKCS12(sys.Key, sys.Cert, sys.Chain, "secret")
	require.NoError(t, err)
	keyFile, anchors := filepath.Join(dir, "portal.p12"), filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(keyFile, p12, 0o600))
	require.NoError(t, os.WriteFile(anchors, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}), 0o600))
	reader := sdkmetric.NewManualReader()
	env := &app.Env{Telemetry: &telemetry.Providers{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}}

	client, _, err := participant.Config{KeyFile: keyFile, KeyPassword: "secret", TrustAnchors: anchors}.For(env, "portal").LoadTLS("portal", time.Now)
	require.NoError(t, err)
	doc := []byte("document")
	sig, err := ca.Person(t, "900101300126", pki.Sign).Sign(doc)
	require.NoError(t, err)
	_, err = client.Verifier.Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.NoError(t, err)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(t.Context(), &rm))
	got := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || len(sum.DataPoints) != 1 {
				continue
			}
			key := "outcome"
			if m.Name == "egov.ocsp.answers" {
				key = "status"
			}
			v, _ := sum.DataPoints[0].Attributes.Value(attribute.Key(key))
			got[sm.Scope.Name+" "+m.Name] = v.AsString()
		}
	}
	require.Equal(t, "ok", got["egov/portal egov.signature.checks"])
	require.Equal(t, "good", got["egov/portal egov.ocsp.answers"])
}
