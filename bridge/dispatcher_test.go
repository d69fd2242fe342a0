package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// threadGateStore holds the first RecordThreads until gate closes and
// notes how many threads each call records.
type threadGateStore struct {
	bridge.Store
	gate  chan struct{}
	mu    sync.Mutex
	sizes []int
}

func (s *threadGateStore) RecordThreads(ctx context.Context, threads map[int64]string) error {
	s.mu.Lock()
	first := len(s.sizes) == 0
	s.sizes = append(s.sizes, len(threads))
	s.mu.Unlock()
	if first {
		<-s.gate
	}
	return s.Store.RecordThreads(ctx, threads)
}

// Cards posted while a thread is being recorded have their threads
// recorded together, by one statement, and every one of them is recorded:
// agents can answer in each thread at once.
func TestCardThreadsPostedTogetherAreRecordedTogether(t *testing.T) {
	t.Parallel()
	h := setup(t)
	const n = 6
	for i := range n {
		from := fmt.Sprint(900 + i)
		ev := bridge.InboundMessage{EventID: "t" + from, Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + from,
			Sender: customer(from), RecipientID: "1000", Text: "hi from " + from, CreatedAt: h.clock.Now()}
		if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	gs := &threadGateStore{Store: h.store, gate: make(chan struct{})}
	h.disp.Store, h.disp.Workers = gs, 4*n
	done := make(chan error)
	go func() {
		_, err := h.disp.RunOnce(h.ctx)
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		h.chat.mu.Lock()
		posted := len(h.chat.cards)
		h.chat.mu.Unlock()
		if posted == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cards posted, want %d", posted, n)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the others queue behind the first
	close(gs.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []int{1, n - 1}; !slices.Equal(gs.sizes, want) {
		t.Errorf("threads recorded per statement = %v, want %v", gs.sizes, want)
	}
	h.disp.Store = h.store
	h.drain()
	for _, c := range h.chat.cards {
		posts := h.chat.thread(c.id)
		if len(posts) != 1 || posts[0].Text != "hi from "+c.card.Handle[len("cust"):] {
			t.Errorf("thread of %s: %+v", c.card.Handle, posts)
		}
		h.agent(c.id, "looking into it") // fails the test unless the thread is known
	}
}

// recoveringStore plays a recovery that takes back every item the moment
// it is claimed, as if its lease had run out.
type recoveringStore struct{ bridge.Store }

func (s recoveringStore) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*bridge.OutboxItem, error) {
	items, err := s.Store.ClaimOutbox(ctx, now, lease, limit)
	for _, it := range items {
		back := *it
		back.State, back.LeaseUntil = bridge.OutboxPending, time.Time{}
		if err := s.Store.InTx(ctx, func(tx bridge.Tx) error { return tx.UpdateOutbox(ctx, &back, bridge.OutboxInflight, it.Attempts) }); err != nil {
			return nil, err
		}
	}
	return items, err
}

type countingObserver struct{ delivered, failed, waited atomic.Int64 }

func (o *countingObserver) Delivered(bridge.Effect, time.Duration) { o.delivered.Add(1) }
func (o *countingObserver) Failed(bridge.Effect, bool)             { o.failed.Add(1) }
func (o *countingObserver) Waited(string, time.Duration)           { o.waited.Add(1) }

// A delivery whose item someone else took back meanwhile is not counted
// as delivered by this worker, and the card is not posted twice when the
// item goes out again.
func TestDeliveryTakenBackIsNotCountedTwice(t *testing.T) {
	t.Parallel()
	h := setup(t)
	obs := &countingObserver{}
	h.disp.Observe = obs
	h.svc.HandleInbound(h.ctx, bridge.InboundMessage{EventID: "r1", Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-950",
		Sender: customer("950"), RecipientID: "1000", Text: "hello", CreatedAt: h.clock.Now()})
	h.disp.Store = recoveringStore{h.store}
	n, err := h.disp.RunOnce(h.ctx)
	if err != nil || n == 0 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if got := obs.delivered.Load(); got != 0 {
		t.Errorf("%d deliveries counted for items taken back, want 0", got)
	}
	h.disp.Store = h.store
	h.drain()
	if got := obs.delivered.Load(); got == 0 {
		t.Error("the deliveries that followed were not counted")
	}
	if len(h.chat.cards) != 1 {
		t.Errorf("%d cards, want 1", len(h.chat.cards))
	}
}

// batchRefusingStore refuses to write back several items at once, so a
// batch of outcomes is recorded again one by one.
type batchRefusingStore struct{ bridge.Store }

type batchRefusingTx struct{ bridge.Tx }

func (s batchRefusingStore) InTx(ctx context.Context, fn func(tx bridge.Tx) error) error {
	return s.Store.InTx(ctx, func(tx bridge.Tx) error { return fn(batchRefusingTx{tx}) })
}

func (t batchRefusingTx) UpdateOutboxes(ctx context.Context, updates []bridge.OutboxUpdate) (map[int64]bool, bool, error) {
	if len(updates) > 1 {
		return nil, false, errors.New("batch refused")
	}
	return t.Tx.UpdateOutboxes(ctx, updates)
}

// An item held back by its lane's pace gives back the attempt it was
// claimed with, once, even when its batch is recorded a second time.
func TestPacedItemGivesBackItsAttemptOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.disp.Limits = &bridge.LaneLimiter{Rates: map[string]bridge.Rate{"slack:post": {Every: time.Hour, Burst: 1}}}
	obs := &countingObserver{}
	h.disp.Observe = obs
	for _, from := range []string{"960", "961"} {
		h.svc.HandleInbound(h.ctx, bridge.InboundMessage{EventID: "p" + from, Account: "1000", Kind: bridge.KindDM,
			ConversationKey: "1000-" + from, Sender: customer(from), RecipientID: "1000", Text: "hello", CreatedAt: h.clock.Now()})
	}
	h.disp.Store = batchRefusingStore{h.store}
	if _, err := h.disp.RunOnce(h.ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.chat.cards) != 1 {
		t.Fatalf("%d cards posted, want 1 (the other waits for the lane)", len(h.chat.cards))
	}
	var waiting []*bridge.OutboxItem
	err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		for _, id := range []int64{1, 2} {
			items, err := tx.OutboxForConversation(h.ctx, id, bridge.OutboxPending)
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.Effect == bridge.EffectCard {
					waiting = append(waiting, it)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 1 || waiting[0].Attempts != 0 || !waiting[0].NotBefore.After(h.clock.Now().Add(59*time.Minute)) {
		for _, it := range waiting {
			t.Logf("waiting card %d: %d attempts, due %v", it.ID, it.Attempts, it.NotBefore)
		}
		t.Fatalf("%d waiting cards, want one with 0 attempts, due in an hour", len(waiting))
	}
	if got := obs.waited.Load(); got != 1 {
		t.Errorf("%d waits counted, want 1", got)
	}
}

// A card whose opening message fails to follow it still counts: the
// message is queued on its own and reaches the thread, once.
func TestCardWhoseFirstMessageFailsQueuesTheMessage(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.chat.fail = []error{nil, &bridge.DeliveryError{Temporary: true, Reason: "slack hiccup"}}
	h.dm("2101", "where is my parcel?")
	if len(h.chat.cards) != 1 {
		t.Fatalf("%d cards, want 1", len(h.chat.cards))
	}
	posts := h.chat.thread(h.thread(1))
	if len(posts) != 1 || posts[0].Text != "where is my parcel?" {
		t.Fatalf("thread = %+v", posts)
	}
	h.agent(h.thread(1), "on it") // the thread is the conversation's
}

// commitFailingStore loses the next transaction after fn ran in it, as if
// the connection broke at commit.
type commitFailingStore struct {
	bridge.Store
	failNext *atomic.Bool
}

func (s commitFailingStore) InTx(ctx context.Context, fn func(tx bridge.Tx) error) error {
	return s.Store.InTx(ctx, func(tx bridge.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if s.failNext.CompareAndSwap(true, false) {
			return errors.New("connection lost at commit")
		}
		return nil
	})
}

// A send held back by X's rate limit gives back the attempt it was
// claimed with, once, even when its batch is recorded a second time.
func TestRateLimitedSendGivesBackItsAttemptOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2201", "hello")
	h.agent(h.thread(1), "On it")
	reset := h.clock.Now().Add(time.Hour)
	h.x.fail = []error{&bridge.DeliveryError{RateLimited: true, RetryAt: reset, Reason: "X send limit"}}
	// A new conversation's card shares the batch, whose transaction is
	// lost at commit: the batch is recorded again one by one.
	h.svc.HandleInbound(h.ctx, bridge.InboundMessage{EventID: "rl2202", Account: "1000", Kind: bridge.KindDM,
		ConversationKey: "1000-2202", Sender: customer("2202"), RecipientID: "1000", Text: "hi", CreatedAt: h.clock.Now()})
	h.clock.Advance(10 * time.Second) // the send delay
	failNext := &atomic.Bool{}
	failNext.Store(true)
	h.disp.Store = commitFailingStore{Store: h.store, failNext: failNext}
	obs := &countingObserver{}
	h.disp.Observe = obs
	if _, err := h.disp.RunOnce(h.ctx); err != nil {
		t.Fatal(err)
	}
	if failNext.Load() {
		t.Fatal("no transaction was lost")
	}
	if len(h.chat.cards) != 2 {
		t.Fatalf("%d cards, want 2", len(h.chat.cards))
	}
	var sends []*bridge.OutboxItem
	err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		items, err := tx.OutboxForConversation(h.ctx, 1, bridge.OutboxPending)
		for _, it := range items {
			if it.Effect.IsX() {
				sends = append(sends, it)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sends) != 1 || sends[0].Attempts != 0 || !sends[0].NotBefore.Equal(reset) {
		for _, it := range sends {
			t.Logf("waiting send %d: %d attempts, due %v", it.ID, it.Attempts, it.NotBefore)
		}
		t.Fatalf("%d waiting sends, want one with 0 attempts, due at the reset %v", len(sends), reset)
	}
	// Counted once, though recorded twice: the wait for X's limit and the
	// card, not the first, lost recording.
	if w, d, f := obs.waited.Load(), obs.delivered.Load(), obs.failed.Load(); w != 1 || d != 1 || f != 0 {
		t.Errorf("counted %d waits, %d deliveries, %d failures; want 1, 1, 0", w, d, f)
	}
	h.disp.Store = h.store
	h.drain()
	if got := h.chat.noticesIn(h.thread(1)); len(got) != 1 || !strings.Contains(got[0], "Queued: X send limit") {
		t.Errorf("notices = %q, want the queue notice once", got)
	}
}

// A customer's second message, queued behind its conversation's card,
// follows the card as soon as the card is recorded: the running
// dispatcher neither waits for its clock nor for another event.
func TestMessageHeldBehindTheCardFollowsItAtOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.svc.Wake = h.disp.Wake
	for i, text := range []string{"first", "second"} {
		ev := bridge.InboundMessage{EventID: fmt.Sprint("held", i), Account: "1000", Kind: bridge.KindDM,
			ConversationKey: "1000-2301", Sender: customer("2301"), RecipientID: "1000", Text: text, CreatedAt: h.clock.Now()}
		if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error)
	go func() { done <- h.disp.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// The manual clock never moves: only the dispatcher's own signals
	// can bring the second message.
	for deadline := time.Now().Add(10 * time.Second); ; {
		h.chat.mu.Lock()
		var posts []bridge.Post
		if len(h.chat.cards) == 1 {
			posts = h.chat.posts[h.chat.cards[0].id]
		}
		h.chat.mu.Unlock()
		if len(posts) == 2 {
			if posts[0].Text != "first" || posts[1].Text != "second" {
				t.Fatalf("thread = %+v", posts)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread = %+v after 10 s; want both messages", posts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
