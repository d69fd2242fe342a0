package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A statement first seen inside a transaction that holds the pool's only
// connection (SQLite has one) must run at once: preparing it must not wait
// for a connection. Once prepared it gives the same answers.
func TestStatementsPreparedWithoutWaitingForTheirConnection(t *testing.T) {
	t.Parallel()
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const q = `SELECT ? + 1`
	run := func(tx stmts, v int) {
		t.Helper()
		var got int
		if err := queryRowQ(ctx, tx, q, v).Scan(&got); err != nil {
			t.Fatalf("run %q: %v", q, err)
		}
		if got != v+1 {
			t.Fatalf("%q with %d = %d, want %d", q, v, got, v+1)
		}
	}
	inTx := func(v int) {
		t.Helper()
		stx, err := db.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer stx.Rollback()
		run(stmts{cache: db.stmts, tx: stx}, v)
		run(stmts{cache: db.stmts, tx: stx}, v+10)
	}
	inTx(1)
	for db.stmts.get(q) == nil {
		if ctx.Err() != nil {
			t.Fatal("the statement was never prepared")
		}
		time.Sleep(time.Millisecond)
	}
	inTx(2)
	run(db.pool(), 3)
}

// Past maxPrepared texts, statements still run, as text.
func TestStatementsPastTheCacheBound(t *testing.T) {
	t.Parallel()
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range maxPrepared + 20 {
		var got int
		if err := queryRowQ(t.Context(), db.pool(), fmt.Sprintf("SELECT %d", i)).Scan(&got); err != nil || got != i {
			t.Fatalf("SELECT %d = %d, %v", i, got, err)
		}
	}
}
