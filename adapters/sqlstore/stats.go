package sqlstore

import (
	"context"
	"time"

	"github.com/lib/pq"
)

// Postgres plans a statement from its tables' statistics, and keeps a
// prepared statement's generic plan until they change. A new database's
// tables have none until autovacuum first analyzes them, up to a minute
// later (autovacuum_naptime): statements prepared meanwhile keep plans made
// for nearly empty tables — whole-table scans — however much the tables
// grow, and every batch gets slower. keepStatistics analyzes a table once
// the rows changed since its statistics reach half of its rows, so plans
// are made again as a new database fills up; once tables are large,
// autovacuum's own threshold (a tenth) comes first.

const (
	statsInterval = 2 * time.Second
	// staleRows is the fewest rows changed for which a table is analyzed.
	staleRows = 500
)

// staleTables lists the stale tables this session may analyze: those of
// a role it has the privileges of (owner, superuser) or in a database it
// owns. A bridge running as a role that only reads and writes the tables
// (migrations run by their owner) leaves them to autovacuum: Postgres
// would skip them with a warning every statsInterval.
const staleTables = `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= $1 AND s.n_mod_since_analyze * 2 >= s.n_live_tup
AND (pg_has_role(c.relowner, 'USAGE')
	OR pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE'))
ORDER BY s.relname`

// keepStatistics analyzes stale tables every statsInterval until stop is
// closed, then closes done.
func (db *DB) keepStatistics(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if n, err := db.analyzeStale(ctx); err != nil {
			db.logger.Warn("analyze tables", "err", err)
		} else if n > 0 {
			db.logger.Debug("analyzed tables", "tables", n)
		}
		cancel()
	}
}

// analyzeStale analyzes the tables whose statistics are stale and says
// how many there were.
func (db *DB) analyzeStale(ctx context.Context) (int, error) {
	var tables []string
	if err := db.db.SelectContext(ctx, &tables, staleTables, staleRows); err != nil {
		return 0, err
	}
	for _, name := range tables {
		if _, err := db.db.ExecContext(ctx, "ANALYZE "+pq.QuoteIdentifier(name)); err != nil {
			return 0, err
		}
	}
	return len(tables), nil
}
