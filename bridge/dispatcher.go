package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

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

	Workers      int           // concurrent deliveries; default 8
	Lease        time.Duration // how long a claim lasts before recovery; default 2 min
	PollInterval time.Duration // how often to look for work nobody announced; default 1 s
	MaxAttempts  int           // before a temporary failure becomes final; default 8
	BaseBackoff  time.Duration // first retry delay; default 1 s
	MaxBackoff   time.Duration // default 5 min

	Observe DeliveryObserver

	wakeOnce sync.Once
	wake     chan struct{}
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

// Run delivers until ctx is cancelled, then waits for deliveries in flight
// to finish and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Deliveries in flight finish even when ctx ends: their outcome must
	// be recorded so nothing is sent twice.
	work := context.WithoutCancel(ctx)
	sem := make(chan struct{}, d.Workers)
	done := make(chan struct{}, d.Workers)
	nextRecover := time.Time{}
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := d.Clock.Now()
		if !now.Before(nextRecover) {
			if err := d.Recover(work); err != nil {
				d.Logger.Error("recover outbox", "err", err)
			}
			nextRecover = now.Add(d.Lease / 4)
		}
		free := cap(sem) - len(sem)
		var items []*OutboxItem
		if free > 0 {
			var err error
			items, err = d.Store.ClaimOutbox(work, now, d.Lease, free)
			if err != nil {
				d.Logger.Error("claim outbox", "err", err)
			}
		}
		for _, it := range items {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.deliver(work, it)
				<-sem
				select {
				case done <- struct{}{}:
				default:
				}
			}()
		}
		if len(items) > 0 && len(items) == free {
			continue
		}
		if len(items) > 0 {
			continue
		}
		wait := d.PollInterval
		if t, ok, err := d.Store.NextDue(work); err == nil && ok {
			if until := t.Sub(d.Clock.Now()); until < wait {
				wait = max(until, time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-done:
		case <-d.Clock.After(wait):
		}
	}
}

// RunOnce claims and delivers one batch, waiting for it; for tests and
// tools. It returns how many items it handled.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.init()
	items, err := d.Store.ClaimOutbox(ctx, d.Clock.Now(), d.Lease, d.Workers)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, it)
		}()
	}
	wg.Wait()
	return len(items), nil
}

// deliver performs one claimed item and records the outcome.
func (d *Dispatcher) deliver(ctx context.Context, it *OutboxItem) {
	log := d.Logger.With("outbox_id", it.ID, "effect", it.Effect, "conversation", it.ConversationID)
	claimed := it.Attempts
	now := d.Clock.Now()
	if wait := d.Limits.Take(it.Lane, now); wait > 0 {
		d.observeWait(it.Lane, wait)
		it.Attempts--
		it.State = OutboxPending
		it.NotBefore = now.Add(wait)
		if err := d.Store.InTx(ctx, func(tx Tx) error { return tx.UpdateOutbox(ctx, it, OutboxInflight, claimed) }); err != nil {
			log.Error("release paced item", "err", err)
		}
		return
	}
	resultID, follow, err := d.perform(ctx, it)
	if err == nil {
		err = d.Store.InTx(ctx, func(tx Tx) error {
			items, err := d.finish(ctx, tx, it, claimed, resultID, follow)
			if err != nil {
				return err
			}
			return tx.Enqueue(ctx, items...)
		})
		if ErrorCode(err) == ECONFLICT {
			return // someone else (an echo, a recovery) recorded the outcome
		}
		if err != nil {
			log.Error("record delivery", "err", err)
			return
		}
		if d.Observe != nil {
			d.Observe.Delivered(it.Effect, d.Clock.Now().Sub(it.CreatedAt))
		}
		d.Wake()
		return
	}
	if perr := d.Store.InTx(ctx, func(tx Tx) error { return d.failed(ctx, tx, it, claimed, err) }); perr != nil && ErrorCode(perr) != ECONFLICT {
		log.Error("record failed delivery", "err", perr, "delivery_err", err)
	}
	d.Wake()
}

// followUp is state the dispatcher learned while performing an item.
type followUp struct {
	threadID string // EffectCard: the new thread
}

// perform calls the platform for one item.
func (d *Dispatcher) perform(ctx context.Context, it *OutboxItem) (string, followUp, error) {
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
	if err != nil {
		return "", followUp{}, &DeliveryError{Temporary: ErrorCode(err) != ENOTFOUND, Reason: "load conversation", Err: err}
	}
	if it.Effect.IsX() {
		if d.X == nil {
			return "", followUp{}, &DeliveryError{Reason: "no X account configured"}
		}
		var id string
		if it.Effect == EffectDM {
			id, err = d.X.SendDM(ctx, conv.Account, cust.XUserID, it.Payload.Text)
		} else {
			id, err = d.X.Reply(ctx, conv.Account, conv.ReplyToID, it.Payload.Text)
		}
		return id, followUp{}, err
	}
	chat, ok := d.Chat[conv.ChatPlatform]
	if !ok {
		return "", followUp{}, &DeliveryError{Reason: fmt.Sprintf("chat platform %q is not configured", conv.ChatPlatform)}
	}
	if it.Effect != EffectCard && conv.ChatThreadID == "" {
		return "", followUp{}, &DeliveryError{Reason: "the conversation has no thread: its card was never posted"}
	}
	switch it.Effect {
	case EffectCard:
		if conv.ChatThreadID != "" {
			return conv.ChatThreadID, followUp{threadID: conv.ChatThreadID}, nil
		}
		id, err := chat.PostCard(ctx, conv.ChatChannel, RenderCard(conv, cust), it.IdemKey)
		return id, followUp{threadID: id}, err
	case EffectCardUpdate:
		return "", followUp{}, chat.UpdateCard(ctx, conv.ChatChannel, conv.ChatThreadID, RenderCard(conv, cust))
	case EffectPost:
		p := Post{Kind: it.Payload.Kind, Text: it.Payload.Text, Buttons: it.Payload.Buttons, Key: it.IdemKey}
		if it.Payload.Kind == PostCustomer && msg != nil {
			p.Text, p.AuthorName, p.AvatarURL = msg.Text, msg.AuthorName, cust.AvatarURL
		}
		id, err := chat.Post(ctx, conv.ChatChannel, conv.ChatThreadID, p)
		return id, followUp{}, err
	case EffectReact, EffectUnreact:
		if msg == nil || msg.ChatID == "" {
			return "", followUp{}, nil // nothing to mark
		}
		return "", followUp{}, chat.React(ctx, conv.ChatChannel, msg.ChatID, it.Payload.Reaction, it.Effect == EffectReact)
	}
	return "", followUp{}, &DeliveryError{Reason: fmt.Sprintf("unknown effect %q", it.Effect)}
}

// finish records a successful delivery and returns the items it causes.
func (d *Dispatcher) finish(ctx context.Context, tx Tx, it *OutboxItem, claimed int, resultID string, f followUp) ([]*OutboxItem, error) {
	now := d.Clock.Now()
	if it.Effect.IsX() {
		return completeSend(ctx, tx, now, it, OutboxInflight, resultID, claimed)
	}
	it.State, it.ResultID, it.LastError, it.UpdatedAt = OutboxDone, resultID, "", now
	if err := tx.UpdateOutbox(ctx, it, OutboxInflight, claimed); err != nil {
		return nil, err
	}
	switch {
	case it.Effect == EffectCard && f.threadID != "":
		conv, err := tx.Conversation(ctx, it.ConversationID)
		if err != nil {
			return nil, err
		}
		if conv.ChatThreadID == "" {
			conv.ChatThreadID = f.threadID
			return nil, tx.UpdateConversation(ctx, conv)
		}
	case it.Effect == EffectPost && it.Payload.Kind == PostCustomer && it.MessageID != 0:
		msg, err := tx.Message(ctx, it.MessageID)
		if err != nil {
			return nil, err
		}
		msg.ChatID = resultID
		return nil, tx.UpdateMessage(ctx, msg)
	}
	return nil, nil
}

// completeSend records that X accepted one part of a reply: the item is
// done, X's id is remembered so its echo is recognised, and once every part
// is out the message is marked sent in the thread.
func completeSend(ctx context.Context, tx Tx, now time.Time, it *OutboxItem, from OutboxState, resultID string, attempts int) ([]*OutboxItem, error) {
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
	return []*OutboxItem{
		markItem(conv, msg, ReactionWaiting, false, key, now),
		markItem(conv, msg, ReactionSent, true, key, now),
	}, nil
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
// backoff, or give up and tell the thread.
func (d *Dispatcher) failed(ctx context.Context, tx Tx, it *OutboxItem, claimed int, cause error) error {
	now := d.Clock.Now()
	de := AsDeliveryError(cause)
	if it.Effect.IsX() && de.Unknown {
		return d.markUnknown(ctx, tx, it, claimed, de.Reason)
	}
	it.LastError, it.UpdatedAt = de.Error(), now
	var follow []*OutboxItem
	switch {
	case de.RateLimited:
		it.Attempts-- // waiting for a limit is not a failure
		it.State = OutboxPending
		it.NotBefore = d.retryAt(de, it.Attempts, now)
		d.observeWait(it.Lane, it.NotBefore.Sub(now))
		if it.Effect.IsX() && !it.Notified {
			it.Notified = true
			conv, err := tx.Conversation(ctx, it.ConversationID)
			if err != nil {
				return err
			}
			follow = append(follow, noticeItem(conv, fmt.Sprintf("limited:%d", it.ID), PostNotice,
				fmt.Sprintf("Queued: X send limit, next slot in %s.", roundWait(it.NotBefore.Sub(now))), now))
		}
	case de.Temporary && it.Attempts < d.MaxAttempts:
		it.State = OutboxPending
		it.NotBefore = d.retryAt(de, it.Attempts, now)
		if d.Observe != nil {
			d.Observe.Failed(it.Effect, false)
		}
	default:
		it.State = OutboxFailed
		if d.Observe != nil {
			d.Observe.Failed(it.Effect, true)
		}
		d.Logger.Warn("delivery failed for good", "outbox_id", it.ID, "effect", it.Effect, "err", cause)
		if it.Effect.IsX() {
			items, err := d.replyFailed(ctx, tx, it, de.Reason, now)
			if err != nil {
				return err
			}
			follow = append(follow, items...)
		}
	}
	if err := tx.UpdateOutbox(ctx, it, OutboxInflight, claimed); err != nil {
		return err
	}
	return tx.Enqueue(ctx, follow...)
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
		if found {
			items, err := completeSend(ctx, tx, d.Clock.Now(), it, OutboxInflight, id, claimed)
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
			InReplyToID: conv.ReplyToID, Text: it.Payload.Text, After: it.UpdatedAt.Add(-time.Minute)}
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

func (d *Dispatcher) observeWait(lane string, wait time.Duration) {
	if d.Observe != nil {
		d.Observe.Waited(lane, wait)
	}
}

func roundWait(d time.Duration) string {
	if d < time.Second {
		return "1s"
	}
	return d.Round(time.Second).String()
}
