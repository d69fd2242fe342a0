package bridge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Route sends matching new conversations to a chat channel. Empty fields
// match anything; Keywords match when any of them appears in the
// customer's first message (case-insensitive).
type Route struct {
	Account  string // the X support account's user id
	Language string // "en", "zh", "ja", … as DetectLanguage tells
	Keywords []string
	Platform string
	Channel  string
}

// Auto-assignment modes.
const (
	AssignOff        = ""
	AssignRoundRobin = "round_robin" // the available agent assigned least recently
	AssignLeastOpen  = "least_open"  // the available agent with the fewest open conversations
)

// route picks the chat channel of a new conversation: the first matching
// rule, else the default.
func (s *Service) route(ev InboundMessage) (platform, channel string) {
	lang := DetectLanguage(ev.Text)
	text := strings.ToLower(ev.Text)
	for _, r := range s.Routes {
		if r.Account != "" && r.Account != ev.Account {
			continue
		}
		if r.Language != "" && r.Language != lang {
			continue
		}
		if len(r.Keywords) > 0 && !slices.ContainsFunc(r.Keywords, func(k string) bool {
			return strings.Contains(text, strings.ToLower(k))
		}) {
			continue
		}
		return cmpOr(r.Platform, s.ChatPlatform), r.Channel
	}
	return s.ChatPlatform, s.ChatChannel
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// autoAssign gives a new conversation to an available agent, per the
// configured mode, and returns the notice to post (empty when nobody was
// picked).
func (s *Service) autoAssign(ctx context.Context, tx Tx, conv *Conversation) (*Agent, error) {
	if s.AutoAssign == AssignOff {
		return nil, nil
	}
	agents, err := tx.Agents(ctx, conv.ChatPlatform)
	if err != nil {
		return nil, err
	}
	agents = slices.DeleteFunc(agents, func(a *Agent) bool { return !a.Available })
	if len(agents) == 0 {
		return nil, nil
	}
	var open map[string]int
	if s.AutoAssign == AssignLeastOpen {
		if open, err = tx.OpenCounts(ctx, conv.ChatPlatform); err != nil {
			return nil, err
		}
	}
	best := slices.MinFunc(agents, func(a, b *Agent) int {
		if d := open[a.UserID] - open[b.UserID]; d != 0 {
			return d
		}
		if d := a.LastAssignedAt.Compare(b.LastAssignedAt); d != 0 {
			return d
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	best.LastAssignedAt = s.now()
	if err := tx.UpsertAgent(ctx, best); err != nil {
		return nil, err
	}
	conv.AssigneeID, conv.AssigneeName = best.UserID, nameOr(best.Name, best.UserID)
	return best, nil
}

// assignedItems records and announces an automatic assignment.
func (s *Service) assignedItems(ctx context.Context, tx Tx, conv *Conversation, a *Agent) ([]*OutboxItem, error) {
	err := tx.InsertAudit(ctx, &AuditEntry{ConversationID: conv.ID, ActorName: "xbridge", Action: "assign",
		After: conv.AssigneeName, Source: "auto:" + s.AutoAssign, At: s.now()})
	if err != nil {
		return nil, err
	}
	return []*OutboxItem{s.notice(conv, "auto-assign", PostNotice, fmt.Sprintf("Assigned automatically (%s) to", strings.ReplaceAll(s.AutoAssign, "_", " ")), a.UserID)}, nil
}

// DetectLanguage guesses the language of a short message: "zh" for mostly
// Han script, "ja" when kana appear, "ko" for Hangul, else "en".
func DetectLanguage(text string) string {
	var han, kana, hangul, letters int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.IsLetter(r):
			letters++
		}
	}
	switch {
	case kana > 0:
		return "ja"
	case hangul > 0 && hangul*2 >= letters:
		return "ko"
	case han > 0 && han*2 >= letters/3:
		return "zh"
	}
	return "en"
}
