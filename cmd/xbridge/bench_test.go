package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/sqlstore"
)

// bench inbound runs its three phases through the real endpoint and ends
// with one JSON object carrying every figure the README reports, on each
// store; with Postgres on this machine, its CPU per event too.
//
// Not in parallel, with other tests or between the stores: the process's
// CPU time and allocations it reports count every goroutine, so another
// test running meanwhile makes the floor look as busy as the bridge.
func TestBenchInboundReports(t *testing.T) {
	for db := range databases(t) {
		t.Run(db, func(t *testing.T) {
			rep := benchInbound(t, db)
			want := []string{"events_per_sec", "p50_ms", "p99_ms", "floor_events_per_sec", "ratio",
				"floor_cpu_ms_per_event", "cpu_ms_per_event", "floor_allocs_per_event", "allocs_per_event"}
			dbCPU := []string{"db_cpu_ms_per_event", "floor_db_cpu_ms_per_event"}
			switch {
			case db == "postgres" && localServer(os.Getenv("XBRIDGE_TEST_POSTGRES")):
				want = append(want, dbCPU...)
			case db == "sqlite":
				for _, k := range dbCPU {
					if _, ok := rep[k]; ok {
						t.Errorf("%s reported: SQLite runs in this process, its CPU is the process's", k)
					}
				}
			}
			for _, k := range want {
				if rep[k] <= 0 {
					t.Errorf("%s = %v, want a measurement", k, rep[k])
				}
			}
			if rep["events"] != 60 || rep["floor_posts"] != 1 {
				t.Errorf("events = %v, floor_posts = %v, want 60 and 1", rep["events"], rep["floor_posts"])
			}
			// The bridge does more per event than one insert and one post.
			if rep["allocs_per_event"] <= rep["floor_allocs_per_event"] {
				t.Errorf("allocations per event %v, floor %v: the phases were not told apart", rep["allocs_per_event"], rep["floor_allocs_per_event"])
			}
		})
	}
}

// The floor makes as many Slack posts per event as --floor-posts says: a
// root, and with 2 one reply in that root's thread, as the bridge posts a
// card and the customer's message under it.
func TestBenchFloorPosts(t *testing.T) {
	for _, posts := range []int{1, 2} {
		t.Run(strconv.Itoa(posts), func(t *testing.T) {
			s, err := startSims(false, false)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var mu sync.Mutex
			roots, replies := map[string]bool{}, map[string]int{}
			s.Slack.OnCall(func(c slacksim.Call) {
				if c.Method != "chat.postMessage" || !c.OK {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if ts := c.Params.Get("thread_ts"); ts != "" {
					replies[ts]++
				} else {
					roots[c.Params.Get("text")] = true
				}
			})
			store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "floor.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if err := store.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			const events = 20
			payloads := make([][]byte, events)
			for i := range payloads {
				payloads[i] = []byte(`{}`)
			}
			if _, err := benchFloor(t.Context(), store, s, payloads, 4, posts); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(roots) != events {
				t.Errorf("%d roots posted, want %d", len(roots), events)
			}
			wantReplies := (posts - 1) * events
			n := 0
			for ts, k := range replies {
				n += k
				if k != 1 {
					t.Errorf("thread %s got %d replies, want 1", ts, k)
				}
			}
			if n != wantReplies {
				t.Errorf("%d replies in threads, want %d", n, wantReplies)
			}
			if v := s.Slack.Violations(); len(v) > 0 {
				t.Errorf("the simulator saw invalid requests: %v", v)
			}
		})
	}
	for _, bad := range []string{"0", "3"} {
		var out, errs bytes.Buffer
		err := run(t.Context(), []string{"bench", "inbound", "--floor-posts", bad}, &out, &errs, func(string) string { return "" })
		if err == nil || !strings.Contains(errs.String(), "--floor-posts "+bad) {
			t.Errorf("--floor-posts %s: err %v, stderr %q; want a usage error naming the flag", bad, err, errs.String())
		}
	}
}

// benchInbound runs bench inbound small on db and returns its report, the
// last line of its output.
func benchInbound(t *testing.T, db string) map[string]float64 {
	t.Helper()
	var out, errs bytes.Buffer
	args := []string{"bench", "inbound", "--db", db, "--events", "60", "--rate", "300", "--workers", "16"}
	getenv := func(k string) string { // the test server, never XBRIDGE_DATABASE_URL
		if k == "XBRIDGE_TEST_POSTGRES" {
			return os.Getenv(k)
		}
		return ""
	}
	if err := run(t.Context(), args, &out, &errs, getenv); err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep map[string]float64
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(strings.Replace(last, `"db":"`+db+`",`, "", 1)), &rep); err != nil {
		t.Fatalf("last line %q is not the report: %v", last, err)
	}
	return rep
}

// localServer says whether the Postgres of dsn runs on this machine, where
// its processes can be read (Linux).
func localServer(dsn string) bool {
	u, err := url.Parse(dsn)
	return err == nil && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost") && runtime.GOOS == "linux"
}
