package bridge_test

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/xbridge/xbridge/bridge"
)

// berlinWeekdays is 09:00–17:00 Monday to Friday in Berlin, with Christmas off.
func berlinWeekdays(t *testing.T) *bridge.Calendar {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	c := &bridge.Calendar{Location: loc, Holidays: map[string]bool{"2026-12-25": true}}
	nine, err := bridge.ParseSpans("09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Week[d] = nine
	}
	return c
}

func TestCalendarAddAndBetween(t *testing.T) {
	t.Parallel()
	cal := berlinWeekdays(t)
	loc := cal.Location
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		from string
		d    time.Duration
		want string
	}{
		{"inside the day", "2026-03-02 10:00", 2 * time.Hour, "2026-03-02 12:00"},
		{"before opening", "2026-03-02 07:00", 15 * time.Minute, "2026-03-02 09:15"},
		{"across the evening", "2026-03-02 16:30", time.Hour, "2026-03-03 09:30"},
		{"across a weekend", "2026-03-06 16:00", 2 * time.Hour, "2026-03-09 10:00"},
		{"written on Saturday", "2026-03-07 11:00", 30 * time.Minute, "2026-03-09 09:30"},
		{"across Christmas", "2026-12-24 16:00", 2 * time.Hour, "2026-12-28 10:00"},
		{"across the spring DST change", "2026-03-27 16:00", 2 * time.Hour, "2026-03-30 10:00"},
		{"across the autumn DST change", "2026-10-23 16:30", 8 * time.Hour, "2026-10-26 16:30"},
		{"a whole week", "2026-03-02 09:00", 40 * time.Hour, "2026-03-06 17:00"},
	} {
		got := cal.Add(at(tc.from), tc.d)
		if want := at(tc.want); !got.Equal(want) {
			t.Errorf("%s: Add(%s, %s) = %s, want %s", tc.name, tc.from, tc.d, got.In(loc), want)
			continue
		}
		if back := cal.Between(at(tc.from), got); back != tc.d {
			t.Errorf("%s: Between = %s, want %s", tc.name, back, tc.d)
		}
	}
	if !cal.IsOpen(at("2026-03-02 09:00")) || cal.IsOpen(at("2026-03-02 17:00")) || cal.IsOpen(at("2026-12-25 10:00")) {
		t.Error("IsOpen is wrong at the edges or on a holiday")
	}
	if got := cal.NextOpen(at("2026-03-06 18:00")); !got.Equal(at("2026-03-09 09:00")) {
		t.Errorf("NextOpen after Friday close = %s", got.In(loc))
	}
}

func TestAlwaysOpenCalendarAndDST(t *testing.T) {
	t.Parallel()
	var always *bridge.Calendar
	start := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	if got := always.Add(start, 36*time.Hour); !got.Equal(start.Add(36 * time.Hour)) {
		t.Fatalf("24/7 Add = %s", got)
	}
	// Round the clock in Berlin: the spring-forward Sunday has 23 hours.
	loc, _ := time.LoadLocation("Europe/Berlin")
	full, _ := bridge.ParseSpans("00:00-24:00")
	c := &bridge.Calendar{Location: loc}
	for d := range c.Week {
		c.Week[d] = full
	}
	sunday := time.Date(2026, 3, 29, 0, 0, 0, 0, loc)
	if got := c.Between(sunday, sunday.AddDate(0, 0, 1)); got != 23*time.Hour {
		t.Fatalf("business time on the DST Sunday = %s, want 23h", got)
	}
}

func TestParseSpans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		fail bool
	}{
		{"09:00-17:00", 1, false},
		{"09:00-12:00, 13:00-18:00", 2, false},
		{"closed", 0, false},
		{"", 0, false},
		{"00:00-24:00", 1, false},
		{"17:00-09:00", 0, true},
		{"9-17", 0, true},
		{"09:00-12:00,11:00-13:00", 0, true},
		{"25:00-26:00", 0, true},
	} {
		got, err := bridge.ParseSpans(tc.in)
		if (err != nil) != tc.fail || (!tc.fail && len(got) != tc.n) {
			t.Errorf("ParseSpans(%q) = %v, %v", tc.in, got, err)
		}
	}
}
