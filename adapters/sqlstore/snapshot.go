package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

// Snapshot loads conversations, their customers, and messages by id in
// three statements, outside any transaction: the dispatcher reads what a
// batch of claimed items needs at once.
func (db *DB) Snapshot(ctx context.Context, conversationIDs, messageIDs []int64) (*bridge.Snapshot, error) {
	snap := &bridge.Snapshot{
		Conversations: map[int64]*bridge.Conversation{},
		Customers:     map[int64]*bridge.Customer{},
		Messages:      map[int64]*bridge.Message{},
	}
	ids := unique(conversationIDs)
	if len(ids) > 0 {
		rows, err := queryQ(ctx, db.db, `SELECT `+conversationColumns+` FROM conversations WHERE id IN (`+marks(len(ids))+`)`, ids...)
		if err != nil {
			return nil, fmt.Errorf("snapshot conversations: %w", err)
		}
		var customerIDs []int64
		for rows.Next() {
			c, err := scanConversation(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("snapshot conversations: %w", err)
			}
			snap.Conversations[c.ID] = c
			customerIDs = append(customerIDs, c.CustomerID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("snapshot conversations: %w", err)
		}
		if cids := unique(customerIDs); len(cids) > 0 {
			rows, err := queryQ(ctx, db.db, `SELECT `+customerColumns+` FROM customers WHERE id IN (`+marks(len(cids))+`)`, cids...)
			if err != nil {
				return nil, fmt.Errorf("snapshot customers: %w", err)
			}
			for rows.Next() {
				c, err := scanCustomer(rows)
				if err != nil {
					rows.Close()
					return nil, fmt.Errorf("snapshot customers: %w", err)
				}
				snap.Customers[c.ID] = c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("snapshot customers: %w", err)
			}
		}
	}
	if mids := unique(messageIDs); len(mids) > 0 {
		rows, err := queryQ(ctx, db.db, `SELECT `+messageColumns+` FROM messages m WHERE m.id IN (`+marks(len(mids))+`)`, mids...)
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

// unique returns the distinct non-zero ids as query arguments.
func unique(ids []int64) []any {
	seen := make(map[int64]bool, len(ids))
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return "?" + strings.Repeat(", ?", n-1)
}
