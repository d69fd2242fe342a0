package bridge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RenderCard builds a conversation's card from its current state.
func RenderCard(conv *Conversation, cust *Customer) Card {
	return Card{
		Ticket:       conv.Ticket(),
		Kind:         conv.Kind,
		Status:       conv.Status,
		Priority:     conv.Priority,
		CustomerName: cust.DisplayName(),
		Handle:       cust.Handle,
		ProfileURL:   cust.ProfileURL(),
		AvatarURL:    cust.AvatarURL,
		Followers:    cust.Followers,
		Verified:     cust.Verified,
		SourceURL:    conv.SourceURL(cust.Handle),
		OpenedAt:     conv.CreatedAt,
		ClosedAt:     conv.ClosedAt,
		PreviousID:   conv.PreviousID,

		ConversationID: conv.ID,
		AssigneeID:     conv.AssigneeID,
		AssigneeName:   conv.AssigneeName,
		Tags:           conv.Tags,
		ClosedByName:   conv.ClosedByName,
		CloseReason:    conv.CloseReason,
		Language:       conv.Language,
		PriorityHint:   conv.PriorityHint,
		Automation:     conv.Automation,
		CSAT:           conv.CSATScore,
	}
}

// Words the cards of every chat platform share.

// Words is the status in running text: "open", "waiting on customer",
// "closed".
func (s Status) Words() string {
	if s == StatusPending {
		return "waiting on customer"
	}
	return string(s)
}

// HumanCount shortens a count the way X does: 950, 48.2k, 1.5M.
func HumanCount(n int) string {
	if n < 0 {
		n = 0
	}
	if n < 1000 {
		return strconv.Itoa(n)
	}
	units := []string{"k", "M", "B"}
	v := float64(n)
	for i, u := range units {
		v /= 1000
		rounded := math.Round(v*10) / 10
		if rounded < 1000 || i == len(units)-1 {
			s := strconv.FormatFloat(rounded, 'f', 1, 64)
			return strings.TrimSuffix(s, ".0") + u
		}
	}
	return strconv.Itoa(n)
}

// DurationText is a short, rounded duration: "under a minute", "12 min",
// "3 h 5 min", "2 d 4 h".
func DurationText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

// ClosedLine says when, by whom and after how long the conversation was
// closed: "<date> by Bob · after 3 h 5 min". date and escape write the
// platform's markup.
func (c Card) ClosedLine(date func(time.Time) string, escape func(string) string) string {
	s := date(c.ClosedAt)
	if c.ClosedByName != "" {
		s += " by " + escape(c.ClosedByName)
	}
	if !c.OpenedAt.IsZero() && !c.ClosedAt.IsZero() && c.ClosedAt.After(c.OpenedAt) {
		s += " · after " + DurationText(c.ClosedAt.Sub(c.OpenedAt))
	}
	return s
}

// HistoryLine lists the customer's earlier conversations, the last few by
// label (the platform's link to each, or its ticket): "<icon> 3 earlier
// conversations: #12 (closed), #9 (open), …"; empty when there are none.
func (c Card) HistoryLine(icon string, label func(CardHistory) string) string {
	n := max(c.HistoryCount, len(c.History))
	if n == 0 {
		return ""
	}
	noun := "earlier conversations"
	if n == 1 {
		noun = "earlier conversation"
	}
	parts := make([]string, 0, 4)
	for _, h := range c.History[:min(len(c.History), 3)] {
		parts = append(parts, fmt.Sprintf("%s (%s)", label(h), h.Status.Words()))
	}
	if n > len(parts) && len(parts) > 0 {
		parts = append(parts, "…")
	}
	s := fmt.Sprintf("%s %d %s", icon, n, noun)
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}
