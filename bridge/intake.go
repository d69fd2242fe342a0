package bridge

import (
	"context"
	"sync"
)

// maxInboundBatch bounds how many inbound events share one transaction.
const maxInboundBatch = 64

// intake groups concurrent inbound events into shared transactions (group
// commit): while one batch is being written, the events that arrive wait,
// and the next batch takes them all at once. A busy bridge pays for one
// commit per batch instead of one per event; an idle one writes each event
// as soon as it comes.
//
// There is no goroutine of its own: the caller whose event starts a batch
// writes it, then hands the lead to the oldest waiting caller.
type intake struct {
	mu      sync.Mutex
	queue   []*inboundCall
	leading bool // a caller is writing a batch
}

// inboundCall is one event waiting to be written.
type inboundCall struct {
	ev   InboundMessage
	out  Outcome
	err  error
	done chan struct{} // closed once out and err are final
	lead chan struct{} // closed when this call is to write the next batch
}

// do writes c in a batch, by write, and returns once it is written.
func (q *intake) do(c *inboundCall, write func([]*inboundCall)) {
	q.mu.Lock()
	q.queue = append(q.queue, c)
	if q.leading {
		q.mu.Unlock()
		select {
		case <-c.done:
			return
		case <-c.lead:
		}
		q.mu.Lock()
	}
	// Leading: c is first in the queue.
	q.leading = true
	n := min(len(q.queue), maxInboundBatch)
	batch := q.queue[:n:n]
	q.queue = q.queue[n:]
	q.mu.Unlock()

	// Even if write panics (net/http recovers a handler's panic), the
	// callers of the batch learn that nothing of it was written and the
	// lead is handed on, so intake never stalls.
	defer func() {
		p := recover()
		for _, b := range batch {
			if p != nil {
				b.out, b.err = "", Errorf(EINTERNAL, "inbound event not written: %v", p)
			}
			close(b.done)
		}
		q.mu.Lock()
		if len(q.queue) > 0 {
			close(q.queue[0].lead)
		} else {
			q.leading = false
		}
		q.mu.Unlock()
		if p != nil {
			panic(p)
		}
	}()
	write(batch)
}

// writeInbound records a batch of inbound events in one transaction. If
// that fails, each is written in a transaction of its own, so one bad event
// cannot hold back the others, and gets its own outcome and error.
func (s *Service) writeInbound(ctx context.Context, batch []*inboundCall) {
	// The batch belongs to every caller in it: the one writing it going
	// away must not fail the others.
	ctx = context.WithoutCancel(ctx)
	if len(batch) > 1 {
		err := s.Store.InTx(ctx, func(tx Tx) error {
			for _, c := range batch {
				var err error
				if c.out, err = s.inbound(ctx, tx, c.ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			if s.Wake != nil {
				s.Wake()
			}
			return
		}
		if s.Logger != nil {
			s.Logger.Debug("inbound batch failed; writing its events one by one", "events", len(batch), "err", err)
		}
	}
	for _, c := range batch {
		c.err = s.inTx(ctx, func(tx Tx) error {
			var err error
			c.out, err = s.inbound(ctx, tx, c.ev)
			return err
		})
	}
}
