package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/xbridge/xbridge/bridge"
)

// queryConversations runs a statement that returns conversation rows.
func queryConversations(ctx context.Context, e sqlx.ExtContext, q string, args ...any) ([]*bridge.Conversation, error) {
	rows, err := queryQ(ctx, e, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*bridge.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const conversationsAssigned = `SELECT ` + conversationColumns + ` FROM conversations
WHERE chat_platform = ? AND assignee_id = ? AND status <> 'closed' ORDER BY id`

// ConversationsAssigned lists the open conversations of an assignee.
func (t *tx) ConversationsAssigned(ctx context.Context, platform, assigneeID string) ([]*bridge.Conversation, error) {
	cs, err := queryConversations(ctx, t.tx, conversationsAssigned, platform, assigneeID)
	if err != nil {
		return nil, fmt.Errorf("conversations assigned to %s: %w", assigneeID, err)
	}
	return cs, nil
}

const customerConversations = `SELECT ` + conversationColumns + ` FROM conversations
WHERE customer_id = ? AND id < ? ORDER BY id DESC LIMIT ?`

// CustomerConversations lists a customer's earlier conversations.
func (t *tx) CustomerConversations(ctx context.Context, customerID, beforeID int64, limit int) ([]*bridge.Conversation, error) {
	cs, err := queryConversations(ctx, t.tx, customerConversations, customerID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("conversations of customer %d: %w", customerID, err)
	}
	return cs, nil
}

const recentMessages = `SELECT ` + messageColumns + ` FROM messages m
WHERE m.conversation_id = ? ORDER BY m.id DESC LIMIT ?`

// RecentMessages returns a conversation's last messages, oldest first.
func (t *tx) RecentMessages(ctx context.Context, conversationID int64, limit int) ([]*bridge.Message, error) {
	rows, err := queryQ(ctx, t.tx, recentMessages, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("recent messages of %d: %w", conversationID, err)
	}
	defer rows.Close()
	var out []*bridge.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append([]*bridge.Message{m}, out...)
	}
	return out, rows.Err()
}

const escalationColumns = `id, conversation_id, platform, channel, thread_id, summary, opened_by_id,
	opened_by_name, opened_at, resolved_at, resolved_by_name, resolution`

func scanEscalation(s scanner) (*bridge.Escalation, error) {
	var e bridge.Escalation
	err := s.Scan(&e.ID, &e.ConversationID, &e.Platform, &e.Channel, &e.ThreadID, &e.Summary, &e.OpenedByID,
		&e.OpenedByName, timeCol{&e.OpenedAt}, timeCol{&e.ResolvedAt}, &e.ResolvedByName, &e.Resolution)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

const insertEscalation = `INSERT INTO escalations (conversation_id, platform, channel, thread_id, summary,
	opened_by_id, opened_by_name, opened_at, resolved_at, resolved_by_name, resolution)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// InsertEscalation inserts e and sets its ID.
func (t *tx) InsertEscalation(ctx context.Context, e *bridge.Escalation) error {
	err := queryRowQ(ctx, t.tx, insertEscalation, e.ConversationID, e.Platform, e.Channel, e.ThreadID, e.Summary,
		e.OpenedByID, e.OpenedByName, micros(e.OpenedAt), micros(e.ResolvedAt), e.ResolvedByName, e.Resolution,
	).Scan(&e.ID)
	if err != nil {
		return t.db.wrap(err, "insert escalation")
	}
	return nil
}

const updateEscalation = `UPDATE escalations SET thread_id = ?, summary = ?, resolved_at = ?,
	resolved_by_name = ?, resolution = ? WHERE id = ?`

// UpdateEscalation writes back what changes on an escalation.
func (t *tx) UpdateEscalation(ctx context.Context, e *bridge.Escalation) error {
	res, err := execQ(ctx, t.tx, updateEscalation, e.ThreadID, e.Summary, micros(e.ResolvedAt),
		e.ResolvedByName, e.Resolution, e.ID)
	return t.db.updated(res, err, "escalation", e.ID)
}

// Escalation finds an escalation by id.
func (t *tx) Escalation(ctx context.Context, id int64) (*bridge.Escalation, error) {
	e, err := scanEscalation(queryRowQ(ctx, t.tx, `SELECT `+escalationColumns+` FROM escalations WHERE id = ?`, id))
	if err != nil {
		return nil, lookupErr(err, "escalation", id)
	}
	return e, nil
}

const escalationByThread = `SELECT ` + escalationColumns + ` FROM escalations
WHERE platform = ? AND channel = ? AND thread_id = ? AND thread_id <> '' ORDER BY id DESC LIMIT 1`

// EscalationByThread finds the escalation worked in a chat thread.
func (t *tx) EscalationByThread(ctx context.Context, platform, channel, threadID string) (*bridge.Escalation, error) {
	e, err := scanEscalation(queryRowQ(ctx, t.tx, escalationByThread, platform, channel, threadID))
	if err != nil {
		return nil, lookupErr(err, "escalation of thread", platform+"/"+channel+"/"+threadID)
	}
	return e, nil
}

const insertAudit = `INSERT INTO audit_log (conversation_id, actor_id, actor_name, action, before_value,
	after_value, source, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// InsertAudit records an action.
func (t *tx) InsertAudit(ctx context.Context, e *bridge.AuditEntry) error {
	err := queryRowQ(ctx, t.tx, insertAudit, e.ConversationID, e.ActorID, e.ActorName, e.Action,
		e.Before, e.After, e.Source, micros(e.At)).Scan(&e.ID)
	if err != nil {
		return t.db.wrap(err, "insert audit entry")
	}
	return nil
}

const auditOf = `SELECT id, conversation_id, actor_id, actor_name, action, before_value, after_value, source, at
FROM audit_log WHERE conversation_id = ? ORDER BY id DESC LIMIT ?`

// Audit returns a conversation's last entries, oldest first.
func (t *tx) Audit(ctx context.Context, conversationID int64, limit int) ([]*bridge.AuditEntry, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := queryQ(ctx, t.tx, auditOf, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit of %d: %w", conversationID, err)
	}
	defer rows.Close()
	var out []*bridge.AuditEntry
	for rows.Next() {
		var e bridge.AuditEntry
		if err := rows.Scan(&e.ID, &e.ConversationID, &e.ActorID, &e.ActorName, &e.Action, &e.Before, &e.After,
			&e.Source, timeCol{&e.At}); err != nil {
			return nil, err
		}
		out = append([]*bridge.AuditEntry{&e}, out...)
	}
	return out, rows.Err()
}

const upsertAgent = `INSERT INTO agents (platform, user_id, name, available, last_assigned_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (platform, user_id) DO UPDATE SET name = excluded.name, available = excluded.available,
	last_assigned_at = excluded.last_assigned_at`

// UpsertAgent records an agent's availability.
func (t *tx) UpsertAgent(ctx context.Context, a *bridge.Agent) error {
	if _, err := execQ(ctx, t.tx, upsertAgent, a.Platform, a.UserID, a.Name, a.Available, micros(a.LastAssignedAt)); err != nil {
		return t.db.wrap(err, "upsert agent")
	}
	return nil
}

// Agents lists a platform's agents, by user id.
func (t *tx) Agents(ctx context.Context, platform string) ([]*bridge.Agent, error) {
	rows, err := queryQ(ctx, t.tx, `SELECT platform, user_id, name, available, last_assigned_at FROM agents
WHERE platform = ? ORDER BY user_id`, platform)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	defer rows.Close()
	var out []*bridge.Agent
	for rows.Next() {
		var a bridge.Agent
		if err := rows.Scan(&a.Platform, &a.UserID, &a.Name, &a.Available, timeCol{&a.LastAssignedAt}); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

// OpenCounts counts open conversations per assignee.
func (t *tx) OpenCounts(ctx context.Context, platform string) (map[string]int, error) {
	rows, err := queryQ(ctx, t.tx, `SELECT assignee_id, COUNT(*) FROM conversations
WHERE chat_platform = ? AND assignee_id <> '' AND status <> 'closed' GROUP BY assignee_id`, platform)
	if err != nil {
		return nil, fmt.Errorf("open counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
