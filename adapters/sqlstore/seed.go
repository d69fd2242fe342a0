package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// The SLA benchmark's load: n open conversations, each with a running
// first-response target. The first k come due one every spacing from
// start (already imminent, so each check fires a breach); the rest are due
// a month later. One recursive CTE per table, valid in both dialects.
const (
	seedCustomers = `WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ?)
INSERT INTO customers (x_user_id, handle, name, updated_at)
SELECT 'bench-' || x, 'bench' || x, 'Bench customer ' || x, ? FROM g`
	seedConversations = `INSERT INTO conversations (kind, account, x_key, customer_id, status, priority,
	chat_platform, chat_channel, chat_thread_id, created_at, updated_at)
SELECT 'dm', '1000', c.x_user_id, c.id, 'open', 'normal', 'slack', 'CBENCH', 'T' || substr(c.x_user_id, 7), ?, ?
FROM customers c WHERE c.x_user_id LIKE 'bench-%' ORDER BY c.id`
	seedTargets = `INSERT INTO sla_targets (conversation_id, metric, cycle, state, budget, elapsed, segment_start,
	started_at, warn_at, due_at, next_check, updated_at)
SELECT v.id, 'first_response', 1, CASE WHEN v.i <= ? THEN 'imminent' ELSE 'running' END, ?, 0, ?, ?,
	CASE WHEN v.i <= ? THEN ? + v.i * ? - 1 ELSE ? END,
	CASE WHEN v.i <= ? THEN ? + v.i * ? ELSE ? END,
	CASE WHEN v.i <= ? THEN ? + v.i * ? ELSE ? END, ?
FROM (SELECT id, id - (SELECT MIN(id) FROM conversations WHERE x_key LIKE 'bench-%') + 1 AS i
	FROM conversations WHERE x_key LIKE 'bench-%') v`
)

// SeedSLABench loads the SLA benchmark's conversations and targets (see
// above). For benchmarks only; it expects an empty database. The i-th
// conversation (1-based) has the thread "T<i>", and if i ≤ k its target is
// due at start + i×spacing.
func (db *DB) SeedSLABench(ctx context.Context, n, k int, start time.Time, spacing time.Duration) error {
	now := micros(start)
	far := micros(start.Add(30 * 24 * time.Hour))
	budget := (15 * time.Minute).Microseconds()
	base, step := micros(start), spacing.Microseconds()
	for _, st := range []struct {
		what string
		q    string
		args []any
	}{
		{"customers", seedCustomers, []any{n, now}},
		{"conversations", seedConversations, []any{now, now}},
		{"targets", seedTargets, []any{k, budget, now, now, k, base, step, far - 1, k, base, step, far, k, base, step, far, now}},
	} {
		if _, err := execQ(ctx, db.db, st.q, st.args...); err != nil {
			return fmt.Errorf("seed %s: %w", st.what, err)
		}
	}
	if db.dialect.name() == "postgres" {
		if _, err := db.db.ExecContext(ctx, `ANALYZE customers, conversations, sla_targets`); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	return nil
}
