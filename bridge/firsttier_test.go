package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// tier turns the first tier on with English and Chinese templates.
func tier(h *harness) *bridge.FirstTier {
	t := &bridge.FirstTier{
		Ack: map[string]bridge.AckTemplates{
			"en": {Open: "Thanks {customer}! A person will answer within {wait} ({ticket}).", Closed: "Thanks! We're back {opens_at}."},
			"zh": {Open: "收到！我们会在 {wait} 内回复您。", Closed: "收到！我们将于 {opens_at} 回复。"},
		},
		FAQ: []bridge.FAQRule{
			{Name: "order-status", Keywords: []string{"where is my order", "order status", "订单状态"},
				Answer: "You can track any order at acme.example/track."},
			{Name: "returns", Language: "en", Keywords: []string{"return"}, Answer: "Returns are free within 30 days: acme.example/returns."},
		},
		HumanHint:  map[string]string{"en": "Reply HUMAN to talk to a person.", "zh": "回复“人工”联系客服。"},
		HumanWords: []string{"human", "agent", "person", "人工"},
		CSAT: bridge.CSAT{
			Question: map[string]string{"en": "How did we do? Reply 1–5.", "zh": "请为本次服务打分（1–5）。"},
			Thanks:   map[string]string{"en": "Thank you for your feedback!", "zh": "感谢您的评价！"},
			Window:   24 * time.Hour,
		},
	}
	h.svc.Tier = t
	h.svc.SLA = &bridge.SLA{OnDuty: "<!subteam^SDUTY>"}
	h.svc.Rules = wholeRules{} // compare whole messages
	return t
}

func dmTexts(h *harness, to string) []string {
	var out []string
	for _, d := range h.x.sentDMs() {
		if d.to == to {
			out = append(out, d.text)
		}
	}
	return out
}

func TestAcknowledgementSetsTheExpectation(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h)
	h.dm("2001", "my package is damaged")
	h.drain()
	if got := dmTexts(h, "2001"); len(got) != 1 || got[0] != "Thanks Customer 2001! A person will answer within 15 minutes (#1)." {
		t.Fatalf("ack = %q", got)
	}
	// The acknowledgement is not a human's first response.
	if fr := h.targets(1)["first_response#1"]; fr == nil || fr.State != bridge.TargetRunning {
		t.Fatalf("first response after the ack = %+v", fr)
	}
	// Once per conversation: the next message gets none.
	h.dm("2001", "also the box was wet")
	if got := dmTexts(h, "2001"); len(got) != 1 {
		t.Fatalf("acks = %q", got)
	}
	// A customer who only thanks gets nothing.
	h.dm("2002", "thanks!")
	if got := dmTexts(h, "2002"); len(got) != 0 {
		t.Fatalf("courtesy got %q", got)
	}
	// Chinese customers get the Chinese template.
	h.dm("2003", "我的包裹坏了，怎么办")
	if got := dmTexts(h, "2003"); len(got) != 1 || got[0] != "收到！我们会在 15 分钟 内回复您。" {
		t.Fatalf("zh ack = %q", got)
	}
	if c := h.conv(3); c.Language != "zh" {
		t.Fatalf("language = %q", c.Language)
	}
}

func TestAcknowledgementCountsTheQueue(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h).QueuePerAgent = 2
	wait := func(from string) string {
		t.Helper()
		h.dm(from, "my package is damaged")
		h.drain()
		got := dmTexts(h, from)
		if len(got) != 1 {
			t.Fatalf("acks to %s = %q", from, got)
		}
		_, w, _ := strings.Cut(got[0], "within ")
		w, _, _ = strings.Cut(w, " (#")
		return w
	}
	// Nobody marked available: one agent is assumed, answering two
	// customers per first-response target.
	for _, c := range []struct{ from, want string }{
		{"2001", "15 minutes"}, {"2002", "15 minutes"}, {"2003", "30 minutes"}, {"2004", "30 minutes"}, {"2005", "45 minutes"},
	} {
		if got := wait(c.from); got != c.want {
			t.Errorf("ack to %s promises %q, want %q", c.from, got, c.want)
		}
	}
	// An answered customer no longer waits.
	h.agent(h.thread(1), "we're on it")
	if got := wait("2006"); got != "45 minutes" {
		t.Errorf("after an answer: %q, want 45 minutes (four still waiting)", got)
	}
	// Three agents available: six a target.
	for _, id := range []string{"U1", "U2", "U3"} {
		if err := h.svc.SetAvailable(h.ctx, bridge.Action{Actor: bridge.Actor{Platform: "slack", ID: id, Name: id}}, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := wait("2007"); got != "15 minutes" {
		t.Errorf("with three agents: %q, want 15 minutes", got)
	}
}

func TestAcknowledgementOutsideBusinessHours(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h)
	h.svc.SLA.Calendar = berlinWeekdays(t)
	saturday := time.Date(2026, 3, 7, 11, 0, 0, 0, time.UTC)
	h.clock.Advance(saturday.Sub(h.clock.Now()))
	h.dm("2001", "my package is damaged")
	h.drain()
	if got := dmTexts(h, "2001"); len(got) != 1 || got[0] != "Thanks! We're back Monday 09:00 CET." {
		t.Fatalf("after-hours ack = %q", got)
	}
}

func TestFAQAnswerAndTheWayToAHuman(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h)
	h.dm("2001", "Hi, where is my order? It's #48213")
	h.drain()
	got := dmTexts(h, "2001")
	if len(got) != 1 || got[0] != "You can track any order at acme.example/track.\n\nReply HUMAN to talk to a person." {
		t.Fatalf("FAQ answer = %q", got)
	}
	c := h.conv(1)
	if c.Automation != "faq:order-status" || c.Status != bridge.StatusPending {
		t.Fatalf("after the FAQ: automation %q status %s", c.Automation, c.Status)
	}
	if fr := h.targets(1)["first_response#1"]; fr.State != bridge.TargetCancelled {
		t.Fatalf("first response = %s; an answered FAQ owes no first response", fr.State)
	}
	// The thread shows the automatic exchange.
	notices := strings.Join(h.chat.noticesIn(h.thread(1)), "\n")
	if !strings.Contains(notices, "Sent to the customer: You can track any order") ||
		!strings.Contains(notices, "Answered automatically (FAQ: order-status)") {
		t.Fatalf("notices = %q", notices)
	}
	// The customer asks for a person: the conversation goes to the queue, with its context.
	h.dm("2001", "HUMAN")
	c = h.conv(1)
	if c.Automation != bridge.AutomationHandedOver || c.Status != bridge.StatusOpen {
		t.Fatalf("after HUMAN: automation %q status %s", c.Automation, c.Status)
	}
	posts := h.chat.thread(h.thread(1))
	last := posts[len(posts)-1]
	if !strings.Contains(last.Text, "asked for a human") || len(last.Mention) != 1 || last.Mention[0] != "<!subteam^SDUTY>" {
		t.Fatalf("hand-over notice = %+v", last)
	}
	if nr := h.targets(1)["next_response#1"]; nr == nil || nr.State != bridge.TargetRunning {
		t.Fatalf("next response after the hand-over = %+v", nr)
	}
	if len(dmTexts(h, "2001")) != 1 {
		t.Fatal("the hand-over sent the customer something")
	}
}

func TestCSATOnClose(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h)
	h.dm("2001", "the app crashes")
	if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "fixed"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if got := dmTexts(h, "2001"); got[len(got)-1] != "How did we do? Reply 1–5." {
		t.Fatalf("csat question = %q", got)
	}
	h.dm("2001", "⭐⭐⭐⭐")
	c := h.conv(1)
	if c.CSATScore != 4 || c.Status != bridge.StatusClosed {
		t.Fatalf("after rating: score %d status %s", c.CSATScore, c.Status)
	}
	if got := dmTexts(h, "2001"); got[len(got)-1] != "Thank you for your feedback!" {
		t.Fatalf("thanks = %q", got)
	}
	if n := h.chat.noticesIn(h.thread(1)); !strings.Contains(n[len(n)-1], "rated this conversation 4/5") {
		t.Fatalf("notice = %q", n)
	}
	// A second rating is an ordinary message: it reopens.
	h.dm("2001", "5")
	if c := h.conv(1); c.CSATScore != 4 || c.Status != bridge.StatusOpen {
		t.Fatalf("second answer: score %d status %s", c.CSATScore, c.Status)
	}
}

func TestCSATWindowAndNonRatings(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h)
	h.dm("2001", "help")
	h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "")
	h.dm("2001", "I have 2 more questions") // not a rating: reopens
	if c := h.conv(1); c.CSATScore != 0 || c.Status != bridge.StatusOpen {
		t.Fatalf("score %d status %s", c.CSATScore, c.Status)
	}
	h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "")
	h.clock.Advance(25 * time.Hour)
	h.dm("2001", "5") // too late: an ordinary message
	if c := h.conv(1); c.CSATScore != 0 {
		t.Fatalf("a late rating was taken: %d", c.CSATScore)
	}
}

func TestParseRating(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"5", 5}, {"4/5", 4}, {"3 stars", 3}, {" 2 ", 2}, {"1!", 1}, {"rating: 4", 4}, {"5分", 5},
		{"★★★", 3}, {"⭐⭐⭐⭐⭐", 5}, {"great", 5}, {"Excellent!", 5}, {"good", 4}, {"ok", 3}, {"bad", 2},
		{"terrible", 1}, {"not good", 2}, {"非常满意", 5}, {"满意", 4}, {"一般", 3}, {"不满意", 2}, {"非常不满意", 1},
		{"😍", 5}, {"🙂", 4}, {"😐", 3}, {"😞", 2}, {"😡", 1},
		{"6", 0}, {"0", 0}, {"I have 2 more questions", 0}, {"", 0}, {"good morning, my order is late", 0}, {"12345", 0},
	} {
		got, ok := bridge.ParseRating(tc.in)
		if (tc.want == 0) == ok || got != tc.want {
			t.Errorf("ParseRating(%q) = %d, %v; want %d", tc.in, got, ok, tc.want)
		}
	}
}

func TestOnlyCourtesy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"thanks!", true}, {"Thank you so much 🙏", true}, {"ok thanks", true}, {"谢谢！", true}, {"👍", true},
		{"got it", true}, {"thanks, but it still doesn't work", false}, {"where is my order", false}, {"谢谢，但是还是不行", false},
	} {
		if got := bridge.OnlyCourtesy(tc.in); got != tc.want {
			t.Errorf("OnlyCourtesy(%q) = %v", tc.in, got)
		}
	}
}

type fakeScorer map[string]bridge.Sentiment

func (f fakeScorer) Score(text, _ string) bridge.Sentiment { return f[text] }

func TestPrioritySuggestedFromSentimentAndReach(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s         bridge.Sentiment
		followers int
		verified  bool
		want      bridge.Priority
		why       string
	}{
		{bridge.Sentiment{Negative: 0.7}, 48200, false, bridge.PriorityHigh, "very negative, 48.2k followers"},
		{bridge.Sentiment{Negative: 0.7, Urgent: true}, 250000, true, bridge.PriorityUrgent, "very negative, urgent, 250k followers, verified"},
		{bridge.Sentiment{Negative: 0.3}, 12000, false, bridge.PriorityHigh, "negative, 12k followers"},
		{bridge.Sentiment{Negative: 0.3}, 50, false, bridge.PriorityNormal, ""},
		{bridge.Sentiment{}, 2_000_000, true, bridge.PriorityHigh, "2M followers, verified"},
		{bridge.Sentiment{}, 300, false, bridge.PriorityNormal, ""},
	} {
		p, why := bridge.SuggestPriority(tc.s, tc.followers, tc.verified)
		if p != tc.want || why != tc.why {
			t.Errorf("SuggestPriority(%+v, %d, %v) = %s %q; want %s %q", tc.s, tc.followers, tc.verified, p, why, tc.want, tc.why)
		}
	}
	h := setup(t)
	tr := tier(h)
	tr.Scorer = fakeScorer{"THIS IS THE THIRD TIME I ASK": {Negative: 0.8, Label: "very negative"}}
	tr.AutoPriority = true
	ev := bridge.InboundMessage{EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2009",
		Sender: bridge.XUser{ID: "2009", Handle: "loud", Name: "Loud", Followers: 48200}, Text: "THIS IS THE THIRD TIME I ASK"}
	if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
		t.Fatal(err)
	}
	h.drain()
	c := h.conv(1)
	if c.Priority != bridge.PriorityHigh || c.PriorityHint != "high: very negative, 48.2k followers" {
		t.Fatalf("priority %s hint %q", c.Priority, c.PriorityHint)
	}
	if card := h.lastCard(); !strings.Contains(card.TierLine(), "Suggested: high (very negative, 48.2k followers)") {
		t.Fatalf("card line = %q", card.TierLine())
	}
}
