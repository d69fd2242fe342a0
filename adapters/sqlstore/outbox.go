package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/xbridge/xbridge/bridge"
)

const outboxColumns = `id, effect, lane, seq_key, priority, idem_key, conversation_id, message_id, payload,
	state, attempts, not_before, lease_until, result_id, last_error, notified, created_at, updated_at`

func scanOutbox(s scanner) (*bridge.OutboxItem, error) {
	var it bridge.OutboxItem
	var payload string
	err := s.Scan(&it.ID, &it.Effect, &it.Lane, &it.SeqKey, &it.Priority, &it.IdemKey,
		&it.ConversationID, &it.MessageID, &payload,
		&it.State, &it.Attempts, timeCol{&it.NotBefore}, timeCol{&it.LeaseUntil}, &it.ResultID, &it.LastError,
		&it.Notified, timeCol{&it.CreatedAt}, timeCol{&it.UpdatedAt})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(payload), &it.Payload); err != nil {
		return nil, fmt.Errorf("outbox item %d: payload: %w", it.ID, err)
	}
	return &it, nil
}

// queryOutbox runs a statement that returns outbox rows.
func queryOutbox(ctx context.Context, e sqlx.ExtContext, q string, args ...any) ([]*bridge.OutboxItem, error) {
	rows, err := queryQ(ctx, e, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []*bridge.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

const (
	enqueueHead = `INSERT INTO outbox (effect, lane, seq_key, priority, idem_key, conversation_id, message_id,
	payload, state, attempts, not_before, lease_until, result_id, last_error, notified, created_at, updated_at)
VALUES `
	enqueueRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	enqueueTail = `
ON CONFLICT (idem_key) DO NOTHING
RETURNING id, idem_key`
)

// Enqueue inserts outbox items in one statement, setting their IDs; an item
// whose IdemKey exists is skipped (ID stays 0). An item must have an
// IdemKey; an empty State becomes pending, a zero CreatedAt now and a zero
// UpdatedAt CreatedAt.
func (t *tx) Enqueue(ctx context.Context, items ...*bridge.OutboxItem) error {
	if len(items) == 0 {
		return nil
	}
	byKey := make(map[string]*bridge.OutboxItem, len(items))
	args := make([]any, 0, 17*len(items))
	uniq := make([]*bridge.OutboxItem, 0, len(items))
	payloads := make([]string, 0, len(items))
	for _, it := range items {
		if it.IdemKey == "" {
			return bridge.Errorf(bridge.EINVALID, "outbox item %s for conversation %d has no idempotency key",
				it.Effect, it.ConversationID)
		}
		if _, dup := byKey[it.IdemKey]; dup {
			it.ID = 0 // the same key twice in one call: the first wins
			continue
		}
		byKey[it.IdemKey] = it
		if it.State == "" {
			it.State = bridge.OutboxPending
		}
		if it.CreatedAt.IsZero() {
			it.CreatedAt = t.db.Now()
		}
		if it.UpdatedAt.IsZero() {
			it.UpdatedAt = it.CreatedAt
		}
		payload, err := json.Marshal(it.Payload)
		if err != nil {
			return fmt.Errorf("enqueue %s: payload: %w", it.IdemKey, err)
		}
		it.ID = 0
		uniq, payloads = append(uniq, it), append(payloads, string(payload))
		args = append(args, it.Effect, it.Lane, it.SeqKey, it.Priority, it.IdemKey, it.ConversationID, it.MessageID,
			string(payload), it.State, it.Attempts, micros(it.NotBefore), micros(it.LeaseUntil),
			it.ResultID, it.LastError, it.Notified, micros(it.CreatedAt), micros(it.UpdatedAt))
	}
	if t.behind.ownsAll(uniq) {
		return t.behind.enqueue(ctx, uniq, payloads)
	}
	q := enqueueHead + enqueueRow + strings.Repeat(",\n"+enqueueRow, len(byKey)-1) + enqueueTail
	rows, err := queryQ(ctx, t.tx, q, args...)
	if err != nil {
		return t.db.wrap(err, "enqueue")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			key string
		)
		if err := rows.Scan(&id, &key); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		if it, ok := byKey[key]; ok {
			it.ID = id
		}
	}
	if err := rows.Err(); err != nil {
		return t.db.wrap(err, "enqueue")
	}
	return nil
}

const outboxForMessage = `SELECT ` + outboxColumns + ` FROM outbox WHERE message_id = ? ORDER BY id`

// OutboxForMessage returns the items of a message in id order.
func (t *tx) OutboxForMessage(ctx context.Context, messageID int64) ([]*bridge.OutboxItem, error) {
	items, err := queryOutbox(ctx, t.tx, outboxForMessage, messageID)
	if err != nil {
		return nil, fmt.Errorf("outbox of message %d: %w", messageID, err)
	}
	return items, nil
}

const outboxForConversation = `SELECT ` + outboxColumns + ` FROM outbox WHERE conversation_id = ?`

// OutboxForConversation lists a conversation's items in the given states
// (all of them when none is given), oldest first.
func (t *tx) OutboxForConversation(ctx context.Context, conversationID int64, states ...bridge.OutboxState) ([]*bridge.OutboxItem, error) {
	q, args := outboxForConversation, []any{conversationID}
	if len(states) > 0 {
		q += ` AND state IN (?` + strings.Repeat(`, ?`, len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	items, err := queryOutbox(ctx, t.tx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox of conversation %d: %w", conversationID, err)
	}
	return items, nil
}

const updateOutbox = `UPDATE outbox SET state = ?, attempts = ?, not_before = ?, lease_until = ?, payload = ?,
	result_id = ?, last_error = ?, notified = ?, updated_at = ?
WHERE id = ? AND state = ? AND attempts = ?`

// UpdateOutbox writes it back if it is still in fromState with fromAttempts
// attempts, else returns ECONFLICT.
func (t *tx) UpdateOutbox(ctx context.Context, it *bridge.OutboxItem, fromState bridge.OutboxState, fromAttempts int) error {
	payload, err := json.Marshal(it.Payload)
	if err != nil {
		return fmt.Errorf("update outbox item %d: payload: %w", it.ID, err)
	}
	res, err := execQ(ctx, t.tx, updateOutbox,
		it.State, it.Attempts, micros(it.NotBefore), micros(it.LeaseUntil), string(payload),
		it.ResultID, it.LastError, it.Notified, micros(it.UpdatedAt),
		it.ID, fromState, fromAttempts)
	if err != nil {
		return t.db.wrap(err, fmt.Sprintf("update outbox item %d", it.ID))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update outbox item %d: %w", it.ID, err)
	}
	if n == 0 {
		return bridge.Errorf(bridge.ECONFLICT, "outbox item %d is no longer %s after %d attempts",
			it.ID, fromState, fromAttempts)
	}
	return nil
}

const updateOutboxesPostgres = `UPDATE outbox o SET state = v.state, attempts = v.attempts,
	not_before = v.not_before, lease_until = v.lease_until, payload = v.payload, result_id = v.result_id,
	last_error = v.last_error, notified = v.notified, updated_at = v.updated_at
FROM unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[],
	?::boolean[], ?::bigint[], ?::text[], ?::int[])
	AS v (id, state, attempts, not_before, lease_until, payload, result_id, last_error, notified, updated_at,
		from_state, from_attempts)
WHERE o.id = v.id AND o.state = v.from_state AND o.attempts = v.from_attempts
RETURNING o.id, o.state = 'done' AND o.seq_key <> '' AND EXISTS (
	SELECT 1 FROM outbox p WHERE p.seq_key = o.seq_key AND p.id > o.id AND p.state = 'pending')`

// heldBack says whether a pending item of a SeqKey comes after an item
// (the IN term, outbox_seq's own condition, lets SQLite use that index).
const heldBack = `SELECT EXISTS (SELECT 1 FROM outbox
WHERE seq_key = ? AND id > ? AND state IN ('pending', 'inflight') AND state = 'pending')`

// UpdateOutboxes is UpdateOutbox for several items: on Postgres one
// statement, which also says whether an item written done held back a
// later one of its SeqKey (SQLite asks after each such item until one
// did). It returns the ids of the items that had moved on.
func (t *tx) UpdateOutboxes(ctx context.Context, updates []bridge.OutboxUpdate) (map[int64]bool, bool, error) {
	stale := map[int64]bool{}
	if len(updates) == 0 {
		return stale, false, nil
	}
	if t.db.dialect.name() != "postgres" {
		next := false
		for _, u := range updates {
			err := t.UpdateOutbox(ctx, u.Item, u.FromState, u.FromAttempts)
			switch {
			case bridge.ErrorCode(err) == bridge.ECONFLICT:
				stale[u.Item.ID] = true
			case err != nil:
				return nil, false, err
			case !next && u.Item.State == bridge.OutboxDone && u.Item.SeqKey != "":
				if err := queryRowQ(ctx, t.tx, heldBack, u.Item.SeqKey, u.Item.ID).Scan(&next); err != nil {
					return nil, false, fmt.Errorf("update outbox item %d: %w", u.Item.ID, err)
				}
			}
		}
		return stale, next, nil
	}
	n := len(updates)
	var (
		ids, notBefore, leaseUntil, updatedAt = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		attempts, fromAttempts                = make([]int64, n), make([]int64, n)
		states, payloads, results, errs, from = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		notified                              = make([]bool, n)
	)
	for i, u := range updates {
		it := u.Item
		payload, err := json.Marshal(it.Payload)
		if err != nil {
			return nil, false, fmt.Errorf("update outbox item %d: payload: %w", it.ID, err)
		}
		ids[i], states[i], attempts[i] = it.ID, string(it.State), int64(it.Attempts)
		notBefore[i], leaseUntil[i], payloads[i] = micros(it.NotBefore), micros(it.LeaseUntil), string(payload)
		results[i], errs[i], notified[i], updatedAt[i] = it.ResultID, it.LastError, it.Notified, micros(it.UpdatedAt)
		from[i], fromAttempts[i] = string(u.FromState), int64(u.FromAttempts)
	}
	rows, err := queryQ(ctx, t.tx, updateOutboxesPostgres, pq.Array(ids), pq.Array(states), pq.Array(attempts),
		pq.Array(notBefore), pq.Array(leaseUntil), pq.Array(payloads), pq.Array(results), pq.Array(errs),
		pq.Array(notified), pq.Array(updatedAt), pq.Array(from), pq.Array(fromAttempts))
	if err != nil {
		return nil, false, t.db.wrap(err, fmt.Sprintf("update %d outbox items", n))
	}
	defer rows.Close()
	done := make(map[int64]bool, n)
	next := false
	for rows.Next() {
		var id int64
		var held bool
		if err := rows.Scan(&id, &held); err != nil {
			return nil, false, fmt.Errorf("update outbox items: %w", err)
		}
		done[id], next = true, next || held
	}
	if err := rows.Err(); err != nil {
		return nil, false, t.db.wrap(err, fmt.Sprintf("update %d outbox items", n))
	}
	for _, id := range ids {
		if !done[id] {
			stale[id] = true
		}
	}
	return stale, next, nil
}

// ClaimOutbox marks up to limit due pending items inflight with a lease and
// an incremented attempt count, never two items of one SeqKey and never one
// held back by an inflight item or an earlier pending item of its SeqKey.
// Items come in priority, then id, order. An empty SeqKey orders nothing.
// On Postgres concurrent claimers skip each other's rows.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*bridge.OutboxItem, error) {
	if limit <= 0 {
		return nil, nil
	}
	items, err := queryOutbox(ctx, db.pool(), db.dialect.claimOutbox(),
		micros(now.Add(lease)), micros(now), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(items, func(a, b *bridge.OutboxItem) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	return items, nil
}

const expiredLeases = `SELECT ` + outboxColumns + ` FROM outbox
WHERE state = 'inflight' AND lease_until < ?
ORDER BY lease_until, id LIMIT ?`

// ExpiredLeases returns inflight items whose lease ended before now, the
// longest expired first.
func (db *DB) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]*bridge.OutboxItem, error) {
	items, err := queryOutbox(ctx, db.pool(), expiredLeases, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("expired outbox leases: %w", err)
	}
	return items, nil
}

const nextDue = `SELECT MIN(not_before) FROM outbox WHERE state = 'pending'`

// NextDue returns the earliest NotBefore of pending items; ok is false when
// none is pending.
func (db *DB) NextDue(ctx context.Context) (t time.Time, ok bool, err error) {
	var v sql.NullInt64
	if err := queryRowQ(ctx, db.pool(), nextDue).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next due outbox item: %w", err)
	}
	return fromMicros(v.Int64), v.Valid, nil
}

const outboxStats = `SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM outbox
WHERE state IN ('pending', 'inflight')`

// OutboxStats counts pending and inflight items and the age of the oldest.
func (db *DB) OutboxStats(ctx context.Context, now time.Time) (bridge.OutboxStats, error) {
	var (
		s      bridge.OutboxStats
		oldest int64
	)
	if err := queryRowQ(ctx, db.pool(), outboxStats).Scan(&s.Depth, &oldest); err != nil {
		return s, fmt.Errorf("outbox stats: %w", err)
	}
	if oldest != 0 {
		s.OldestAge = max(now.Sub(fromMicros(oldest)), 0)
	}
	return s, nil
}

const (
	pruneOutbox = `DELETE FROM outbox WHERE state IN ('done', 'cancelled', 'failed') AND updated_at < ?`
	pruneSeen   = `DELETE FROM seen_events WHERE seen_at < ?`
	// Previews last an hour (bridge.PreviewTTL); the rows go with the
	// finished outbox items.
	prunePreviews = `DELETE FROM reply_previews WHERE created_at < ?`
)

// Prune deletes finished outbox items last updated before outboxBefore,
// reply previews made before it, and event ids seen before seenBefore.
// Unknown items stay until an agent decides about them.
func (db *DB) Prune(ctx context.Context, outboxBefore, seenBefore time.Time) (int64, error) {
	var n int64
	for _, p := range []struct {
		q string
		t time.Time
	}{{pruneOutbox, outboxBefore}, {pruneSeen, seenBefore}, {prunePreviews, outboxBefore}} {
		res, err := execQ(ctx, db.pool(), p.q, micros(p.t))
		if err != nil {
			return n, fmt.Errorf("prune: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// OutboxByKey finds an item by its idempotency key.
func (t *tx) OutboxByKey(ctx context.Context, idemKey string) (*bridge.OutboxItem, error) {
	items, err := queryOutbox(ctx, t.tx, `SELECT `+outboxColumns+` FROM outbox WHERE idem_key = ?`, idemKey)
	if err != nil {
		return nil, fmt.Errorf("outbox item %s: %w", idemKey, err)
	}
	if len(items) == 0 {
		return nil, bridge.Errorf(bridge.ENOTFOUND, "no outbox item %s", idemKey)
	}
	return items[0], nil
}
