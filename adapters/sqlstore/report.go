package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

const tierStats = `SELECT
	COUNT(*),
	COALESCE(SUM(CASE WHEN automation LIKE 'faq:%' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN automation = 'handed_over' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN csat_asked_at > 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN csat_score > 0 THEN 1 ELSE 0 END), 0),
	AVG(CASE WHEN csat_score > 0 THEN csat_score END)
FROM conversations WHERE created_at >= ?`

// The acknowledgement is the bridge's message sent as "xbridge (ack)";
// its delay is from the conversation's start to X accepting it.
const ackStats = `SELECT COUNT(*), AVG(m.sent_at - c.created_at)
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE c.created_at >= ? AND m.author_name = 'xbridge (ack)' AND m.sent_at > 0`

// TierStats measures the first tier over conversations created since.
func (db *DB) TierStats(ctx context.Context, since time.Time) (bridge.TierStats, error) {
	var st bridge.TierStats
	var csat, ack sql.NullFloat64
	if err := queryRowQ(ctx, db.pool(), tierStats, micros(since)).Scan(&st.Conversations, &st.ResolvedByBot,
		&st.HandedOver, &st.CSATAsked, &st.CSATRated, &csat); err != nil {
		return st, fmt.Errorf("first tier stats: %w", err)
	}
	if err := queryRowQ(ctx, db.pool(), ackStats, micros(since)).Scan(&st.Acked, &ack); err != nil {
		return st, fmt.Errorf("acknowledgement stats: %w", err)
	}
	st.CSATAverage = csat.Float64
	st.AckSeconds = ack.Float64 / 1e6
	return st, nil
}
