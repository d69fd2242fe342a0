package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// t0 is the suite's "now": times are explicit, never the wall clock.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// openSQLite opens a fresh, unmigrated SQLite database in a temp dir.
func openSQLite(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "xbridge.db"), testLogger(t))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresOpener returns a function that opens a fresh, unmigrated
// database of its own on the server of XBRIDGE_TEST_POSTGRES, dropped when
// the test ends. Without the variable the test is skipped, unless CI=true:
// CI must run the Postgres suite.
func postgresOpener(t *testing.T) func(t *testing.T) *sqlstore.DB {
	t.Helper()
	dsn := os.Getenv("XBRIDGE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but XBRIDGE_TEST_POSTGRES is not set: CI must run the Postgres suite")
		}
		t.Skip("XBRIDGE_TEST_POSTGRES not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	base, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("XBRIDGE_TEST_POSTGRES is not a URL: %v", err)
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open XBRIDGE_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("XBRIDGE_TEST_POSTGRES (%s) is unreachable: %v", base.Redacted(), err)
	}
	return func(t *testing.T) *sqlstore.DB {
		t.Helper()
		name := "xbridge_test_" + randomHex(t, 8)
		if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create database %s: %v", name, err)
		}
		t.Cleanup(func() {
			// t.Context is done by now.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
		})
		u := *base
		u.Path = "/" + name
		db, err := sqlstore.Open(t.Context(), u.String(), testLogger(t))
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// migrated is open followed by Migrate.
func migrated(t *testing.T, open func(t *testing.T) *sqlstore.DB) *sqlstore.DB {
	t.Helper()
	db := open(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// inTx runs fn in a transaction and fails the test on error.
func inTx(t *testing.T, db *sqlstore.DB, fn func(tx bridge.Tx) error) {
	t.Helper()
	if err := db.InTx(t.Context(), fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := bridge.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func addCustomer(t *testing.T, db *sqlstore.DB, xUserID string) *bridge.Customer {
	t.Helper()
	c := &bridge.Customer{XUserID: xUserID, Handle: "h" + xUserID, Name: "Customer " + xUserID, UpdatedAt: t0}
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpsertCustomer(t.Context(), c) })
	return c
}

func newConversation(cust *bridge.Customer, key string) *bridge.Conversation {
	return &bridge.Conversation{
		Kind: bridge.KindDM, Account: "1000", XKey: key, CustomerID: cust.ID,
		Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
		ChatPlatform: "slack", ChatChannel: "C1", ChatThreadID: "th-" + key,
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func addConversation(t *testing.T, db *sqlstore.DB, cust *bridge.Customer, key string) *bridge.Conversation {
	t.Helper()
	c := newConversation(cust, key)
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(t.Context(), c) })
	return c
}

// item is a due pending outbox item of seqKey.
func item(idem, seqKey string, priority int) *bridge.OutboxItem {
	return &bridge.OutboxItem{
		Effect: bridge.EffectPost, Lane: "slack:C1", SeqKey: seqKey, Priority: priority, IdemKey: idem,
		Payload: bridge.Payload{Text: "text " + idem}, State: bridge.OutboxPending,
		NotBefore: t0, CreatedAt: t0, UpdatedAt: t0,
	}
}

func enqueue(t *testing.T, db *sqlstore.DB, items ...*bridge.OutboxItem) {
	t.Helper()
	inTx(t, db, func(tx bridge.Tx) error { return tx.Enqueue(t.Context(), items...) })
}

func claim(t *testing.T, db *sqlstore.DB, now time.Time, limit int) []*bridge.OutboxItem {
	t.Helper()
	items, err := db.ClaimOutbox(t.Context(), now, time.Minute, limit)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return items
}

// idems lists the IdemKeys of items, in order.
func idems(items []*bridge.OutboxItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.IdemKey)
	}
	return out
}

// finish moves a claimed item to done.
func finish(t *testing.T, db *sqlstore.DB, it *bridge.OutboxItem) {
	t.Helper()
	done := *it
	done.State = bridge.OutboxDone
	inTx(t, db, func(tx bridge.Tx) error {
		return tx.UpdateOutbox(t.Context(), &done, bridge.OutboxInflight, it.Attempts)
	})
}

func mustEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s =\n\t%+v\nwant\n\t%+v", what, got, want)
	}
}

func mustEqualSlice(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}
