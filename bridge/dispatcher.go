package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// busyPoll is how soon a dispatcher with deliveries in flight looks again
// for items that came due by the clock alone.
const busyPoll = 100 * time.Millisecond

// handoffGrace is how long a stopping dispatcher waits for the handoffs of
// transactions that reserved workers before it stopped (see Run).
const handoffGrace = 5 * time.Second

// Dispatcher delivers outbox items: several workers, priority order, one
// item at a time per SeqKey, per-lane pacing, retries with backoff and
// jitter, and the platforms' Retry-After and rate-limit resets honoured.
// Several dispatchers may share one Postgres store.
type Dispatcher struct {
	Store  Store
	Clock  Clock
	Logger *slog.Logger
	Chat   map[string]ChatPlatform // by Conversation.ChatPlatform
	X      XPlatform
	Limits *LaneLimiter
	Pager  Pager // receives SLA breaches, when configured
	// ReadPolicy ReadOnReply marks the customer's DMs read once a reply
	// reached them; other policies are the Service's.
	ReadPolicy string
	// EngOnCall is mentioned on escalation cards (the engineering on-call
	// group, in the engineering platform's markup).
	EngOnCall string
	// AccountHandles names the X support accounts on cards (user id →
	// handle, without "@"); set it when several accounts share channels.
	AccountHandles map[string]string
	// MediaRules are X's limits on agents' files (checked again on their
	// sniffed type); MediaMaxBytes caps the files moved either way
	// (default DefaultMediaMaxBytes).
	MediaRules    MediaRules
	MediaMaxBytes int64

	Workers      int           // concurrent deliveries; default 8
	Lease        time.Duration // how long a claim lasts before recovery; default 2 min
	PollInterval time.Duration // how often to look for work nobody announced; default 1 s
	MaxAttempts  int           // before a temporary failure becomes final; default 8
	BaseBackoff  time.Duration // first retry delay; default 1 s
	MaxBackoff   time.Duration // default 5 min
	// Finished outbox items and inbound event ids are kept this long
	// (defaults 7 and 30 days), then pruned.
	OutboxRetention, SeenRetention time.Duration

	Observe DeliveryObserver

	wakeOnce sync.Once
	wake     chan struct{}
	threads  group[*threadCall] // cards' threads recorded at once

	// While Run delivers: items claimed (or reserved for a handoff) and
	// not yet recorded, a signal that a recorded batch freed slots, and
	// how items handed over already claimed are delivered (see Reserve).
	running   atomic.Bool
	busy      atomic.Int64
	reserved  atomic.Int64 // workers reserved and not yet handed over
	freed     chan struct{}
	handoffMu sync.RWMutex
	handoff   func(items []*OutboxItem) // nil unless Run delivers

	readSyncMu  sync.Mutex
	readSyncErr string
}

// DeliveryObserver receives delivery outcomes for metrics.
type DeliveryObserver interface {
	Delivered(effect Effect, latency time.Duration)
	Failed(effect Effect, final bool)
	Waited(lane string, d time.Duration) // paced or rate limited
}

func (d *Dispatcher) init() {
	d.wakeOnce.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.freed = make(chan struct{}, 1)
		if d.Workers <= 0 {
			d.Workers = 8
		}
		if d.Lease <= 0 {
			d.Lease = 2 * time.Minute
		}
		if d.PollInterval <= 0 {
			d.PollInterval = time.Second
		}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = 8
		}
		if d.BaseBackoff <= 0 {
			d.BaseBackoff = time.Second
		}
		if d.MaxBackoff <= 0 {
			d.MaxBackoff = 5 * time.Minute
		}
		if d.OutboxRetention <= 0 {
			d.OutboxRetention = 7 * 24 * time.Hour
		}
		if d.SeenRetention <= 0 {
			d.SeenRetention = 30 * 24 * time.Hour
		}
		if d.Limits == nil {
			d.Limits = &LaneLimiter{}
		}
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
	})
}

// Wake tells the dispatcher new work may be due. Never blocks.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Reserve sets aside up to n of the workers of a running dispatcher for
// items the caller is about to enqueue already claimed (Claim) and hand
// over once committed (Handoff): new work that goes out at once, sparing
// the claim's statement and its wait. It returns how many it set aside —
// none while Run is not delivering, or every worker is busy; the caller
// then enqueues items as usual, for a claim.
func (d *Dispatcher) Reserve(n int) int {
	d.init()
	if n <= 0 || !d.running.Load() {
		return 0
	}
	for {
		busy := d.busy.Load()
		k := min(int64(n), int64(d.Workers)-busy)
		if k <= 0 {
			return 0
		}
		if d.busy.CompareAndSwap(busy, busy+k) {
			// Counted before running is read again, so that a Run
			// stopping either sees the reservation and waits for its
			// handoff, or is seen stopping here.
			d.reserved.Add(k)
			if !d.running.Load() {
				d.reserved.Add(-k)
				d.busy.Add(-k)
				return 0
			}
			return int(k)
		}
	}
}

// Claim marks it claimed by this dispatcher as of now, as ClaimOutbox
// would: the caller enqueues it so, with the state change that causes it,
// and hands it over with Handoff once that commits. Should the handoff
// never arrive (the process stops first), the lease runs out and the item
// is claimed again like any other (see Recover).
func (d *Dispatcher) Claim(it *OutboxItem, now time.Time) {
	d.init()
	it.State, it.Attempts, it.LeaseUntil, it.UpdatedAt = OutboxInflight, it.Attempts+1, now.Add(d.Lease), now
}

// Handoff delivers items enqueued claimed (see Claim) and committed, in the
// slots reserved for them, and gives back the reserved slots left over.
func (d *Dispatcher) Handoff(items []*OutboxItem, reserved int) {
	d.init()
	defer d.reserved.Add(-int64(reserved))
	if unused := reserved - len(items); unused > 0 {
		d.busy.Add(-int64(unused))
		select {
		case d.freed <- struct{}{}:
		default:
		}
	}
	if len(items) == 0 {
		return
	}
	d.handoffMu.RLock()
	defer d.handoffMu.RUnlock()
	if d.handoff == nil {
		// Run stopped since the reservation: the items' leases bring
		// them back.
		d.busy.Add(-int64(len(items)))
		d.Logger.Info("outbox handoff after the dispatcher stopped; the items go out once their lease ends", "items", len(items))
		return
	}
	d.handoff(items)
}

// Run delivers until ctx is cancelled, then waits for deliveries in flight
// to finish and be recorded, and returns.
//
// Claimed items — and items handed over already claimed (see Reserve) —
// are delivered concurrently; their outcomes are recorded by one recorder
// that commits whatever outcomes are ready in one transaction, so a busy
// dispatcher pays for one commit per batch, not per item.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("dispatcher: Run is running already")
	}
	defer d.running.Store(false)
	// Deliveries in flight finish even when ctx ends: their outcome must
	// be recorded so nothing is sent twice.
	work := context.WithoutCancel(ctx)
	outcomes := make(chan outcome, d.Workers)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.recordLoop(work, outcomes)
	}()
	defer func() {
		close(outcomes)
		<-recorded
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	deliver := func(items []*OutboxItem) {
		snap := d.snapshot(work, items)
		for _, it := range items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outcomes <- d.attempt(work, it, snap)
			}()
		}
	}
	// Handoffs are delivered at once, beside the loop.
	d.handoffMu.Lock()
	d.handoff = func(items []*OutboxItem) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliver(items)
		}()
	}
	d.handoffMu.Unlock()
	nextRecover, nextPrune := time.Time{}, time.Time{}
	for {
		if ctx.Err() != nil {
			// No more reservations. Transactions that reserved workers
			// before (an intake committing as the process stops) hand
			// their items over in a moment: wait for them, so those go
			// out now rather than once their lease ends after a restart.
			// Then no more handoffs, and wait for deliveries in flight to
			// hand over their outcomes.
			d.running.Store(false)
			for deadline := time.Now().Add(handoffGrace); d.reserved.Load() > 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			d.handoffMu.Lock()
			d.handoff = nil
			d.handoffMu.Unlock()
			wg.Wait()
			return nil
		}
		now := d.Clock.Now()
		if !now.Before(nextRecover) {
			if err := d.Recover(work); err != nil {
				d.Logger.Error("recover outbox", "err", err)
			}
			nextRecover = now.Add(d.Lease / 4)
		}
		if !now.Before(nextPrune) {
			if n, err := d.Store.Prune(work, now.Add(-d.OutboxRetention), now.Add(-d.SeenRetention)); err != nil {
				d.Logger.Warn("prune outbox", "err", err)
			} else if n > 0 {
				d.Logger.Info("pruned finished outbox items and old event ids", "rows", n)
			}
			nextPrune = now.Add(time.Hour)
		}
		var items []*OutboxItem
		free := d.Workers - int(d.busy.Load())
		if free > 0 {
			var err error
			if items, err = d.Store.ClaimOutbox(work, now, d.Lease, free); err != nil {
				d.Logger.Error("claim outbox", "err", err)
			}
		}
		if len(items) > 0 {
			d.busy.Add(int64(len(items)))
			deliver(items)
			if len(items) == free {
				continue // more may be due
			}
			// Everything due is claimed; what comes due later wakes the
			// loop (Wake, a recorded batch, the clock).
		}
		wait := d.PollInterval
		if d.busy.Load() == 0 {
			if t, ok, err := d.Store.NextDue(work); err == nil && ok {
				if until := t.Sub(d.Clock.Now()); until < wait {
					wait = max(until, time.Millisecond)
				}
			}
		} else {
			// Items that come due while deliveries are in flight (a send
			// delay ending, a retry) are found by looking again soon.
			wait = min(wait, busyPoll)
		}
		var slots <-chan struct{} // a recorded batch matters only when every worker was busy
		if free <= 0 {
			slots = d.freed
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-slots:
		case <-d.Clock.After(wait):
		}
	}
}

// recordLoop records outcomes in batches until outcomes is closed.
func (d *Dispatcher) recordLoop(ctx context.Context, outcomes <-chan outcome) {
	for o := range outcomes {
		batch := []outcome{o}
	more:
		for len(batch) < 256 {
			select {
			case o, ok := <-outcomes:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		more := d.record(ctx, batch)
		d.busy.Add(-int64(len(batch)))
		select {
		case d.freed <- struct{}{}:
		default:
		}
		if more {
			d.Wake()
		}
	}
}

// RunOnce claims and delivers one batch, waiting for it to be recorded;
// for tests and tools. It returns how many items it handled.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.init()
	items, err := d.Store.ClaimOutbox(ctx, d.Clock.Now(), d.Lease, d.Workers)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	snap := d.snapshot(ctx, items)
	batch := make([]outcome, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch[i] = d.attempt(ctx, it, snap)
		}()
	}
	wg.Wait()
	d.record(ctx, batch)
	return len(items), nil
}

// outcome is what happened to one claimed item, waiting to be recorded.
type outcome struct {
	it       *OutboxItem
	claimed  int           // attempts at claim time: the guard of the update
	paced    time.Duration // not attempted: the lane needs this long
	resultID string
	follow   followUp
	err      error
}

// snapshot reads what a batch needs; items whose rows it lacks read them
// again one by one.
func (d *Dispatcher) snapshot(ctx context.Context, items []*OutboxItem) *Snapshot {
	convs := make([]int64, 0, len(items))
	msgs := make([]int64, 0, len(items))
	for _, it := range items {
		convs = append(convs, it.ConversationID)
		msgs = append(msgs, it.MessageID)
	}
	snap, err := d.Store.Snapshot(ctx, convs, msgs)
	if err != nil {
		d.Logger.Warn("snapshot for delivery", "err", err)
		return nil
	}
	return snap
}

// attempt delivers one claimed item unless its lane must wait.
func (d *Dispatcher) attempt(ctx context.Context, it *OutboxItem, snap *Snapshot) outcome {
	o := outcome{it: it, claimed: it.Attempts}
	if wait := d.Limits.Take(it.Lane, d.Clock.Now()); wait > 0 {
		o.paced = wait
		return o
	}
	o.resultID, o.follow, o.err = d.perform(ctx, it, snap)
	return o
}

// record writes a batch of outcomes in one transaction; if that fails, one
// transaction each, so one bad outcome cannot hold back the others. It
// reports whether recording may have made more work due: an item done
// that held back the next of its SeqKey, or an outcome recorded the long
// way (which may enqueue more).
func (d *Dispatcher) record(ctx context.Context, batch []outcome) (more bool) {
	// Each transaction first locks the conversations it writes — the
	// order every transaction takes its locks in: conversations (in id
	// order, so concurrent recorders cannot deadlock), then outbox items
	// and messages. Most plain outcomes write none: each writes back its
	// own item, guarded by the state and attempts it was claimed with, and
	// the chat id of the message it posted.
	slices.SortFunc(batch, func(a, b outcome) int { return cmp.Compare(a.it.ConversationID, b.it.ConversationID) })
	var recorded []outcome
	var stale map[int64]bool // items someone else (an echo, a recovery) recorded first
	recordTx := func(tx Tx, part []outcome) error {
		stale, more = map[int64]bool{}, false
		var plain, rest []outcome
		ids := make([]int64, 0, len(part))
		for _, o := range part {
			short := isPlain(o)
			if short {
				plain = append(plain, o)
			} else {
				rest = append(rest, o)
			}
			// A card whose thread is still to be recorded writes its
			// conversation too.
			locks := !short || (o.it.Effect == EffectCard && o.paced == 0 && !o.follow.threadRecorded)
			if locks && (len(ids) == 0 || ids[len(ids)-1] != o.it.ConversationID) {
				ids = append(ids, o.it.ConversationID)
			}
		}
		if err := tx.LockConversations(ctx, ids...); err != nil {
			return err
		}
		// Plain outcomes first, together: the threads and chat ids they
		// record can only help the others.
		next, err := d.applyPlain(ctx, tx, plain, stale)
		if err != nil {
			return err
		}
		more = next || len(rest) > 0
		for _, o := range rest {
			err := d.apply(ctx, tx, o)
			if ErrorCode(err) == ECONFLICT {
				stale[o.it.ID] = true
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	// Recording changes the items in memory as it goes; a lost
	// transaction's changes are undone before the items are recorded
	// again.
	claimed := make([]OutboxItem, len(batch))
	for i, o := range batch {
		claimed[i] = *o.it
	}
	err := d.Store.InTx(ctx, func(tx Tx) error { return recordTx(tx, batch) })
	if err != nil && len(batch) > 1 {
		d.Logger.Warn("record deliveries as a batch; recording one by one", "err", err, "batch", len(batch))
		for i, o := range batch {
			*o.it = claimed[i]
			if err := d.Store.InTx(ctx, func(tx Tx) error { return recordTx(tx, []outcome{o}) }); err != nil {
				d.Logger.Error("record delivery", "outbox_id", o.it.ID, "effect", o.it.Effect, "err", err)
				continue
			}
			if !stale[o.it.ID] {
				recorded = append(recorded, o)
			}
		}
	} else if err != nil {
		d.Logger.Error("record delivery", "outbox_id", batch[0].it.ID, "effect", batch[0].it.Effect, "err", err)
	} else {
		for _, o := range batch {
			if !stale[o.it.ID] {
				recorded = append(recorded, o)
			}
		}
	}
	d.observe(recorded)
	return more || err != nil
}

// observe reports recorded outcomes to the metrics, once they are
// committed: a transaction lost and recorded again counts once.
func (d *Dispatcher) observe(recorded []outcome) {
	if d.Observe == nil {
		return
	}
	now := d.Clock.Now()
	for _, o := range recorded {
		it := o.it
		switch {
		case o.paced > 0:
			d.Observe.Waited(it.Lane, o.paced)
		case o.err == nil:
			d.Observe.Delivered(it.Effect, now.Sub(it.CreatedAt))
		case it.State == OutboxPending && AsDeliveryError(o.err).RateLimited:
			d.Observe.Waited(it.Lane, it.NotBefore.Sub(it.UpdatedAt))
		case it.State == OutboxPending:
			d.Observe.Failed(it.Effect, false)
		case it.State == OutboxFailed:
			d.Observe.Failed(it.Effect, true)
		}
	}
}

// isPlain says recording o takes nothing but writing its item back and,
// for a card or a post, the thread and chat id it produced: the outcome of
// nearly every delivery, recorded for a whole batch by a few statements.
func isPlain(o outcome) bool {
	switch {
	case o.paced > 0:
		return true
	case o.err != nil, o.it.Effect.IsX(), o.it.Payload.EscalationID != 0:
		return false
	}
	return !(o.it.Effect == EffectCard && o.follow.messageFailed)
}

// applyPlain records plain outcomes (see isPlain) inside tx, which holds
// the locks of the conversations whose threads they record: their items
// are written back first, guarded, and only those still current record
// their threads and chat ids; the others are added to stale. It reports
// whether an item done held back the next of its SeqKey.
func (d *Dispatcher) applyPlain(ctx context.Context, tx Tx, plain []outcome, stale map[int64]bool) (next bool, err error) {
	if len(plain) == 0 {
		return false, nil
	}
	now := d.Clock.Now()
	updates := make([]OutboxUpdate, len(plain))
	for i, o := range plain {
		it := o.it
		if o.paced > 0 {
			it.Attempts = o.claimed - 1 // not attempted
			it.State, it.NotBefore = OutboxPending, now.Add(o.paced)
		} else {
			it.State, it.ResultID, it.LastError, it.UpdatedAt = OutboxDone, o.resultID, "", now
		}
		updates[i] = OutboxUpdate{Item: it, FromState: OutboxInflight, FromAttempts: o.claimed}
	}
	moved, next, err := tx.UpdateOutboxes(ctx, updates)
	if err != nil {
		return false, err
	}
	threads, chatIDs := map[int64]string{}, map[int64]string{}
	for _, o := range plain {
		if moved[o.it.ID] {
			stale[o.it.ID] = true
			continue
		}
		if o.paced > 0 {
			continue
		}
		if o.it.Effect == EffectCard && !o.follow.threadRecorded {
			threads[o.it.ConversationID] = o.follow.threadID
		}
		if id, chatID, ok := postedMessage(o.it, o.follow); ok {
			chatIDs[id] = chatID
		}
	}
	if err := tx.SetThreads(ctx, threads); err != nil {
		return false, err
	}
	return next, tx.SetMessageChatIDs(ctx, chatIDs)
}

// postedMessage returns the message a delivered card or post showed in
// the thread, and where, when it is one whose chat id is kept: the
// customer's message under a card or in a post, or an agent's reply.
func postedMessage(it *OutboxItem, f followUp) (int64, string, bool) {
	if it.MessageID == 0 || f.messageChatID == "" {
		return 0, "", false
	}
	switch {
	case it.Effect == EffectCard,
		it.Effect == EffectPost && (it.Payload.Kind == PostCustomer || it.Payload.Kind == PostReply):
		return it.MessageID, f.messageChatID, true
	}
	return 0, "", false
}

// threadCall is one card's thread waiting to be recorded with others.
type threadCall struct {
	conversationID int64
	threadID       string
	err            error
}

// recordThread records the thread of a conversation whose card was just
// posted, at once and committed; concurrent calls share one statement.
func (d *Dispatcher) recordThread(ctx context.Context, conversationID int64, threadID string) error {
	c := &threadCall{conversationID: conversationID, threadID: threadID}
	d.threads.do(c, func(batch []*threadCall) {
		threads := make(map[int64]string, len(batch))
		for _, c := range batch {
			threads[c.conversationID] = c.threadID
		}
		// The statement serves every caller in the batch: the one
		// running it going away must not fail the others.
		err := d.Store.RecordThreads(context.WithoutCancel(ctx), threads)
		for _, c := range batch {
			c.err = err
		}
	}, func(c *threadCall, p any) { c.err = fmt.Errorf("record thread: %v", p) })
	return c.err
}

// apply records one outcome inside tx, which holds the lock of the item's
// conversation. The guarded update of the item comes first, so an
// ECONFLICT leaves nothing half-written.
func (d *Dispatcher) apply(ctx context.Context, tx Tx, o outcome) error {
	it := o.it
	if o.err != nil {
		return d.failed(ctx, tx, it, o.claimed, o.err)
	}
	items, err := d.finish(ctx, tx, it, o.claimed, o.resultID, o.follow)
	if err != nil {
		return err
	}
	return tx.Enqueue(ctx, items...)
}

// payloadPost is the post an item's payload describes.
func payloadPost(it *OutboxItem) Post {
	return Post{Kind: it.Payload.Kind, Text: it.Payload.Text, Buttons: it.Payload.Buttons,
		Mention: it.Payload.Mention, Key: it.IdemKey}
}

// card renders a conversation's card with its escalation, SLA targets and
// the customer's earlier conversations: from the batch's snapshot when it
// read them, else read now. The extras are best effort: without them the
// card still shows the conversation.
func (d *Dispatcher) card(ctx context.Context, conv *Conversation, cust *Customer, snap *Snapshot) Card {
	card := RenderCard(conv, cust)
	card.Account = d.AccountHandles[conv.Account]
	if snap == nil || snap.Extras == nil {
		var err error
		if snap, err = d.Store.Snapshot(ctx, []int64{conv.ID}, nil); err != nil {
			d.Logger.Warn("card extras", "conversation", conv.ID, "err", err)
			return card
		}
	}
	x := snap.Extras[conv.ID]
	if x == nil {
		return card
	}
	if esc := x.Escalation; esc != nil {
		card.Escalation = &CardEscalation{Thread: ThreadRef{esc.Platform, esc.Channel, esc.ThreadID}, Open: esc.Open()}
	}
	card.SLA = cardSLA(x.Targets)
	card.HistoryCount = len(x.Earlier)
	for _, e := range x.Earlier[:min(3, len(x.Earlier))] {
		card.History = append(card.History, CardHistory{Ticket: e.Ticket(), Status: e.Status, OpenedAt: e.CreatedAt,
			Thread: ThreadRef{e.ChatPlatform, e.ChatChannel, e.ChatThreadID}})
	}
	return card
}

// unpost removes the post an EffectUnpost names, when the platform can.
func (d *Dispatcher) unpost(ctx context.Context, it *OutboxItem, chat ChatPlatform, conv *Conversation) error {
	del, ok := chat.(MessageDeleter)
	if !ok {
		return nil
	}
	var ref *OutboxItem
	err := d.Store.InTx(ctx, func(tx Tx) error {
		var err error
		ref, err = tx.OutboxByKey(ctx, it.Payload.Ref)
		return err
	})
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return nil
	case err != nil:
		return err
	case ref.State == OutboxPending || ref.State == OutboxInflight:
		return &DeliveryError{Temporary: true, Reason: "the post to remove is not posted yet"}
	case ref.ResultID == "":
		return nil
	}
	return del.DeleteMessage(ctx, conv.ChatChannel, conv.ChatThreadID, ref.ResultID)
}

// cardSLA is the latest target of each metric, for the card.
func cardSLA(targets []*SLATarget) []CardSLA {
	latest := map[Metric]*SLATarget{}
	for _, t := range targets {
		latest[t.Metric] = t // targets come in id order
	}
	var out []CardSLA
	for _, m := range Metrics {
		if t := latest[m]; t != nil {
			out = append(out, CardSLA{Metric: m, State: t.State, DueAt: t.DueAt})
		}
	}
	return out
}

// performEscalation performs an effect in an escalation's thread.
func (d *Dispatcher) performEscalation(ctx context.Context, it *OutboxItem, conv *Conversation, cust *Customer) (string, followUp, error) {
	var esc *Escalation
	var recent []*Message
	err := d.Store.InTx(ctx, func(tx Tx) error {
		var err error
		if esc, err = tx.Escalation(ctx, it.Payload.EscalationID); err != nil {
			return err
		}
		if it.Effect == EffectEscalate || it.Effect == EffectEscUpdate {
			recent, err = tx.RecentMessages(ctx, conv.ID, 5)
		}
		return err
	})
	if err != nil {
		return "", followUp{}, &DeliveryError{Temporary: ErrorCode(err) != ENOTFOUND, Reason: "load escalation", Err: err}
	}
	chat, ok := d.Chat[esc.Platform]
	if !ok {
		return "", followUp{}, &DeliveryError{Reason: fmt.Sprintf("chat platform %q of the engineering channel is not configured", esc.Platform)}
	}
	card := EscalationCard{
		Ticket: conv.Ticket(), Summary: esc.Summary, OpenedByName: esc.OpenedByName,
		CustomerName: cust.DisplayName(), Handle: cust.Handle, Followers: cust.Followers,
		Kind: conv.Kind, Priority: conv.Priority, Tags: conv.Tags,
		Support: ThreadRef{conv.ChatPlatform, conv.ChatChannel, conv.ChatThreadID},
		OnCall:  d.EngOnCall, Resolved: !esc.Open(), ResolvedBy: esc.ResolvedByName, Resolution: esc.Resolution,
		SupportClosed: conv.Status == StatusClosed,
	}
	for _, m := range recent {
		card.Recent = append(card.Recent, CardMessage{Direction: m.Direction, Author: m.AuthorName, Text: m.Text})
	}
	switch it.Effect {
	case EffectEscalate:
		if esc.ThreadID != "" {
			return esc.ThreadID, followUp{threadID: esc.ThreadID}, nil
		}
		id, err := chat.PostEscalation(ctx, esc.Channel, card, it.IdemKey)
		if err != nil {
			return "", followUp{}, err
		}
		// Engineers can answer at once: record the thread now.
		if err := d.Store.InTxRelaxed(ctx, func(tx Tx) error { return setEscalationThread(ctx, tx, esc.ID, id) }); err != nil {
			d.Logger.Warn("record escalation thread", "escalation", esc.ID, "err", err)
		}
		return id, followUp{threadID: id}, nil
	case EffectEscUpdate:
		if esc.ThreadID == "" {
			return "", followUp{}, nil // its card is not posted yet; it will show the current state
		}
		return "", followUp{}, chat.UpdateEscalation(ctx, esc.Channel, esc.ThreadID, card)
	case EffectPost:
		if esc.ThreadID == "" {
			return "", followUp{}, &DeliveryError{Temporary: true, Reason: "the escalation thread is not posted yet"}
		}
		id, err := chat.Post(ctx, esc.Channel, esc.ThreadID, payloadPost(it))
		return id, followUp{}, err
	}
	return "", followUp{}, &DeliveryError{Reason: fmt.Sprintf("effect %q has no escalation form", it.Effect)}
}

// setEscalationThread records an escalation's thread once.
func setEscalationThread(ctx context.Context, tx Tx, escID int64, threadID string) error {
	esc, err := tx.Escalation(ctx, escID)
	if err != nil || esc.ThreadID != "" {
		return err
	}
	esc.ThreadID = threadID
	return tx.UpdateEscalation(ctx, esc)
}

// followUp is state the dispatcher learned while performing an item.
type followUp struct {
	threadID string // EffectCard: the conversation's thread
	// threadRecorded: EffectCard's thread is recorded already.
	threadRecorded bool
	messageChatID  string // where the item's message was posted in the thread
	messageFailed  bool   // EffectCard: the opening message could not follow the card
}

// customerPost presents a customer's message in the thread.
func customerPost(msg *Message, cust *Customer, key string) Post {
	return Post{Kind: PostCustomer, Text: msg.Text, AuthorName: msg.AuthorName, AvatarURL: cust.AvatarURL, Key: key}
}

// perform calls the platform for one item, with the rows snap read for it
// (or read now when snap lacks them).
func (d *Dispatcher) perform(ctx context.Context, it *OutboxItem, snap *Snapshot) (string, followUp, error) {
	conv, cust, msg, err := d.rowsFor(ctx, it, snap)
	if err != nil {
		return "", followUp{}, &DeliveryError{Temporary: ErrorCode(err) != ENOTFOUND, Reason: "load conversation", Err: err}
	}
	if it.Effect.IsX() {
		if d.X == nil {
			return "", followUp{}, &DeliveryError{Reason: "no X account configured"}
		}
		id, err := d.sendX(ctx, it, conv, cust)
		return id, followUp{}, err
	}
	if it.Effect == EffectChatFile || it.Effect == EffectMediaUpload {
		return d.performMedia(ctx, it, conv, cust)
	}
	if it.Payload.EscalationID != 0 {
		return d.performEscalation(ctx, it, conv, cust)
	}
	if isReadSync(it.Effect) {
		return "", followUp{}, d.performReadSync(ctx, it, conv, cust)
	}
	if it.Effect == EffectPage {
		if d.Pager == nil {
			return "", followUp{}, &DeliveryError{Reason: "no paging webhook configured"}
		}
		return "", followUp{}, d.Pager.Page(ctx, []byte(it.Payload.Text))
	}
	chat, ok := d.Chat[conv.ChatPlatform]
	if !ok {
		return "", followUp{}, &DeliveryError{Reason: fmt.Sprintf("chat platform %q is not configured", conv.ChatPlatform)}
	}
	if it.Effect == EffectUnpost {
		return "", followUp{}, d.unpost(ctx, it, chat, conv)
	}
	if it.Payload.ToChannel {
		id, err := chat.Post(ctx, conv.ChatChannel, "", payloadPost(it))
		return id, followUp{}, err
	}
	if it.Effect != EffectCard && conv.ChatThreadID == "" {
		return "", followUp{}, &DeliveryError{Reason: "the conversation has no thread: its card was never posted"}
	}
	switch it.Effect {
	case EffectCard:
		f := followUp{threadID: conv.ChatThreadID}
		if f.threadID == "" {
			id, err := chat.PostCard(ctx, conv.ChatChannel, d.card(ctx, conv, cust, snap), it.IdemKey)
			if err != nil {
				return "", followUp{}, err
			}
			f.threadID = id
			// Agents can answer as soon as the card shows: record its
			// thread now rather than with the batch, so their first
			// message finds the conversation. (The batch records it if
			// this fails.)
			if err := d.recordThread(ctx, conv.ID, id); err != nil {
				d.Logger.Warn("record thread", "conversation", conv.ID, "err", err)
			} else {
				f.threadRecorded = true
			}
		}
		// The message that opened the conversation follows its card. If
		// that post fails, the card still counts and the message is
		// queued on its own.
		if msg != nil && msg.ChatID == "" {
			id, err := chat.Post(ctx, conv.ChatChannel, f.threadID, customerPost(msg, cust, it.IdemKey+":first"))
			f.messageChatID, f.messageFailed = id, err != nil
		}
		return f.threadID, f, nil
	case EffectCardUpdate:
		return "", followUp{}, chat.UpdateCard(ctx, conv.ChatChannel, conv.ChatThreadID, d.card(ctx, conv, cust, snap))
	case EffectPost:
		p := payloadPost(it)
		if it.Payload.Kind == PostCustomer && msg != nil {
			p = customerPost(msg, cust, it.IdemKey)
		}
		id, err := chat.Post(ctx, conv.ChatChannel, conv.ChatThreadID, p)
		return id, followUp{messageChatID: id}, err
	case EffectReact, EffectUnreact:
		if msg == nil || msg.ChatID == "" {
			return "", followUp{}, nil // nothing to mark
		}
		return "", followUp{}, chat.React(ctx, conv.ChatChannel, conv.ChatThreadID, msg.ChatID, it.Payload.Reaction, it.Effect == EffectReact)
	}
	return "", followUp{}, &DeliveryError{Reason: fmt.Sprintf("unknown effect %q", it.Effect)}
}

// rowsFor returns an item's conversation, customer and message from snap,
// or from the store when snap lacks them.
func (d *Dispatcher) rowsFor(ctx context.Context, it *OutboxItem, snap *Snapshot) (*Conversation, *Customer, *Message, error) {
	if snap != nil {
		conv := snap.Conversations[it.ConversationID]
		var cust *Customer
		if conv != nil {
			cust = snap.Customers[conv.CustomerID]
		}
		msg, msgOK := snap.Messages[it.MessageID]
		if conv != nil && cust != nil && (it.MessageID == 0 || msgOK) {
			return conv, cust, msg, nil
		}
	}
	var conv *Conversation
	var cust *Customer
	var msg *Message
	err := d.Store.InTx(ctx, func(tx Tx) error {
		var err error
		if conv, err = tx.Conversation(ctx, it.ConversationID); err != nil {
			return err
		}
		if cust, err = tx.Customer(ctx, conv.CustomerID); err != nil {
			return err
		}
		if it.MessageID != 0 {
			msg, err = tx.Message(ctx, it.MessageID)
		}
		return err
	})
	return conv, cust, msg, err
}

// finish records a successful delivery whose outcome is not plain (see
// isPlain) and returns the items it causes.
func (d *Dispatcher) finish(ctx context.Context, tx Tx, it *OutboxItem, claimed int, resultID string, f followUp) ([]*OutboxItem, error) {
	now := d.Clock.Now()
	if it.Effect.IsX() {
		return completeSend(ctx, tx, now, it, OutboxInflight, resultID, claimed, d.ReadPolicy == ReadOnReply)
	}
	it.State, it.ResultID, it.LastError, it.UpdatedAt = OutboxDone, resultID, "", now
	if err := tx.UpdateOutbox(ctx, it, OutboxInflight, claimed); err != nil {
		return nil, err
	}
	if it.Payload.EscalationID != 0 {
		if it.Effect != EffectEscalate {
			return nil, nil
		}
		if err := setEscalationThread(ctx, tx, it.Payload.EscalationID, f.threadID); err != nil {
			return nil, err
		}
		// The support card links to the new thread.
		conv, err := tx.Conversation(ctx, it.ConversationID)
		if err != nil {
			return nil, err
		}
		return []*OutboxItem{chatItem(conv, EffectCardUpdate, fmt.Sprintf("esc-posted:%d", it.ID), 0, Payload{}, now)}, nil
	}
	// What is left is a card whose opening message could not follow it
	// (every other chat delivery is plain: see applyPlain). The message
	// is queued on its own.
	if it.Effect != EffectCard || !f.messageFailed {
		return nil, nil
	}
	if !f.threadRecorded {
		if err := tx.SetThreads(ctx, map[int64]string{it.ConversationID: f.threadID}); err != nil {
			return nil, err
		}
	}
	conv, err := tx.Conversation(ctx, it.ConversationID)
	if err != nil {
		return nil, err
	}
	conv.ChatThreadID = f.threadID
	return []*OutboxItem{customerPostItem(conv, it.MessageID, now)}, nil
}

// completeSend records that X accepted one part of a reply: the item is
// done, X's id is remembered so its echo is recognised, and once every part
// is out the message is marked sent in the thread.
//
// With markRead (the on_reply read policy), a DM's arrival also marks the
// customer's DMs read: only now, with an answer there, may they see "read".
func completeSend(ctx context.Context, tx Tx, now time.Time, it *OutboxItem, from OutboxState, resultID string, attempts int, markRead bool) ([]*OutboxItem, error) {
	it.State, it.ResultID, it.LastError, it.UpdatedAt = OutboxDone, resultID, "", now
	if err := tx.UpdateOutbox(ctx, it, from, attempts); err != nil {
		return nil, err
	}
	if _, err := tx.MarkSeen(ctx, "x", resultID); err != nil {
		return nil, err
	}
	items, err := tx.OutboxForMessage(ctx, it.MessageID)
	if err != nil {
		return nil, err
	}
	parts := latestParts(items)
	for _, o := range parts {
		if o.State != OutboxDone {
			return nil, nil // more parts to go
		}
	}
	first := parts[0].ResultID
	msg, err := tx.Message(ctx, it.MessageID)
	if err != nil {
		return nil, err
	}
	msg.Delivery, msg.DeliveryError, msg.XID, msg.SentAt = DeliverySent, "", first, now
	if err := tx.UpdateMessage(ctx, msg); err != nil {
		return nil, err
	}
	conv, err := tx.Conversation(ctx, msg.ConversationID)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("sent:%d", it.ID)
	// A resend removed the failure mark when it was asked for.
	items = []*OutboxItem{
		markItem(conv, msg, ReactionWaiting, false, key, now),
		markItem(conv, msg, ReactionSent, true, key, now),
	}
	if markRead && it.Effect == EffectDM {
		read, err := readItem(ctx, tx, conv, fmt.Sprintf("reply:%d", it.MessageID), now)
		if err != nil {
			return nil, err
		}
		if read != nil {
			items = append(items, read)
		}
	}
	return items, nil
}

// latestParts returns, for each part of a message, its most recent X send
// (a resend supersedes a failed attempt); cancelled sends don't count.
func latestParts(items []*OutboxItem) map[int]*OutboxItem {
	parts := map[int]*OutboxItem{}
	for _, o := range items {
		if !o.Effect.IsX() || o.State == OutboxCancelled {
			continue
		}
		if cur, ok := parts[o.Payload.Part]; !ok || o.ID > cur.ID {
			parts[o.Payload.Part] = o
		}
	}
	return parts
}

// cancelRest cancels the parts of a message still waiting once one part
// failed: a customer must not get the end of a message without its start.
func cancelRest(ctx context.Context, tx Tx, messageID int64, now time.Time) error {
	items, err := tx.OutboxForMessage(ctx, messageID)
	if err != nil {
		return err
	}
	for _, o := range items {
		if o.Effect.IsX() && o.State == OutboxPending {
			o.State, o.UpdatedAt = OutboxCancelled, now
			if err := tx.UpdateOutbox(ctx, o, OutboxPending, o.Attempts); err != nil {
				return err
			}
		}
	}
	return nil
}

// failed records a failed attempt: wait for a rate limit, retry with
// backoff, or give up and tell the thread. The guarded update of the item
// comes first, so a conflict leaves nothing half-written.
func (d *Dispatcher) failed(ctx context.Context, tx Tx, it *OutboxItem, claimed int, cause error) error {
	now := d.Clock.Now()
	de := AsDeliveryError(cause)
	if it.Effect.IsX() && de.Unknown {
		return d.markUnknown(ctx, tx, it, claimed, de.Reason)
	}
	it.LastError, it.UpdatedAt = de.Error(), now
	// The thread is told once why a reply to the customer is waiting.
	notice := ""
	switch {
	case de.RateLimited:
		it.Attempts-- // waiting for a limit is not a failure
		it.State = OutboxPending
		it.NotBefore = d.retryAt(de, it.Attempts, now)
		notice = fmt.Sprintf("Queued: X send limit, next slot in %s.", roundWait(it.NotBefore.Sub(now)))
	case de.Temporary && it.Attempts < d.MaxAttempts:
		it.State = OutboxPending
		it.NotBefore = d.retryAt(de, it.Attempts, now)
		notice = fmt.Sprintf("Waiting: X did not take the reply (%s); retrying automatically.", de.Reason)
	default:
		it.State = OutboxFailed
		d.Logger.Warn("delivery failed for good", "outbox_id", it.ID, "effect", it.Effect, "err", cause)
	}
	notify := notice != "" && it.Effect.IsX() && !it.Notified
	it.Notified = it.Notified || notify
	if err := tx.UpdateOutbox(ctx, it, OutboxInflight, claimed); err != nil {
		return err
	}
	switch {
	case notify:
		conv, err := tx.Conversation(ctx, it.ConversationID)
		if err != nil {
			return err
		}
		return tx.Enqueue(ctx, noticeItem(conv, fmt.Sprintf("waiting:%d", it.ID), PostNotice, notice, now))
	case it.State == OutboxFailed && it.Effect.IsX():
		items, err := d.replyFailed(ctx, tx, it, de.Reason, now)
		if err != nil {
			return err
		}
		return tx.Enqueue(ctx, items...)
	}
	return nil
}

// replyFailed marks an agent's reply failed and says why in the thread.
func (d *Dispatcher) replyFailed(ctx context.Context, tx Tx, it *OutboxItem, reason string, now time.Time) ([]*OutboxItem, error) {
	msg, err := tx.Message(ctx, it.MessageID)
	if err != nil {
		return nil, err
	}
	msg.Delivery, msg.DeliveryError = DeliveryFailed, reason
	if err := tx.UpdateMessage(ctx, msg); err != nil {
		return nil, err
	}
	if err := cancelRest(ctx, tx, msg.ID, now); err != nil {
		return nil, err
	}
	conv, err := tx.Conversation(ctx, msg.ConversationID)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("failed:%d", it.ID)
	return []*OutboxItem{
		markItem(conv, msg, ReactionWaiting, false, key, now),
		markItem(conv, msg, ReactionFailed, true, key, now),
		noticeItem(conv, key, PostWarning, fmt.Sprintf("⚠️ Not delivered to the customer: %s\n> %s", reason, msg.Text), now,
			Button{Action: ActionResend, Label: "Resend", Value: fmt.Sprint(msg.ID)}),
	}, nil
}

// markUnknown flags a send whose outcome is unknown: the agent decides
// whether to send again, so the customer never gets it twice silently.
func (d *Dispatcher) markUnknown(ctx context.Context, tx Tx, it *OutboxItem, claimed int, reason string) error {
	now := d.Clock.Now()
	it.State, it.LastError, it.UpdatedAt = OutboxUnknown, reason, now
	if err := tx.UpdateOutbox(ctx, it, OutboxInflight, claimed); err != nil {
		return err
	}
	msg, err := tx.Message(ctx, it.MessageID)
	if err != nil {
		return err
	}
	msg.Delivery, msg.DeliveryError = DeliveryUnknown, reason
	if err := tx.UpdateMessage(ctx, msg); err != nil {
		return err
	}
	if err := cancelRest(ctx, tx, msg.ID, now); err != nil {
		return err
	}
	conv, err := tx.Conversation(ctx, msg.ConversationID)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("unknown:%d", it.ID)
	return tx.Enqueue(ctx,
		markItem(conv, msg, ReactionWaiting, false, key, now),
		markItem(conv, msg, ReactionFailed, true, key, now),
		noticeItem(conv, key, PostWarning,
			"⚠️ This reply may or may not have reached the customer (the bridge lost track of the send). Check the conversation on X, then resend if needed:\n> "+msg.Text, now,
			Button{Action: ActionResend, Label: "Resend", Value: fmt.Sprint(msg.ID)}))
}

// Recover handles items whose worker died mid-delivery: chat effects are
// tried again; a send to X is looked up on X and either recorded as sent or
// flagged for an agent, never silently repeated.
func (d *Dispatcher) Recover(ctx context.Context) error {
	d.init()
	items, err := d.Store.ExpiredLeases(ctx, d.Clock.Now(), 100)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := d.recoverItem(ctx, it); err != nil && ErrorCode(err) != ECONFLICT {
			return fmt.Errorf("recover outbox %d: %w", it.ID, err)
		}
	}
	return nil
}

func (d *Dispatcher) recoverItem(ctx context.Context, it *OutboxItem) error {
	claimed := it.Attempts
	if !it.Effect.IsX() {
		it.State, it.NotBefore = OutboxPending, d.Clock.Now()
		return d.Store.InTx(ctx, func(tx Tx) error { return tx.UpdateOutbox(ctx, it, OutboxInflight, claimed) })
	}
	id, found, err := d.findSent(ctx, it)
	if err != nil {
		d.Logger.Warn("reconcile send", "outbox_id", it.ID, "err", err)
	}
	return d.Store.InTx(ctx, func(tx Tx) error {
		if _, err := tx.Conversation(ctx, it.ConversationID); err != nil { // lock order: conversation first
			return err
		}
		if found {
			items, err := completeSend(ctx, tx, d.Clock.Now(), it, OutboxInflight, id, claimed, d.ReadPolicy == ReadOnReply)
			if err != nil {
				return err
			}
			return tx.Enqueue(ctx, items...)
		}
		return d.markUnknown(ctx, tx, it, claimed, "the bridge stopped while sending")
	})
}

func (d *Dispatcher) findSent(ctx context.Context, it *OutboxItem) (string, bool, error) {
	r, ok := d.X.(Reconciler)
	if !ok {
		return "", false, nil
	}
	var q SentQuery
	err := d.Store.InTx(ctx, func(tx Tx) error {
		conv, err := tx.Conversation(ctx, it.ConversationID)
		if err != nil {
			return err
		}
		cust, err := tx.Customer(ctx, conv.CustomerID)
		if err != nil {
			return err
		}
		q = SentQuery{Kind: conv.Kind, Account: conv.Account, RecipientID: cust.XUserID,
			InReplyToID: conv.ReplyToID, Text: it.Payload.Text, Media: it.Payload.Media, After: it.UpdatedAt.Add(-time.Minute)}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	return r.FindSent(ctx, q)
}

// retryAt is when to try again: the platform's word, else exponential
// backoff with jitter.
func (d *Dispatcher) retryAt(de *DeliveryError, attempts int, now time.Time) time.Time {
	if !de.RetryAt.IsZero() && de.RetryAt.After(now) {
		return de.RetryAt
	}
	backoff := d.BaseBackoff << min(max(attempts-1, 0), 20)
	backoff = min(backoff, d.MaxBackoff)
	jitter := time.Duration(rand.Int64N(int64(backoff)/2 + 1))
	return now.Add(backoff/2 + jitter + backoff/4)
}

func roundWait(d time.Duration) string {
	if d < time.Second {
		return "1s"
	}
	return d.Round(time.Second).String()
}
