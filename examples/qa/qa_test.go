// Package qa is a QA team's end-to-end test, written with the suite's public kit (qakit): it starts the
// suite, or attaches to the one EGOV_ENDPOINTS names, and has the citizen apply on the portal.
package qa_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/qakit"
	"github.com/egov-suite/egov/qakit/qakittest"
)

func TestGuardianshipCertificate(t *testing.T) {
	ctx, suite := t.Context(), qakittest.Suite(t)
	asel, err := suite.Citizen(ctx, qakit.Citizen)
	require.NoError(t, err)
	app, err := asel.Apply(ctx, "/services/guardianship-certificate/27", qakit.Form{Fields: map[string]string{"ward_iin": qakit.WardIIN}})
	require.NoError(t, err)
	pg, err := asel.Until(ctx, app, time.Minute, qakit.Closed)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}, qakit.Statuses(pg))
	res, err := suite.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeEnvelope})
	require.NoError(t, err, "the result's signature verifies against НУЦ's root")
	require.Equal(t, "rshep-27", res.Holder.Name, "signed by West Kazakhstan's node")
}
