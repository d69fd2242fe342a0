package bridge

import (
	"testing"
	"time"
)

func TestDurationText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "under a minute"}, {12 * time.Minute, "12 min"}, {3 * time.Hour, "3 h"},
		{3*time.Hour + 5*time.Minute, "3 h 5 min"}, {50 * time.Hour, "2 d 2 h"}, {48 * time.Hour, "2 d"},
	}
	for _, tt := range tests {
		if got := DurationText(tt.d); got != tt.want {
			t.Errorf("DurationText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestHumanCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1k"}, {1049, "1k"}, {1050, "1.1k"}, {48213, "48.2k"},
		{999949, "999.9k"}, {999999, "1M"}, {1500000, "1.5M"}, {2_000_000_000, "2B"}, {-5, "0"},
	}
	for _, tt := range tests {
		if got := HumanCount(tt.n); got != tt.want {
			t.Errorf("HumanCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestStatusWords(t *testing.T) {
	t.Parallel()
	for s, want := range map[Status]string{StatusOpen: "open", StatusPending: "waiting on customer", StatusClosed: "closed"} {
		if got := s.Words(); got != want {
			t.Errorf("%s.Words() = %q, want %q", s, got, want)
		}
	}
}
