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

// SetThreadsIn is what SetThreads runs, inside tx.
func (db *DB) SetThreadsIn(ctx context.Context, tx *sqlx.Tx, threads map[int64]string) error {
	return db.setThreads(ctx, tx, threads)
}

// LatestConversationsPostgres is the statement of LatestConversations.
const LatestConversationsPostgres = latestConversationsPostgres

// SnapshotConversationsPostgres is the statement Snapshot reads n
// conversations with.
func SnapshotConversationsPostgres(n int) string {
	return fmt.Sprintf(conversationsWithCustomers["postgres"], marks(n))
}

// SnapshotTargetsPostgres is the statement Snapshot reads SLA targets with.
var SnapshotTargetsPostgres = snapshotTargetsPostgres
