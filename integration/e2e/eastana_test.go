package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/qakit"
)

// TestKindergartenApplicationReachesEAstana: a portal application of the Astana passport goes through
// ШЭП to ИС Е-Астана (APPLICATION_71_EASTANA), which looks the child up in ГБД ФЛ through ШЭП and answers
// through ШЭП to the portal. The demo citizens' only child is 11, so the answer is the queue's refusal
// «до 7 лет»; a ticket with a queue number needs a child under 7 of a citizen with keys in the demo (open).
func TestKindergartenApplicationReachesEAstana(t *testing.T) {
	w := start(t)
	ctx := t.Context()
	aselP := w.citizen(t, "citizen-akhmetova")
	app := apply(t, aselP, "preschool-registration", "71", map[string]string{"child_iin": child}, aselP.Sign)
	pg, err := aselP.Until(ctx, app, 60*time.Second, qakit.Has("REFUSED"))
	require.NoError(t, err)
	require.Contains(t, pg.Body, "исполнилось 7 лет", "the queue's refusal text reached the portal")
	require.NotContains(t, qakit.Statuses(pg), "NOT_DELIVERED")
}
