package sqlstore_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// runPostgresSuite checks what only a database shared by several
// connections can break: replicas claiming, migrating and handling events
// at once.
func runPostgresSuite(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
	t.Run("ConcurrentMigrate", func(t *testing.T) {
		t.Parallel()
		testConcurrentMigrate(t, open(t))
	})
	t.Run("PlannerSettings", func(t *testing.T) {
		t.Parallel()
		testPlannerSettings(t, os.Getenv("XBRIDGE_TEST_POSTGRES"))
	})
	t.Run("StatisticsLeftToTheOwner", func(t *testing.T) {
		t.Parallel()
		testStatisticsLeftToTheOwner(t, os.Getenv("XBRIDGE_TEST_POSTGRES"))
	})
	runMigrated(t, open, []suiteTest{
		{"ConcurrentClaims", testConcurrentClaims},
		{"RowLocks", testRowLocks},
		{"ThreadRecordedInPlace", testThreadRecordedInPlace},
		{"LookupsPlannedThroughIndexes", testLookupsPlannedThroughIndexes},
		{"SnapshotOneStatement", testSnapshotOneStatement},
		{"YoungTablesAnalyzed", testYoungTablesAnalyzed},
	})
}

// testConcurrentClaims runs four claim loops over 200 items in 20 seq keys:
// every item is claimed exactly once, the items of a key in id order, and
// never two of one key at a time.
func testConcurrentClaims(t *testing.T, db *sqlstore.DB) {
	const (
		total   = 200
		keys    = 20
		workers = 4
	)
	var items []*bridge.OutboxItem
	for i := range total {
		items = append(items, item(fmt.Sprintf("i%03d", i), fmt.Sprintf("k%02d", i%keys), 10*(i%3)))
	}
	enqueue(t, db, items...)

	var (
		mu       sync.Mutex
		inflight = map[string]int64{} // seq key → the item a worker holds
		claims   = map[int64]int{}
		lastID   = map[string]int64{} // seq key → the last item claimed
		done     atomic.Int64
	)
	hold := func(it *bridge.OutboxItem) {
		mu.Lock()
		defer mu.Unlock()
		claims[it.ID]++
		if other, ok := inflight[it.SeqKey]; ok {
			t.Errorf("item %d of %s claimed while item %d of it is inflight", it.ID, it.SeqKey, other)
		}
		if it.ID < lastID[it.SeqKey] {
			t.Errorf("item %d of %s claimed after item %d", it.ID, it.SeqKey, lastID[it.SeqKey])
		}
		inflight[it.SeqKey], lastID[it.SeqKey] = it.ID, it.ID
	}
	// release runs before the item is marked done: once the database lets
	// the next item of the key go, the tracker must too.
	release := func(it *bridge.OutboxItem) {
		mu.Lock()
		defer mu.Unlock()
		delete(inflight, it.SeqKey)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for done.Load() < total && ctx.Err() == nil {
				claimed, err := db.ClaimOutbox(ctx, time.Now(), time.Minute, 3)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(claimed) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, it := range claimed {
					hold(it)
				}
				for _, it := range claimed {
					time.Sleep(time.Millisecond)
					release(it)
					next := *it
					next.State = bridge.OutboxDone
					err := db.InTx(ctx, func(tx bridge.Tx) error {
						return tx.UpdateOutbox(ctx, &next, bridge.OutboxInflight, it.Attempts)
					})
					if err != nil {
						t.Errorf("mark %d done: %v", it.ID, err)
						return
					}
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("only %d of %d items done in time", done.Load(), total)
	}
	mustEqual(t, "items claimed", len(claims), total)
	for id, n := range claims {
		if n != 1 {
			t.Errorf("item %d claimed %d times", id, n)
		}
	}
	s, err := db.OutboxStats(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "backlog after the run", s.Depth, 0)
}

// testConcurrentMigrate migrates one fresh database from several
// connections at once.
func testConcurrentMigrate(t *testing.T, db *sqlstore.DB) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := db.Migrate(t.Context()); err != nil {
				t.Errorf("migrate: %v", err)
			}
		})
	}
	wg.Wait()
	applied, err := db.Applied(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0].Version != 1 {
		t.Fatalf("applied = %+v", applied)
	}
	for i := 1; i < len(applied); i++ {
		if applied[i].Version == applied[i-1].Version {
			t.Fatalf("migration %d recorded twice", applied[i].Version)
		}
	}
}

// testRowLocks checks that the lookups an event acts on wait for another
// transaction holding the conversation, then see what it wrote.
func testRowLocks(t *testing.T, db *sqlstore.DB) {
	cust := addCustomer(t, db, "42")
	for _, tc := range []struct {
		name   string
		lookup func(ctx context.Context, tx bridge.Tx, c *bridge.Conversation) (*bridge.Conversation, error)
	}{
		{"Conversation", func(ctx context.Context, tx bridge.Tx, c *bridge.Conversation) (*bridge.Conversation, error) {
			return tx.Conversation(ctx, c.ID)
		}},
		{"ActiveConversation", func(ctx context.Context, tx bridge.Tx, c *bridge.Conversation) (*bridge.Conversation, error) {
			return tx.ActiveConversation(ctx, c.Account, c.Kind, c.XKey, c.CustomerID)
		}},
		{"ConversationByThread", func(ctx context.Context, tx bridge.Tx, c *bridge.Conversation) (*bridge.Conversation, error) {
			return tx.ConversationByThread(ctx, c.ChatPlatform, c.ChatChannel, c.ChatThreadID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			conv := addConversation(t, db, cust, "dm-"+tc.name)
			locked, release := make(chan struct{}), make(chan struct{})
			unlock := sync.OnceFunc(func() { close(release) })
			defer unlock() // also when the test fails early
			first := make(chan error, 1)
			go func() {
				first <- db.InTx(ctx, func(tx bridge.Tx) error {
					c, err := tx.Conversation(ctx, conv.ID)
					if err != nil {
						return err
					}
					close(locked)
					<-release
					c.Priority = bridge.PriorityUrgent
					return tx.UpdateConversation(ctx, c)
				})
			}()
			<-locked
			second := make(chan *bridge.Conversation, 1)
			go func() {
				var seen *bridge.Conversation
				err := db.InTx(ctx, func(tx bridge.Tx) error {
					var err error
					seen, err = tc.lookup(ctx, tx, conv)
					return err
				})
				if err != nil {
					t.Errorf("second transaction: %v", err)
				}
				second <- seen
			}()
			select {
			case <-second:
				t.Fatal("the second transaction read the conversation while the first held it")
			case <-time.After(100 * time.Millisecond):
			}
			unlock()
			if err := <-first; err != nil {
				t.Fatalf("first transaction: %v", err)
			}
			if seen := <-second; seen == nil || seen.Priority != bridge.PriorityUrgent {
				t.Fatalf("second transaction saw %+v, want the first one's update", seen)
			}
		})
	}
}

// testThreadRecordedInPlace: recording a new card's thread changes no
// indexed column of conversations, so Postgres writes it as a heap-only
// update, and the thread is still found.
func testThreadRecordedInPlace(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	conv := newConversation(addCustomer(t, db, "42"), "dm-1")
	conv.ChatThreadID = ""
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, conv) })
	err := db.RawTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.SetThreadsIn(ctx, tx, map[int64]string{conv.ID: "T1"}); err != nil {
			return err
		}
		var updated, inPlace int
		err := tx.QueryRowContext(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
			WHERE relname = 'conversations'`).Scan(&updated, &inPlace)
		if err != nil {
			return err
		}
		if updated != 1 || inPlace != 1 {
			t.Errorf("recording a thread updated %d conversations, %d of them heap-only; want 1 and 1", updated, inPlace)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.ConversationByThread(ctx, conv.ChatPlatform, conv.ChatChannel, "T1")
		if err == nil {
			mustEqual(t, "conversation of the recorded thread", got.ID, conv.ID)
		}
		return err
	})
}

// testSnapshotOneStatement: the snapshot of a claimed batch reads each
// table with one prepared statement whatever the batch size, so Postgres
// can keep its plan; an IN list per size made a statement per size, each
// planned again at every run until it had run five times on a connection.
func testSnapshotOneStatement(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	db.OneConnection()
	var convs, msgs []int64
	for i := range 40 {
		conv := newConversation(addCustomer(t, db, fmt.Sprint(100+i)), fmt.Sprintf("dm-%d", i))
		inTx(t, db, func(tx bridge.Tx) error {
			if err := tx.CreateConversation(ctx, conv); err != nil {
				return err
			}
			m := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionIn, Text: "hi", XID: fmt.Sprint("x", i)}
			err := tx.InsertMessage(ctx, m)
			msgs = append(msgs, m.ID)
			return err
		})
		convs = append(convs, conv.ID)
	}
	sizes := []int{1, 2, 3, 5, 9, 17, 33, 40}
	for _, n := range sizes {
		snap, err := db.Snapshot(ctx, convs[:n], msgs[:n])
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Conversations) != n || len(snap.Messages) != n {
			t.Fatalf("snapshot of %d: %d conversations, %d messages", n, len(snap.Conversations), len(snap.Messages))
		}
	}
	err := db.RawTx(ctx, func(tx *sqlx.Tx) error {
		for table, like := range map[string]string{
			"conversations": "%FROM conversations c CROSS JOIN LATERAL%",
			"messages":      "%FROM messages m WHERE m.id%",
		} {
			var statements, runs int
			err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(generic_plans + custom_plans), 0)
				FROM pg_prepared_statements WHERE statement LIKE $1`, like).Scan(&statements, &runs)
			if err != nil {
				return err
			}
			// Plans Postgres drops (a table analyzed meanwhile) leave the
			// runs counted short of the batches.
			if statements != 1 || runs < len(sizes)/2 {
				t.Errorf("snapshot of %s in %d batch sizes: %d prepared statements, run %d times; want 1 run for every batch",
					table, len(sizes), statements, runs)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testLookupsPlannedThroughIndexes: in a new database, whose statistics are
// young, the lookups of every intake batch and every claimed batch still go
// through the indexes rather than scanning whole tables (which made each
// batch slower as the tables grew).
func testLookupsPlannedThroughIndexes(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	const rows, asked = 5000, 16
	err := db.RawTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO customers (x_user_id, handle)
			SELECT 'u' || g, 'h' || g FROM generate_series(1, $1) g`, rows); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (kind, account, x_key, customer_id, status)
			SELECT 'dm', '1000', 'dm-' || id, id, 'open' FROM customers`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sla_targets (conversation_id, metric, cycle, state)
			SELECT id, m, 1, 'running' FROM conversations, unnest(ARRAY['first_response', 'resolution']) m`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range asked {
		ids = append(ids, int64(1+i*rows/asked))
	}
	accounts, kinds, keys, customers := make([]string, asked), make([]string, asked), make([]string, asked), make([]int64, asked)
	for i := range asked {
		accounts[i], kinds[i], keys[i], customers[i] = "1000", "dm", "dm-new", int64(1+i*rows/asked)
	}
	for _, tc := range []struct {
		name string
		q    string
		args []any
	}{
		{"latest conversations of an intake batch", sqlstore.LatestConversationsPostgres,
			[]any{pq.Array(accounts), pq.Array(kinds), pq.Array(keys), pq.Array(customers)}},
		{"snapshot of a claimed batch", sqlstore.SnapshotConversationsPostgres(), []any{pq.Array(ids)}},
		{"SLA targets of a claimed batch", sqlstore.SnapshotTargetsPostgres, []any{pq.Array(customers)}},
	} {
		err := db.RawTx(ctx, func(tx *sqlx.Tx) error {
			var plan []string
			if err := tx.SelectContext(ctx, &plan, "EXPLAIN "+tx.Rebind(tc.q), tc.args...); err != nil {
				return err
			}
			if p := strings.Join(plan, "\n"); strings.Contains(p, "Seq Scan") {
				t.Errorf("%s scans a whole table:\n%s", tc.name, p)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}

// testStatisticsLeftToTheOwner: a bridge connecting as a role that may
// read and write the tables but does not own them (the migrations ran as
// their owner) does not try to analyze them — Postgres would skip each
// with a warning in its log, every two seconds.
func testStatisticsLeftToTheOwner(t *testing.T, base string) {
	ctx := t.Context()
	dsn, drop, err := sqlstore.ScratchPostgres(ctx, base, "xbridge_owner")
	if err != nil {
		t.Fatal(err)
	}
	role := "xbridge_app_" + randomHex(t, 6)
	owner, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ownerRaw := func(qs ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return owner.RawTx(ctx, func(tx *sqlx.Tx) error {
			for _, q := range qs {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		})
	}
	t.Cleanup(func() {
		if err := ownerRaw("DROP OWNED BY "+role, "DROP ROLE "+role); err != nil {
			t.Errorf("drop role: %v", err)
		}
		owner.Close()
		if err := drop(); err != nil {
			t.Errorf("drop scratch database: %v", err)
		}
	})
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = ownerRaw("CREATE ROLE "+role+" LOGIN",
		"GRANT USAGE ON SCHEMA public TO "+role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "+role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "+role)
	if err != nil {
		t.Fatal(err)
	}
	// Only the app's keeper runs from here on: the owner's stops with its
	// pool.
	owner.StopStatistics()

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	app, err := sqlstore.Open(ctx, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	inTx(t, app, func(tx bridge.Tx) error {
		for i := range 600 {
			if err := tx.UpsertCustomer(ctx, &bridge.Customer{XUserID: fmt.Sprint("app", i), Handle: fmt.Sprint("h", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	// The table is stale once the server's statistics show the rows.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var changed int
		err := app.RawTx(ctx, func(tx *sqlx.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT n_mod_since_analyze FROM pg_stat_user_tables
				WHERE relname = 'customers'`).Scan(&changed)
		})
		if err != nil {
			t.Fatal(err)
		}
		if changed >= 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("customers shows %d rows changed after 10 s, want 600", changed)
		}
	}
	n, err := app.AnalyzeStale(ctx)
	if err != nil || n != 0 {
		t.Errorf("the app's statistics keeper analyzed %d tables (err %v); want none, it owns none", n, err)
	}
}

// testPlannerSettings: sessions price index probes as memory reads
// (random_page_cost 1.1) unless the DSN says otherwise.
func testPlannerSettings(t *testing.T, base string) {
	for dsnParam, want := range map[string]string{"": "1.1", "random_page_cost=4": "4"} {
		dsn, drop, err := sqlstore.ScratchPostgres(t.Context(), base, "xbridge_settings")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := drop(); err != nil {
				t.Errorf("drop scratch database: %v", err)
			}
		})
		if dsnParam != "" {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			dsn += sep + dsnParam
		}
		db, err := sqlstore.Open(t.Context(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.RawTx(t.Context(), func(tx *sqlx.Tx) error {
			return tx.QueryRowContext(t.Context(), "SHOW random_page_cost").Scan(&got)
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("DSN with %q: random_page_cost = %s, want %s", dsnParam, got, want)
		}
	}
}

// testYoungTablesAnalyzed: a table that fills up in a new database gets
// statistics within seconds, not autovacuum's minute, so that statements
// are planned for its size.
func testYoungTablesAnalyzed(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	err := db.RawTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (x_user_id, handle)
			SELECT 'u' || g, 'h' || g FROM generate_series(1, 2000) g`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var analyzed bool
		err := db.RawTx(ctx, func(tx *sqlx.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables
				WHERE relname = 'customers'`).Scan(&analyzed)
		})
		if err != nil {
			t.Fatal(err)
		}
		if analyzed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("customers, 2,000 rows new, was not analyzed within 15 s")
		}
	}
}
