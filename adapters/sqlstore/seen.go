package sqlstore

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

const markSeen = `INSERT INTO seen_events (source, event_id, seen_at) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`

// MarkSeen records an inbound event id once; fresh is false when it was
// already recorded.
func (t *tx) MarkSeen(ctx context.Context, source, eventID string) (fresh bool, err error) {
	res, err := execQ(ctx, t.tx, markSeen, source, eventID, micros(t.db.Now()))
	if err != nil {
		return false, t.db.wrap(err, fmt.Sprintf("mark event %s/%s seen", source, eventID))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark event %s/%s seen: %w", source, eventID, err)
	}
	return n == 1, nil
}

const markSeenAllPostgres = `INSERT INTO seen_events (source, event_id, seen_at)
SELECT ?, e, ? FROM unnest(?::text[]) AS e
ON CONFLICT DO NOTHING
RETURNING event_id`

// MarkSeenAll records several inbound event ids: on Postgres in one
// statement, on SQLite (in process, where a statement costs little) one
// by one.
func (t *tx) MarkSeenAll(ctx context.Context, source string, ids []string) ([]bool, error) {
	fresh := make([]bool, len(ids))
	if t.db.dialect.name() != "postgres" {
		for i, id := range ids {
			var err error
			if fresh[i], err = t.MarkSeen(ctx, source, id); err != nil {
				return nil, err
			}
		}
		return fresh, nil
	}
	rows, err := queryQ(ctx, t.tx, markSeenAllPostgres, source, micros(t.db.Now()), pq.Array(ids))
	if err != nil {
		return nil, t.db.wrap(err, fmt.Sprintf("mark %d %s events seen", len(ids), source))
	}
	defer rows.Close()
	recorded := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("mark %s events seen: %w", source, err)
		}
		recorded[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, t.db.wrap(err, fmt.Sprintf("mark %s events seen", source))
	}
	for i, id := range ids {
		fresh[i] = recorded[id]
		delete(recorded, id) // a second mention of the id is not fresh
	}
	return fresh, nil
}
