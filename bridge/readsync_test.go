package bridge_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

func TestReadReceiptsBothWays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy string
		want   []string // calls to X, in order
	}{
		// on_reply: typing while the reply waits, read once it arrived.
		{bridge.ReadOnReply, []string{"typing:2001", "read:2001:LAST"}},
		// on_claim: read when an agent takes the conversation.
		{bridge.ReadOnClaim, []string{"read:2001:LAST", "typing:2001"}},
		{bridge.ReadNever, nil},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			tr := tier(h)
			tr.ReadPolicy, tr.Ack = tc.policy, nil // the acknowledgement would count as an answer
			h.disp.ReadPolicy = tc.policy
			ev := h.dm("2001", "hello?")
			if err := h.svc.Claim(h.ctx, h.as("U1", "Alice", bridge.RoleAgent)); err != nil {
				t.Fatal(err)
			}
			h.drain()
			if tc.policy == bridge.ReadOnReply && len(h.x.syncs()) != 0 {
				t.Fatalf("marked read before any answer: %v", h.x.syncs())
			}
			h.agent(h.thread(1), "Hi! Checking now.")
			h.advance(10 * time.Second)
			h.drain()
			var want []string
			for _, w := range tc.want {
				want = append(want, strings.ReplaceAll(w, "LAST", ev.EventID))
			}
			if got := h.x.syncs(); !reflect.DeepEqual(got, want) {
				t.Fatalf("calls to X = %v, want %v", got, want)
			}
		})
	}
}

func TestCustomerReadReceiptMarksTheReplySeen(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h)
	h.dm("2001", "hello?")
	first := h.agent(h.thread(1), "Hi!")
	h.advance(10 * time.Second)
	second := h.agent(h.thread(1), "One more thing.")
	h.advance(10 * time.Second)
	dms := h.x.sentDMs()
	// The customer read up to the first reply only.
	if err := h.svc.HandleRead(h.ctx, bridge.InboundRead{Account: "1000", CustomerID: "2001", ConversationKey: "1000-2001",
		LastReadEventID: dms[len(dms)-2].id}); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if m := h.chat.marks(first); !reflect.DeepEqual(m, []bridge.Reaction{bridge.ReactionSent}) {
		// marks() lists waiting/sent/failed only; check seen separately.
		t.Fatalf("marks = %v", m)
	}
	h.chat.mu.Lock()
	seenFirst, seenSecond := h.chat.reactions[first][bridge.ReactionSeen], h.chat.reactions[second][bridge.ReactionSeen]
	h.chat.mu.Unlock()
	if !seenFirst || seenSecond {
		t.Fatalf("seen: first %v second %v", seenFirst, seenSecond)
	}
	// A receipt for someone the bridge does not know is ignored.
	if err := h.svc.HandleRead(h.ctx, bridge.InboundRead{Account: "1000", CustomerID: "9999", ConversationKey: "1000-9999", LastReadEventID: "1"}); err != nil {
		t.Fatal(err)
	}
}

func TestTypingShowsBrieflyAndThrottled(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h).Ack = nil
	h.dm("2001", "hello?")
	typing := bridge.InboundTyping{Account: "1000", CustomerID: "2001", ConversationKey: "1000-2001"}
	h.svc.HandleTyping(h.ctx, typing)
	h.drain()
	h.svc.HandleTyping(h.ctx, typing) // throttled
	h.drain()
	if n := h.chat.noticesIn(h.thread(1)); len(n) != 1 || !strings.Contains(n[0], "typing") {
		t.Fatalf("notices = %q", n)
	}
	h.advance(21 * time.Second)
	if len(h.chat.deleted) != 1 {
		t.Fatalf("the typing notice was not removed: %v", h.chat.deleted)
	}
	h.advance(2 * time.Minute)
	h.svc.HandleTyping(h.ctx, typing)
	h.drain()
	if n := h.chat.noticesIn(h.thread(1)); len(n) != 2 {
		t.Fatalf("after the throttle window: %q", n)
	}
}

func TestRefusedReadSyncDegradesQuietly(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h).Ack = nil
	h.disp.ReadPolicy = bridge.ReadOnReply
	h.x.syncErr = &bridge.DeliveryError{Reason: "X refused: read receipts need the dm.write scope"}
	h.dm("2001", "hello?")
	h.agent(h.thread(1), "Hi!")
	h.advance(10 * time.Second)
	h.settle()
	if got := h.disp.ReadSyncStatus(); !strings.Contains(got, "dm.write") {
		t.Fatalf("status = %q", got)
	}
	if n := h.chat.noticesIn(h.thread(1)); len(n) != 0 {
		t.Fatalf("agents were told about read receipts: %q", n)
	}
	if len(h.x.sentDMs()) != 1 {
		t.Fatal("the reply itself must still go out")
	}
}

func TestMarkReadWhenTheEchoOvertakesTheSend(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tier(h).Ack = nil
	h.disp.ReadPolicy = bridge.ReadOnReply
	ev := h.dm("2001", "hello")
	h.agent(h.thread(1), "Racing")
	h.clock.Advance(10 * time.Second)
	if items, err := h.store.ClaimOutbox(h.ctx, h.clock.Now(), time.Minute, 10); err != nil || len(items) == 0 {
		t.Fatalf("claim = %v, %v", items, err)
	}
	// X delivered the DM and its echo arrives before the worker records it.
	echo := bridge.InboundMessage{EventID: "9999", Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2001",
		Sender: bridge.XUser{ID: "1000", Handle: "acme_help"}, RecipientID: "2001", Text: "Racing"}
	if _, err := h.svc.HandleInbound(h.ctx, echo); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if got := h.x.syncs(); !slices.Contains(got, "read:2001:"+ev.EventID) {
		t.Fatalf("calls to X = %v; the answer arrived, so the DMs are marked read", got)
	}
}
