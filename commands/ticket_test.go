package commands

import "testing"

func TestTicketValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id     int64
		ticket string
		want   string
	}{
		{42, "", "#42"}, {42, "#7", "#42"}, {0, "#7", "#7"}, {0, " 7 ", "#7"},
		{0, "", ""}, {0, "#0", ""}, {0, "#-3", ""}, {0, "#x", ""}, {0, "#1234567890123456789", ""},
	}
	for _, tt := range tests {
		if got := TicketValue(tt.id, tt.ticket); got != tt.want {
			t.Errorf("TicketValue(%d, %q) = %q, want %q", tt.id, tt.ticket, got, tt.want)
		}
	}
}

func TestTicketNumber(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int64{"#42": 42, "42": 42, " #42 ": 42, "": 0, "#": 0, "#4a": 0, "-1": 0, "#1.5": 0, "+5": 0, "# 5": 0} {
		if got := TicketNumber(s); got != want {
			t.Errorf("TicketNumber(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestValueTicket(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]int64{"#42": 42, " #42 ": 42, "42": 0, "refund-policy": 0, "high": 0, "#": 0, "#x": 0, "#0": 0, "": 0} {
		if got := ValueTicket(v); got != want {
			t.Errorf("ValueTicket(%q) = %d, want %d", v, got, want)
		}
	}
}
