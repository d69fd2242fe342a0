package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Raw SQL for the tests that look under the store: query plans, and what
// Postgres wrote. Exported here only, for the package's external tests.

// RawTx runs fn in a transaction of the store's own pool.
func (db *DB) RawTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return db.withTx(ctx, fn)
}

// OneConnection makes the store's pool a single connection, so a test
// sees in that session's pg_prepared_statements what the store prepared.
func (db *DB) OneConnection() {
	db.db.SetMaxOpenConns(1)
}

// AnalyzeStale is one round of the statistics keeper: it analyzes the
// stale tables it may and says how many.
func (db *DB) AnalyzeStale(ctx context.Context) (int, error) {
	return db.analyzeStale(ctx)
}

// StopStatistics stops the statistics keeper before Close does.
func (db *DB) StopStatistics() {
	if db.stopStats != nil {
		close(db.stopStats)
		<-db.statsDone
		db.stopStats = nil
	}
}

// SetThreadsIn is what SetThreads runs, inside tx.
func (db *DB) SetThreadsIn(ctx context.Context, tx *sqlx.Tx, threads map[int64]string) error {
	return db.setThreads(ctx, tx, threads)
}

// LatestConversationsPostgres is the statement of LatestConversations.
const LatestConversationsPostgres = latestConversationsPostgres

// SnapshotConversationsPostgres is the statement Snapshot reads n
// conversations with.
func SnapshotConversationsPostgres() string {
	return fmt.Sprintf(conversationsWithCustomers["postgres"], "= ANY (?::bigint[])")
}

// SnapshotTargetsPostgres is the statement Snapshot reads SLA targets with.
var SnapshotTargetsPostgres = snapshotTargetsPostgres
