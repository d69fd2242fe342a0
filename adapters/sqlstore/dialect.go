package sqlstore

import (
	"context"
	"errors"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds the few statements that differ between SQLite and Postgres.
// Everything else is written once, with ? placeholders and Rebind.
type dialect interface {
	// name is "sqlite" or "postgres", also the migrations folder.
	name() string
	// claimOutbox is the ClaimOutbox statement; its arguments are
	// lease_until, updated_at, now and limit.
	claimOutbox() string
	// lockRow ends a SELECT that reads a row an event is about to change,
	// so concurrent events on one conversation serialize.
	lockRow() string
	// lockMigrations serializes migrations across processes until tx ends.
	lockMigrations(ctx context.Context, tx *sqlx.Tx) error
	// isUniqueViolation reports whether err is a unique-constraint failure.
	isUniqueViolation(err error) bool
	// relaxCommit makes the transaction's commit not wait for the disk.
	relaxCommit(ctx context.Context, tx *sqlx.Tx) error
	// isTransient reports whether err says the transaction lost a race
	// (deadlock, serialization failure, busy database) and may succeed
	// if run again.
	isTransient(err error) bool
}

// The claim selects the due pending items no other item of their seq_key
// holds back: an inflight one, or a pending one that came first. An empty
// seq_key imposes no order. Postgres adds FOR UPDATE SKIP LOCKED so that
// concurrent claimers pass over each other's rows; SQLite has one connection.
const (
	claimOutboxHead = `UPDATE outbox
SET state = 'inflight', lease_until = ?, attempts = attempts + 1, updated_at = ?
WHERE id IN (
	SELECT o.id FROM outbox o
	WHERE o.state = 'pending' AND o.not_before <= ?
	  AND (o.seq_key = '' OR NOT EXISTS (
		SELECT 1 FROM outbox e
		WHERE e.seq_key = o.seq_key AND e.id <> o.id
		  AND (e.state = 'inflight' OR (e.state = 'pending' AND e.id < o.id))))
	ORDER BY o.priority, o.id
	LIMIT ?`
	claimOutboxTail = `)
RETURNING ` + outboxColumns

	claimOutboxSQLite   = claimOutboxHead + claimOutboxTail
	claimOutboxPostgres = claimOutboxHead + `
	FOR UPDATE SKIP LOCKED` + claimOutboxTail
)

// migrationLockKey is the pg_advisory_xact_lock key of Migrate ("xbridge").
const migrationLockKey = 0x78627269646765

type sqliteDialect struct{}

func (sqliteDialect) name() string        { return "sqlite" }
func (sqliteDialect) claimOutbox() string { return claimOutboxSQLite }
func (sqliteDialect) lockRow() string     { return "" }

// lockMigrations does nothing: SQLite transactions on one file already
// exclude each other.
func (sqliteDialect) lockMigrations(context.Context, *sqlx.Tx) error { return nil }

// relaxCommit does nothing: SQLite runs with synchronous=NORMAL in WAL
// mode, which already does not sync every commit.
func (sqliteDialect) relaxCommit(context.Context, *sqlx.Tx) error { return nil }

func (sqliteDialect) isTransient(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

func (sqliteDialect) isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

type postgresDialect struct{}

func (postgresDialect) name() string        { return "postgres" }
func (postgresDialect) claimOutbox() string { return claimOutboxPostgres }
func (postgresDialect) lockRow() string     { return " FOR UPDATE" }

// lockMigrations takes a transaction-level advisory lock: it is released
// by the commit or rollback, whatever happens to the connection.
func (postgresDialect) lockMigrations(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey))
	return err
}

func (postgresDialect) relaxCommit(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`)
	return err
}

func (postgresDialect) isTransient(err error) bool {
	var e *pq.Error
	return errors.As(err, &e) && (e.Code == pqerror.TRDeadlockDetected || e.Code == pqerror.TRSerializationFailure)
}

func (postgresDialect) isUniqueViolation(err error) bool {
	var e *pq.Error
	return errors.As(err, &e) && e.Code == pqerror.UniqueViolation
}
