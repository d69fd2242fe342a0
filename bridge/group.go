package bridge

import "sync"

// maxBatch bounds how many calls a group writes together: inbound events
// sharing one transaction, threads recorded by one statement.
const maxBatch = 64

// group gathers concurrent calls into batches written together (group
// commit): while one batch is being written, the calls that arrive wait,
// and the next batch takes them all at once, up to maxBatch. A busy
// bridge pays for one statement or commit per batch instead of one per
// call; an idle one writes each call as soon as it comes.
//
// There is no goroutine of its own: the caller whose call starts a batch
// writes it, then hands the lead to the oldest waiting caller.
type group[T any] struct {
	mu      sync.Mutex
	queue   []*groupCall[T]
	leading bool // a caller is writing a batch
}

// groupCall is one call waiting to be written.
type groupCall[T any] struct {
	v    T
	done chan struct{} // closed once the batch holding v is written
	lead chan struct{} // closed when this call is to write the next batch
}

// do writes v in a batch, by write, and returns once it is written. write
// reports each call's outcome through the values themselves (T is usually
// a pointer). If write panics, fail is called for every value of the
// batch, the lead is handed on and the panic goes on up.
func (g *group[T]) do(v T, write func([]T), fail func(T, any)) {
	c := &groupCall[T]{v: v, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.leading {
		g.mu.Unlock()
		select {
		case <-c.done:
			return
		case <-c.lead:
		}
		g.mu.Lock()
	}
	// Leading: c is first in the queue.
	g.leading = true
	n := min(len(g.queue), maxBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	// Even if write panics (net/http recovers a handler's panic), the
	// callers of the batch learn that nothing of it was written and the
	// lead is handed on, so the group never stalls.
	defer func() {
		p := recover()
		for _, b := range batch {
			if p != nil {
				fail(b.v, p)
			}
			close(b.done)
		}
		g.mu.Lock()
		if len(g.queue) > 0 {
			close(g.queue[0].lead)
		} else {
			g.leading = false
		}
		g.mu.Unlock()
		if p != nil {
			panic(p)
		}
	}()
	vs := make([]T, len(batch))
	for i, b := range batch {
		vs[i] = b.v
	}
	write(vs)
}
