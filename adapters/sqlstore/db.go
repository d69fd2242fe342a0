// Package sqlstore is the SQL implementation of bridge.Store, for SQLite
// (modernc.org/sqlite, one process) and Postgres (lib/pq, any number of
// replicas). The DSN scheme picks the database.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/xbridge/xbridge/bridge"
)

func init() {
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// DB is a bridge.Store backed by SQLite or Postgres.
type DB struct {
	db      *sqlx.DB
	stmts   *stmtCache
	dialect dialect
	logger  *slog.Logger

	// On Postgres: closing stopStats stops keepStatistics, which closes
	// statsDone.
	stopStats chan struct{}
	statsDone chan struct{}

	// Now stamps the rows the store writes on its own: seen_events.seen_at,
	// cursors.updated_at, schema_migrations.applied_at and the CreatedAt of
	// outbox items enqueued without one. Set it before use to follow a
	// bridge.Clock; it defaults to the UTC wall clock.
	Now func() time.Time
}

var _ bridge.Store = (*DB)(nil)

// sqliteParams are the connection settings of every SQLite database.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// postgresMaxConns bounds the Postgres pool of one process.
const postgresMaxConns = 16

// Open connects to the database the DSN names and pings it:
//
//	sqlite:xbridge.db, sqlite:/var/lib/xbridge/db.sqlite, sqlite::memory:
//	postgres://user:password@host:5432/xbridge?sslmode=disable
//
// It does not migrate; call Migrate. logger may be nil.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("adapter", "sqlstore")
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), logger)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, logger)
	}
	// The DSN may hold a password: never repeat it.
	return nil, bridge.Errorf(bridge.EINVALID,
		"database DSN must start with sqlite: (sqlite:xbridge.db) or postgres:// (postgres://user@host/db)")
}

func openSQLite(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	path = strings.TrimPrefix(path, "//") // sqlite:///abs/path
	file, _, _ := strings.Cut(path, "?")
	if file == "" {
		return nil, bridge.Errorf(bridge.EINVALID, "sqlite DSN names no file: use sqlite:xbridge.db or sqlite::memory:")
	}
	if file != ":memory:" && !strings.HasPrefix(file, "file:") {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", file, err)
		}
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	sdb, err := sqlx.Open("sqlite", path+sep+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", file, err)
	}
	// One connection: SQLite has one writer anyway, the claim relies on it,
	// and it keeps a :memory: database alive and shared.
	sdb.SetMaxOpenConns(1)
	sdb.SetMaxIdleConns(1)
	sdb.SetConnMaxLifetime(0)
	sdb.SetConnMaxIdleTime(0)
	db := &DB{db: sdb, stmts: newStmtCache(sdb), dialect: sqliteDialect{}, logger: logger, Now: utcNow}
	if err := db.Ping(ctx); err != nil {
		sdb.Close()
		return nil, &bridge.Error{Code: bridge.EUNAVAILABLE,
			Message: fmt.Sprintf("cannot open sqlite database %s: check that its folder is writable and no other program holds it", file),
			Err:     err}
	}
	logger.Debug("opened database", "dialect", "sqlite", "file", file)
	return db, nil
}

func openPostgres(ctx context.Context, dsn string, logger *slog.Logger) (*DB, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep its cause only.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, bridge.Errorf(bridge.EINVALID, "invalid postgres DSN: %v", err)
	}
	// One round trip per statement instead of two (parse/describe, then
	// bind/execute): every statement here has parameters.
	cfg.BinaryParameters = true
	// Postgres's default random_page_cost (4) prices an index probe as a
	// disk read. The rows xbridge works on are in memory, and at that
	// price Postgres answers "these 40 ids" by scanning a table of
	// thousands of rows instead: 1.1, the usual setting for memory and SSDs,
	// keeps the lookups on their indexes. A DSN parameter
	// (?random_page_cost=4) overrides it.
	if cfg.Runtime == nil {
		cfg.Runtime = map[string]string{}
	}
	if _, set := cfg.Runtime["random_page_cost"]; !set {
		cfg.Runtime["random_page_cost"] = "1.1"
	}
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, bridge.Errorf(bridge.EINVALID, "invalid postgres DSN: %v", err)
	}
	pdb := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	pdb.SetMaxOpenConns(postgresMaxConns)
	pdb.SetMaxIdleConns(postgresMaxConns)
	pdb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{db: pdb, stmts: newStmtCache(pdb), dialect: postgresDialect{}, logger: logger, Now: utcNow}
	where := fmt.Sprintf("%s:%d (database %q, user %q)", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	if err := db.Ping(ctx); err != nil {
		pdb.Close()
		return nil, &bridge.Error{Code: bridge.EUNAVAILABLE,
			Message: fmt.Sprintf("cannot connect to postgres at %s: check that the server is running and accepts "+
				"connections there, and the DSN's host, port, user, password, database and sslmode", where),
			Err: err}
	}
	logger.Debug("opened database", "dialect", "postgres", "server", where)
	db.stopStats, db.statsDone = make(chan struct{}), make(chan struct{})
	go db.keepStatistics(db.stopStats, db.statsDone)
	return db, nil
}

func utcNow() time.Time { return time.Now().UTC() }

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// Close closes the database.
func (db *DB) Close() error {
	if db.stopStats != nil {
		close(db.stopStats)
		<-db.statsDone
	}
	db.stmts.close()
	return db.db.Close()
}

// pool runs statements outside a transaction, prepared once.
func (db *DB) pool() stmts { return stmts{cache: db.stmts} }

// InTx runs fn in one transaction, committing if it returns nil and rolling
// back if it returns an error or panics.
func (db *DB) InTx(ctx context.Context, fn func(tx bridge.Tx) error) error {
	return db.withTx(ctx, func(stx *sqlx.Tx) error {
		t := &tx{tx: stmts{cache: db.stmts, tx: stx}, db: db}
		return t.run(ctx, fn)
	})
}

// InTxRelaxed is InTx without waiting for the commit to reach the disk,
// for writes that are written again durably later.
func (db *DB) InTxRelaxed(ctx context.Context, fn func(tx bridge.Tx) error) error {
	return db.withTx(ctx, func(stx *sqlx.Tx) error {
		if err := db.dialect.relaxCommit(ctx, stx); err != nil {
			return err
		}
		t := &tx{tx: stmts{cache: db.stmts, tx: stx}, db: db}
		return t.run(ctx, fn)
	})
}

func (db *DB) withTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	stx, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(stx); err != nil {
		if rerr := stx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			db.logger.Warn("rollback failed", "err", rerr)
		}
		return db.transient(err)
	}
	if err := stx.Commit(); err != nil {
		return db.transient(fmt.Errorf("commit transaction: %w", err))
	}
	return nil
}

// transient marks an error of a transaction that lost a race (deadlock,
// serialization failure, busy database) as ECONFLICT: running it again
// may succeed, and callers that retry conflicts do.
func (db *DB) transient(err error) error {
	if db.dialect.isTransient(err) {
		return &bridge.Error{Code: bridge.ECONFLICT, Message: "concurrent update; try again", Err: err}
	}
	return err
}

// tx is the bridge.Tx of InTx.
type tx struct {
	tx     stmts
	db     *DB
	behind *writeBehind // nil unless WriteBehind was called (Postgres)
}

// run runs fn on t and sends what waits behind before the commit. When a
// flush failed, its error is the transaction's: what fn saw afterwards
// was only the aborted transaction.
func (t *tx) run(ctx context.Context, fn func(tx bridge.Tx) error) error {
	err := fn(t)
	if t.behind == nil {
		return err
	}
	if t.behind.err != nil {
		return t.behind.err
	}
	if err == nil {
		err = t.behind.flush(ctx)
	}
	return err
}

var _ bridge.Tx = (*tx)(nil)

// The statement helpers rebind the ? placeholders of q for the dialect.

func execQ(ctx context.Context, e sqlx.ExtContext, q string, args ...any) (sql.Result, error) {
	return e.ExecContext(ctx, e.Rebind(q), args...)
}

func queryRowQ(ctx context.Context, e sqlx.ExtContext, q string, args ...any) *sqlx.Row {
	return e.QueryRowxContext(ctx, e.Rebind(q), args...)
}

func queryQ(ctx context.Context, e sqlx.ExtContext, q string, args ...any) (*sqlx.Rows, error) {
	return e.QueryxContext(ctx, e.Rebind(q), args...)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// joinedRow scans a row that holds one record's columns followed by
// another's, which go to extra.
type joinedRow struct {
	scanner
	extra []any
}

func (j joinedRow) Scan(dest ...any) error { return j.scanner.Scan(append(dest, j.extra...)...) }

// qualified prefixes each of a list of columns with a table alias:
// qualified("id, name", "c") is "c.id, c.name".
func qualified(columns, alias string) string {
	fields := strings.FieldsFunc(columns, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	for i, f := range fields {
		fields[i] = alias + "." + f
	}
	return strings.Join(fields, ", ")
}

// wrap adds context to a failed statement, turning a unique-constraint
// failure into an ECONFLICT error.
func (db *DB) wrap(err error, op string) error {
	if db.dialect.isUniqueViolation(err) {
		return &bridge.Error{Code: bridge.ECONFLICT, Message: op + ": already exists", Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// updated checks that an UPDATE by id found its row.
func (db *DB) updated(res sql.Result, err error, what string, id int64) error {
	if err != nil {
		return db.wrap(err, fmt.Sprintf("update %s %d", what, id))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update %s %d: %w", what, id, err)
	}
	if n == 0 {
		return bridge.Errorf(bridge.ENOTFOUND, "%s %d not found", what, id)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// lookupErr turns sql.ErrNoRows into ENOTFOUND, "conversation 42 not found".
func lookupErr(err error, what string, key any) error {
	if isNoRows(err) {
		return bridge.Errorf(bridge.ENOTFOUND, "%s %v not found", what, key)
	}
	return fmt.Errorf("get %s %v: %w", what, key, err)
}

// micros is how times are stored: unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the UTC time of a stored micros value.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// timeCol scans a micros column into a time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*c.t = fromMicros(v)
	case nil:
		*c.t = time.Time{}
	default:
		return fmt.Errorf("time column holds %T, want unix microseconds", src)
	}
	return nil
}
