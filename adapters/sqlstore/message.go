package sqlstore

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/xbridge/xbridge/bridge"
)

// messageColumns reads messages as m.
const messageColumns = `m.id, m.conversation_id, m.direction, m.author_id, m.author_name, m.text,
	m.x_id, m.chat_id, m.delivery, m.delivery_error, m.created_at, m.sent_at, m.seen_at`

func scanMessage(s scanner) (*bridge.Message, error) {
	var m bridge.Message
	err := s.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.AuthorID, &m.AuthorName, &m.Text,
		&m.XID, &m.ChatID, &m.Delivery, &m.DeliveryError, timeCol{&m.CreatedAt}, timeCol{&m.SentAt}, timeCol{&m.SeenAt})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

const insertMessage = `INSERT INTO messages (conversation_id, direction, author_id, author_name, text,
	x_id, chat_id, delivery, delivery_error, created_at, sent_at, seen_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`

// InsertMessage inserts m and sets its ID.
func (t *tx) InsertMessage(ctx context.Context, m *bridge.Message) error {
	if t.behind.owns(m.ConversationID) {
		return t.behind.insertMessage(ctx, m)
	}
	err := queryRowQ(ctx, t.tx, insertMessage,
		m.ConversationID, m.Direction, m.AuthorID, m.AuthorName, m.Text,
		m.XID, m.ChatID, m.Delivery, m.DeliveryError, micros(m.CreatedAt), micros(m.SentAt), micros(m.SeenAt),
	).Scan(&m.ID)
	if err != nil {
		return t.db.wrap(err, "insert message")
	}
	return nil
}

const updateMessage = `UPDATE messages SET conversation_id = ?, direction = ?, author_id = ?, author_name = ?,
	text = ?, x_id = ?, chat_id = ?, delivery = ?, delivery_error = ?, created_at = ?, sent_at = ?, seen_at = ?
WHERE id = ?`

// UpdateMessage writes m back.
func (t *tx) UpdateMessage(ctx context.Context, m *bridge.Message) error {
	res, err := execQ(ctx, t.tx, updateMessage,
		m.ConversationID, m.Direction, m.AuthorID, m.AuthorName, m.Text,
		m.XID, m.ChatID, m.Delivery, m.DeliveryError, micros(m.CreatedAt), micros(m.SentAt), micros(m.SeenAt), m.ID)
	return t.db.updated(res, err, "message", m.ID)
}

const messageByID = `SELECT ` + messageColumns + ` FROM messages m WHERE m.id = ?`

// Message finds a message by id.
func (t *tx) Message(ctx context.Context, id int64) (*bridge.Message, error) {
	m, err := scanMessage(queryRowQ(ctx, t.tx, messageByID, id))
	if err != nil {
		return nil, lookupErr(err, "message", id)
	}
	return m, nil
}

// messageByXID repeats the partial index's condition so both databases use
// it.
const messageByXID = `SELECT ` + messageColumns + ` FROM messages m
WHERE m.x_id = ? AND m.x_id <> ''
ORDER BY m.id LIMIT 1`

// MessageByXID finds a message by the X id it was received or sent as.
func (t *tx) MessageByXID(ctx context.Context, xid string) (*bridge.Message, error) {
	m, err := scanMessage(queryRowQ(ctx, t.tx, messageByXID, xid))
	if err != nil {
		return nil, lookupErr(err, "message with X id", xid)
	}
	return m, nil
}

const messageByChatID = `SELECT ` + messageColumns + ` FROM messages m
JOIN conversations c ON c.id = m.conversation_id
WHERE m.chat_id = ? AND m.chat_id <> '' AND c.chat_platform = ? AND c.chat_channel = ?
ORDER BY m.id LIMIT 1`

// MessageByChatID finds a message by its chat message id in the channel of
// its conversation's thread.
func (t *tx) MessageByChatID(ctx context.Context, platform, channel, chatID string) (*bridge.Message, error) {
	m, err := scanMessage(queryRowQ(ctx, t.tx, messageByChatID, chatID, platform, channel))
	if err != nil {
		return nil, lookupErr(err, "message with chat id", platform+"/"+channel+"/"+chatID)
	}
	return m, nil
}

const setMessageChatID = `UPDATE messages SET chat_id = ? WHERE id = ?`

const setMessageChatIDsPostgres = `UPDATE messages m SET chat_id = v.chat_id
FROM unnest(?::bigint[], ?::text[]) AS v (id, chat_id) WHERE m.id = v.id RETURNING m.id`

// SetMessageChatIDs records where messages were posted in their chat
// threads: on Postgres in one statement.
func (t *tx) SetMessageChatIDs(ctx context.Context, chatIDs map[int64]string) error {
	if len(chatIDs) == 0 {
		return nil
	}
	if t.db.dialect.name() != "postgres" {
		for id, chatID := range chatIDs {
			res, err := execQ(ctx, t.tx, setMessageChatID, chatID, id)
			if err := t.db.updated(res, err, "message", id); err != nil {
				return err
			}
		}
		return nil
	}
	ids, vals := make([]int64, 0, len(chatIDs)), make([]string, 0, len(chatIDs))
	for id, chatID := range chatIDs {
		ids, vals = append(ids, id), append(vals, chatID)
	}
	rows, err := queryQ(ctx, t.tx, setMessageChatIDsPostgres, pq.Array(ids), pq.Array(vals))
	if err != nil {
		return t.db.wrap(err, fmt.Sprintf("set chat ids of %d messages", len(chatIDs)))
	}
	defer rows.Close()
	set := make(map[int64]bool, len(chatIDs))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("set chat ids of messages: %w", err)
		}
		set[id] = true
	}
	if err := rows.Err(); err != nil {
		return t.db.wrap(err, fmt.Sprintf("set chat ids of %d messages", len(chatIDs)))
	}
	for _, id := range ids {
		if !set[id] {
			return bridge.Errorf(bridge.ENOTFOUND, "message %d not found", id)
		}
	}
	return nil
}
