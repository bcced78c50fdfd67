package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/qakit"
)

// The МИО employee of ИС Е-Астана (internal/demo: mio-astana) and Асель's daughter under 7.
const (
	mioIIN     = "870614400527"
	youngChild = "230614600014"
)

// queueNumberRe is the queue number an application page shows.
var queueNumberRe = regexp.MustCompile(`id="queue-number">(\d+)<`)

// TestKindergartenApplicationReachesEAstana: portal applications of the Astana passport go through ШЭП
// to ИС Е-Астана (APPLICATION_71_EASTANA), which looks the child up in ГБД ФЛ through ШЭП, registers it at
// once and answers REGISTERED with its number; the МИО employee signs the drafted result in the working
// cabinet, and only then does the decision come back through ШЭП with the signed document. Айлин (under
// 7) is QUEUED with her queue number, the application open while she waits; Алихан (11) gets the
// queue's refusal «до 7 лет», signed by the employee, which closes the application.
func TestKindergartenApplicationReachesEAstana(t *testing.T) {
	w := start(t)
	ctx := t.Context()
	aselP := w.citizen(t, "citizen-akhmetova")
	employee, err := qakit.NewMIO(ctx, w.s.URL("eastana"), w.keys, "mio-astana")
	require.NoError(t, err, "the МИО employee signs in to the working cabinet")

	// registered waits for REGISTERED with ИС Е-Астана's number and checks that nothing is decided
	// before the employee signs; the employee then signs the drafted result.
	registered := func(t *testing.T, app string) {
		t.Helper()
		pg, err := aselP.Until(ctx, app, 60*time.Second, func(pg qakit.Page) bool { return qakit.Number(pg) != "" })
		require.NoError(t, err)
		number := qakit.Number(pg)
		require.True(t, strings.HasPrefix(number, "ЕА-"), "ИС Е-Астана's application number: %q", number)
		require.Contains(t, qakit.Statuses(pg), "REGISTERED")
		require.Contains(t, pg.Body, "Заявление принято ИС Е-Астана")
		require.NotContains(t, qakit.Statuses(pg), "QUEUED", "nothing is decided before the employee signs")
		require.NotContains(t, qakit.Statuses(pg), "REFUSED", "nothing is decided before the employee signs")
		require.False(t, qakit.Closed(pg))
		path, _, found, err := employee.Case(ctx, number, "awaiting")
		require.NoError(t, err)
		require.True(t, found, "the case %s awaits the employee in the working cabinet", number)
		signed, err := employee.SignDraft(ctx, path)
		require.NoError(t, err)
		require.NoError(t, signed.Err())
	}

	t.Run("ok/a child under 7: the signed registration ticket, QUEUED with the queue number", func(t *testing.T) {
		app := apply(t, aselP, "preschool-registration", "71", map[string]string{"child_iin": youngChild, "email_consent": "no"}, aselP.Sign)
		registered(t, app)
		pg, err := aselP.Until(ctx, app, 60*time.Second, qakit.Has("QUEUED"))
		require.NoError(t, err)
		m := queueNumberRe.FindStringSubmatch(pg.Body)
		require.NotNil(t, m, "the page shows the queue number")
		require.Contains(t, pg.Body, "Номер в очереди: <strong id=\"queue-number\">"+m[1]+"</strong>; перед вами:")
		require.False(t, qakit.Closed(pg), "a waiting child's application stays open")
		require.NotContains(t, qakit.Statuses(pg), "NOT_DELIVERED")
		res := w.result(t, aselP, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: mioIIN})
		require.Equal(t, mioIIN, res.Holder.IIN, "the ticket is signed by the МИО employee")

		// «Просмотр номера очереди» lists Айлин with her place.
		queue, err := aselP.Get(ctx, "/queue")
		require.NoError(t, err)
		require.NoError(t, queue.Err())
		require.Contains(t, queue.Body, "23********14")
		require.Contains(t, queue.Body, `<dd class="queue-number">`+m[1]+`</dd>`)
	})

	t.Run("ok/a child of 11: the queue's refusal, signed by the employee, closes the application", func(t *testing.T) {
		app := apply(t, aselP, "preschool-registration", "71", map[string]string{"child_iin": child}, aselP.Sign)
		registered(t, app)
		pg, err := aselP.Until(ctx, app, 60*time.Second, qakit.Closed)
		require.NoError(t, err)
		require.Contains(t, qakit.Statuses(pg), "REFUSED")
		require.Contains(t, pg.Body, "исполнилось 7 лет", "the queue's refusal text reached the portal")
		require.Contains(t, pg.Body, `id="after-refusal"`, "what a refused applicant can do next")
		require.NotContains(t, pg.Body, `id="queue-place"`, "a refused child has no place")
		res := w.result(t, aselP, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: mioIIN})
		require.Equal(t, mioIIN, res.Holder.IIN, "the motivated refusal is signed by the МИО employee")
	})
}
