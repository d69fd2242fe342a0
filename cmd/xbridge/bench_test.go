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
// with one JSON object carrying every figure the README reports.
func TestBenchInboundReports(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	args := []string{"bench", "inbound", "--db", "sqlite", "--events", "60", "--rate", "300", "--workers", "16"}
	if err := run(t.Context(), args, &out, &errs, func(string) string { return "" }); err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep map[string]float64
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(strings.Replace(last, `"db":"sqlite",`, "", 1)), &rep); err != nil {
		t.Fatalf("last line %q is not the report: %v", last, err)
	}
	for _, k := range []string{"events_per_sec", "p50_ms", "p99_ms", "floor_events_per_sec", "ratio",
		"floor_cpu_ms_per_event", "cpu_ms_per_event", "floor_allocs_per_event", "allocs_per_event"} {
		if rep[k] <= 0 {
			t.Errorf("%s = %v, want a measurement", k, rep[k])
		}
	}
	if _, ok := rep["db_cpu_ms_per_event"]; ok {
		t.Error("SQLite runs in this process: no database CPU of its own to report")
	}
	if rep["events"] != 60 {
		t.Errorf("events = %v, want 60", rep["events"])
	}
	// The bridge does more per event than one insert and one post.
	if rep["allocs_per_event"] <= rep["floor_allocs_per_event"] {
		t.Errorf("allocations per event %v, floor %v: the phases were not told apart", rep["allocs_per_event"], rep["floor_allocs_per_event"])
	}
}

// With a PostgreSQL server on this machine the report also gives the
// server's CPU per event, for the floor and the bridge.
func TestBenchInboundReportsDatabaseCPU(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("XBRIDGE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but XBRIDGE_TEST_POSTGRES is not set")
		}
		t.Skip("XBRIDGE_TEST_POSTGRES not set")
	}
	if u, err := url.Parse(dsn); err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") || runtime.GOOS != "linux" {
		t.Skip("the server is not on this machine, or its processes cannot be read here")
	}
	var out, errs bytes.Buffer
	args := []string{"bench", "inbound", "--db", "postgres", "--events", "60", "--rate", "300", "--workers", "16"}
	getenv := func(k string) string {
		if k == "XBRIDGE_TEST_POSTGRES" {
			return dsn
		}
		return ""
	}
	if err := run(t.Context(), args, &out, &errs, getenv); err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep struct {
		DB      float64 `json:"db_cpu_ms_per_event"`
		FloorDB float64 `json:"floor_db_cpu_ms_per_event"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.DB <= 0 || rep.FloorDB <= 0 {
		t.Errorf("database CPU per event %v, floor %v: want both measured", rep.DB, rep.FloorDB)
	}
}
