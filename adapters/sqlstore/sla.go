package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/xbridge/xbridge/bridge"
)

const targetColumns = `id, conversation_id, metric, cycle, state, budget, elapsed, segment_start, started_at,
	warn_at, due_at, next_check, breached, alerts, ended_at, updated_at`

func scanTarget(s scanner) (*bridge.SLATarget, error) {
	var t bridge.SLATarget
	var budget, elapsed int64
	err := s.Scan(&t.ID, &t.ConversationID, &t.Metric, &t.Cycle, &t.State, &budget, &elapsed,
		timeCol{&t.SegmentStart}, timeCol{&t.StartedAt}, timeCol{&t.WarnAt}, timeCol{&t.DueAt}, timeCol{&t.NextCheck},
		&t.Breached, &t.Alerts, timeCol{&t.EndedAt}, timeCol{&t.UpdatedAt})
	if err != nil {
		return nil, err
	}
	t.Budget, t.Elapsed = time.Duration(budget)*time.Microsecond, time.Duration(elapsed)*time.Microsecond
	return &t, nil
}

func queryTargets(ctx context.Context, e sqlx.ExtContext, q string, args ...any) ([]*bridge.SLATarget, error) {
	rows, err := queryQ(ctx, e, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*bridge.SLATarget
	for rows.Next() {
		t, err := scanTarget(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// WaitingCustomers counts, up to limit, the other conversations with a live
// first- or next-response target. The live states and next_check > 0 match
// sla_targets_due, so the count reads that partial index, not the table.
func (t *tx) WaitingCustomers(ctx context.Context, exceptID int64, limit int) (int, error) {
	var n int
	err := queryRowQ(ctx, t.tx, `SELECT COUNT(DISTINCT conversation_id) FROM (SELECT conversation_id FROM sla_targets
WHERE state IN ('running', 'imminent', 'breached') AND next_check > 0
AND metric IN ('first_response', 'next_response') AND conversation_id <> ? LIMIT ?) waiting`, exceptID, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("waiting customers: %w", err)
	}
	return n, nil
}

// Targets lists a conversation's SLA targets in id order.
func (t *tx) Targets(ctx context.Context, conversationID int64) ([]*bridge.SLATarget, error) {
	ts, err := queryTargets(ctx, t.tx, `SELECT `+targetColumns+` FROM sla_targets WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("targets of %d: %w", conversationID, err)
	}
	return ts, nil
}

const (
	insertTargetsHead = `INSERT INTO sla_targets (conversation_id, metric, cycle, state, budget, elapsed, segment_start,
	started_at, warn_at, due_at, next_check, breached, alerts, ended_at, updated_at)
VALUES `
	insertTargetRow   = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertTargetsTail = `
ON CONFLICT (conversation_id, metric, cycle) DO NOTHING
RETURNING id, conversation_id, metric, cycle`
)

// InsertTargets inserts SLA targets in one statement, setting their IDs; a
// cycle a conversation already has is ECONFLICT, and leaves the transaction
// usable.
func (t *tx) InsertTargets(ctx context.Context, ts ...*bridge.SLATarget) error {
	if len(ts) == 0 {
		return nil
	}
	if t.behind.ownsTargets(ts) {
		return t.behind.insertTargets(ctx, ts)
	}
	type key struct {
		conv   int64
		metric bridge.Metric
		cycle  int
	}
	byKey := make(map[key]*bridge.SLATarget, len(ts))
	args := make([]any, 0, 15*len(ts))
	for _, s := range ts {
		byKey[key{s.ConversationID, s.Metric, s.Cycle}] = s
		args = append(args, s.ConversationID, s.Metric, s.Cycle, s.State,
			s.Budget.Microseconds(), s.Elapsed.Microseconds(), micros(s.SegmentStart), micros(s.StartedAt),
			micros(s.WarnAt), micros(s.DueAt), micros(s.NextCheck), s.Breached, s.Alerts, micros(s.EndedAt), micros(s.UpdatedAt))
	}
	q := insertTargetsHead + insertTargetRow + strings.Repeat(",\n"+insertTargetRow, len(ts)-1) + insertTargetsTail
	rows, err := queryQ(ctx, t.tx, q, args...)
	if err != nil {
		return t.db.wrap(err, "insert SLA targets")
	}
	defer rows.Close()
	inserted := 0
	for rows.Next() {
		var (
			id int64
			k  key
		)
		if err := rows.Scan(&id, &k.conv, &k.metric, &k.cycle); err != nil {
			return fmt.Errorf("insert SLA targets: %w", err)
		}
		if s, ok := byKey[k]; ok {
			s.ID = id
			inserted++
		}
	}
	if err := rows.Err(); err != nil {
		return t.db.wrap(err, "insert SLA targets")
	}
	if inserted < len(ts) {
		for _, s := range ts {
			if s.ID == 0 {
				return bridge.Errorf(bridge.ECONFLICT, "conversation %d already has %s cycle %d", s.ConversationID, s.Metric, s.Cycle)
			}
		}
	}
	return nil
}

const updateTarget = `UPDATE sla_targets SET state = ?, budget = ?, elapsed = ?, segment_start = ?, warn_at = ?,
	due_at = ?, next_check = ?, breached = ?, alerts = ?, ended_at = ?, updated_at = ? WHERE id = ?`

// UpdateTarget writes back what changes on a target.
func (t *tx) UpdateTarget(ctx context.Context, s *bridge.SLATarget) error {
	res, err := execQ(ctx, t.tx, updateTarget, s.State, s.Budget.Microseconds(), s.Elapsed.Microseconds(),
		micros(s.SegmentStart), micros(s.WarnAt), micros(s.DueAt), micros(s.NextCheck), s.Breached, s.Alerts,
		micros(s.EndedAt), micros(s.UpdatedAt), s.ID)
	return t.db.updated(res, err, "SLA target", s.ID)
}

// LockTarget reads and locks a target.
func (t *tx) LockTarget(ctx context.Context, id int64) (*bridge.SLATarget, error) {
	s, err := scanTarget(queryRowQ(ctx, t.tx, `SELECT `+targetColumns+` FROM sla_targets WHERE id = ?`+t.db.dialect.lockRow(), id))
	if err != nil {
		return nil, lookupErr(err, "SLA target", id)
	}
	return s, nil
}

const insertAlert = `INSERT INTO sla_alerts (conversation_id, target_id, metric, cycle, level, seq, due_at, fired_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (conversation_id, metric, cycle, level, seq) DO NOTHING
RETURNING id`

// InsertAlert records an alert once.
func (t *tx) InsertAlert(ctx context.Context, a *bridge.SLAAlert) (bool, error) {
	err := queryRowQ(ctx, t.tx, insertAlert, a.ConversationID, a.TargetID, a.Metric, a.Cycle, a.Level, a.Seq,
		micros(a.DueAt), micros(a.FiredAt)).Scan(&a.ID)
	switch {
	case err == nil:
		return true, nil
	case isNoRows(err):
		return false, nil
	}
	return false, t.db.wrap(err, "insert SLA alert")
}

// TargetsSince lists targets started at or after since.
func (t *tx) TargetsSince(ctx context.Context, since time.Time) ([]*bridge.SLATarget, error) {
	ts, err := queryTargets(ctx, t.tx, `SELECT `+targetColumns+` FROM sla_targets WHERE started_at >= ? ORDER BY id`, micros(since))
	if err != nil {
		return nil, fmt.Errorf("targets since %s: %w", since, err)
	}
	return ts, nil
}

const dueTargets = `SELECT ` + targetColumns + ` FROM sla_targets
WHERE state IN ('running', 'imminent', 'breached') AND next_check > 0 AND next_check <= ?
ORDER BY next_check LIMIT ?`

// DueTargets returns live targets whose next check has come.
func (db *DB) DueTargets(ctx context.Context, now time.Time, limit int) ([]*bridge.SLATarget, error) {
	ts, err := queryTargets(ctx, db.pool(), dueTargets, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due SLA targets: %w", err)
	}
	return ts, nil
}

// NextCheck returns the earliest next check of live targets.
func (db *DB) NextCheck(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	err := queryRowQ(ctx, db.pool(), `SELECT MIN(next_check) FROM sla_targets
WHERE state IN ('running', 'imminent', 'breached') AND next_check > 0`).Scan(&v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next SLA check: %w", err)
	}
	return fromMicros(v.Int64), v.Valid, nil
}

// TryLead takes a named leadership: on Postgres a session advisory lock
// held on a connection of its own (lost if that connection dies); on
// SQLite, which serves one process, always.
func (db *DB) TryLead(ctx context.Context, name string) (bridge.Lease, error) {
	if db.dialect.name() != "postgres" {
		return soloLease{}, nil
	}
	h := fnv.New64a()
	h.Write([]byte("xbridge:" + name))
	key := int64(h.Sum64())
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lead %s: %w", name, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lead %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, nil
	}
	return &pgLease{conn: conn, key: key}, nil
}

type soloLease struct{}

func (soloLease) Alive(context.Context) bool { return true }
func (soloLease) Release()                   {}

// pgLease is an advisory lock held by one connection.
type pgLease struct {
	conn *sql.Conn
	key  int64
}

func (l *pgLease) Alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return l.conn.PingContext(ctx) == nil
}

func (l *pgLease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
	l.conn.Close()
}
