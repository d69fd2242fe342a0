package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"github.com/xbridge/xbridge/bridge"
)

// writeBehind holds, on Postgres, the rows a transaction inserts for
// conversations it created itself — their messages, SLA targets and outbox
// items — and sends them together, one statement per table, before the
// transaction's next other statement or its commit (see bridge.Tx
// WriteBehind). Their ids come from the tables' sequences, reserved by the
// statement that creates the conversation, so callers get them at once.
//
// Only the children of a conversation this transaction created wait: no
// other transaction can see that conversation, and so none can write
// anything of it, before this one commits. Ids reserved early therefore
// never put one conversation's rows out of order.
type writeBehind struct {
	raw     stmts // runs the flush itself, without flushing first
	db      *DB
	created map[int64]bool

	messageIDs, targetIDs, outboxIDs []int64 // reserved, not used yet

	messages []bridge.Message
	targets  []bridge.SLATarget
	items    []bridge.OutboxItem
	payloads []string
	keys     map[string]bool // idem keys waiting
	cycles   map[targetCycle]bool

	err error // a flush failed: the transaction is lost
}

type targetCycle struct {
	conv   int64
	metric bridge.Metric
	cycle  int
}

// Ids reserved per created conversation; more are drawn when a
// conversation needs more.
const (
	reservedMessages = 2
	reservedTargets  = 3
	reservedItems    = 3
)

// createConversationBehind is createConversation that also reserves ids
// for the new conversation's first rows.
const createConversationBehind = `WITH c AS (` + createConversation + `)
SELECT c.id,
	nextval('messages_id_seq'), nextval('messages_id_seq'),
	nextval('sla_targets_id_seq'), nextval('sla_targets_id_seq'), nextval('sla_targets_id_seq'),
	nextval('outbox_id_seq'), nextval('outbox_id_seq'), nextval('outbox_id_seq')
FROM c`

// WriteBehind turns on the write-behind of rows of conversations the
// transaction creates; a no-op on SQLite, where statements cost little.
func (t *tx) WriteBehind() {
	if t.behind != nil || t.db.dialect.name() != "postgres" {
		return
	}
	t.behind = &writeBehind{raw: t.tx, db: t.db, created: map[int64]bool{}, keys: map[string]bool{}, cycles: map[targetCycle]bool{}}
	t.tx.behind = t.behind
}

// createdConversation records a conversation created in the transaction
// and the ids reserved for it.
func (w *writeBehind) createdConversation(id int64, reserved []int64) {
	w.created[id] = true
	w.messageIDs = append(w.messageIDs, reserved[:reservedMessages]...)
	w.targetIDs = append(w.targetIDs, reserved[reservedMessages:reservedMessages+reservedTargets]...)
	w.outboxIDs = append(w.outboxIDs, reserved[reservedMessages+reservedTargets:]...)
}

// owns reports whether rows of conversation id wait until the flush.
func (w *writeBehind) owns(id int64) bool { return w != nil && w.err == nil && w.created[id] }

func (w *writeBehind) pending() bool {
	return len(w.messages) > 0 || len(w.targets) > 0 || len(w.items) > 0
}

// nextID takes a reserved id of seq, drawing more when none is left.
func (w *writeBehind) nextID(ctx context.Context, pool *[]int64, seq string) (int64, error) {
	if len(*pool) == 0 {
		rows, err := queryQ(ctx, w.raw, `SELECT nextval(?::regclass) FROM generate_series(1, 8)`, seq)
		if err != nil {
			return 0, w.db.wrap(err, "reserve ids of "+seq)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, fmt.Errorf("reserve ids of %s: %w", seq, err)
			}
			*pool = append(*pool, id)
		}
		if err := rows.Err(); err != nil || len(*pool) == 0 {
			return 0, fmt.Errorf("reserve ids of %s: %v", seq, err)
		}
	}
	id := (*pool)[0]
	*pool = (*pool)[1:]
	return id, nil
}

func (w *writeBehind) insertMessage(ctx context.Context, m *bridge.Message) error {
	id, err := w.nextID(ctx, &w.messageIDs, "messages_id_seq")
	if err != nil {
		return err
	}
	m.ID = id
	w.messages = append(w.messages, *m)
	return nil
}

// ownsTargets reports whether every target belongs to a conversation
// whose rows wait.
func (w *writeBehind) ownsTargets(ts []*bridge.SLATarget) bool {
	if w == nil {
		return false
	}
	for _, s := range ts {
		if !w.owns(s.ConversationID) {
			return false
		}
	}
	return true
}

func (w *writeBehind) insertTargets(ctx context.Context, ts []*bridge.SLATarget) error {
	for _, s := range ts {
		k := targetCycle{s.ConversationID, s.Metric, s.Cycle}
		if w.cycles[k] {
			return bridge.Errorf(bridge.ECONFLICT, "conversation %d already has %s cycle %d", s.ConversationID, s.Metric, s.Cycle)
		}
	}
	for _, s := range ts {
		id, err := w.nextID(ctx, &w.targetIDs, "sla_targets_id_seq")
		if err != nil {
			return err
		}
		s.ID = id
		w.cycles[targetCycle{s.ConversationID, s.Metric, s.Cycle}] = true
		w.targets = append(w.targets, *s)
	}
	return nil
}

// ownsAll reports whether every item belongs to a conversation whose rows
// wait.
func (w *writeBehind) ownsAll(items []*bridge.OutboxItem) bool {
	if w == nil || len(items) == 0 {
		return false
	}
	for _, it := range items {
		if !w.owns(it.ConversationID) {
			return false
		}
	}
	return true
}

// enqueue takes items Enqueue checked, defaulted and encoded (payloads);
// an idem key already waiting is skipped, as the database would skip it.
func (w *writeBehind) enqueue(ctx context.Context, items []*bridge.OutboxItem, payloads []string) error {
	for i, it := range items {
		if w.keys[it.IdemKey] {
			it.ID = 0
			continue
		}
		id, err := w.nextID(ctx, &w.outboxIDs, "outbox_id_seq")
		if err != nil {
			return err
		}
		it.ID = id
		w.keys[it.IdemKey] = true
		w.items = append(w.items, *it)
		w.payloads = append(w.payloads, payloads[i])
	}
	return nil
}

const (
	flushMessages = `INSERT INTO messages (id, conversation_id, direction, author_id, author_name, text,
	x_id, chat_id, delivery, delivery_error, created_at, sent_at, seen_at)
SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[],
	?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])`
	flushTargets = `INSERT INTO sla_targets (id, conversation_id, metric, cycle, state, budget, elapsed,
	segment_start, started_at, warn_at, due_at, next_check, breached, alerts, ended_at, updated_at)
SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::integer[], ?::text[], ?::bigint[], ?::bigint[],
	?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::boolean[], ?::integer[], ?::bigint[], ?::bigint[])`
	flushOutbox = `INSERT INTO outbox (id, effect, lane, seq_key, priority, idem_key, conversation_id, message_id,
	payload, state, attempts, not_before, lease_until, result_id, last_error, notified, created_at, updated_at)
SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::integer[], ?::text[], ?::bigint[], ?::bigint[],
	?::text[], ?::text[], ?::integer[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::boolean[], ?::bigint[], ?::bigint[])
ON CONFLICT (idem_key) DO NOTHING`
)

// flush sends every waiting row. A failure is kept: the transaction is
// lost, and its commit reports this error rather than a later one.
func (w *writeBehind) flush(ctx context.Context) error {
	if w.err != nil || !w.pending() {
		return w.err
	}
	if err := w.send(ctx); err != nil {
		w.err = err
		return err
	}
	w.messages, w.targets, w.items, w.payloads = w.messages[:0], w.targets[:0], w.items[:0], w.payloads[:0]
	return nil
}

// send writes every waiting row with one statement: each table's insert
// is a part of one WITH, so the transaction pays one round trip for them
// all.
func (w *writeBehind) send(ctx context.Context) error {
	var parts []string
	var args []any
	if n := len(w.messages); n > 0 {
		var (
			ids, convs, created, sent, seen                              = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			dirs, authors, names, texts, xids, chats, delivery, failures = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		)
		for i, m := range w.messages {
			ids[i], convs[i], created[i], sent[i], seen[i] = m.ID, m.ConversationID, micros(m.CreatedAt), micros(m.SentAt), micros(m.SeenAt)
			dirs[i], authors[i], names[i], texts[i] = string(m.Direction), m.AuthorID, m.AuthorName, m.Text
			xids[i], chats[i], delivery[i], failures[i] = m.XID, m.ChatID, string(m.Delivery), m.DeliveryError
		}
		parts = append(parts, "m AS ("+flushMessages+")")
		args = append(args, pq.Array(ids), pq.Array(convs), pq.Array(dirs), pq.Array(authors),
			pq.Array(names), pq.Array(texts), pq.Array(xids), pq.Array(chats), pq.Array(delivery), pq.Array(failures),
			pq.Array(created), pq.Array(sent), pq.Array(seen))
	}
	if n := len(w.targets); n > 0 {
		var (
			ids, convs, cycles, alerts                                          = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			budget, elapsed, segment, started, warn, due, check, ended, updated = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			metrics, states                                                     = make([]string, n), make([]string, n)
			breached                                                            = make([]bool, n)
		)
		for i, s := range w.targets {
			ids[i], convs[i], cycles[i], alerts[i] = s.ID, s.ConversationID, int64(s.Cycle), int64(s.Alerts)
			budget[i], elapsed[i], segment[i], started[i] = s.Budget.Microseconds(), s.Elapsed.Microseconds(), micros(s.SegmentStart), micros(s.StartedAt)
			warn[i], due[i], check[i], ended[i], updated[i] = micros(s.WarnAt), micros(s.DueAt), micros(s.NextCheck), micros(s.EndedAt), micros(s.UpdatedAt)
			metrics[i], states[i], breached[i] = string(s.Metric), string(s.State), s.Breached
		}
		parts = append(parts, "t AS ("+flushTargets+")")
		args = append(args, pq.Array(ids), pq.Array(convs), pq.Array(metrics), pq.Array(cycles),
			pq.Array(states), pq.Array(budget), pq.Array(elapsed), pq.Array(segment), pq.Array(started), pq.Array(warn),
			pq.Array(due), pq.Array(check), pq.Array(breached), pq.Array(alerts), pq.Array(ended), pq.Array(updated))
	}
	count := "SELECT 0"
	if n := len(w.items); n > 0 {
		var (
			ids, convs, msgs, prios, attempts, notBefore, lease, created, updated = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			effects, lanes, seqs, keys, states, results, lastErrs                 = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			notified                                                              = make([]bool, n)
		)
		for i, it := range w.items {
			ids[i], convs[i], msgs[i], prios[i], attempts[i] = it.ID, it.ConversationID, it.MessageID, int64(it.Priority), int64(it.Attempts)
			notBefore[i], lease[i], created[i], updated[i] = micros(it.NotBefore), micros(it.LeaseUntil), micros(it.CreatedAt), micros(it.UpdatedAt)
			effects[i], lanes[i], seqs[i], keys[i], states[i] = string(it.Effect), it.Lane, it.SeqKey, it.IdemKey, string(it.State)
			results[i], lastErrs[i], notified[i] = it.ResultID, it.LastError, it.Notified
		}
		parts = append(parts, "o AS ("+flushOutbox+" RETURNING 1)")
		count = "SELECT count(*) FROM o"
		args = append(args, pq.Array(ids), pq.Array(effects), pq.Array(lanes), pq.Array(seqs),
			pq.Array(prios), pq.Array(keys), pq.Array(convs), pq.Array(msgs), pq.Array(w.payloads), pq.Array(states),
			pq.Array(attempts), pq.Array(notBefore), pq.Array(lease), pq.Array(results), pq.Array(lastErrs),
			pq.Array(notified), pq.Array(created), pq.Array(updated))
	}
	var enqueued int
	if err := queryRowQ(ctx, w.raw, "WITH "+strings.Join(parts, ",\n")+"\n"+count, args...).Scan(&enqueued); err != nil {
		return w.db.wrap(err, fmt.Sprintf("write %d messages, %d SLA targets and %d outbox items",
			len(w.messages), len(w.targets), len(w.items)))
	}
	// The items' ids were given out: one skipped for a key already taken
	// cannot be taken back, so the transaction fails instead.
	if n := len(w.items); enqueued != n {
		return bridge.Errorf(bridge.ECONFLICT, "enqueue: %d of %d outbox items had a key already taken", n-enqueued, n)
	}
	return nil
}
