package sqlstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dsn  func(dir string) string
		file string // relative to dir; "" for none
	}{
		{"memory", func(string) string { return "sqlite::memory:" }, ""},
		{"nested path", func(dir string) string { return "sqlite:" + filepath.Join(dir, "a", "b", "x.db") }, "a/b/x.db"},
		{"URL form", func(dir string) string { return "sqlite://" + filepath.Join(dir, "x.db") }, "x.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, err := sqlstore.Open(t.Context(), tc.dsn(dir), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			mustEqual(t, "dialect", db.Dialect(), "sqlite")
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			// State outlives a transaction, also in memory.
			addCustomer(t, db, "42")
			inTx(t, db, func(tx bridge.Tx) error {
				_, err := tx.CustomerByXUserID(t.Context(), "42")
				return err
			})
			if tc.file != "" {
				for _, f := range []string{tc.file, tc.file + "-wal"} { // WAL mode
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("after a write: %v", err)
					}
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dsn, code string
		mention         []string
	}{
		{"unknown scheme", "mysql://u:s3cret@db/x", bridge.EINVALID, []string{"sqlite:", "postgres://"}},
		{"sqlite without file", "sqlite:", bridge.EINVALID, []string{"sqlite:xbridge.db"}},
		{"bad postgres URL", "postgres://u:s3cret@[::1/x", bridge.EINVALID, []string{"postgres DSN"}},
		{"unreachable postgres", "postgres://u:s3cret@127.0.0.1:1/xb?sslmode=disable", bridge.EUNAVAILABLE,
			[]string{"127.0.0.1:1", `"xb"`, `"u"`, "running"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqlstore.Open(t.Context(), tc.dsn, nil)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			wantCode(t, err, tc.code)
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
			for _, m := range tc.mention {
				if !strings.Contains(bridge.ErrorMessage(err), m) {
					t.Errorf("message %q does not mention %s", bridge.ErrorMessage(err), m)
				}
			}
		})
	}
}
