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

const staleTables = `SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND n_mod_since_analyze >= $1 AND n_mod_since_analyze * 2 >= n_live_tup
ORDER BY relname`

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
