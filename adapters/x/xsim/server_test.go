package xsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUnknownEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		status             int
		why                string
	}{
		{"unknown path", "GET", "/2/direct_messages", 404, "no such endpoint"},
		{"v1.1 path", "POST", "/1.1/direct_messages/events/new.json", 404, "no such endpoint"},
		{"root", "GET", "/", 404, "no such endpoint"},
		{"wrong method", "DELETE", "/2/dm_events", 404, "method not allowed"},
		{"in the API but not simulated", "GET", "/2/users/by?usernames=alice", 501, "not simulated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp, body := f.do(t, tc.method, tc.path, nil, bearer)
			mustStatus(t, resp, body, tc.status)
			if v := violationsContaining(f.sim, tc.why); len(v) != 1 {
				t.Fatalf("violations %q, want one about %q", f.sim.Violations(), tc.why)
			}
		})
	}
}

func TestDMConversationID(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want string }{
		{"1000", "2001", "1000-2001"},
		{"2001", "1000", "1000-2001"},
		{"999", "1000", "999-1000"},
		{"1000", "999", "999-1000"},
		{"1546812011000000000", "783214", "783214-1546812011000000000"},
	}
	for _, tc := range tests {
		if got := DMConversationID(tc.a, tc.b); got != tc.want {
			t.Errorf("DMConversationID(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestIDsIncreaseAcrossKinds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var last uint64
	check := func(id string) {
		t.Helper()
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil || n <= last || len(id) < 18 {
			t.Fatalf("id %s after %d", id, last)
		}
		last = n
	}
	for i := range 5 {
		check(f.sim.CustomerDM("2001", "dm").ID)
		check(f.sim.CustomerMention("2001", fmt.Sprint("t", i), "").ID)
		if i == 2 {
			f.clock.Advance(-time.Hour) // a clock going backwards does not break the order
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Helpers that call t.Fatal must not run on other goroutines: report
	// with t.Error instead.
	send := func(method, path, body string) {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testUserToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := testHTTPClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				f.sim.CustomerDM("2001", "x")
				send(http.MethodPost, dmPath, fmt.Sprintf(`{"text":"%d-%d"}`, i, j))
				send(http.MethodGet, "/2/dm_events?max_results=5", "")
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ev := range f.sim.DMEvents() {
		if seen[ev.ID] {
			t.Fatalf("duplicate id %s", ev.ID)
		}
		seen[ev.ID] = true
	}
	if len(seen) != 80 {
		t.Fatalf("%d DMs, want 80", len(seen))
	}
	noViolations(t, f.sim)
}

func TestRequestLogAndObserver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	var seen []RequestLog
	f.sim.OnRequest(func(l RequestLog) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, l)
	})
	f.do(t, http.MethodPost, dmPath, map[string]string{"text": "hi"}, bearer)
	f.do(t, http.MethodGet, "/2/dm_events?max_results=5", nil, noAuth)
	logs := f.sim.Requests()
	if len(logs) != 2 {
		t.Fatalf("logs %+v", logs)
	}
	if l := logs[0]; l.Method != "POST" || l.Path != dmPath || l.Status != 201 || l.Body != `{"text":"hi"}` || !l.Time.Equal(start) || l.Violation != "" {
		t.Errorf("log 0 %+v", l)
	}
	if l := logs[1]; l.Method != "GET" || l.Query != "max_results=5" || l.Status != 401 || l.Violation == "" {
		t.Errorf("log 1 %+v", l)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[1].Status != 401 {
		t.Errorf("observer saw %+v", seen)
	}
}

func TestNewNeedsSupportAccount(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{SupportHandle: "x"}); err == nil {
		t.Fatal("New without SupportUserID succeeded")
	}
	s, err := New(Options{SupportUserID: "1", SupportHandle: "help"})
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := s.User("1"); !ok || u.Username != "help" {
		t.Fatalf("support user %+v %v", u, ok)
	}
}
