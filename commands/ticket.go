package commands

import (
	"fmt"
	"strconv"
	"strings"
)

// TicketValue is what a card's or escalation card's buttons carry to name
// their conversation: "#<id>", or ticket when it has that form; "" when
// there is none.
func TicketValue(id int64, ticket string) string {
	if id != 0 {
		return fmt.Sprintf("#%d", id)
	}
	if n := TicketNumber(ticket); n != 0 {
		return fmt.Sprintf("#%d", n)
	}
	return ""
}

// ValueTicket is the conversation a button's or option's value names when
// the value is a ticket, "#42" (TicketValue's form); 0 when it is any other
// argument ("refund-policy", "high").
func ValueTicket(v string) int64 {
	if v = strings.TrimSpace(v); !strings.HasPrefix(v, "#") {
		return 0
	}
	return TicketNumber(v)
}

// TicketNumber reads a ticket reference, "#42" or "42", as a command's
// argument, a button value or a slash command's option carries it; 0 when
// s is none.
func TicketNumber(s string) int64 {
	s = strings.TrimSpace(s)
	if !ticketRE.MatchString(s) {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
