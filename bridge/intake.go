package bridge

import (
	"context"
	"time"
)

// Handoffer takes outbox items to a dispatcher of this process claimed as
// they are written, sparing them a claim (see Dispatcher.Reserve).
type Handoffer interface {
	// Reserve sets aside up to n workers and says how many it did.
	Reserve(n int) int
	// Claim marks an item, about to be enqueued, claimed as of now.
	Claim(it *OutboxItem, now time.Time)
	// Handoff delivers the items claimed and committed, and gives back
	// the reserved workers they leave over.
	Handoff(items []*OutboxItem, reserved int)
}

// claims are the workers a transaction set aside for the items it writes
// claimed, and those items. A nil *claims claims nothing.
type claims struct {
	to       Handoffer
	reserved int
	taken    []*OutboxItem
}

// reserve sets aside up to n workers of s.Handoff; nil when none are.
func (s *Service) reserve(n int) *claims {
	if s.Handoff == nil {
		return nil
	}
	if k := s.Handoff.Reserve(n); k > 0 {
		return &claims{to: s.Handoff, reserved: k}
	}
	return nil
}

// take claims it when a reserved worker is left for it.
func (c *claims) take(it *OutboxItem, now time.Time) {
	if c == nil || len(c.taken) == c.reserved {
		return
	}
	c.to.Claim(it, now)
	c.taken = append(c.taken, it)
}

// restart forgets what a transaction that is run again took.
func (c *claims) restart() {
	if c != nil {
		c.taken = c.taken[:0]
	}
}

// handOver delivers the items taken, once their transaction committed
// (committed false gives every worker back), and says how many it handed
// over.
func (c *claims) handOver(committed bool) int {
	if c == nil {
		return 0
	}
	var items []*OutboxItem
	if committed {
		for _, it := range c.taken {
			if it.ID != 0 { // 0: its key was taken, it was not written
				items = append(items, it)
			}
		}
	}
	c.to.Handoff(items, c.reserved)
	return len(items)
}

// countingTx counts the outbox items a transaction enqueues or writes
// back: the work it may have made due.
type countingTx struct {
	Tx
	enqueued int
}

func (t *countingTx) Enqueue(ctx context.Context, items ...*OutboxItem) error {
	t.enqueued += len(items)
	return t.Tx.Enqueue(ctx, items...)
}

func (t *countingTx) UpdateOutbox(ctx context.Context, it *OutboxItem, fromState OutboxState, fromAttempts int) error {
	t.enqueued++
	return t.Tx.UpdateOutbox(ctx, it, fromState, fromAttempts)
}

func (t *countingTx) UpdateOutboxes(ctx context.Context, updates []OutboxUpdate) (map[int64]bool, bool, error) {
	t.enqueued += len(updates)
	return t.Tx.UpdateOutboxes(ctx, updates)
}

// inboundCall is one event waiting to be written with others (see group).
type inboundCall struct {
	ev  InboundMessage
	out Outcome
	err error
}

// writeInbound records a batch of inbound events in one transaction. If
// that fails, each is written in a transaction of its own, so one bad event
// cannot hold back the others, and gets its own outcome and error.
func (s *Service) writeInbound(ctx context.Context, batch []*inboundCall) {
	// The batch belongs to every caller in it: the one writing it going
	// away must not fail the others.
	ctx = context.WithoutCancel(ctx)
	if len(batch) > 1 {
		err := s.intakeTx(ctx, len(batch), s.Store.InTx, func(tx Tx, cl *claims) error {
			// On a failure the events are written again one by one,
			// without write-behind.
			tx.WriteBehind()
			pre, err := s.prepareInbound(ctx, tx, batch)
			if err != nil {
				return err
			}
			for i, c := range batch {
				if c.out, err = s.inbound(ctx, tx, c.ev, pre[i], cl); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return
		}
		if s.Logger != nil {
			s.Logger.Debug("inbound batch failed; writing its events one by one", "events", len(batch), "err", err)
		}
	}
	for _, c := range batch {
		c.err = s.intakeTx(ctx, 1, s.retrying, func(tx Tx, cl *claims) error {
			var err error
			c.out, err = s.inbound(ctx, tx, c.ev, nil, cl)
			return err
		})
	}
}

// intakeTx runs fn with run (a transaction, retried or not), with up to n
// workers of s.Handoff set aside for the new conversations' cards fn
// writes claimed, hands those over once committed, and wakes the
// dispatcher when the transaction left it other work: items handed over
// are the dispatcher's already.
func (s *Service) intakeTx(ctx context.Context, n int, run func(context.Context, func(Tx) error) error, fn func(tx Tx, cl *claims) error) error {
	cl := s.reserve(n)
	var enqueued int
	err := run(ctx, func(stx Tx) error {
		cl.restart() // a transaction run again starts over
		tx := &countingTx{Tx: stx}
		defer func() { enqueued = tx.enqueued }()
		return fn(tx, cl)
	})
	if handed := cl.handOver(err == nil); err == nil && s.Wake != nil && enqueued > handed {
		s.Wake()
	}
	return err
}

// prepared is what a batch's transaction did for one customer's event
// before the events are recorded in turn.
type prepared struct {
	fresh    bool
	customer *Customer // upserted, when fresh
	// looked says latest is the answer of LatestConversation for key, read
	// and locked in advance.
	looked bool
	key    ConversationKey
	latest *Conversation
	// created is the new conversation the event opens, created with the
	// others of the batch.
	created *Conversation
}

// prepareInbound does for the whole batch, a few statements in all, what
// recording each event would begin with: it marks the customers' events
// seen, upserts their senders, reads and locks the latest conversation of
// each key, and creates the conversations the events open. Events the
// support account sent (echoes) get nil and are handled as on their own.
// A key two events share is read in advance for the first only: the
// second reads it after the first changed it.
func (s *Service) prepareInbound(ctx context.Context, tx Tx, batch []*inboundCall) ([]*prepared, error) {
	pre := make([]*prepared, len(batch))
	var ids []string
	var idx []int
	for i, c := range batch {
		if c.ev.Sender.ID != c.ev.Account {
			pre[i] = &prepared{}
			ids = append(ids, c.ev.EventID)
			idx = append(idx, i)
		}
	}
	if len(ids) == 0 {
		return pre, nil
	}
	fresh, err := tx.MarkSeenAll(ctx, "x", ids)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var custs []*Customer
	for j, i := range idx {
		if fresh[j] {
			c := sender(batch[i].ev, now)
			pre[i].fresh, pre[i].customer = true, &c
			custs = append(custs, &c)
		}
	}
	if len(custs) == 0 {
		return pre, nil
	}
	if err := tx.UpsertCustomers(ctx, custs...); err != nil {
		return nil, err
	}
	var keys []ConversationKey
	first := map[ConversationKey]bool{}
	for _, i := range idx {
		p := pre[i]
		if !p.fresh {
			continue
		}
		key, ok := directKey(batch[i].ev)
		if !ok {
			continue
		}
		k := ConversationKey{batch[i].ev.Account, batch[i].ev.Kind, key, p.customer.ID}
		if first[k] {
			continue
		}
		first[k] = true
		p.looked, p.key = true, k
		keys = append(keys, k)
	}
	latest, err := tx.LatestConversations(ctx, keys)
	if err != nil {
		return nil, err
	}
	var created []*Conversation
	for i, p := range pre {
		if p == nil || !p.looked {
			continue
		}
		p.latest = latest[p.key]
		if c, opened := s.fromLatest(batch[i].ev, p.customer, p.key.Key, p.latest, now); opened == openedNew {
			p.created = c
			created = append(created, c)
		}
	}
	if err := tx.CreateConversations(ctx, created); err != nil {
		return nil, err
	}
	return pre, nil
}
