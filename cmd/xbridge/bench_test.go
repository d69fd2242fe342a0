package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
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
			if rep["events"] != 60 {
				t.Errorf("events = %v, want 60", rep["events"])
			}
			// The bridge does more per event than one insert and one post.
			if rep["allocs_per_event"] <= rep["floor_allocs_per_event"] {
				t.Errorf("allocations per event %v, floor %v: the phases were not told apart", rep["allocs_per_event"], rep["floor_allocs_per_event"])
			}
		})
	}
}

// localServer says whether the Postgres of dsn runs on this machine, where
// its processes can be read (Linux).
func localServer(dsn string) bool {
	u, err := url.Parse(dsn)
	return err == nil && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost") && runtime.GOOS == "linux"
}
