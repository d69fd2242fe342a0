package sqlstore

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/xbridge/xbridge/migrations"
)

// AppliedMigration is a migration recorded in schema_migrations.
type AppliedMigration struct {
	Version   int64
	Name      string
	AppliedAt time.Time
}

// migration is the Up section of one migrations/<dialect>/NNNN_name.sql.
type migration struct {
	version int64
	name    string
	up      string
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	name       TEXT   NOT NULL DEFAULT '',
	applied_at BIGINT NOT NULL DEFAULT 0
)`

const migrationApplied = `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`

const recordMigration = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`

// Migrate applies the pending migrations of the dialect in version order,
// each in its own transaction with its record in schema_migrations. It is
// idempotent, and on Postgres replicas that migrate at once take turns.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrations.FS, db.dialect.name())
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		err := db.migrationTx(ctx, func(tx *sqlx.Tx) error {
			var n int
			if err := queryRowQ(ctx, tx, migrationApplied, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.up); err != nil {
				return err
			}
			if _, err := execQ(ctx, tx, recordMigration, m.version, m.name, micros(db.Now())); err != nil {
				return err
			}
			db.logger.Info("applied migration", "version", m.version, "name", m.name)
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

const appliedMigrations = `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`

// Applied lists the migrations applied so far, in version order.
func (db *DB) Applied(ctx context.Context) ([]AppliedMigration, error) {
	var out []AppliedMigration
	err := db.migrationTx(ctx, func(tx *sqlx.Tx) error {
		rows, err := queryQ(ctx, tx, appliedMigrations)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m AppliedMigration
			if err := rows.Scan(&m.Version, &m.Name, timeCol{&m.AppliedAt}); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	return out, nil
}

// migrationTx runs fn in a transaction that holds the migration lock and
// sees schema_migrations.
func (db *DB) migrationTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return db.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.dialect.lockMigrations(ctx, tx); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, createVersionTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		return fn(tx)
	})
}

// loadMigrations reads dir/NNNN_name.sql from fsys in version order.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	files, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".sql")
		num, name, _ := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: name is not NNNN_name.sql", f)
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		up, err := upSection(string(body))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		ms = append(ms, migration{version: v, name: name, up: up})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("%s: two migrations numbered %d", dir, ms[i].version)
		}
	}
	return ms, nil
}

// upSection returns the statements between "-- +goose Up" and
// "-- +goose Down" (or the end).
func upSection(body string) (string, error) {
	var (
		up   strings.Builder
		inUp bool
		seen bool
	)
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	for sc.Scan() {
		line := sc.Text()
		switch strings.TrimSpace(line) {
		case "-- +goose Up":
			inUp, seen = true, true
			continue
		case "-- +goose Down":
			inUp = false
			continue
		}
		if inUp {
			up.WriteString(line)
			up.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !seen || strings.TrimSpace(up.String()) == "" {
		return "", fmt.Errorf("no -- +goose Up section")
	}
	return up.String(), nil
}
