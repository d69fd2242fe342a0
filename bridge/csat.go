package bridge

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseRating reads a 1–5 satisfaction rating from a short answer: digits
// ("4", "4/5", "4 stars"), stars (★★★★, ⭐⭐⭐⭐), words in English and
// Chinese ("great", "满意", "五分"), or a face emoji. ok is false when the
// message is not a rating.
func ParseRating(text string) (int, bool) {
	t := strings.ToLower(strings.TrimSpace(text))
	if t == "" || utf8.RuneCountInString(t) > 40 {
		return 0, false
	}
	if m := ratingDigitRE.FindStringSubmatch(t); m != nil {
		return int(m[1][0] - '0'), true
	}
	if n := strings.Count(t, "⭐") + strings.Count(t, "★"); n >= 1 && n <= 5 && strings.Trim(t, "⭐★ !.\ufe0f") == "" {
		return n, true
	}
	for _, w := range ratingWords {
		if w.re.MatchString(t) {
			return w.score, true
		}
	}
	return 0, false
}

var ratingDigitRE = regexp.MustCompile(`^(?:rating[:\s]*)?([1-5])(?:\s*(?:/\s*5|out of 5|stars?|分|星))?[\s!.]*$`)

var ratingWords = []struct {
	re    *regexp.Regexp
	score int
}{
	// Longer phrases first: "非常不满意" before "满意", "not good" before "good".
	{regexp.MustCompile(`^(?:very (?:bad|poor|unhappy|dissatisfied)|terrible|awful|horrible|worst|非常不满意|很差|极差|一分|😡|🤬|😠)[\s!.]*$`), 1},
	{regexp.MustCompile(`^(?:bad|poor|not (?:good|great|happy)|unhappy|dissatisfied|不满意|差|二分|两分|😞|🙁|☹️|☹)[\s!.]*$`), 2},
	{regexp.MustCompile(`^(?:ok(?:ay)?|fine|average|meh|so-so|一般|还行|三分|😐|😶)[\s!.]*$`), 3},
	{regexp.MustCompile(`^(?:good|happy|satisfied|满意|不错|好|四分|🙂|😊)[\s!.]*$`), 4},
	{regexp.MustCompile(`^(?:great|excellent|amazing|perfect|awesome|very (?:good|happy|satisfied)|非常满意|很满意|太好了|五分|满分|😍|🤩|😁|❤️)[\s!.]*$`), 5},
}

// rating reads a CSAT answer: the conversation is closed, was asked for a
// rating inside the window and has none yet, and the text is a rating.
func (s *Service) rating(conv *Conversation, text string, now time.Time) (int, bool) {
	if s.Tier == nil || conv.Status != StatusClosed || conv.CSATAskedAt.IsZero() || conv.CSATScore != 0 {
		return 0, false
	}
	window := s.Tier.CSAT.Window
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	if now.Sub(conv.CSATAskedAt) > window {
		return 0, false
	}
	return ParseRating(text)
}

// askCSAT sends the satisfaction question when a conversation closes.
func (s *Service) askCSAT(ctx context.Context, tx Tx, conv *Conversation, a Action) error {
	if s.Tier == nil {
		return nil
	}
	q := forLanguage(s.Tier.CSAT.Question, conv.Language)
	if q == "" {
		return nil
	}
	conv.CSATAskedAt, conv.CSATScore, conv.CSATAt = s.now(), 0, time.Time{}
	return s.sendFromBridge(ctx, tx, conv, a, q, "csat")
}

// csatAnswer takes a rating for the customer's latest conversation when it
// was closed and asked for one, inside the window; it reports whether the
// message was that rating (and then nothing else happens with it).
func (s *Service) csatAnswer(ctx context.Context, tx Tx, conv *Conversation, cust *Customer, ev InboundMessage, now time.Time) (bool, error) {
	score, ok := s.rating(conv, ev.Text, now)
	if !ok {
		return false, nil
	}
	conv.CSATScore, conv.CSATAt, conv.UpdatedAt = score, now, now
	if err := tx.UpdateConversation(ctx, conv); err != nil {
		return false, err
	}
	msg := Message{ConversationID: conv.ID, Direction: DirectionIn, AuthorID: cust.XUserID, AuthorName: cust.DisplayName(),
		Text: ev.Text, XID: ev.EventID, CreatedAt: now}
	if err := tx.InsertMessage(ctx, &msg); err != nil {
		return false, err
	}
	if err := s.audit(ctx, tx, conv.ID, Action{Actor: Actor{Name: cust.DisplayName()}, Source: "customer"}, "csat", "", fmt.Sprint(score)); err != nil {
		return false, err
	}
	items := []*OutboxItem{
		s.notice(conv, fmt.Sprintf("csat:%d", msg.ID), PostNotice,
			fmt.Sprintf("%s The customer rated this conversation %d/5 (%q).", strings.Repeat("⭐", score), score, ev.Text)),
		s.chatItem(conv, EffectCardUpdate, fmt.Sprintf("csat:%d", msg.ID), 0, Payload{}),
	}
	if thanks := forLanguage(s.Tier.CSAT.Thanks, conv.Language); thanks != "" {
		if err := s.sendFromBridge(ctx, tx, conv, Action{Actor: Actor{Name: "xbridge"}}, thanks, "csat-thanks"); err != nil {
			return false, err
		}
	}
	return true, tx.Enqueue(ctx, items...)
}
