package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lib/pq"

	"github.com/xbridge/xbridge/bridge"
)

// conversationsWithCustomers reads, per dialect, the conversations asked
// for (%s: the condition on their ids, see idsIn) with every other
// conversation of their customers, which their cards list, and each row's
// customer. On Postgres it is written so that the plan goes through the
// indexes even while the tables' statistics are young, as they are in a
// new database, when Postgres would rather join by scanning a whole table:
// the customers come as an array (= ANY), and each row's customer is
// looked up on its own (LATERAL ... LIMIT 1).
var conversationsWithCustomers = map[string]string{
	"postgres": `SELECT ` + qualified(conversationColumns, "c") + `, ` + qualified(customerColumns, "u") + `
FROM conversations c CROSS JOIN LATERAL (SELECT * FROM customers WHERE id = c.customer_id LIMIT 1) u
WHERE c.customer_id = ANY (ARRAY(SELECT customer_id FROM conversations WHERE id %s)) ORDER BY c.id DESC`,
	"sqlite": `SELECT ` + qualified(conversationColumns, "c") + `, ` + qualified(customerColumns, "u") + `
FROM conversations c JOIN customers u ON u.id = c.customer_id
WHERE c.customer_id IN (SELECT customer_id FROM conversations WHERE id %s) ORDER BY c.id DESC`,
}

// snapshotTargetsPostgres reads the SLA targets of the conversations in
// an array, each conversation's through sla_targets_cycle on its own: an
// IN list on conversation_id, estimated from young statistics, may be
// answered by scanning the whole table.
var snapshotTargetsPostgres = `SELECT ` + qualified(targetColumns, "t") + `
FROM (SELECT DISTINCT id FROM unnest(?::bigint[]) AS u (id)) k
CROSS JOIN LATERAL (SELECT * FROM sla_targets WHERE conversation_id = k.id) t
ORDER BY t.id`

// Snapshot loads conversations, their customers, and messages by id, and
// what the conversations' cards show, outside any transaction: the
// dispatcher reads what a batch of claimed items needs at once. Its three
// reads — conversations with their customers, SLA targets, messages — do
// not depend on each other and go out together, each on a connection of
// its own, so a batch waits for one round trip rather than three (and a
// fourth for escalations, when a card has one).
func (db *DB) Snapshot(ctx context.Context, conversationIDs, messageIDs []int64) (*bridge.Snapshot, error) {
	snap := &bridge.Snapshot{
		Conversations: map[int64]*bridge.Conversation{},
		Customers:     map[int64]*bridge.Customer{},
		Messages:      map[int64]*bridge.Message{},
		Extras:        map[int64]*bridge.CardExtras{},
	}
	var (
		wg       sync.WaitGroup
		related  []*bridge.Conversation
		owners   []*bridge.Customer // of related, row by row
		targets  []*bridge.SLATarget
		messages []*bridge.Message
		errs     [3]error
	)
	ids := unique(conversationIDs)
	if len(ids) > 0 {
		wg.Go(func() { related, owners, errs[0] = db.snapshotConversations(ctx, ids) })
		wg.Go(func() {
			q, args := snapshotTargetsPostgres, []any{pq.Array(ids)}
			if db.dialect.name() != "postgres" {
				q, args = `SELECT `+targetColumns+` FROM sla_targets WHERE conversation_id IN (`+marks(len(ids))+`) ORDER BY id`, ids
			}
			targets, errs[1] = queryTargets(ctx, db.pool(), q, args...)
			if errs[1] != nil {
				errs[1] = fmt.Errorf("snapshot SLA targets: %w", errs[1])
			}
		})
	}
	if mids := unique(messageIDs); len(mids) > 0 {
		wg.Go(func() { messages, errs[2] = db.snapshotMessages(ctx, mids) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	asked := make(map[int64]bool, len(ids))
	for _, id := range ids {
		asked[id.(int64)] = true
	}
	for i, c := range related {
		if asked[c.ID] {
			snap.Conversations[c.ID] = c
			snap.Customers[owners[i].ID] = owners[i]
		}
	}
	for _, m := range messages {
		snap.Messages[m.ID] = m
	}
	if err := db.cardExtras(ctx, snap, related, targets); err != nil {
		return nil, err
	}
	return snap, nil
}

// snapshotConversations reads the conversations ids name, their
// customers' other conversations and, row by row, their customers.
func (db *DB) snapshotConversations(ctx context.Context, ids []any) ([]*bridge.Conversation, []*bridge.Customer, error) {
	cond, args := db.idsIn(ids)
	rows, err := queryQ(ctx, db.pool(), fmt.Sprintf(conversationsWithCustomers[db.dialect.name()], cond), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot conversations: %w", err)
	}
	defer rows.Close()
	var convs []*bridge.Conversation
	var custs []*bridge.Customer
	for rows.Next() {
		var cust bridge.Customer
		c, err := scanConversation(joinedRow{rows, customerDest(&cust)})
		if err != nil {
			return nil, nil, fmt.Errorf("snapshot conversations: %w", err)
		}
		convs, custs = append(convs, c), append(custs, &cust)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("snapshot conversations: %w", err)
	}
	return convs, custs, nil
}

func (db *DB) snapshotMessages(ctx context.Context, ids []any) ([]*bridge.Message, error) {
	cond, args := db.idsIn(ids)
	rows, err := queryQ(ctx, db.pool(), `SELECT `+messageColumns+` FROM messages m WHERE m.id `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("snapshot messages: %w", err)
	}
	defer rows.Close()
	var out []*bridge.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("snapshot messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("snapshot messages: %w", err)
	}
	return out, nil
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

// idsIn returns the condition that a column is one of ids (from unique),
// to follow the column, and its arguments. On Postgres it is one array
// parameter, so every batch size shares one prepared statement and
// Postgres can keep its plan: an IN list of n placeholders is a statement
// per n, planned anew at each run until it has run five times on a
// connection, which few of them ever do. SQLite gets the IN list.
func (db *DB) idsIn(ids []any) (string, []any) {
	if db.dialect.name() != "postgres" {
		return "IN (" + marks(len(ids)) + ")", ids
	}
	arr := make([]int64, len(ids))
	for i, id := range ids {
		arr[i] = id.(int64)
	}
	return "= ANY (?::bigint[])", []any{pq.Array(arr)}
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return "?" + strings.Repeat(", ?", n-1)
}

// cardExtras gives the snapshot's conversations their SLA targets (from
// targets, in id order), their customers' earlier conversations (from
// related, newest first) and their escalations, read with one statement
// for the batch when any has one.
func (db *DB) cardExtras(ctx context.Context, snap *bridge.Snapshot, related []*bridge.Conversation, targets []*bridge.SLATarget) error {
	if len(snap.Conversations) == 0 {
		return nil
	}
	var escIDs []int64
	for id, c := range snap.Conversations {
		snap.Extras[id] = &bridge.CardExtras{}
		if c.EscalationID != 0 {
			escIDs = append(escIDs, c.EscalationID)
		}
	}
	for _, t := range targets {
		if x := snap.Extras[t.ConversationID]; x != nil {
			x.Targets = append(x.Targets, t)
		}
	}
	if eids := unique(escIDs); len(eids) > 0 {
		cond, args := db.idsIn(eids)
		rows, err := queryQ(ctx, db.pool(), `SELECT `+escalationColumns+` FROM escalations WHERE id `+cond, args...)
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
