package bridge_test

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

const refundTemplate = "Hi {customer}, {agent} here: your refund for {ticket} is on its way."

// previewRefund opens a conversation with customer 2001 and has Alice
// preview the refund reply for it.
func previewRefund(h *harness) *bridge.ReplyPreview {
	h.t.Helper()
	h.svc.SavedReplies = []bridge.SavedReply{{Name: "refund", Text: refundTemplate}}
	h.dm("2001", "refund?")
	pv, err := h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "refund")
	if err != nil {
		h.t.Fatal(err)
	}
	return pv
}

// sentText is what the customer received by DM, the parts joined (the
// test rules split DMs at 50 characters).
func (h *harness) sentText() string {
	var s string
	for _, d := range h.x.sentDMs() {
		s += d.text
	}
	return s
}

func TestSavedReplyPreviewSendsNothingUntilSend(t *testing.T) {
	t.Parallel()
	h, _ := slaSetupFor(t, nil)
	h.svc.SavedReplies = []bridge.SavedReply{{Name: "refund", Text: refundTemplate}}
	h.dm("2001", "refund?")
	thread := h.thread(1)
	posts := len(h.chat.thread(thread))

	pv, err := h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "Refund")
	if err != nil {
		t.Fatal(err)
	}
	want := "Hi Customer 2001, Alice here: your refund for #1 is on its way."
	if pv.Text != want || pv.Name != "refund" || pv.Parts != 2 || pv.Public || pv.Closed || pv.State != bridge.PreviewPending {
		t.Fatalf("preview = %+v", pv)
	}
	// Only the agent saw it: nothing went out, the thread was not told,
	// and the customer still waits for a first response.
	h.advance(time.Minute)
	if len(h.x.sentDMs()) != 0 || len(h.chat.thread(thread)) != posts {
		t.Fatalf("a preview sent something: DMs %+v, thread %+v", h.x.sentDMs(), h.chat.thread(thread)[posts:])
	}
	if got := h.targets(1)["first_response#1"].State; got != bridge.TargetRunning {
		t.Fatalf("first response after a preview = %s", got)
	}

	sent, err := h.svc.SendPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sent.State != bridge.PreviewSent || sent.MessageID == 0 {
		t.Fatalf("sent preview = %+v", sent)
	}
	h.drain()
	// The team sees the reply in the thread, marked ⏳ in the send delay.
	replies, ids := h.chat.postsOf(thread, bridge.PostReply)
	if len(replies) != 1 || replies[0].Text != "Alice is sending the customer: "+want {
		t.Fatalf("thread posts of the reply = %+v", replies)
	}
	if m := h.chat.marks(ids[0]); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionWaiting}) {
		t.Fatalf("marks in the send delay = %v", m)
	}
	if len(h.x.sentDMs()) != 0 {
		t.Fatal("sent before the send delay")
	}
	if got := h.targets(1)["first_response#1"].State; got != bridge.TargetAchieved {
		t.Fatalf("first response after Send = %s", got)
	}
	h.advance(10 * time.Second)
	if got := h.sentText(); got != want {
		t.Fatalf("the customer got %q, the agent saw %q", got, want)
	}
	if m := h.chat.marks(ids[0]); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionSent}) {
		t.Fatalf("marks once sent = %v", m)
	}
	if a := h.audit(1); !slices.Contains(a, "Alice reply-with →refund button") {
		t.Fatalf("audit = %q", a)
	}

	// A second click on Send sends nothing more.
	again, err := h.svc.SendPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID)
	if err != nil || again.State != bridge.PreviewSent || again.MessageID != sent.MessageID {
		t.Fatalf("second Send = %+v, %v", again, err)
	}
	h.advance(time.Minute)
	if replies, _ := h.chat.postsOf(thread, bridge.PostReply); len(h.x.sentDMs()) != 2 || len(replies) != 1 {
		t.Fatalf("after a second Send: DMs %+v, thread replies %d", h.x.sentDMs(), len(replies))
	}
	_, err = h.svc.CancelPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID)
	wantCode(t, err, bridge.ECONFLICT)
}

func TestSavedReplyPreviewCancelSendsNothing(t *testing.T) {
	t.Parallel()
	h := setup(t)
	pv := previewRefund(h)
	for i := 0; i < 2; i++ { // cancelling twice is one cancel
		got, err := h.svc.CancelPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID)
		if err != nil || got.State != bridge.PreviewCancelled {
			t.Fatalf("cancel %d = %+v, %v", i+1, got, err)
		}
	}
	_, err := h.svc.SendPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID)
	wantCode(t, err, bridge.ECONFLICT)
	h.advance(time.Minute)
	if replies, _ := h.chat.postsOf(h.thread(1), bridge.PostReply); len(h.x.sentDMs()) != 0 || len(replies) != 0 {
		t.Fatalf("a cancelled preview went out: DMs %+v, thread %+v", h.x.sentDMs(), replies)
	}
	if a := h.audit(1); len(a) != 0 {
		t.Fatalf("audit = %q", a)
	}
}

func TestSavedReplyPreviewRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// before acts between the preview and the Send, which returns the
		// preview's id to send.
		before func(h *harness, id int64) int64
		as     string
		code   string
	}{
		{"someone else's preview", nil, "U2", bridge.EFORBIDDEN},
		{"no such preview", func(*harness, int64) int64 { return 9999 }, "U1", bridge.ENOTFOUND},
		{"closed since the preview", func(h *harness, id int64) int64 {
			h.clock.Advance(time.Second)
			if err := h.svc.Close(h.ctx, h.as("U2", "Bob", bridge.RoleAgent), "done"); err != nil {
				h.t.Fatal(err)
			}
			return id
		}, "U1", bridge.ECONFLICT},
		{"more than an hour old", func(h *harness, id int64) int64 {
			h.advance(bridge.PreviewTTL + time.Minute)
			return id
		}, "U1", bridge.ECONFLICT},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			pv := previewRefund(h)
			id := pv.ID
			if c.before != nil {
				id = c.before(h, id)
			}
			_, err := h.svc.SendPreview(h.ctx, h.as(c.as, "Someone", bridge.RoleAgent), id)
			wantCode(t, err, c.code)
			if msg := bridge.ErrorMessage(err); !strings.Contains(msg, "preview") {
				t.Errorf("refusal %q does not say what of", msg)
			}
			h.advance(time.Minute)
			if replies, _ := h.chat.postsOf(h.thread(1), bridge.PostReply); len(h.x.sentDMs()) != 0 || len(replies) != 0 {
				t.Fatalf("a refused Send went out: DMs %+v, thread %+v", h.x.sentDMs(), replies)
			}
		})
	}
}

func TestSavedReplyPreviewOfAClosedOrPublicConversation(t *testing.T) {
	t.Parallel()
	t.Run("closed before the preview: Send follows reply's rule and sends", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		h.svc.SavedReplies = []bridge.SavedReply{{Name: "thanks", Text: "Thanks, {customer}!"}}
		h.dm("2001", "all good now")
		if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), ""); err != nil {
			t.Fatal(err)
		}
		pv, err := h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "thanks")
		if err != nil || !pv.Closed {
			t.Fatalf("preview = %+v, %v", pv, err)
		}
		if _, err := h.svc.SendPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Minute)
		if got := h.sentText(); got != "Thanks, Customer 2001!" {
			t.Fatalf("sent %q", got)
		}
	})
	t.Run("a public reply too long for a tweet is refused at the preview", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		h.svc.SavedReplies = []bridge.SavedReply{{Name: "long", Text: strings.Repeat("word ", 60)}, {Name: "short", Text: "On it, {handle}."}}
		ev := bridge.InboundMessage{EventID: "7001", Account: "1000", Kind: bridge.KindMention, ConversationKey: "7001",
			Sender: customer("2002"), Text: "@acme_help my app crashes"}
		if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
			t.Fatal(err)
		}
		h.drain()
		_, err := h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "long")
		wantCode(t, err, bridge.EINVALID)
		if msg := bridge.ErrorMessage(err); !strings.Contains(msg, "300 characters") {
			t.Errorf("refusal %q does not give the count", msg)
		}
		pv, err := h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "short")
		if err != nil || !pv.Public || pv.Text != "On it, @cust2002." {
			t.Fatalf("preview = %+v, %v", pv, err)
		}
		_, err = h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "nope")
		wantCode(t, err, bridge.EINVALID)
	})
}

// TestSavedReplyDoubleClickSendsOnce clicks Send twice at the same moment:
// one reply is recorded and sent, and both clicks see the preview sent.
func TestSavedReplyDoubleClickSendsOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	pv := previewRefund(h)
	var wg sync.WaitGroup
	got := make([]*bridge.ReplyPreview, 4)
	errs := make([]error, len(got))
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = h.svc.SendPreview(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), pv.ID)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i].State != bridge.PreviewSent || got[i].MessageID != got[0].MessageID {
			t.Fatalf("click %d = %+v, %v", i, got[i], errs[i])
		}
	}
	h.advance(time.Minute)
	if replies, _ := h.chat.postsOf(h.thread(1), bridge.PostReply); len(replies) != 1 || h.sentText() != pv.Text {
		t.Fatalf("after 4 clicks: thread replies %+v, customer got %q", replies, h.sentText())
	}
}

func TestSavedReplyPicksTheLanguageAndSaysWhenItIsDue(t *testing.T) {
	t.Parallel()
	monday := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC) // 11:00 in Berlin
	for _, c := range []struct {
		name, first string
		reply       bridge.SavedReply
		sla         bool
		want        string
	}{
		{"english customer, no SLA", "where is my parcel",
			bridge.SavedReply{Name: "eta", Text: "We'll answer by {due}.", ByLanguage: map[string]string{"zh": "我们会在 {due} 前回复。"}},
			false, "We'll answer by soon."},
		{"chinese customer gets the translation", "我的包裹在哪里？已经等了一个星期",
			bridge.SavedReply{Name: "eta", Text: "We'll answer by {due}.", ByLanguage: map[string]string{"zh": "我们会在 {due} 前回复。"}},
			true, "我们会在 11:15 CET 前回复。"},
		{"no default: english translation", "我的包裹在哪里？已经等了一个星期",
			bridge.SavedReply{Name: "eta", ByLanguage: map[string]string{"en": "By {due}."}},
			true, "By 11:15 CET."},
		{"due today in the calendar's zone", "where is my parcel",
			bridge.SavedReply{Name: "eta", Text: "By {due}.", ByLanguage: map[string]string{"zh": "在 {due} 前。"}},
			true, "By 11:15 CET."},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			h.clock.Advance(monday.Sub(h.clock.Now()))
			if c.sla {
				h.svc.SLA = &bridge.SLA{OnDuty: "<!subteam^SDUTY>", Calendar: berlinWeekdays(t)}
			}
			h.svc.Tier = &bridge.FirstTier{} // detects the language, answers nothing
			h.svc.SavedReplies = []bridge.SavedReply{c.reply}
			h.dm("2001", c.first)
			pv, err := h.svc.PreviewSavedReply(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "eta")
			if err != nil {
				t.Fatal(err)
			}
			if pv.Text != c.want {
				t.Fatalf("reply = %q, want %q", pv.Text, c.want)
			}
		})
	}
}
