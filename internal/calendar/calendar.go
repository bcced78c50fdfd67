// Package calendar is Kazakhstan's working-day calendar (производственный календарь) for regulation
// deadlines given in working days: weekends, the public holidays of the Labour Code and the Law «О
// праздниках в Республике Казахстан», the rule that a national holiday falling on a weekend gives the next
// working day off, and, as data per year, the first day of Курбан айт and the days off moved by
// government decree (kz.json).
//
// Decisions where the regulations are silent: a deadline of n working days ends at the same clock time
// on the n-th working day after the day the count starts (a step started on a non-working day counts from
// the next working day). Religious holidays (Православное Рождество, Курбан айт) are days off but are not
// moved when they fall on a weekend. Days are reckoned in Kazakhstan time (UTC+5).
package calendar

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"
)

// Zone is Kazakhstan's single time zone since 1 March 2024.
var Zone = time.FixedZone("UTC+5", 5*3600)

//go:embed kz.json
var kzData []byte

// Data is the per-year part of the calendar.
type Data struct {
	Years map[string]Year `json:"years"`
}

// Year is one year's moving data.
type Year struct {
	// KurbanAit is the first day of Курбан айт, a day off.
	KurbanAit string `json:"kurban_ait,omitempty"`
	// Moved are days off moved by decree: Working becomes a working day, Off a day off.
	Moved []Move `json:"moved,omitempty"`
}

// Move is one moved day off.
type Move struct {
	Working string `json:"working"`
	Off     string `json:"off"`
}

type day struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time) day {
	t = t.In(Zone)
	return day{t.Year(), t.Month(), t.Day()}
}

func (d day) time() time.Time { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, Zone) }

// Calendar answers whether a day is a working day.
type Calendar struct {
	off     map[day]string // holidays and days off, with their names
	working map[day]bool   // weekend days made working by decree
	years   map[int]bool   // years with per-year data
}

// Default is the calendar with the suite's data file.
func Default() *Calendar {
	var d Data
	if err := json.Unmarshal(kzData, &d); err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	c, err := New(d)
	if err != nil {
		panic(err)
	}
	return c
}

// New builds a calendar from per-year data, for the years 2000 to 2100.
func New(data Data) (*Calendar, error) {
	c := &Calendar{off: map[day]string{}, working: map[day]bool{}, years: map[int]bool{}}
	parse := func(s string) (day, error) {
		t, err := time.ParseInLocation(time.DateOnly, s, Zone)
		if err != nil {
			return day{}, fmt.Errorf("calendar: %q is not a YYYY-MM-DD date", s)
		}
		return dayOf(t), nil
	}
	for y := 2000; y <= 2100; y++ {
		c.fixed(y)
	}
	for ys, yd := range data.Years {
		var y int
		if _, err := fmt.Sscanf(ys, "%d", &y); err != nil || y < 2000 || y > 2100 {
			return nil, fmt.Errorf("calendar: year %q", ys)
		}
		c.years[y] = true
		if yd.KurbanAit != "" {
			d, err := parse(yd.KurbanAit)
			if err != nil {
				return nil, err
			}
			c.off[d] = "Құрбан айт"
		}
		for _, m := range yd.Moved {
			w, err := parse(m.Working)
			if err != nil {
				return nil, err
			}
			o, err := parse(m.Off)
			if err != nil {
				return nil, err
			}
			if w.y != y || o.y != y {
				return nil, fmt.Errorf("calendar: move %s → %s is not in %d", m.Working, m.Off, y)
			}
			c.working[w] = true
			c.off[o] = "перенесённый выходной день"
		}
	}
	return c, nil
}

// fixed adds the fixed-date holidays of year y and the days off that replace those on a weekend.
func (c *Calendar) fixed(y int) {
	type holiday struct {
		m         time.Month
		d         int
		name      string
		religious bool
	}
	hs := []holiday{
		{time.January, 1, "Новый год", false}, {time.January, 2, "Новый год", false},
		{time.January, 7, "Православное Рождество", true},
		{time.March, 8, "Международный женский день", false},
		{time.March, 21, "Наурыз мейрамы", false}, {time.March, 22, "Наурыз мейрамы", false}, {time.March, 23, "Наурыз мейрамы", false},
		{time.May, 1, "Праздник единства народа Казахстана", false},
		{time.May, 7, "День защитника Отечества", false},
		{time.May, 9, "День Победы", false},
		{time.July, 6, "День Столицы", false},
		{time.August, 30, "День Конституции", false},
		{time.December, 16, "День Независимости", false},
	}
	if y >= 2022 {
		hs = append(hs, holiday{time.October, 25, "День Республики", false})
	} else {
		hs = append(hs, holiday{time.December, 17, "День Независимости", false})
	}
	var onWeekend []holiday
	for _, h := range hs {
		d := day{y, h.m, h.d}
		c.off[d] = h.name
		if wd := d.time().Weekday(); !h.religious && (wd == time.Saturday || wd == time.Sunday) {
			onWeekend = append(onWeekend, h)
		}
	}
	// Each national holiday on a weekend gives the next day that is neither a weekend nor a holiday.
	for _, h := range onWeekend {
		t := time.Date(y, h.m, h.d, 0, 0, 0, 0, Zone)
		for {
			t = t.AddDate(0, 0, 1)
			d := dayOf(t)
			if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
				continue
			}
			if _, taken := c.off[d]; taken {
				continue
			}
			c.off[d] = "перенос: " + h.name
			break
		}
	}
}

// IsWorkingDay reports whether the day of t (in Kazakhstan time) is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d := dayOf(t)
	if c.working[d] {
		return true
	}
	if _, off := c.off[d]; off {
		return false
	}
	wd := d.time().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Holiday names the holiday or day off on t's day, if any.
func (c *Calendar) Holiday(t time.Time) (string, bool) {
	d := dayOf(t)
	if c.working[d] {
		return "", false
	}
	name, ok := c.off[d]
	return name, ok
}

// Covered reports whether the data file has the year (its Курбан айт and moved days are known).
func (c *Calendar) Covered(year int) bool { return c.years[year] }

// AddWorkingDays returns the deadline n working days after t: the same clock time on the n-th working
// day after t's day. n = 0 gives t itself, moved to the next working day if t's day is not one.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	t = t.In(Zone)
	for !c.IsWorkingDay(t) && n == 0 {
		t = t.AddDate(0, 0, 1)
	}
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if c.IsWorkingDay(t) {
			n--
		}
	}
	return t
}

// WorkingDaysBetween counts the working days after a's day up to and including b's day.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	n := 0
	for t := a.In(Zone).AddDate(0, 0, 1); !dayOf(t).time().After(dayOf(b).time()); t = t.AddDate(0, 0, 1) {
		if c.IsWorkingDay(t) {
			n++
		}
	}
	return n
}
