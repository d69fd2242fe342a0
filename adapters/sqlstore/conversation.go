package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/xbridge/xbridge/bridge"
)

const conversationColumns = `id, kind, account, x_key, customer_id, status, priority, reply_to_id,
	chat_platform, chat_channel, chat_thread_id, previous_id, assignee_id, assignee_name, tags,
	escalation_id, closed_by_name, close_reason, language, automation, acked_at, priority_hint,
	csat_asked_at, csat_score, csat_at, typing_at, created_at, updated_at, closed_at`

func scanConversation(s scanner) (*bridge.Conversation, error) {
	var c bridge.Conversation
	var tags string
	err := s.Scan(&c.ID, &c.Kind, &c.Account, &c.XKey, &c.CustomerID, &c.Status, &c.Priority, &c.ReplyToID,
		&c.ChatPlatform, &c.ChatChannel, &c.ChatThreadID, &c.PreviousID, &c.AssigneeID, &c.AssigneeName, &tags,
		&c.EscalationID, &c.ClosedByName, &c.CloseReason, &c.Language, &c.Automation, timeCol{&c.AckedAt},
		&c.PriorityHint, timeCol{&c.CSATAskedAt}, &c.CSATScore, timeCol{&c.CSATAt}, timeCol{&c.TypingAt},
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}, timeCol{&c.ClosedAt})
	if err != nil {
		return nil, err
	}
	if tags != "" {
		c.Tags = strings.Fields(tags)
	}
	return &c, nil
}

// The lookups an event acts on end with dialect.lockRow, so that on
// Postgres concurrent events on one conversation take turns.

const conversationByID = `SELECT ` + conversationColumns + ` FROM conversations WHERE id = ?`

// Conversation finds a conversation by id and locks it.
func (t *tx) Conversation(ctx context.Context, id int64) (*bridge.Conversation, error) {
	c, err := scanConversation(queryRowQ(ctx, t.tx, conversationByID+t.db.dialect.lockRow(), id))
	if err != nil {
		return nil, lookupErr(err, "conversation", id)
	}
	return c, nil
}

// LockConversations locks conversations until the transaction ends, in
// one statement. On SQLite the transaction holds the database's write lock
// already: there is nothing more to lock.
func (t *tx) LockConversations(ctx context.Context, ids ...int64) error {
	lock := t.db.dialect.lockRow()
	args := unique(ids)
	if len(args) == 0 || lock == "" {
		return nil
	}
	cond, args := t.db.idsIn(args)
	rows, err := queryQ(ctx, t.tx, `SELECT id FROM conversations WHERE id `+cond+` ORDER BY id`+lock, args...)
	if err != nil {
		return fmt.Errorf("lock conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

const activeConversation = `SELECT ` + conversationColumns + ` FROM conversations
WHERE account = ? AND kind = ? AND x_key = ? AND customer_id = ? AND status <> 'closed'`

// ActiveConversation finds and locks the conversation not closed for this
// key and customer.
func (t *tx) ActiveConversation(ctx context.Context, account string, kind bridge.Kind, key string, customerID int64) (*bridge.Conversation, error) {
	c, err := scanConversation(queryRowQ(ctx, t.tx, activeConversation+t.db.dialect.lockRow(),
		account, kind, key, customerID))
	if err != nil {
		return nil, lookupErr(err, "active conversation", conversationKey(account, kind, key, customerID))
	}
	return c, nil
}

const latestConversation = `SELECT ` + conversationColumns + ` FROM conversations
WHERE account = ? AND kind = ? AND x_key = ? AND customer_id = ?
ORDER BY id DESC LIMIT 1`

// LatestConversation finds and locks the newest conversation for this key
// and customer, closed or not.
func (t *tx) LatestConversation(ctx context.Context, account string, kind bridge.Kind, key string, customerID int64) (*bridge.Conversation, error) {
	c, err := scanConversation(queryRowQ(ctx, t.tx, latestConversation+t.db.dialect.lockRow(), account, kind, key, customerID))
	if err != nil {
		return nil, lookupErr(err, "conversation", conversationKey(account, kind, key, customerID))
	}
	return c, nil
}

// latestConversationsPostgres looks each key up on its own (LATERAL ...
// LIMIT 1), newest first through conversations_customer: a join of the
// keys with conversations may be planned as a scan of the whole table
// while its statistics are young, as they are in a new database.
const latestConversationsPostgres = `SELECT ` + conversationColumns + ` FROM conversations
WHERE id IN (
	SELECT l.id FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[]) AS k (account, kind, x_key, customer_id)
	CROSS JOIN LATERAL (SELECT c.id FROM conversations c
		WHERE c.customer_id = k.customer_id AND c.account = k.account AND c.kind = k.kind AND c.x_key = k.x_key
		ORDER BY c.id DESC LIMIT 1) l)
ORDER BY id FOR UPDATE`

// LatestConversations finds and locks the newest conversation of several
// keys: on Postgres in one statement, locking in id order; on SQLite one by
// one.
func (t *tx) LatestConversations(ctx context.Context, keys []bridge.ConversationKey) (map[bridge.ConversationKey]*bridge.Conversation, error) {
	found := make(map[bridge.ConversationKey]*bridge.Conversation, len(keys))
	if len(keys) == 0 {
		return found, nil
	}
	if t.db.dialect.name() != "postgres" {
		for _, k := range keys {
			c, err := t.LatestConversation(ctx, k.Account, k.Kind, k.Key, k.CustomerID)
			switch {
			case err == nil:
				found[k] = c
			case bridge.ErrorCode(err) != bridge.ENOTFOUND:
				return nil, err
			}
		}
		return found, nil
	}
	accounts, kinds, xkeys, customers := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		accounts[i], kinds[i], xkeys[i], customers[i] = k.Account, string(k.Kind), k.Key, k.CustomerID
	}
	rows, err := queryQ(ctx, t.tx, latestConversationsPostgres, pq.Array(accounts), pq.Array(kinds), pq.Array(xkeys), pq.Array(customers))
	if err != nil {
		return nil, t.db.wrap(err, fmt.Sprintf("latest conversations of %d keys", len(keys)))
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("latest conversations: %w", err)
		}
		found[bridge.ConversationKey{Account: c.Account, Kind: c.Kind, Key: c.XKey, CustomerID: c.CustomerID}] = c
	}
	if err := rows.Err(); err != nil {
		return nil, t.db.wrap(err, "latest conversations")
	}
	return found, nil
}

func conversationKey(account string, kind bridge.Kind, key string, customerID int64) string {
	return fmt.Sprintf("%s/%s/%s/customer %d", account, kind, key, customerID)
}

// conversationByThread finds the thread through chat_threads (see
// migration 0008) and checks the conversation is still there.
const conversationByThread = `SELECT ` + conversationColumns + ` FROM conversations
WHERE id = (SELECT t.conversation_id FROM chat_threads t JOIN conversations c ON c.id = t.conversation_id
	AND c.chat_platform = t.chat_platform AND c.chat_channel = t.chat_channel AND c.chat_thread_id = t.chat_thread_id
	WHERE t.chat_platform = ? AND t.chat_channel = ? AND t.chat_thread_id = ? AND t.chat_thread_id <> ''
	ORDER BY t.conversation_id DESC LIMIT 1)`

// ConversationByThread finds and locks the conversation worked in a chat
// thread.
func (t *tx) ConversationByThread(ctx context.Context, platform, channel, threadID string) (*bridge.Conversation, error) {
	c, err := scanConversation(queryRowQ(ctx, t.tx, conversationByThread+t.db.dialect.lockRow(),
		platform, channel, threadID))
	if err != nil {
		return nil, lookupErr(err, "conversation of thread", platform+"/"+channel+"/"+threadID)
	}
	return c, nil
}

// createConversation skips the insert, rather than failing the statement,
// when the key already has an active conversation: the transaction stays
// usable on Postgres, where a failed statement aborts it.
const createConversation = `INSERT INTO conversations (kind, account, x_key, customer_id, status, priority,
	reply_to_id, chat_platform, chat_channel, chat_thread_id, previous_id, assignee_id, assignee_name, tags,
	escalation_id, closed_by_name, close_reason, language, automation, acked_at, priority_hint,
	csat_asked_at, csat_score, csat_at, typing_at, created_at, updated_at, closed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account, kind, x_key, customer_id) WHERE status <> 'closed' DO NOTHING
RETURNING id`

// CreateConversation inserts c and sets its ID; ECONFLICT when an active
// conversation exists for the same key and customer.
//
// With write-behind on, the statement also reserves ids for the new
// conversation's first rows, and does not send the rows waiting: they
// belong to other new conversations, and the insert does not read them.
func (t *tx) CreateConversation(ctx context.Context, c *bridge.Conversation) error {
	var id int64
	q, on, dest := createConversation, t.tx, []any{&id}
	reserved := make([]int64, reservedMessages+reservedTargets+reservedItems)
	if t.behind != nil && t.behind.err == nil {
		q, on = createConversationBehind, t.behind.raw
		for i := range reserved {
			dest = append(dest, &reserved[i])
		}
	}
	err := queryRowQ(ctx, on, q,
		c.Kind, c.Account, c.XKey, c.CustomerID, c.Status, c.Priority,
		c.ReplyToID, c.ChatPlatform, c.ChatChannel, c.ChatThreadID, c.PreviousID,
		c.AssigneeID, c.AssigneeName, strings.Join(c.Tags, " "), c.EscalationID, c.ClosedByName, c.CloseReason,
		c.Language, c.Automation, micros(c.AckedAt), c.PriorityHint, micros(c.CSATAskedAt), c.CSATScore,
		micros(c.CSATAt), micros(c.TypingAt),
		micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.ClosedAt),
	).Scan(dest...)
	switch {
	case err == nil:
		c.ID = id
		if len(dest) > 1 {
			t.behind.createdConversation(id, reserved)
		}
		return nil
	case isNoRows(err):
		return bridge.Errorf(bridge.ECONFLICT, "an active conversation already exists for %s",
			conversationKey(c.Account, c.Kind, c.XKey, c.CustomerID))
	}
	return t.db.wrap(err, "create conversation")
}

// createConversationsPostgres inserts many conversations; rows whose key
// has an active conversation are skipped, as in createConversation.
const createConversationsPostgres = `INSERT INTO conversations (kind, account, x_key, customer_id, status, priority,
	reply_to_id, chat_platform, chat_channel, chat_thread_id, previous_id, assignee_id, assignee_name, tags,
	escalation_id, closed_by_name, close_reason, language, automation, acked_at, priority_hint,
	csat_asked_at, csat_score, csat_at, typing_at, created_at, updated_at, closed_at)
SELECT kind, account, x_key, customer_id, status, priority, reply_to_id, chat_platform, chat_channel,
	chat_thread_id, previous_id, assignee_id, assignee_name, tags, escalation_id, closed_by_name, close_reason,
	language, automation, acked_at, priority_hint, csat_asked_at, csat_score, csat_at, typing_at,
	created_at, updated_at, closed_at
FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[],
	?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[],
	?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[],
	?::bigint[], ?::integer[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) WITH ORDINALITY
	AS v (kind, account, x_key, customer_id, status, priority, reply_to_id, chat_platform, chat_channel,
	chat_thread_id, previous_id, assignee_id, assignee_name, tags, escalation_id, closed_by_name, close_reason,
	language, automation, acked_at, priority_hint, csat_asked_at, csat_score, csat_at, typing_at,
	created_at, updated_at, closed_at, n)
ORDER BY n
ON CONFLICT (account, kind, x_key, customer_id) WHERE status <> 'closed' DO NOTHING
RETURNING id, account, kind, x_key, customer_id`

// createConversationsBehind is createConversationsPostgres that also
// reserves ids for each new conversation's first rows.
const createConversationsBehind = `WITH c AS (` + createConversationsPostgres + `)
SELECT c.id, c.account, c.kind, c.x_key, c.customer_id,
	nextval('messages_id_seq'), nextval('messages_id_seq'),
	nextval('sla_targets_id_seq'), nextval('sla_targets_id_seq'), nextval('sla_targets_id_seq'),
	nextval('outbox_id_seq'), nextval('outbox_id_seq'), nextval('outbox_id_seq')
FROM c`

// CreateConversations is CreateConversation for several conversations of
// distinct keys: on Postgres one statement. ECONFLICT names a key that has
// an active conversation already; the others may have been created, so
// the transaction must not commit.
func (t *tx) CreateConversations(ctx context.Context, cs []*bridge.Conversation) error {
	if t.db.dialect.name() != "postgres" || len(cs) < 2 {
		for _, c := range cs {
			if err := t.CreateConversation(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	n := len(cs)
	var (
		kinds, accounts, keys, statuses, priorities, replyTo, platforms, channels, threads = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		assignees, assigneeNames, tags, closedBy, reasons, languages, automation, hints    = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		customers, previous, escalations, acked, asked, scores, csatAt, typing             = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		created, updated, closed                                                           = make([]int64, n), make([]int64, n), make([]int64, n)
	)
	byKey := make(map[string]*bridge.Conversation, n)
	for i, c := range cs {
		k := conversationKey(c.Account, c.Kind, c.XKey, c.CustomerID)
		if byKey[k] != nil {
			return bridge.Errorf(bridge.ECONFLICT, "two new conversations for %s", k)
		}
		byKey[k] = c
		kinds[i], accounts[i], keys[i], customers[i] = string(c.Kind), c.Account, c.XKey, c.CustomerID
		statuses[i], priorities[i], replyTo[i] = string(c.Status), string(c.Priority), c.ReplyToID
		platforms[i], channels[i], threads[i], previous[i] = c.ChatPlatform, c.ChatChannel, c.ChatThreadID, c.PreviousID
		assignees[i], assigneeNames[i], tags[i], escalations[i] = c.AssigneeID, c.AssigneeName, strings.Join(c.Tags, " "), c.EscalationID
		closedBy[i], reasons[i], languages[i], automation[i] = c.ClosedByName, c.CloseReason, c.Language, c.Automation
		acked[i], hints[i], asked[i], scores[i] = micros(c.AckedAt), c.PriorityHint, micros(c.CSATAskedAt), int64(c.CSATScore)
		csatAt[i], typing[i] = micros(c.CSATAt), micros(c.TypingAt)
		created[i], updated[i], closed[i] = micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.ClosedAt)
	}
	q, on := createConversationsPostgres, sqlx.ExtContext(t.tx)
	behind := t.behind != nil && t.behind.err == nil
	if behind {
		// The insert reads none of the rows waiting: they belong to
		// other new conversations.
		q, on = createConversationsBehind, t.behind.raw
	}
	rows, err := queryQ(ctx, on, q,
		pq.Array(kinds), pq.Array(accounts), pq.Array(keys), pq.Array(customers), pq.Array(statuses), pq.Array(priorities),
		pq.Array(replyTo), pq.Array(platforms), pq.Array(channels), pq.Array(threads), pq.Array(previous),
		pq.Array(assignees), pq.Array(assigneeNames), pq.Array(tags), pq.Array(escalations), pq.Array(closedBy),
		pq.Array(reasons), pq.Array(languages), pq.Array(automation), pq.Array(acked), pq.Array(hints),
		pq.Array(asked), pq.Array(scores), pq.Array(csatAt), pq.Array(typing),
		pq.Array(created), pq.Array(updated), pq.Array(closed))
	if err != nil {
		return t.db.wrap(err, fmt.Sprintf("create %d conversations", n))
	}
	defer rows.Close()
	for rows.Next() {
		var id, customer int64
		var account, kind, key string
		dest := []any{&id, &account, &kind, &key, &customer}
		reserved := make([]int64, reservedMessages+reservedTargets+reservedItems)
		if behind {
			for i := range reserved {
				dest = append(dest, &reserved[i])
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("create conversations: %w", err)
		}
		k := conversationKey(account, bridge.Kind(kind), key, customer)
		c := byKey[k]
		if c == nil {
			return fmt.Errorf("create conversations: the database returned %s, which was not asked for", k)
		}
		c.ID = id
		delete(byKey, k)
		if behind {
			t.behind.createdConversation(id, reserved)
		}
	}
	if err := rows.Err(); err != nil {
		return t.db.wrap(err, fmt.Sprintf("create %d conversations", n))
	}
	for k := range byKey {
		return bridge.Errorf(bridge.ECONFLICT, "an active conversation already exists for %s", k)
	}
	return nil
}

const updateConversation = `UPDATE conversations SET kind = ?, account = ?, x_key = ?, customer_id = ?,
	status = ?, priority = ?, reply_to_id = ?, chat_platform = ?, chat_channel = ?, chat_thread_id = ?,
	previous_id = ?, assignee_id = ?, assignee_name = ?, tags = ?, escalation_id = ?, closed_by_name = ?,
	close_reason = ?, language = ?, automation = ?, acked_at = ?, priority_hint = ?, csat_asked_at = ?,
	csat_score = ?, csat_at = ?, typing_at = ?, created_at = ?, updated_at = ?, closed_at = ?
WHERE id = ?`

// addThreadPostgres adds the thread of each conversation row u returned
// to chat_threads: on Postgres the statements that write a thread keep
// chat_threads in step themselves (SQLite has triggers; see migration
// 0008).
const addThreadPostgres = `INSERT INTO chat_threads (chat_platform, chat_channel, chat_thread_id, conversation_id)
SELECT chat_platform, chat_channel, chat_thread_id, id FROM u WHERE chat_thread_id <> '' ON CONFLICT DO NOTHING`

// updateConversationPostgres is updateConversation keeping chat_threads in
// step; it returns how many conversations it updated.
const updateConversationPostgres = `WITH u AS (` + updateConversation + `
RETURNING id, chat_platform, chat_channel, chat_thread_id),
t AS (` + addThreadPostgres + `)
SELECT count(*) FROM u`

// UpdateConversation writes c back. Reopening a conversation while another
// is active for its key is ECONFLICT (and on Postgres aborts the
// transaction).
func (t *tx) UpdateConversation(ctx context.Context, c *bridge.Conversation) error {
	on := t.tx
	if t.behind != nil {
		on = t.behind.raw // the rows waiting do not matter to it
	}
	args := []any{c.Kind, c.Account, c.XKey, c.CustomerID, c.Status, c.Priority,
		c.ReplyToID, c.ChatPlatform, c.ChatChannel, c.ChatThreadID, c.PreviousID,
		c.AssigneeID, c.AssigneeName, strings.Join(c.Tags, " "), c.EscalationID, c.ClosedByName, c.CloseReason,
		c.Language, c.Automation, micros(c.AckedAt), c.PriorityHint, micros(c.CSATAskedAt), c.CSATScore,
		micros(c.CSATAt), micros(c.TypingAt),
		micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.ClosedAt), c.ID}
	if t.db.dialect.name() == "postgres" {
		var n int64
		if err := queryRowQ(ctx, on, updateConversationPostgres, args...).Scan(&n); err != nil {
			return t.db.wrap(err, fmt.Sprintf("update conversation %d", c.ID))
		}
		if n == 0 {
			return bridge.Errorf(bridge.ENOTFOUND, "conversation %d not found", c.ID)
		}
		return nil
	}
	res, err := execQ(ctx, on, updateConversation, args...)
	return t.db.updated(res, err, "conversation", c.ID)
}

const setThread = `UPDATE conversations SET chat_thread_id = ? WHERE id = ? AND chat_thread_id = ''`

// setThreadsPostgres sets many threads in one statement, locking the
// conversations in id order first, as every transaction does, so that a
// statement committing on its own cannot deadlock with them.
const setThreadsPostgres = `WITH v AS (SELECT * FROM unnest(?::bigint[], ?::text[]) AS v (id, thread)),
l AS (SELECT c.id FROM conversations c JOIN v ON c.id = v.id WHERE c.chat_thread_id = '' ORDER BY c.id FOR UPDATE OF c),
u AS (UPDATE conversations c SET chat_thread_id = v.thread FROM v JOIN l ON l.id = v.id
	WHERE c.id = v.id AND c.chat_thread_id = ''
	RETURNING c.id, c.chat_platform, c.chat_channel, c.chat_thread_id)
` + addThreadPostgres

// SetThreads records the chat threads of conversations whose cards were
// just posted; a conversation that already has a thread keeps it.
func (t *tx) SetThreads(ctx context.Context, threads map[int64]string) error {
	return t.db.setThreads(ctx, t.tx, threads)
}

// RecordThreads is SetThreads outside a transaction: on Postgres one
// statement that commits on its own.
func (db *DB) RecordThreads(ctx context.Context, threads map[int64]string) error {
	if db.dialect.name() == "postgres" {
		return db.setThreads(ctx, db.pool(), threads)
	}
	return db.InTx(ctx, func(t bridge.Tx) error { return t.SetThreads(ctx, threads) })
}

func (db *DB) setThreads(ctx context.Context, e sqlx.ExtContext, threads map[int64]string) error {
	if len(threads) == 0 {
		return nil
	}
	if db.dialect.name() == "postgres" {
		ids, names := make([]int64, 0, len(threads)), make([]string, 0, len(threads))
		for id, th := range threads {
			ids, names = append(ids, id), append(names, th)
		}
		if _, err := execQ(ctx, e, setThreadsPostgres, pq.Array(ids), pq.Array(names)); err != nil {
			return db.wrap(err, fmt.Sprintf("set threads of %d conversations", len(threads)))
		}
		return nil
	}
	for id, th := range threads {
		if _, err := execQ(ctx, e, setThread, th, id); err != nil {
			return db.wrap(err, fmt.Sprintf("set thread of conversation %d", id))
		}
	}
	return nil
}
