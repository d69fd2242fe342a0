package sqlstore

import (
	"context"
	"fmt"
)

const cursorByName = `SELECT value FROM cursors WHERE name = ?`

// Cursor returns the value last set for name, ENOTFOUND if none was.
func (t *tx) Cursor(ctx context.Context, name string) (string, error) {
	var v string
	if err := queryRowQ(ctx, t.tx, cursorByName, name).Scan(&v); err != nil {
		return "", lookupErr(err, "cursor", name)
	}
	return v, nil
}

const setCursor = `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

// SetCursor sets the value of name.
func (t *tx) SetCursor(ctx context.Context, name, value string) error {
	if _, err := execQ(ctx, t.tx, setCursor, name, value, micros(t.db.Now())); err != nil {
		return t.db.wrap(err, fmt.Sprintf("set cursor %s", name))
	}
	return nil
}
