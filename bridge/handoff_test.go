package bridge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// claimCounting remembers what ClaimOutbox handed out and, while claims
// are held (holdClaims), blocks them.
type claimCounting struct {
	bridge.Store
	mu      sync.Mutex
	calls   int
	claimed map[bridge.Effect]int
	hold    chan struct{} // closed to release held claims; nil: none held
	held    int
}

func (s *claimCounting) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*bridge.OutboxItem, error) {
	s.mu.Lock()
	hold := s.hold
	if hold != nil {
		s.held++
	}
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	items, err := s.Store.ClaimOutbox(ctx, now, lease, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, it := range items {
		s.claimed[it.Effect]++
	}
	return items, err
}

func (s *claimCounting) claimCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// holdClaims blocks the claims to come until release is called.
func (s *claimCounting) holdClaims() (release func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	return sync.OnceFunc(func() { close(hold) })
}

func (s *claimCounting) heldClaims() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

func (s *claimCounting) claims(e bridge.Effect) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claimed[e]
}

// running starts h's dispatcher, counting its claims, with the service
// handing new conversations' cards to it; the dispatcher stops with the
// test.
func running(t *testing.T, h *harness, handoff bridge.Handoffer) *claimCounting {
	t.Helper()
	store := &claimCounting{Store: h.disp.Store, claimed: map[bridge.Effect]int{}}
	h.disp.Store = store
	h.svc.Wake, h.svc.Handoff = h.disp.Wake, handoff
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.disp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for h.disp.Reserve(1) == 0 { // running
		time.Sleep(time.Millisecond)
	}
	h.disp.Handoff(nil, 1)
	return store
}

// until waits (in real time: the manual clock does not move) for cond.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *recChat) cardCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cards)
}

func (h *harness) send(from, text string) {
	h.t.Helper()
	ev := bridge.InboundMessage{EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + from,
		Sender: customer(from), RecipientID: "1000", Text: text, CreatedAt: h.clock.Now()}
	if out, err := h.svc.HandleInbound(h.ctx, ev); err != nil || out != bridge.OutcomeStored {
		h.t.Fatalf("HandleInbound = %v, %v", out, err)
	}
}

// A new conversation's card goes from the intake straight to the running
// dispatcher, claimed as it is written: it is posted with its opening
// message, and recorded, without ever passing through a claim — nor
// waking the dispatcher to look for it.
func TestNewConversationCardSkipsTheClaim(t *testing.T) {
	t.Parallel()
	h := setup(t)
	store := running(t, h, h.disp)
	until(t, "the dispatcher looked for work once", func() bool { return store.claimCalls() > 0 })
	time.Sleep(20 * time.Millisecond) // and is waiting again
	calls := store.claimCalls()
	h.send("2401", "hello")
	until(t, "the card is posted with its message", func() bool {
		h.chat.mu.Lock()
		defer h.chat.mu.Unlock()
		return len(h.chat.cards) == 1 && len(h.chat.posts[h.chat.cards[0].id]) == 1
	})
	until(t, "the card is recorded done", func() bool {
		var conv *bridge.Conversation
		var items []*bridge.OutboxItem
		err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
			var err error
			if conv, err = tx.ConversationByThread(h.ctx, "slack", "C1", h.thread(1)); err != nil {
				return err
			}
			items, err = tx.OutboxForConversation(h.ctx, conv.ID, bridge.OutboxDone)
			return err
		})
		return err == nil && len(items) == 1 && items[0].Effect == bridge.EffectCard && items[0].Attempts == 1
	})
	if n := store.claims(bridge.EffectCard); n != 0 {
		t.Errorf("the card was claimed %d times; want it handed over", n)
	}
	if n := store.claimCalls() - calls; n != 0 {
		t.Errorf("the dispatcher looked for work %d times; the intake handed it all over", n)
	}
}

// gatedChat holds card posts until the gate opens.
type gatedChat struct {
	*recChat
	gate chan struct{}
}

func (c *gatedChat) PostCard(ctx context.Context, channel string, card bridge.Card, key string) (string, error) {
	<-c.gate
	return c.recChat.PostCard(ctx, channel, card, key)
}

// With every worker busy nothing is set aside: the card waits in the
// outbox, claimed once a worker is free, and each card goes out once.
func TestCardWaitsForAClaimWhenEveryWorkerIsBusy(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.disp.Workers = 1
	chat := &gatedChat{recChat: h.chat, gate: make(chan struct{})}
	h.disp.Chat = map[string]bridge.ChatPlatform{"slack": chat}
	store := running(t, h, h.disp)
	h.send("2501", "first")  // handed over: the only worker holds it at the gate
	h.send("2502", "second") // no worker left: enqueued for a claim
	if n := store.claims(bridge.EffectCard); n != 0 {
		t.Fatalf("%d cards claimed while the only worker was busy", n)
	}
	close(chat.gate)
	until(t, "both cards are posted", func() bool { return h.chat.cardCount() == 2 })
	until(t, "the second card was claimed", func() bool { return store.claims(bridge.EffectCard) == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := h.chat.cardCount(); n != 2 {
		t.Errorf("%d cards posted; want each once", n)
	}
}

// lostHandoff claims like the dispatcher but never hands over, as when the
// process stops between the commit and the handoff.
type lostHandoff struct{ *bridge.Dispatcher }

func (l lostHandoff) Handoff(_ []*bridge.OutboxItem, reserved int) {
	l.Dispatcher.Handoff(nil, reserved)
}

// A card written claimed whose handoff never came is not lost: once its
// lease runs out it is claimed again and posted, once.
func TestCardWhoseHandoffIsLostGoesOutAfterItsLease(t *testing.T) {
	t.Parallel()
	h := setup(t)
	store := running(t, h, lostHandoff{h.disp})
	h.send("2601", "hello")
	time.Sleep(50 * time.Millisecond)
	if n := h.chat.cardCount(); n != 0 {
		t.Fatalf("%d cards posted before the lease ran out", n)
	}
	h.clock.Advance(h.disp.Lease + time.Second)
	h.disp.Wake()
	until(t, fmt.Sprintf("the card is posted (claims %d)", store.claims(bridge.EffectCard)), func() bool {
		h.disp.Wake()
		return h.chat.cardCount() == 1
	})
	if n := store.claims(bridge.EffectCard); n != 1 {
		t.Errorf("the card was claimed %d times after its lease; want 1", n)
	}
}

// Handoffs do not wait for the dispatcher's loop: with the loop stuck in a
// claim, a hundred new conversations' cards still go out at once, none
// left to wait for its lease.
func TestHandoffsDoNotWaitForTheClaimLoop(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.disp.Workers = 200
	store := running(t, h, h.disp)
	release := store.holdClaims()
	defer release()
	h.disp.Wake()
	until(t, "the loop is stuck in a claim", func() bool { return store.heldClaims() > 0 })
	for i := range 100 {
		h.send(fmt.Sprint(2700+i), "hello")
	}
	until(t, "a hundred cards are posted", func() bool { return h.chat.cardCount() == 100 })
}

// gatedHandoff hands over only once its gate opens, as an intake whose
// commit is slow.
type gatedHandoff struct {
	*bridge.Dispatcher
	gate chan struct{}
}

func (g gatedHandoff) Handoff(items []*bridge.OutboxItem, reserved int) {
	<-g.gate
	g.Dispatcher.Handoff(items, reserved)
}

// A card written claimed by an intake that was committing as the
// dispatcher stopped goes out before Run returns, not once its lease ends
// after a restart.
func TestHandoffAsTheDispatcherStops(t *testing.T) {
	t.Parallel()
	h := setup(t)
	gate := make(chan struct{})
	h.svc.Wake, h.svc.Handoff = h.disp.Wake, gatedHandoff{h.disp, gate}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.disp.Run(ctx) }()
	for h.disp.Reserve(1) == 0 { // running
		time.Sleep(time.Millisecond)
	}
	h.disp.Handoff(nil, 1)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		h.send("2801", "hello")
	}()
	until(t, "the card is written claimed", func() bool {
		var items []*bridge.OutboxItem
		err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
			var err error
			items, err = tx.OutboxForConversation(h.ctx, 1, bridge.OutboxInflight)
			return err
		})
		return err == nil && len(items) == 1
	})
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) with a handoff on its way", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	<-sent
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := h.chat.cardCount(); n != 1 {
		t.Errorf("%d cards posted before Run returned; want the card handed over as it stopped", n)
	}
}
