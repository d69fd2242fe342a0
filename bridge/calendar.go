package bridge

import (
	"fmt"
	"strings"
	"time"
)

// Calendar tells business time: the hours a support team works, in its
// time zone, minus holidays. SLA targets count only business time. The zero
// Calendar (or one with AlwaysOpen) is open 24/7.
type Calendar struct {
	Location   *time.Location
	AlwaysOpen bool
	// Week holds the open spans of each weekday (indexed by time.Weekday);
	// a day without spans is closed.
	Week [7][]Span
	// Holidays are closed dates, "2006-01-02" in Location.
	Holidays map[string]bool
}

// Span is an open period of a day, as offsets from midnight wall-clock time
// (End may be 24h).
type Span struct {
	Start, End time.Duration
}

// ParseSpans reads "09:00-17:00" or "09:00-12:00,13:00-18:00"; "closed" or
// "" is no span.
func ParseSpans(s string) ([]Span, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "closed") {
		return nil, nil
	}
	var out []Span
	for _, part := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("%q is not a span like 09:00-17:00", part)
		}
		a, err := clock(from)
		if err != nil {
			return nil, err
		}
		b, err := clock(to)
		if err != nil {
			return nil, err
		}
		if b <= a {
			return nil, fmt.Errorf("%q ends before it starts", part)
		}
		if len(out) > 0 && a < out[len(out)-1].End {
			return nil, fmt.Errorf("%q overlaps the span before it", part)
		}
		out = append(out, Span{a, b})
	}
	return out, nil
}

func clock(s string) (time.Duration, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time like 09:30", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// maxDays bounds the search for open time: a year and a bit.
const maxDays = 400

func (c *Calendar) open() bool { return c == nil || c.AlwaysOpen || c.Location == nil }

// spans returns the open periods of the day that starts at midnight day.
func (c *Calendar) spans(day time.Time) [][2]time.Time {
	if c.Holidays[day.Format("2006-01-02")] {
		return nil
	}
	var out [][2]time.Time
	for _, s := range c.Week[day.Weekday()] {
		out = append(out, [2]time.Time{wall(day, s.Start), wall(day, s.End)})
	}
	return out
}

// wall is the instant of a wall-clock offset on a day, so spans keep their
// hours across daylight-saving changes.
func wall(midnight time.Time, off time.Duration) time.Time {
	y, m, d := midnight.Date()
	h := int(off / time.Hour)
	mi := int(off % time.Hour / time.Minute)
	return time.Date(y, m, d, h, mi, 0, 0, midnight.Location())
}

func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Add returns the instant when d of business time has passed after t.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if c.open() {
		return t.Add(d)
	}
	day := midnight(t, c.Location)
	for i := 0; i < maxDays; i++ {
		for _, sp := range c.spans(day) {
			start := sp[0]
			if start.Before(t) {
				start = t
			}
			if !start.Before(sp[1]) {
				continue
			}
			if avail := sp[1].Sub(start); d <= avail {
				return start.Add(d)
			} else {
				d -= avail
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Location)
	}
	return t.Add(maxDays * 24 * time.Hour) // a calendar that is (almost) never open
}

// Between returns the business time from a to b (0 when b is not after a).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c.open() {
		return b.Sub(a)
	}
	var total time.Duration
	day := midnight(a, c.Location)
	for i := 0; i < maxDays*4 && !day.After(b); i++ {
		for _, sp := range c.spans(day) {
			from, to := sp[0], sp[1]
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Location)
	}
	return total
}

// IsOpen reports whether t is inside business hours.
func (c *Calendar) IsOpen(t time.Time) bool {
	if c.open() {
		return true
	}
	for _, sp := range c.spans(midnight(t, c.Location)) {
		if !t.Before(sp[0]) && t.Before(sp[1]) {
			return true
		}
	}
	return false
}

// NextOpen returns t if the calendar is open at t, else when it opens next.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	if c.IsOpen(t) {
		return t
	}
	day := midnight(t, c.Location)
	for i := 0; i < maxDays; i++ {
		for _, sp := range c.spans(day) {
			if sp[0].After(t) {
				return sp[0]
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Location)
	}
	return t
}
