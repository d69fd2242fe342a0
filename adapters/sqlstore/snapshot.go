package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

// snapshotConversations reads the conversations asked for with every
// other conversation of their customers, which their cards list, and each
// row's customer.
var snapshotConversations = `SELECT ` + qualified(conversationColumns, "c") + `, ` + qualified(customerColumns, "u") + `
FROM conversations c JOIN customers u ON u.id = c.customer_id
WHERE c.customer_id IN (SELECT customer_id FROM conversations WHERE id IN (%s)) ORDER BY c.id DESC`

// Snapshot loads conversations, their customers, and messages by id, and
// what the conversations' cards show, in a few statements, outside any
// transaction: the dispatcher reads what a batch of claimed items needs
// at once.
func (db *DB) Snapshot(ctx context.Context, conversationIDs, messageIDs []int64) (*bridge.Snapshot, error) {
	snap := &bridge.Snapshot{
		Conversations: map[int64]*bridge.Conversation{},
		Customers:     map[int64]*bridge.Customer{},
		Messages:      map[int64]*bridge.Message{},
		Extras:        map[int64]*bridge.CardExtras{},
	}
	ids := unique(conversationIDs)
	var related []*bridge.Conversation
	if len(ids) > 0 {
		asked := make(map[int64]bool, len(ids))
		for _, id := range ids {
			asked[id.(int64)] = true
		}
		rows, err := queryQ(ctx, db.pool(), fmt.Sprintf(snapshotConversations, marks(len(ids))), ids...)
		if err != nil {
			return nil, fmt.Errorf("snapshot conversations: %w", err)
		}
		for rows.Next() {
			var cust bridge.Customer
			c, err := scanConversation(joinedRow{rows, customerDest(&cust)})
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("snapshot conversations: %w", err)
			}
			related = append(related, c)
			if asked[c.ID] {
				snap.Conversations[c.ID] = c
				snap.Customers[cust.ID] = &cust
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("snapshot conversations: %w", err)
		}
	}
	if err := db.cardExtras(ctx, snap, related); err != nil {
		return nil, err
	}
	if mids := unique(messageIDs); len(mids) > 0 {
		rows, err := queryQ(ctx, db.pool(), `SELECT `+messageColumns+` FROM messages m WHERE m.id IN (`+marks(len(mids))+`)`, mids...)
		if err != nil {
			return nil, fmt.Errorf("snapshot messages: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return nil, fmt.Errorf("snapshot messages: %w", err)
			}
			snap.Messages[m.ID] = m
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("snapshot messages: %w", err)
		}
	}
	return snap, nil
}

// unique returns the distinct non-zero ids as the arguments of an IN list,
// padded to a power of two by repeating the last: IN lists then come in a
// few lengths, each one prepared statement, not one per batch size.
func unique(ids []int64) []any {
	seen := make(map[int64]bool, len(ids))
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for n := len(out); n > 0 && n&(n-1) != 0; n++ {
		out = append(out, out[n-1])
	}
	return out
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return "?" + strings.Repeat(", ?", n-1)
}

// cardExtras reads, for the snapshot's conversations, their escalations
// and SLA targets, two statements for the whole batch, and picks their
// customers' earlier conversations from related (newest first).
func (db *DB) cardExtras(ctx context.Context, snap *bridge.Snapshot, related []*bridge.Conversation) error {
	if len(snap.Conversations) == 0 {
		return nil
	}
	var convIDs, escIDs []int64
	for id, c := range snap.Conversations {
		snap.Extras[id] = &bridge.CardExtras{}
		convIDs = append(convIDs, id)
		if c.EscalationID != 0 {
			escIDs = append(escIDs, c.EscalationID)
		}
	}
	ids := unique(convIDs)
	targets, err := queryTargets(ctx, db.pool(), `SELECT `+targetColumns+` FROM sla_targets WHERE conversation_id IN (`+marks(len(ids))+`) ORDER BY id`, ids...)
	if err != nil {
		return fmt.Errorf("snapshot SLA targets: %w", err)
	}
	for _, t := range targets {
		x := snap.Extras[t.ConversationID]
		x.Targets = append(x.Targets, t)
	}
	if eids := unique(escIDs); len(eids) > 0 {
		rows, err := queryQ(ctx, db.pool(), `SELECT `+escalationColumns+` FROM escalations WHERE id IN (`+marks(len(eids))+`)`, eids...)
		if err != nil {
			return fmt.Errorf("snapshot escalations: %w", err)
		}
		byID := map[int64]*bridge.Escalation{}
		for rows.Next() {
			e, err := scanEscalation(rows)
			if err != nil {
				rows.Close()
				return err
			}
			byID[e.ID] = e
		}
		rows.Close()
		for id, c := range snap.Conversations {
			snap.Extras[id].Escalation = byID[c.EscalationID]
		}
	}
	for id, c := range snap.Conversations {
		for _, o := range related {
			if o.CustomerID == c.CustomerID && o.ID < id {
				earlier := *o // not shared with the snapshot's own conversations
				snap.Extras[id].Earlier = append(snap.Extras[id].Earlier, &earlier)
			}
		}
	}
	return nil
}
