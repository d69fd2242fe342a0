package bridge_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

func TestCustomerDMBecomesThreadWithCard(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "Hi, my order #1234 never arrived")
	if len(h.chat.cards) != 1 {
		t.Fatalf("cards = %d, want 1", len(h.chat.cards))
	}
	card := h.chat.cards[0].card
	if card.Ticket != "#1" || card.Kind != bridge.KindDM || card.Handle != "cust2001" || card.CustomerName != "Customer 2001" || card.Followers != 120 || card.Status != bridge.StatusOpen {
		t.Errorf("card = %+v", card)
	}
	posts := h.chat.thread(h.thread(1))
	if len(posts) != 1 || posts[0].Kind != bridge.PostCustomer || posts[0].Text != "Hi, my order #1234 never arrived" || posts[0].AuthorName != "Customer 2001" {
		t.Fatalf("thread = %+v", posts)
	}
	// A second message from the same customer lands in the same thread.
	h.dm("2001", "Any news?")
	if len(h.chat.cards) != 1 || len(h.chat.thread(h.thread(1))) != 2 {
		t.Fatalf("second DM: cards %d, thread %d", len(h.chat.cards), len(h.chat.thread(h.thread(1))))
	}
}

func TestDuplicateInboundIsNoOp(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ev := h.dm("2001", "hello")
	out, err := h.svc.HandleInbound(h.ctx, ev)
	if err != nil || out != bridge.OutcomeDuplicate {
		t.Fatalf("redelivery = %v, %v; want duplicate", out, err)
	}
	h.drain()
	if n := len(h.chat.thread(h.thread(1))); n != 1 {
		t.Fatalf("thread has %d posts after redelivery, want 1", n)
	}
}

func TestAgentReplyWaitsSendDelayThenReachesCustomer(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	msg := h.agent(h.thread(1), "Hi! Let me check.")
	if got := h.chat.marks(msg); !reflect.DeepEqual(got, []bridge.Reaction{bridge.ReactionWaiting}) {
		t.Fatalf("marks during delay = %v, want waiting", got)
	}
	h.advance(9 * time.Second)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("sent %d DMs inside the send delay", n)
	}
	h.advance(time.Second)
	dms := h.x.sentDMs()
	if len(dms) != 1 || dms[0].to != "2001" || dms[0].text != "Hi! Let me check." {
		t.Fatalf("dms = %+v", dms)
	}
	if got := h.chat.marks(msg); !reflect.DeepEqual(got, []bridge.Reaction{bridge.ReactionSent}) {
		t.Fatalf("marks after send = %v, want sent only", got)
	}
}

func TestInternalMessagesNeverReachCustomer(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"// they were rude last time", "!tag billing", "  // indented note"} {
		h := setup(t)
		h.dm("2001", "hello")
		msg := h.agent(h.thread(1), text)
		h.advance(time.Minute)
		if n := len(h.x.sentDMs()); n != 0 {
			t.Errorf("%q: %d DMs sent", text, n)
		}
		if m := h.chat.marks(msg); len(m) != 0 {
			t.Errorf("%q: marks %v on an internal message", text, m)
		}
	}
}

func TestMessagesOutsideTicketThreadsAreIgnored(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	for _, m := range []bridge.ChatMessage{
		{Platform: "slack", EventID: "e1", Channel: "C1", MessageID: "x1", Text: "chatter in the channel"},
		{Platform: "slack", EventID: "e2", Channel: "C1", ThreadID: "not-a-ticket", MessageID: "x2", Text: "other thread"},
		{Platform: "slack", EventID: "e3", Channel: "C9", ThreadID: h.thread(1), MessageID: "x3", Text: "wrong channel"},
	} {
		out, err := h.svc.HandleChatMessage(h.ctx, m)
		if err != nil || out != bridge.OutcomeIgnored {
			t.Errorf("%s: %v, %v; want ignored", m.EventID, out, err)
		}
	}
	h.advance(time.Minute)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("%d DMs sent", n)
	}
}

func TestDeleteInsideDelayCancelsSend(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	msg := h.agent(h.thread(1), "oops, wrong customer")
	if err := h.svc.HandleChatDelete(h.ctx, bridge.ChatDelete{Platform: "slack", EventID: "del1", Channel: "C1", MessageID: msg}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Minute)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("%d DMs sent after delete", n)
	}
	if got := h.chat.noticesIn(h.thread(1)); len(got) != 1 || !strings.Contains(got[0], "Send cancelled") {
		t.Fatalf("notices = %q", got)
	}
}

func TestEditInsideDelayChangesText(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	msg := h.agent(h.thread(1), "Your refnud is on its way")
	h.advance(5 * time.Second)
	if err := h.svc.HandleChatEdit(h.ctx, bridge.ChatEdit{Platform: "slack", EventID: "ed1", Channel: "C1", MessageID: msg, Text: "Your refund is on its way"}); err != nil {
		t.Fatal(err)
	}
	h.advance(4 * time.Second)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("edit restarted nothing but sent early: %d", n)
	}
	h.advance(time.Second) // the original delay still holds
	dms := h.x.sentDMs()
	if len(dms) != 1 || dms[0].text != "Your refund is on its way" {
		t.Fatalf("dms = %+v", dms)
	}
}

func TestEditOrDeleteAfterSendWarns(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	msg := h.agent(h.thread(1), "Done!")
	h.advance(10 * time.Second)
	if err := h.svc.HandleChatEdit(h.ctx, bridge.ChatEdit{Platform: "slack", EventID: "ed1", Channel: "C1", MessageID: msg, Text: "Done!!"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.HandleChatDelete(h.ctx, bridge.ChatDelete{Platform: "slack", EventID: "del1", Channel: "C1", MessageID: msg}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	got := h.chat.noticesIn(h.thread(1))
	if len(got) != 2 || !strings.Contains(got[0], "Already sent") || !strings.Contains(got[1], "already reached the customer") {
		t.Fatalf("notices = %q", got)
	}
	if dms := h.x.sentDMs(); len(dms) != 1 || dms[0].text != "Done!" {
		t.Fatalf("dms = %+v", dms)
	}
}

func TestLongDMIsSplitAndMarkedSentOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	text := strings.Repeat("a", 120)
	msg := h.agent(h.thread(1), text)
	h.advance(10 * time.Second)
	dms := h.x.sentDMs()
	if len(dms) != 3 || dms[0].text+dms[1].text+dms[2].text != text {
		t.Fatalf("dms = %+v", dms)
	}
	if got := h.chat.marks(msg); !reflect.DeepEqual(got, []bridge.Reaction{bridge.ReactionSent}) {
		t.Fatalf("marks = %v", got)
	}
}

func TestMentionReplyTooLongIsRefusedWithCount(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ev := bridge.InboundMessage{EventID: "7001", Account: "1000", Kind: bridge.KindMention, ConversationKey: "7001",
		Sender: customer("2002"), Text: "@acme_help my app crashes"}
	if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
		t.Fatal(err)
	}
	h.drain()
	msg := h.agent(h.thread(1), strings.Repeat("x", 300))
	h.advance(time.Minute)
	if len(h.x.replies) != 0 {
		t.Fatalf("replies = %+v", h.x.replies)
	}
	got := h.chat.noticesIn(h.thread(1))
	if len(got) != 1 || !strings.Contains(got[0], "300 characters") {
		t.Fatalf("notices = %q", got)
	}
	if m := h.chat.marks(msg); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionFailed}) {
		t.Fatalf("marks = %v", m)
	}
	// A short one goes out as a reply to the customer's tweet.
	h.agent(h.thread(1), "Sorry! Which version?")
	h.advance(10 * time.Second)
	if len(h.x.replies) != 1 || h.x.replies[0].to != "7001" {
		t.Fatalf("replies = %+v", h.x.replies)
	}
}

func TestCustomerReplyToOurTweetStaysInConversation(t *testing.T) {
	t.Parallel()
	h := setup(t)
	first := bridge.InboundMessage{EventID: "7001", Account: "1000", Kind: bridge.KindMention, ConversationKey: "7001",
		Sender: customer("2002"), Text: "@acme_help help"}
	h.svc.HandleInbound(h.ctx, first)
	h.drain()
	h.agent(h.thread(1), "What happened?")
	h.advance(10 * time.Second)
	ours := h.x.replies[0].id
	// The webhook path does not know the conversation id; the reply chain does.
	second := bridge.InboundMessage{EventID: "7003", Account: "1000", Kind: bridge.KindMention, InReplyToID: ours,
		Sender: customer("2002"), Text: "@acme_help it crashes on start"}
	if out, err := h.svc.HandleInbound(h.ctx, second); err != nil || out != bridge.OutcomeStored {
		t.Fatal(out, err)
	}
	h.drain()
	if len(h.chat.cards) != 1 {
		t.Fatalf("cards = %d, want the same conversation", len(h.chat.cards))
	}
	h.agent(h.thread(1), "Fixed in 2.1")
	h.advance(10 * time.Second)
	if len(h.x.replies) != 2 || h.x.replies[1].to != "7003" {
		t.Fatalf("second reply should answer the latest customer tweet: %+v", h.x.replies)
	}
}

func TestOwnEchoesAreNotCustomerMessages(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	h.agent(h.thread(1), "Hi there")
	h.advance(10 * time.Second)
	sent := h.x.sentDMs()[0]
	echo := bridge.InboundMessage{EventID: sent.id, Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2001",
		Sender: bridge.XUser{ID: "1000", Handle: "acme_help"}, RecipientID: "2001", Text: "Hi there"}
	out, err := h.svc.HandleInbound(h.ctx, echo)
	if err != nil || (out != bridge.OutcomeDuplicate && out != bridge.OutcomeOwnEcho) {
		t.Fatalf("echo = %v, %v", out, err)
	}
	// A DM typed on X directly by the support account shows in the thread.
	direct := echo
	direct.EventID, direct.Text = "8888", "Sent from the X app"
	if out, err := h.svc.HandleInbound(h.ctx, direct); err != nil || out != bridge.OutcomeStored {
		t.Fatalf("direct = %v, %v", out, err)
	}
	h.drain()
	var customerPosts int
	for _, p := range h.chat.thread(h.thread(1)) {
		if p.Kind == bridge.PostCustomer {
			customerPosts++
		}
	}
	if customerPosts != 1 {
		t.Fatalf("customer posts = %d, want 1", customerPosts)
	}
	if got := h.chat.noticesIn(h.thread(1)); len(got) != 1 || !strings.Contains(got[0], "Sent from the X app") {
		t.Fatalf("notices = %q", got)
	}
}

func TestEchoOvertakingCompletionIsMatched(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	h.agent(h.thread(1), "Racing")
	h.clock.Advance(10 * time.Second)
	items, err := h.store.ClaimOutbox(h.ctx, h.clock.Now(), time.Minute, 10)
	if err != nil || len(items) != 1 || !items[0].Effect.IsX() {
		t.Fatalf("claim = %v, %v", items, err)
	}
	// X delivered the DM and echoed it before the worker recorded the result.
	echo := bridge.InboundMessage{EventID: "9999", Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2001",
		Sender: bridge.XUser{ID: "1000", Handle: "acme_help"}, RecipientID: "2001", Text: "Racing"}
	if out, err := h.svc.HandleInbound(h.ctx, echo); err != nil || out != bridge.OutcomeOwnEcho {
		t.Fatalf("echo = %v, %v", out, err)
	}
	h.drain()
	if got := h.chat.noticesIn(h.thread(1)); len(got) != 0 {
		t.Fatalf("notices = %q; the echo must not look like a direct send", got)
	}
}

func TestRateLimitedSendWaitsForResetAndSaysSoOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	reset := h.clock.Now().Add(10*time.Second + 40*time.Second)
	limited := &bridge.DeliveryError{RateLimited: true, RetryAt: reset, Reason: "X send limit"}
	h.x.fail = []error{limited, limited}
	msg := h.agent(h.thread(1), "On it")
	h.advance(10 * time.Second)
	got := h.chat.noticesIn(h.thread(1))
	if len(got) != 1 || got[0] != "Queued: X send limit, next slot in 40s." {
		t.Fatalf("notices = %q", got)
	}
	h.advance(39 * time.Second)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("sent before reset: %d", n)
	}
	h.advance(time.Second) // reset reached: 429 again, then success later
	h.advance(time.Minute)
	if n := len(h.x.sentDMs()); n != 1 {
		t.Fatalf("sent %d, want 1", n)
	}
	if got := h.chat.noticesIn(h.thread(1)); len(got) != 1 {
		t.Fatalf("the queue notice must appear once: %q", got)
	}
	if m := h.chat.marks(msg); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionSent}) {
		t.Fatalf("marks = %v", m)
	}
}

func TestPermanentFailureWarnsAndResendWorks(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	h.x.fail = []error{&bridge.DeliveryError{Reason: "X refused the DM: You cannot send messages to this user."}}
	msg := h.agent(h.thread(1), "Hello?")
	h.advance(10 * time.Second)
	posts := h.chat.thread(h.thread(1))
	warn := posts[len(posts)-1]
	if warn.Kind != bridge.PostWarning || !strings.Contains(warn.Text, "cannot send messages to this user") || len(warn.Buttons) != 1 || warn.Buttons[0].Action != bridge.ActionResend {
		t.Fatalf("warning = %+v", warn)
	}
	if m := h.chat.marks(msg); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionFailed}) {
		t.Fatalf("marks = %v", m)
	}
	click := bridge.ChatAction{Platform: "slack", EventID: "click1", Channel: "C1", UserID: "U1", UserName: "Bob",
		Action: bridge.ActionResend, Value: warn.Buttons[0].Value}
	if err := h.svc.HandleChatAction(h.ctx, click); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if dms := h.x.sentDMs(); len(dms) != 1 || dms[0].text != "Hello?" {
		t.Fatalf("dms = %+v", dms)
	}
	if m := h.chat.marks(msg); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionSent}) {
		t.Fatalf("marks = %v", m)
	}
	// A second click on the same button does nothing more.
	click.EventID = "click2"
	if err := h.svc.HandleChatAction(h.ctx, click); bridge.ErrorCode(err) != bridge.ECONFLICT {
		t.Fatalf("second resend = %v, want conflict", err)
	}
}

func TestTemporaryFailuresRetryWithBackoffThenGiveUp(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	down := &bridge.DeliveryError{Temporary: true, Reason: "X is down"}
	h.x.fail = []error{down, down}
	h.agent(h.thread(1), "Retry me")
	h.advance(10 * time.Second)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatal("sent despite failure")
	}
	if got := h.chat.noticesIn(h.thread(1)); len(got) != 1 || !strings.Contains(got[0], "X is down") || !strings.Contains(got[0], "retrying automatically") {
		t.Fatalf("the thread should say once what is waiting: %q", got)
	}
	h.settle()
	if n := len(h.x.sentDMs()); n != 1 {
		t.Fatalf("after backoff sent %d, want 1", n)
	}
	// With MaxAttempts 3, three temporary failures are final.
	h.x.fail = []error{down, down, down}
	msg := h.agent(h.thread(1), "Doomed")
	h.settle()
	if n := len(h.x.sentDMs()); n != 1 {
		t.Fatalf("sent %d", n)
	}
	if m := h.chat.marks(msg); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionFailed}) {
		t.Fatalf("marks = %v", m)
	}
}

func TestCrashMidSendIsReconciledOrFlaggedNeverRepeated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		foundOnX  bool
		wantMarks []bridge.Reaction
	}{
		{"found on X", true, []bridge.Reaction{bridge.ReactionSent}},
		{"not found", false, []bridge.Reaction{bridge.ReactionFailed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			h.dm("2001", "hello")
			msg := h.agent(h.thread(1), "Crash test")
			h.clock.Advance(10 * time.Second)
			// A worker claims the send and dies before recording anything.
			if items, err := h.store.ClaimOutbox(h.ctx, h.clock.Now(), time.Minute, 10); err != nil || len(items) != 1 {
				t.Fatalf("claim = %v, %v", items, err)
			}
			if tc.foundOnX {
				h.x.found = map[string]string{"Crash test": "4242"}
			}
			h.clock.Advance(2 * time.Minute)
			if err := h.disp.Recover(h.ctx); err != nil {
				t.Fatal(err)
			}
			h.advance(time.Hour)
			if n := len(h.x.sentDMs()); n != 0 {
				t.Fatalf("the send was repeated %d times", n)
			}
			if m := h.chat.marks(msg); !reflect.DeepEqual(m, tc.wantMarks) {
				t.Fatalf("marks = %v, want %v", m, tc.wantMarks)
			}
			notices := h.chat.noticesIn(h.thread(1))
			if flagged := len(notices) == 1 && strings.Contains(notices[0], "may or may not have reached"); flagged == tc.foundOnX {
				t.Fatalf("notices = %q", notices)
			}
		})
	}
}

func TestUnknownOutcomeFromAdapterIsFlagged(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	h.x.fail = []error{&bridge.DeliveryError{Unknown: true, Reason: "connection lost after sending"}}
	h.agent(h.thread(1), "Maybe sent")
	h.advance(time.Hour)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("resent %d times without asking", n)
	}
	notices := h.chat.noticesIn(h.thread(1))
	if len(notices) != 1 || !strings.Contains(notices[0], "may or may not have reached") {
		t.Fatalf("notices = %q", notices)
	}
}

func TestChatOutageKeepsOrderAndLosesNothing(t *testing.T) {
	t.Parallel()
	h := setup(t)
	down := &bridge.DeliveryError{Temporary: true, Reason: "slack down"}
	h.chat.fail = []error{down, down}
	ev := bridge.InboundMessage{EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2001",
		Sender: customer("2001"), Text: "first"}
	h.svc.HandleInbound(h.ctx, ev)
	ev.EventID, ev.Text = nextID(), "second"
	h.svc.HandleInbound(h.ctx, ev)
	h.drain()
	if len(h.chat.cards) != 0 {
		t.Fatal("card posted while Slack was down")
	}
	h.settle()
	posts := h.chat.thread(h.thread(1))
	if len(posts) != 2 || posts[0].Text != "first" || posts[1].Text != "second" {
		t.Fatalf("thread = %+v", posts)
	}
}

func TestReopenInsideWindowAndNewConversationAfter(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "hello")
	closeConversation(t, h, 1)
	h.clock.Advance(24 * time.Hour)
	h.dm("2001", "me again")
	if len(h.chat.cards) != 1 {
		t.Fatalf("cards = %d; inside the window the thread is reused", len(h.chat.cards))
	}
	if n := h.chat.noticesIn(h.thread(1)); len(n) != 1 || !strings.Contains(n[0], "Reopened") {
		t.Fatalf("notices = %q", n)
	}
	if len(h.chat.updates) == 0 || h.chat.updates[len(h.chat.updates)-1].Status != bridge.StatusOpen {
		t.Fatalf("card not updated to open: %+v", h.chat.updates)
	}
	closeConversation(t, h, 1)
	h.clock.Advance(8 * 24 * time.Hour)
	h.dm("2001", "new problem")
	if len(h.chat.cards) != 2 || h.chat.cards[1].card.PreviousID != 1 {
		t.Fatalf("cards = %+v", h.chat.cards)
	}
}

// closeConversation closes a conversation directly in the store (the
// close command belongs to triage).
func closeConversation(t *testing.T, h *harness, id int64) {
	t.Helper()
	err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		c, err := tx.Conversation(context.Background(), id)
		if err != nil {
			return err
		}
		c.Status, c.ClosedAt = bridge.StatusClosed, h.clock.Now()
		return tx.UpdateConversation(context.Background(), c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAgentAnsweringTheMomentTheThreadAppearsIsHeard(t *testing.T) {
	t.Parallel()
	h := setup(t)
	var out bridge.Outcome
	var err error
	h.chat.onPost = func(thread string) {
		h.chat.onPost = nil
		out, err = h.svc.HandleChatMessage(h.ctx, bridge.ChatMessage{Platform: "slack", EventID: "quick",
			Channel: "C1", ThreadID: thread, MessageID: "Q1", UserID: "U1", UserName: "Bob", Text: "On it!"})
	}
	h.dm("2001", "help")
	if err != nil || out != bridge.OutcomeStored {
		t.Fatalf("a reply in the new thread was %v, %v; it must reach the conversation", out, err)
	}
	h.advance(10 * time.Second)
	if dms := h.x.sentDMs(); len(dms) != 1 || dms[0].text != "On it!" {
		t.Fatalf("dms = %+v", dms)
	}
}

func TestReplyInAnUnrecordedBridgeThreadIsRedeliveredNotDropped(t *testing.T) {
	t.Parallel()
	h := setup(t)
	m := bridge.ChatMessage{Platform: "slack", EventID: "early", Channel: "C1", ThreadID: "T-not-yet",
		MessageID: "M1", UserID: "U1", Text: "hello"}
	out, err := h.svc.HandleChatMessage(h.ctx, m)
	if err != nil || out != bridge.OutcomeIgnored {
		t.Fatalf("a thread nobody knows: %v, %v; want ignored", out, err)
	}
	m.EventID, m.InBotThread = "early-2", true
	_, err = h.svc.HandleChatMessage(h.ctx, m)
	if bridge.ErrorCode(err) != bridge.EUNAVAILABLE {
		t.Fatalf("a thread under the bridge's own message: %v; want unavailable so it is delivered again", err)
	}
	// The redelivery is not mistaken for a duplicate once the thread exists.
	_, err = h.svc.HandleChatMessage(h.ctx, m)
	if bridge.ErrorCode(err) != bridge.EUNAVAILABLE {
		t.Fatalf("second try: %v", err)
	}
}
