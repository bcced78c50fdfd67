package queue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

var day = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

func TestCheckRegistration(t *testing.T) {
	t.Parallel()
	child := func(born time.Time) *queue.Child {
		return &queue.Child{IIN: "200101500001", BirthDate: born, Representatives: []string{"900101300001"}}
	}
	dead := child(day.AddDate(-2, 0, 0))
	dead.Deceased = true
	cases := []struct {
		name      string
		policy    queue.Policy
		child     *queue.Child
		applicant string
		category  string
		want      *queue.Refusal
	}{
		{name: "ok/two years old, parent", policy: queue.Passport2012(), child: child(day.AddDate(-2, 0, 0)), applicant: "900101300001"},
		{name: "ok/born today", policy: queue.Passport2012(), child: child(day), applicant: "900101300001"},
		{name: "ok/the day before the seventh birthday", policy: queue.Passport2012(), child: child(day.AddDate(-7, 0, 1)), applicant: "900101300001"},
		{name: "ok/category of the national rules", policy: queue.NationalRules(), child: child(day.AddDate(-3, 0, 0)), applicant: "900101300001", category: "large_family"},
		{name: "fail/not in ГБД ФЛ", policy: queue.Passport2012(), applicant: "900101300001", want: queue.RefuseChildNotFound},
		{name: "fail/deceased", policy: queue.Passport2012(), child: dead, applicant: "900101300001", want: queue.RefuseChildDeceased},
		{name: "fail/seventh birthday", policy: queue.Passport2012(), child: child(day.AddDate(-7, 0, 0)), applicant: "900101300001", want: queue.RefuseTooOld},
		{name: "fail/not born yet", policy: queue.Passport2012(), child: child(day.AddDate(0, 0, 1)), applicant: "900101300001", want: queue.RefuseNotBorn},
		{name: "fail/not a parent", policy: queue.Passport2012(), child: child(day.AddDate(-2, 0, 0)), applicant: "910101300002", want: queue.RefuseNotParent},
		{name: "fail/category under the 2012 passport", policy: queue.Passport2012(), child: child(day.AddDate(-2, 0, 0)), applicant: "900101300001",
			category: "large_family", want: queue.RefuseUnknownCategory},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.CheckRegistration(tc.child, tc.applicant, tc.category, day)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.NotEmpty(t, tc.want.Text.RU)
			require.NotEmpty(t, tc.want.Text.KK)
		})
	}
}

func TestAgeYearsAndBornBetween(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		birth time.Time
		want  int
	}{
		{name: "ok/birthday today", birth: time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC), want: 3},
		{name: "ok/birthday tomorrow", birth: time.Date(2023, 9, 2, 0, 0, 0, 0, time.UTC), want: 2},
		{name: "ok/born today", birth: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), want: 0},
		{name: "ok/29 February", birth: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), want: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := queue.AgeYears(tc.birth, day)
			require.Equal(t, tc.want, got)
			// BornBetween agrees with AgeYears: the child is in the range of its own age and no other.
			after, through := queue.BornBetween(got, got+1, day)
			require.True(t, tc.birth.After(after) && !tc.birth.After(through), "%s in (%s, %s]", tc.birth, after, through)
			after, through = queue.BornBetween(got+1, got+2, day)
			require.False(t, tc.birth.After(after) && !tc.birth.After(through))
		})
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	id := func(n int64) *int64 { return &n }
	national := queue.NationalRules()
	cases := []struct {
		name     string
		heads    queue.Heads
		turn     queue.Turn
		wantID   int64
		wantKind queue.Kind
		wantTurn int
		wantOK   bool
	}{
		{name: "ok/extraordinary first", heads: queue.Heads{Extraordinary: id(9), Primary: id(2), General: id(1)}, turn: queue.Turn{GeneralSincePrimary: 3},
			wantID: 9, wantKind: queue.KindExtraordinary, wantTurn: 3, wantOK: true},
		{name: "ok/general while fewer than three served", heads: queue.Heads{Primary: id(2), General: id(1)}, turn: queue.Turn{GeneralSincePrimary: 2},
			wantID: 1, wantKind: queue.KindGeneral, wantTurn: 3, wantOK: true},
		{name: "ok/primary after three general", heads: queue.Heads{Primary: id(2), General: id(1)}, turn: queue.Turn{GeneralSincePrimary: 3},
			wantID: 2, wantKind: queue.KindPrimary, wantTurn: 0, wantOK: true},
		{name: "ok/primary when no general waits", heads: queue.Heads{Primary: id(2)}, turn: queue.Turn{},
			wantID: 2, wantKind: queue.KindPrimary, wantTurn: 0, wantOK: true},
		{name: "ok/general without primary does not count", heads: queue.Heads{General: id(1)}, turn: queue.Turn{GeneralSincePrimary: 1},
			wantID: 1, wantKind: queue.KindGeneral, wantTurn: 1, wantOK: true},
		{name: "fail/nobody fits", heads: queue.Heads{}, turn: queue.Turn{GeneralSincePrimary: 1}, wantTurn: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, kind, next, ok := national.Pick(tc.heads, tc.turn)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.wantID, got)
			require.Equal(t, tc.wantKind, kind)
			require.Equal(t, tc.wantTurn, next.GeneralSincePrimary)
		})
	}
}

// TestPickServesOneToThree: over a long run with both lists full, the primary right gets one place in four.
func TestPickServesOneToThree(t *testing.T) {
	t.Parallel()
	p, g := int64(1), int64(2)
	var turn queue.Turn
	served := map[queue.Kind]int{}
	for range 400 {
		_, kind, next, ok := queue.NationalRules().Pick(queue.Heads{Primary: &p, General: &g}, turn)
		require.True(t, ok)
		served[kind]++
		turn = next
	}
	require.Equal(t, 100, served[queue.KindPrimary])
	require.Equal(t, 300, served[queue.KindGeneral])
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	noSource := queue.NationalRules()
	noSource.Categories[0].Source = ""
	badKind := queue.NationalRules()
	badKind.Categories[1].Kind = queue.KindGeneral
	twice := queue.NationalRules()
	twice.Categories = append(twice.Categories, twice.Categories[0])
	noAge := queue.Passport2012()
	noAge.MaxAgeYears = 0
	cases := []struct {
		name   string
		policy queue.Policy
		ok     bool
	}{
		{name: "ok/2012 passport", policy: queue.Passport2012(), ok: true},
		{name: "ok/national rules", policy: queue.NationalRules(), ok: true},
		{name: "fail/category without source", policy: noSource},
		{name: "fail/category of the general kind", policy: badKind},
		{name: "fail/category twice", policy: twice},
		{name: "fail/no age limit", policy: noAge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Validate()
			if tc.ok {
				require.NoError(t, err)
				require.NotEmpty(t, tc.policy.Decisions)
				return
			}
			require.Error(t, err)
		})
	}
	require.Empty(t, queue.Passport2012().Categories, "the 2012 passport runs without priority categories")
	require.Equal(t, time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC), queue.Passport2012().ReferralExpiry(day), "a referral is valid a month")
}

func TestListID(t *testing.T) {
	t.Parallel()
	byDistrict := queue.Passport2012()
	byDistrict.ByDistrict = true
	cases := []struct {
		name           string
		policy         queue.Policy
		city, district string
		want           string
		wantErr        error
	}{
		{name: "ok/one list for the city", policy: queue.Passport2012(), city: "astana", district: "esil", want: "astana"},
		{name: "ok/a list per district", policy: byDistrict, city: "astana", district: "esil", want: "astana/esil"},
		{name: "fail/no district where lists are by district", policy: byDistrict, city: "astana", wantErr: queue.ErrNoDistrict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.policy.ListID(tc.city, tc.district)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := queue.Passport2012().ListID("", "")
	require.Error(t, err)
}
