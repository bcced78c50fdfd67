package statecorp_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/tson/internal/statecorp"
)

func allowance(t *testing.T) *catalog.Passport {
	t.Helper()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := c.Get("guardian-allowance", "27")
	require.True(t, ok)
	require.NotNil(t, p.StateCorp, "the 2019 passport carries Госкорпорация's part")
	return p
}

func TestCheckSet(t *testing.T) {
	t.Parallel()
	p := allowance(t)
	tests := []struct {
		name             string
		got              map[string]statecorp.Presence
		missing, expired []string
	}{
		{"ok/paper originals", map[string]statecorp.Presence{"guardian_application": {Paper: true}, "standard_documents": {Paper: true}}, nil, nil},
		{"ok/a scan stands for the original", map[string]statecorp.Presence{"guardian_application": {Paper: true}, "standard_documents": {Scan: true}}, nil, nil},
		{"fail/nothing", nil, []string{"guardian_application", "standard_documents"}, nil},
		{"fail/no application", map[string]statecorp.Presence{"standard_documents": {Paper: true}}, []string{"guardian_application"}, nil},
		{"fail/expired", map[string]statecorp.Presence{"guardian_application": {Paper: true}, "standard_documents": {Paper: true, Expired: true}}, nil, []string{"standard_documents"}},
		{"fail/an optional document expired", map[string]statecorp.Presence{"guardian_application": {Paper: true}, "standard_documents": {Paper: true},
			"power_of_attorney": {Paper: true, Expired: true}}, nil, []string{"power_of_attorney"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := statecorp.CheckSet(p, "tson", tt.got)
			ids := func(ds []catalog.Document) []string {
				var out []string
				for _, d := range ds {
					out = append(out, d.ID)
				}
				return out
			}
			require.Equal(t, tt.missing, ids(c.Missing))
			require.Equal(t, tt.expired, ids(c.Expired))
			require.Equal(t, tt.missing == nil && tt.expired == nil, c.Complete())
		})
	}
}

func TestDueOnTheWorkingDayCalendar(t *testing.T) {
	t.Parallel()
	cal := calendar.Default()
	// Friday 2026-03-20 10:00 in Kazakhstan; 21–25 March are Наурыз and the weekend.
	fri := time.Date(2026, 3, 20, 10, 0, 0, 0, calendar.Zone)
	tests := []struct {
		name string
		d    catalog.Duration
		want time.Time
	}{
		{"ok/minutes", catalog.Duration{Value: 5, Unit: "minutes"}, fri.Add(5 * time.Minute)},
		{"ok/one working day skips the weekend and Наурыз", catalog.Duration{Value: 1, Unit: "working_days"}, cal.AddWorkingDays(fri, 1)},
		{"ok/thirty calendar days", catalog.Duration{Value: 30, Unit: "calendar_days"}, time.Date(2026, 4, 19, 10, 0, 0, 0, calendar.Zone)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := statecorp.Due(cal, fri, tt.d)
			require.True(t, tt.want.Equal(got), "%s, want %s", got, tt.want)
		})
	}
	require.True(t, cal.IsWorkingDay(statecorp.Due(cal, fri, catalog.Duration{Value: 1, Unit: "working_days"})))
	require.False(t, statecorp.Due(cal, fri, catalog.Duration{Value: 1, Unit: "working_days"}).Before(time.Date(2026, 3, 26, 0, 0, 0, 0, calendar.Zone)),
		"Наурыз (21–23 March) and the weekend are no working days")
}

func TestStepsInOrder(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, calendar.Zone)
	done := at.Add(time.Hour)
	tests := []struct {
		name     string
		timers   map[statecorp.Step]statecorp.Timer
		markable []statecorp.Step
		handOver bool
	}{
		{"ok/submitted: the documents go", map[statecorp.Step]statecorp.Timer{statecorp.ToProvider: {Due: at}}, []statecorp.Step{statecorp.ToProvider}, false},
		{"fail/the result cannot come back before the documents went", map[statecorp.Step]statecorp.Timer{statecorp.ToProvider: {Due: at},
			statecorp.ResultBack: {Due: at}}, []statecorp.Step{statecorp.ToProvider}, false},
		{"ok/issued: the result comes back", map[statecorp.Step]statecorp.Timer{statecorp.ToProvider: {Due: at, DoneAt: &done},
			statecorp.ResultBack: {Due: at}}, []statecorp.Step{statecorp.ResultBack}, false},
		{"ok/arrived: handed over", map[statecorp.Step]statecorp.Timer{statecorp.ToProvider: {Due: at, DoneAt: &done},
			statecorp.ResultBack: {Due: at, DoneAt: &done}, statecorp.Storage: {Due: at}}, nil, true},
		{"fail/archived: no hand-over", map[statecorp.Step]statecorp.Timer{statecorp.ToProvider: {Due: at, DoneAt: &done},
			statecorp.ResultBack: {Due: at, DoneAt: &done}, statecorp.Storage: {Due: at, DoneAt: &done}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []statecorp.Step
			for _, s := range statecorp.Steps {
				if statecorp.Markable(s, tt.timers) {
					got = append(got, s)
				}
			}
			require.Equal(t, tt.markable, got)
			require.Equal(t, tt.handOver, statecorp.CanHandOver(tt.timers))
		})
	}
	late := statecorp.Timer{Due: at, DoneAt: &done}
	require.True(t, late.Late(at), "done an hour after its deadline")
	require.False(t, statecorp.Timer{Due: done}.Late(at))
	require.True(t, statecorp.Timer{Due: at}.Late(done), "not done and past its deadline")
}
