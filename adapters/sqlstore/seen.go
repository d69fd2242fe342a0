package sqlstore

import (
	"context"
	"fmt"
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
