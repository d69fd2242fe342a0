package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jmoiron/sqlx"
)

// maxPrepared bounds how many statement texts are kept prepared. Statements
// built with a variable number of placeholders (IN lists, multi-row
// inserts) come in many shapes; past the bound a text runs unprepared.
const maxPrepared = 512

// stmts runs statements prepared once per connection and kept, so the
// database parses and plans each statement text once, not on every run.
// It is a sqlx.ExtContext over the pool (tx nil) or over one transaction.
type stmts struct {
	cache *stmtCache
	tx    *sqlx.Tx // nil: the pool
	// behind, when set, has rows that must reach the database before
	// any statement runs.
	behind *writeBehind
}

var _ sqlx.ExtContext = stmts{}

// stmtCache holds the prepared statements of one pool, by rebound text.
type stmtCache struct {
	db *sqlx.DB

	mu        sync.Mutex
	m         map[string]*sqlx.Stmt
	preparing map[string]bool // being prepared, or failed to
	closed    bool
}

func newStmtCache(db *sqlx.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sqlx.Stmt{}, preparing: map[string]bool{}}
}

// get returns q's prepared statement; nil when it is not prepared yet (the
// caller runs q as text this time) or the cache is full. A miss prepares q
// in the background: preparing takes a connection of the pool, and the
// caller may be a transaction holding the last one.
func (c *stmtCache) get(q string) *sqlx.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[q]; ok || len(c.m) >= maxPrepared {
		return s
	}
	if c.preparing[q] {
		return nil
	}
	c.preparing[q] = true
	go c.prepare(q)
	return nil
}

// prepare parses q on one connection of the pool; database/sql prepares
// it again on each connection that runs it. A text that fails to prepare
// is not tried again: it keeps running as text, which reports its error.
func (c *stmtCache) prepare(q string) {
	s, err := c.db.Preparex(q)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || c.closed {
		if s != nil {
			s.Close()
		}
		return
	}
	delete(c.preparing, q)
	c.m[q] = s
}

// close releases every prepared statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// stmt returns q's prepared statement for this pool or transaction, or nil.
func (s stmts) stmt(ctx context.Context, q string) *sqlx.Stmt {
	ps := s.cache.get(q)
	if ps == nil || s.tx == nil {
		return ps
	}
	// Reuses the statement already prepared on the transaction's
	// connection, or prepares it there once.
	return s.tx.StmtxContext(ctx, ps)
}

func (s stmts) ext() sqlx.ExtContext {
	if s.tx != nil {
		return s.tx
	}
	return s.cache.db
}

func (s stmts) DriverName() string     { return s.cache.db.DriverName() }
func (s stmts) Rebind(q string) string { return s.cache.db.Rebind(q) }
func (s stmts) BindNamed(q string, arg any) (string, []any, error) {
	return s.cache.db.BindNamed(q, arg)
}

// flush sends the rows waiting behind, if any.
func (s stmts) flush(ctx context.Context) error {
	if s.behind == nil {
		return nil
	}
	return s.behind.flush(ctx)
}

func (s stmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	if ps := s.stmt(ctx, q); ps != nil {
		return ps.ExecContext(ctx, args...)
	}
	return s.ext().ExecContext(ctx, q, args...)
}

func (s stmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	if ps := s.stmt(ctx, q); ps != nil {
		return ps.QueryContext(ctx, args...)
	}
	return s.ext().QueryContext(ctx, q, args...)
}

func (s stmts) QueryxContext(ctx context.Context, q string, args ...any) (*sqlx.Rows, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	if ps := s.stmt(ctx, q); ps != nil {
		return ps.QueryxContext(ctx, args...)
	}
	return s.ext().QueryxContext(ctx, q, args...)
}

// QueryRowxContext cannot return a flush's error: the flush keeps it, the
// statement then fails in the aborted transaction, and the transaction
// reports the flush's error (tx.run).
func (s stmts) QueryRowxContext(ctx context.Context, q string, args ...any) *sqlx.Row {
	_ = s.flush(ctx)
	if ps := s.stmt(ctx, q); ps != nil {
		return ps.QueryRowxContext(ctx, args...)
	}
	return s.ext().QueryRowxContext(ctx, q, args...)
}
