package bridge_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// gatedStore holds the first transaction until released, counts
// transactions, and fails the recording of one event id.
type gatedStore struct {
	bridge.Store
	gate    chan struct{}
	once    sync.Once
	txs     atomic.Int64
	badID   string
	entered chan struct{}
}

func (s *gatedStore) InTx(ctx context.Context, fn func(tx bridge.Tx) error) error {
	s.txs.Add(1)
	s.once.Do(func() {
		close(s.entered)
		<-s.gate
	})
	return s.Store.InTx(ctx, func(tx bridge.Tx) error { return fn(failingTx{Tx: tx, badID: s.badID}) })
}

type failingTx struct {
	bridge.Tx
	badID string
}

func (t failingTx) MarkSeen(ctx context.Context, source, id string) (bool, error) {
	if id == t.badID {
		return false, bridge.Errorf(bridge.EINTERNAL, "disk on fire")
	}
	if id == "panic" {
		panic("the store broke")
	}
	return t.Tx.MarkSeen(ctx, source, id)
}

func (t failingTx) MarkSeenAll(ctx context.Context, source string, ids []string) ([]bool, error) {
	for _, id := range ids {
		if id == t.badID {
			return nil, bridge.Errorf(bridge.EINTERNAL, "disk on fire")
		}
		if id == "panic" {
			panic("the store broke")
		}
	}
	return t.Tx.MarkSeenAll(ctx, source, ids)
}

// Events arriving while a transaction is being written share the next one;
// each caller still gets its own outcome, a duplicate in the same batch is
// a duplicate, and an event that fails fails alone.
func TestInboundEventsShareTransactions(t *testing.T) {
	t.Parallel()
	h := setup(t)
	gs := &gatedStore{Store: h.store, gate: make(chan struct{}), badID: "bad", entered: make(chan struct{})}
	h.svc.Store = gs

	ev := func(id, from string) bridge.InboundMessage {
		return bridge.InboundMessage{EventID: id, Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + from,
			Sender: customer(from), RecipientID: "1000", Text: "hello " + id, CreatedAt: h.clock.Now()}
	}
	type result struct {
		id  string
		out bridge.Outcome
		err error
	}
	results := make(chan result, 64)
	var wg sync.WaitGroup
	var started atomic.Int64
	send := func(e bridge.InboundMessage) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			out, err := h.svc.HandleInbound(h.ctx, e)
			results <- result{e.EventID, out, err}
		}()
	}
	// The first event's transaction is held while the others arrive.
	send(ev("e0", "900"))
	<-gs.entered
	const n = 30
	for i := 1; i <= n; i++ {
		send(ev(fmt.Sprintf("e%d", i), fmt.Sprint(900+i)))
	}
	for range 3 {
		send(ev("dup", "950"))
	}
	send(ev("bad", "960"))
	for started.Load() < n+5 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // all of them wait in the queue
	close(gs.gate)
	wg.Wait()
	close(results)

	stored, dups := 0, 0
	for r := range results {
		switch {
		case r.id == "bad":
			if bridge.ErrorCode(r.err) != bridge.EINTERNAL {
				t.Errorf("the failing event: %v, %v; want its own internal error", r.out, r.err)
			}
		case r.err != nil:
			t.Errorf("event %s failed with its batch: %v", r.id, r.err)
		case r.out == bridge.OutcomeStored:
			stored++
		case r.out == bridge.OutcomeDuplicate && r.id == "dup":
			dups++
		default:
			t.Errorf("event %s: outcome %v", r.id, r.out)
		}
	}
	if stored != n+2 || dups != 2 {
		t.Errorf("stored %d, duplicates %d; want %d and 2", stored, dups, n+2)
	}
	// The held transaction, the batch of everything that waited (which
	// failed on the bad event), then each of those on its own.
	if got, want := gs.txs.Load(), int64(2+n+4); got != want {
		t.Errorf("%d transactions, want %d", got, want)
	}
	h.drain()
	if got := len(h.chat.cards); got != n+2 {
		t.Errorf("%d cards posted, want %d", got, n+2)
	}
}

// Without a failure, a busy intake commits once per batch.
func TestInboundBatchCommitsOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	gs := &gatedStore{Store: h.store, gate: make(chan struct{}), entered: make(chan struct{})}
	h.svc.Store = gs
	var wg sync.WaitGroup
	var started atomic.Int64
	send := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			from := fmt.Sprint(700 + i)
			ev := bridge.InboundMessage{EventID: fmt.Sprintf("b%d", i), Account: "1000", Kind: bridge.KindDM,
				ConversationKey: "1000-" + from, Sender: customer(from), RecipientID: "1000", Text: "hi from " + from, CreatedAt: h.clock.Now()}
			if out, err := h.svc.HandleInbound(h.ctx, ev); err != nil || out != bridge.OutcomeStored {
				t.Errorf("event %d: %v, %v", i, out, err)
			}
		}()
	}
	send(0)
	<-gs.entered
	for i := 1; i <= 20; i++ {
		send(i)
	}
	for started.Load() < 21 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(gs.gate)
	wg.Wait()
	if got := gs.txs.Load(); got != 2 {
		t.Errorf("%d transactions for 21 events arriving together, want 2", got)
	}
	// Every conversation of the batch got its card, with its own
	// customer's message in its thread.
	h.drain()
	if len(h.chat.cards) != 21 {
		t.Fatalf("%d cards, want 21", len(h.chat.cards))
	}
	seen := map[string]bool{}
	for _, c := range h.chat.cards {
		posts := h.chat.thread(c.id)
		if len(posts) != 1 || posts[0].Text != "hi from "+strings.TrimPrefix(c.card.Handle, "cust") {
			t.Errorf("thread of %s: %+v", c.card.Handle, posts)
			continue
		}
		seen[posts[0].Text] = true
	}
	if len(seen) != 21 {
		t.Errorf("%d distinct customer messages in the threads, want 21", len(seen))
	}
}

// A panic while writing (net/http recovers it in the handler) neither
// stalls the intake nor counts the event as written.
func TestInboundPanicDoesNotStallIntake(t *testing.T) {
	t.Parallel()
	h := setup(t)
	gs := &gatedStore{Store: h.store, gate: make(chan struct{}), entered: make(chan struct{})}
	close(gs.gate)
	h.svc.Store = gs
	ev := func(id string) bridge.InboundMessage {
		return bridge.InboundMessage{EventID: id, Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-800",
			Sender: customer("800"), RecipientID: "1000", Text: "hi", CreatedAt: h.clock.Now()}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		h.svc.HandleInbound(h.ctx, ev("panic"))
	}()
	done := make(chan bridge.Outcome)
	go func() {
		out, err := h.svc.HandleInbound(h.ctx, ev("after"))
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	select {
	case out := <-done:
		if out != bridge.OutcomeStored {
			t.Errorf("the next event: %v", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("intake stalled after a panic")
	}
}

// One batch holding a message to an open conversation, one reopening a
// conversation closed lately, one after the reopen window (a new
// conversation linked to the old) and a new customer's: each goes where it
// would have gone on its own.
func TestInboundBatchContinuesReopensAndOpens(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("3001", "open one")
	h.dm("3002", "closed lately")
	h.dm("3003", "closed long ago")
	closeConversation(t, h, 3)
	h.clock.Advance(8 * 24 * time.Hour)
	closeConversation(t, h, 2)
	h.clock.Advance(time.Hour)

	gs := &gatedStore{Store: h.store, gate: make(chan struct{}), entered: make(chan struct{})}
	h.svc.Store = gs
	var wg sync.WaitGroup
	send := func(from, text string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := bridge.InboundMessage{EventID: "mix-" + from, Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + from,
				Sender: customer(from), RecipientID: "1000", Text: text, CreatedAt: h.clock.Now()}
			if out, err := h.svc.HandleInbound(h.ctx, ev); err != nil || out != bridge.OutcomeStored {
				t.Errorf("event from %s: %v, %v", from, out, err)
			}
		}()
	}
	send("3000", "holding the intake")
	<-gs.entered
	send("3001", "still there?")
	send("3002", "back again")
	send("3003", "new problem")
	send("3004", "first time")
	time.Sleep(100 * time.Millisecond) // the four wait behind the first
	close(gs.gate)
	wg.Wait()
	if got := gs.txs.Load(); got != 2 {
		t.Errorf("%d transactions, want 2 (the four events batched)", got)
	}
	h.svc.Store = h.store
	h.drain()

	cards := map[string]bridge.Card{}
	for _, c := range h.chat.cards {
		cards[c.card.Handle] = c.card
	}
	if len(h.chat.cards) != 6 {
		t.Fatalf("%d cards, want 6 (3 before, 3 new)", len(h.chat.cards))
	}
	texts := func(thread string) (out []string) {
		for _, p := range h.chat.thread(thread) {
			if p.Kind == bridge.PostCustomer {
				out = append(out, p.Text)
			}
		}
		return out
	}
	if got := texts(h.thread(1)); !slices.Equal(got, []string{"open one", "still there?"}) {
		t.Errorf("open conversation's thread: %q", got)
	}
	if got := texts(h.thread(2)); !slices.Equal(got, []string{"closed lately", "back again"}) {
		t.Errorf("reopened conversation's thread: %q", got)
	}
	if n := h.chat.noticesIn(h.thread(2)); len(n) != 1 || !strings.Contains(n[0], "Reopened") {
		t.Errorf("notices in the reopened thread: %q", n)
	}
	if c := cards["cust3003"]; c.PreviousID != 3 {
		t.Errorf("the conversation after the window links to %d, want 3", c.PreviousID)
	}
	if c, ok := cards["cust3004"]; !ok || c.PreviousID != 0 {
		t.Errorf("the new customer's card: %+v", c)
	}
}
