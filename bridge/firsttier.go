package bridge

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// FirstTier is what the bridge answers by itself: an acknowledgement that
// sets the customer's expectation, FAQ answers with a way to reach a
// human, a suggested priority, and the satisfaction survey.
type FirstTier struct {
	// Ack holds the acknowledgement templates per language ("en" is the
	// fallback); empty sends none. See AckTemplates.
	Ack map[string]AckTemplates
	// FAQ rules are tried in order on the first message of a conversation.
	FAQ []FAQRule
	// HumanHint is appended to an FAQ answer, per language: how to reach
	// a person ("Reply HUMAN to talk to a person.").
	HumanHint map[string]string
	// HumanWords are what a customer writes to ask for a person.
	HumanWords []string
	// Scorer rates messages for negative sentiment; nil scores nothing.
	Scorer SentimentScorer
	// AutoPriority sets the suggested priority when it is more urgent than
	// the current one; otherwise the card only shows the suggestion.
	AutoPriority bool
	// CSAT asks for a 1–5 rating on close, when Question has a template.
	CSAT CSAT
	// ReadPolicy is when the bridge marks the customer's DMs read on X:
	// ReadOnReply (default), ReadOnClaim or ReadNever.
	ReadPolicy string
	// TypingEvery throttles how often the customer's typing is shown in
	// the thread; default 2 minutes.
	TypingEvery time.Duration
	// QueuePerAgent is how many waiting customers one available agent
	// answers within a first-response target; default 5. When more wait,
	// the acknowledgement promises proportionally longer. With no agent
	// marked available, one is assumed.
	QueuePerAgent int
}

// Read policies: the customer never sees "read" without an answer arriving
// (on reply), sees it once an agent took the conversation (on claim), or
// never.
const (
	ReadOnReply = "on_reply"
	ReadOnClaim = "on_claim"
	ReadNever   = "never"
)

// AckTemplates are the acknowledgement's two forms. Open is sent inside
// business hours and may use {wait} ("30 minutes"); Closed outside them and
// may use {opens_at} ("Monday 09:00 CET"). Both may use {customer} and
// {ticket}.
type AckTemplates struct {
	Open   string
	Closed string
}

// FAQRule answers common questions. A rule matches when its Language is
// empty or the conversation's, and any keyword appears in the message
// (case-insensitive) or its Pattern matches.
type FAQRule struct {
	Name     string
	Language string
	Keywords []string
	Pattern  *regexp.Regexp
	Answer   string
}

// CSAT configures the satisfaction survey.
type CSAT struct {
	Question map[string]string // per language; empty disables the survey
	Thanks   map[string]string // per language, sent after a rating
	Window   time.Duration     // ratings later than this after the question are ordinary messages; default 7 days
}

// Sentiment is a message's mood as a Scorer rates it.
type Sentiment struct {
	Negative float64 // 0 (not negative) … 1 (furious)
	Urgent   bool    // urgency words ("asap", "紧急", …)
	Label    string  // "very negative", "negative", "neutral", "positive"
}

// SentimentScorer rates a customer's message in its language.
type SentimentScorer interface {
	Score(text, lang string) Sentiment
}

// TierStats measures the first tier over a period.
type TierStats struct {
	Conversations int     // started in the period
	ResolvedByBot int     // answered by an FAQ rule and never handed to a person
	HandedOver    int     // answered by an FAQ rule, then handed to a person
	Acked         int     // acknowledged automatically
	AckSeconds    float64 // mean time from the first message to the acknowledgement reaching X
	CSATAsked     int
	CSATRated     int
	CSATAverage   float64 // mean rating, 0 when none
}

// AutomationShare is the share of conversations resolved by automation.
func (t TierStats) AutomationShare() float64 {
	if t.Conversations == 0 {
		return 0
	}
	return float64(t.ResolvedByBot) / float64(t.Conversations)
}

// CSATResponseRate is the share of surveys answered.
func (t TierStats) CSATResponseRate() float64 {
	if t.CSATAsked == 0 {
		return 0
	}
	return float64(t.CSATRated) / float64(t.CSATAsked)
}

// Automation states of a conversation.
const (
	AutomationHandedOver = "handed_over"
	automationFAQ        = "faq:"
)

// forLanguage picks a template: the language's, else English's, else any.
func forLanguage(m map[string]string, lang string) string {
	if t, ok := m[lang]; ok && t != "" {
		return t
	}
	if t := m["en"]; t != "" {
		return t
	}
	for _, t := range m {
		return t
	}
	return ""
}

// courtesyRE matches messages that only thank or close: they get no
// acknowledgement and no FAQ answer.
var courtesyRE = regexp.MustCompile(`(?i)^\s*(?:ok(?:ay)?[\s,!.]*)?(?:thanks?(?: you)?(?: (?:a lot|so much|very much))?|thx|ty|great|perfect|got it|all good|bye|cheers|谢谢(?:你|您)?|多谢|好的|收到|没事了|感谢)[\s!.,~！。～😊🙏👍❤️]*$|^[\s👍🙏😊❤️✅]+$`)

// OnlyCourtesy reports whether a message only thanks or closes.
func OnlyCourtesy(text string) bool { return courtesyRE.MatchString(text) }

// wantsHuman reports whether the customer asks for a person.
func (t *FirstTier) wantsHuman(text string) bool {
	low := strings.ToLower(strings.TrimSpace(text))
	for _, w := range t.HumanWords {
		w = strings.ToLower(w)
		if low == w || containsWord(low, w) {
			return true
		}
	}
	return false
}

// containsWord finds w in s as a whole word (any script: for CJK a plain
// substring).
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before, after := rune(' '), rune(' ')
		if j > 0 {
			before = lastRune(s[:j])
		}
		if end := j + len(w); end < len(s) {
			after = []rune(s[end:])[0]
		}
		if !isWordRune(before) || !isWordRune(after) || !isWordRune([]rune(w)[0]) {
			return true
		}
		i = j + 1
	}
}

func lastRune(s string) rune { r := []rune(s); return r[len(r)-1] }

func isWordRune(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && r < 0x2E80 // CJK has no word boundaries
}

// faqFor returns the first FAQ rule matching a message.
func (t *FirstTier) faqFor(text, lang string) *FAQRule {
	low := strings.ToLower(text)
	for i := range t.FAQ {
		r := &t.FAQ[i]
		if r.Language != "" && r.Language != lang {
			continue
		}
		if r.Pattern != nil && r.Pattern.MatchString(text) {
			return r
		}
		for _, k := range r.Keywords {
			if k != "" && containsWord(low, strings.ToLower(k)) {
				return r
			}
		}
	}
	return nil
}

// firstTier runs the automatic part of handling a customer message, after
// it was stored: a CSAT rating was already taken out before. It answers an
// FAQ or acknowledges a new conversation, hands an automated conversation
// over to a human when asked (or when the customer writes again), and
// suggests a priority.
func (s *Service) firstTier(ctx context.Context, tx Tx, conv *Conversation, cust *Customer, msg *Message, opened opening) ([]*OutboxItem, error) {
	t := s.Tier
	if t == nil {
		return nil, nil
	}
	var items []*OutboxItem
	now := s.now()
	courtesy := OnlyCourtesy(msg.Text)
	switch {
	case strings.HasPrefix(conv.Automation, automationFAQ) && !courtesy:
		// The customer asked for a human, or wrote again after the answer:
		// the conversation goes to the agents' queue with its context.
		why := "wrote again after the automatic answer"
		if t.wantsHuman(msg.Text) {
			why = "asked for a human"
		}
		conv.Automation, conv.Status = AutomationHandedOver, StatusOpen
		if err := s.audit(ctx, tx, conv.ID, Action{Actor: Actor{Name: "xbridge"}, Source: "automation"}, "handover", "faq", why); err != nil {
			return nil, err
		}
		owner := conv.AssigneeID
		if owner == "" && s.SLA != nil {
			owner = s.SLA.OnDuty
		}
		items = append(items, s.notice(conv, fmt.Sprintf("handover:%d", msg.ID), PostWarning,
			fmt.Sprintf("🙋 The customer %s: this conversation needs a person.", why), owner),
			s.chatItem(conv, EffectCardUpdate, fmt.Sprintf("handover:%d", msg.ID), 0, Payload{}))
	case opened == openedNew && !courtesy:
		if rule := t.faqFor(msg.Text, conv.Language); rule != nil {
			more, err := s.answerFAQ(ctx, tx, conv, rule, msg)
			if err != nil {
				return nil, err
			}
			items = append(items, more...)
		} else if tmpl, ok := t.Ack[conv.Language]; ok || len(t.Ack) > 0 {
			if !ok {
				tmpl = t.Ack["en"]
			}
			text, err := s.ackText(ctx, tx, conv, cust, tmpl, now)
			if err != nil {
				return nil, err
			}
			if text != "" {
				conv.AckedAt = now
				if err := s.sendFromBridge(ctx, tx, conv, Action{Actor: Actor{Name: "xbridge"}}, text, "ack"); err != nil {
					return nil, err
				}
			}
		}
	}
	if t.Scorer != nil && !courtesy {
		more, err := s.suggestPriority(ctx, tx, conv, cust, msg)
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	return items, nil
}

// answerFAQ sends an FAQ rule's answer with the way to reach a human, and
// marks the conversation as waiting on the customer: the first-response
// clock stops, as the customer was answered; if they write again, a human
// takes over and the next-response clock runs.
func (s *Service) answerFAQ(ctx context.Context, tx Tx, conv *Conversation, rule *FAQRule, msg *Message) ([]*OutboxItem, error) {
	answer := rule.Answer
	if hint := forLanguage(s.Tier.HumanHint, conv.Language); hint != "" {
		answer += "\n\n" + hint
	}
	conv.Automation, conv.Status = automationFAQ+rule.Name, StatusPending
	if err := s.sendFromBridge(ctx, tx, conv, Action{Actor: Actor{Name: "xbridge"}}, answer, "faq"); err != nil {
		return nil, err
	}
	if _, err := s.updateSLA(ctx, tx, conv, slaAnsweredByBot); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, conv.ID, Action{Actor: Actor{Name: "xbridge"}, Source: "automation"}, "faq", "", rule.Name); err != nil {
		return nil, err
	}
	return []*OutboxItem{s.notice(conv, fmt.Sprintf("faq:%d", msg.ID), PostNotice,
		fmt.Sprintf("🤖 Answered automatically (FAQ: %s). If the customer writes again, it comes back to you.", rule.Name))}, nil
}

// ackText fills the acknowledgement: inside business hours when a human
// will answer (the first-response target, stretched when the queue is
// long), outside them when the team is back.
func (s *Service) ackText(ctx context.Context, tx Tx, conv *Conversation, cust *Customer, tmpl AckTemplates, now time.Time) (string, error) {
	var cal *Calendar
	wait := DefaultSLAPolicy.FirstResponse
	if s.SLA != nil {
		cal = s.SLA.Calendar
		wait = s.SLA.policy(conv).FirstResponse
	}
	if !cal.IsOpen(now) {
		return strings.NewReplacer("{customer}", cust.DisplayName(), "{ticket}", conv.Ticket(),
			"{opens_at}", opensAt(cal, now, conv.Language)).Replace(tmpl.Closed), nil
	}
	factor, err := s.queueFactor(ctx, tx, conv)
	if err != nil {
		return "", err
	}
	return strings.NewReplacer("{customer}", cust.DisplayName(), "{ticket}", conv.Ticket(),
		"{wait}", humanWait(wait*time.Duration(factor), conv.Language)).Replace(tmpl.Open), nil
}

// queueFactor is how many first-response targets the customers already
// waiting take to clear: 1 while the available agents can answer them all
// within one target, more as the queue outgrows them.
func (s *Service) queueFactor(ctx context.Context, tx Tx, conv *Conversation) (int, error) {
	per := s.Tier.QueuePerAgent
	if per <= 0 {
		per = 5
	}
	agents, err := tx.Agents(ctx, conv.ChatPlatform)
	if err != nil {
		return 0, err
	}
	available := 0
	for _, a := range agents {
		if a.Available {
			available++
		}
	}
	capacity := max(available, 1) * per
	const maxFactor = 8 // past a working day's worth, a bigger number informs nobody
	ahead, err := tx.WaitingCustomers(ctx, conv.ID, capacity*maxFactor)
	if err != nil {
		return 0, err
	}
	return min(ahead/capacity+1, maxFactor), nil
}

// humanWait says a duration the way a person would ("30 minutes", "2 hours").
func humanWait(d time.Duration, lang string) string {
	zh := lang == "zh"
	switch {
	case d < time.Hour:
		m := int((d + time.Minute - 1) / time.Minute)
		if zh {
			return fmt.Sprintf("%d 分钟", m)
		}
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	case d%time.Hour == 0 || d >= 6*time.Hour:
		h := int((d + time.Hour/2) / time.Hour)
		if zh {
			return fmt.Sprintf("%d 小时", h)
		}
		if h == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	if zh {
		return fmt.Sprintf("%.1f 小时", d.Hours())
	}
	return fmt.Sprintf("%.1f hours", d.Hours())
}

// opensAt says when business hours start again, in the calendar's zone.
func opensAt(cal *Calendar, now time.Time, lang string) string {
	next := cal.NextOpen(now)
	loc := time.UTC
	if cal != nil && cal.Location != nil {
		loc = cal.Location
	}
	next = next.In(loc)
	zone := next.Format("MST")
	if lang == "zh" {
		day := map[time.Weekday]string{time.Sunday: "周日", time.Monday: "周一", time.Tuesday: "周二",
			time.Wednesday: "周三", time.Thursday: "周四", time.Friday: "周五", time.Saturday: "周六"}[next.Weekday()]
		return fmt.Sprintf("%s %s（%s）", day, next.Format("15:04"), zone)
	}
	return fmt.Sprintf("%s %s %s", next.Weekday(), next.Format("15:04"), zone)
}

// suggestPriority rates the message and the customer's reach, records the
// suggestion and why, and sets it when configured and more urgent.
func (s *Service) suggestPriority(ctx context.Context, tx Tx, conv *Conversation, cust *Customer, msg *Message) ([]*OutboxItem, error) {
	sent := s.Tier.Scorer.Score(msg.Text, conv.Language)
	p, why := SuggestPriority(sent, cust.Followers, cust.Verified)
	if why == "" {
		return nil, nil
	}
	hint := string(p) + ": " + why
	if prev, _, ok := strings.Cut(conv.PriorityHint, ":"); ok && (hint == conv.PriorityHint || rank(p) > rank(Priority(prev))) {
		return nil, nil // the same, or less urgent than what was already suggested
	}
	conv.PriorityHint = hint
	var items []*OutboxItem
	key := fmt.Sprintf("hint:%d", msg.ID)
	if s.Tier.AutoPriority && rank(p) < rank(conv.Priority) {
		before := conv.Priority
		conv.Priority = p
		if _, err := s.updateSLA(ctx, tx, conv, slaPolicyChanged); err != nil {
			return nil, err
		}
		if err := s.audit(ctx, tx, conv.ID, Action{Actor: Actor{Name: "xbridge"}, Source: "automation"}, "priority", string(before), string(p)); err != nil {
			return nil, err
		}
		items = append(items, s.notice(conv, key, PostNotice, fmt.Sprintf("Priority set to %s automatically (%s).", p, why)))
	}
	return append(items, s.chatItem(conv, EffectCardUpdate, key, 0, Payload{})), nil
}

// rank orders priorities, most urgent first.
func rank(p Priority) int {
	switch p {
	case PriorityUrgent:
		return 0
	case PriorityHigh:
		return 1
	case PriorityLow:
		return 3
	}
	return 2
}

// SuggestPriority combines a message's mood with the customer's reach: an
// angry or urgent message from someone many people follow matters more.
// It returns the priority and why ("negative, 48k followers"); no reason
// means nothing stands out.
func SuggestPriority(s Sentiment, followers int, verified bool) (Priority, string) {
	score := 0.0
	var why []string
	switch {
	case s.Negative >= 0.6:
		score += 2
		why = append(why, "very negative")
	case s.Negative >= 0.25:
		score += 1
		why = append(why, "negative")
	}
	if s.Urgent {
		score += 1
		why = append(why, "urgent")
	}
	reach := ""
	switch {
	case followers >= 100_000:
		score += 2
		reach = HumanCount(followers) + " followers"
	case followers >= 10_000:
		score += 1
		reach = HumanCount(followers) + " followers"
	}
	if verified {
		score += 0.5
		if reach == "" {
			reach = "verified"
		} else {
			reach += ", verified"
		}
	}
	if reach != "" && score >= 1.5 {
		why = append(why, reach)
	}
	switch {
	case score >= 3.5:
		return PriorityUrgent, strings.Join(why, ", ")
	case score >= 2:
		return PriorityHigh, strings.Join(why, ", ")
	}
	return PriorityNormal, ""
}
