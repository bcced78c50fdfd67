package calendar_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/calendar"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Zone)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWorkingDays(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	tests := []struct {
		day     string
		working bool
	}{
		{"2025-12-31 10:00", true},
		{"2026-01-01 10:00", false}, // Новый год
		{"2026-01-02 10:00", false},
		{"2026-01-05 10:00", true},
		{"2026-01-07 10:00", false}, // Православное Рождество
		{"2026-03-20 10:00", true},
		{"2026-03-23 10:00", false}, // Наурыз
		{"2026-03-24 10:00", false}, // for 21 March, a Saturday
		{"2026-03-25 10:00", false}, // for 22 March, a Sunday
		{"2026-03-26 10:00", true},
		{"2025-03-24 10:00", false}, // 2025: 22 and 23 March on a weekend
		{"2025-03-25 10:00", false},
		{"2025-10-27 10:00", false}, // День Республики 2025 on a Saturday
		{"2025-01-03 10:00", false}, // moved day off
		{"2025-01-05 10:00", true},  // the Sunday made a working day
		{"2023-07-01 10:00", true},  // Saturday made working for 7 July
		{"2023-07-07 10:00", false},
		{"2026-05-27 10:00", false}, // Курбан айт
		{"2026-05-28 10:00", true},
		{"2026-12-16 10:00", false}, // День Независимости
		{"2026-12-17 10:00", true},  // only one day since 2022
		{"2021-12-17 10:00", false}, // two days until 2021
		{"2026-11-21 10:00", false}, // an ordinary Saturday
	}
	for _, tt := range tests {
		require.Equal(t, tt.working, c.IsWorkingDay(at(tt.day)), tt.day)
	}
	name, ok := c.Holiday(at("2026-03-21 09:00"))
	require.True(t, ok)
	require.Equal(t, "Наурыз мейрамы", name)
	require.True(t, c.Covered(2026))
	require.False(t, c.Covered(2030))
}

func TestAddWorkingDays(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	tests := []struct {
		name     string
		from     string
		n        int
		deadline string
	}{
		{"across New Year", "2025-12-30 16:00", 5, "2026-01-09 16:00"},            // 31 Dec, 5, 6, 8, 9 Jan
		{"across Наурыз", "2026-03-19 11:30", 3, "2026-03-27 11:30"},              // 20, 26, 27 March
		{"across a moved working day", "2025-01-02 09:00", 2, "2025-01-06 09:00"}, // 5 Jan (Sunday, working), 6 Jan
		{"started on a holiday", "2026-01-01 12:00", 1, "2026-01-05 12:00"},
		{"zero on a weekend", "2026-11-21 12:00", 0, "2026-11-23 12:00"},
		{"ordinary week", "2026-11-23 10:00", 5, "2026-11-30 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkingDays(at(tt.from), tt.n)
			require.Equal(t, at(tt.deadline), got)
			if tt.n > 0 {
				require.Equal(t, tt.n, c.WorkingDaysBetween(at(tt.from), got))
			}
		})
	}
}

func TestBadData(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]calendar.Data{
		"fail/date":      {Years: map[string]calendar.Year{"2026": {KurbanAit: "27.05.2026"}}},
		"fail/year":      {Years: map[string]calendar.Year{"26": {}}},
		"fail/move year": {Years: map[string]calendar.Year{"2026": {Moved: []calendar.Move{{Working: "2025-01-05", Off: "2026-01-03"}}}}},
	} {
		_, err := calendar.New(d)
		require.Error(t, err, name)
	}
}
