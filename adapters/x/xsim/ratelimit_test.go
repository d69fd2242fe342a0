package xsim

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		body   func(i int) any
		limit  int
	}{
		{"DM lookup", http.MethodGet, "/2/dm_events", nil, 15},
		{"DM lookup by participant", http.MethodGet, "/2/dm_conversations/with/2001/dm_events", nil, 15},
		{"DM send", http.MethodPost, "/2/dm_conversations/with/2001/messages", func(i int) any { return map[string]string{"text": "m" + strconv.Itoa(i)} }, 15},
		{"mentions", http.MethodGet, "/2/users/1000/mentions", nil, 300},
		{"tweet", http.MethodPost, "/2/tweets", func(i int) any { return map[string]string{"text": "t" + strconv.Itoa(i)} }, 100},
		{"user lookup", http.MethodGet, "/2/users/me", nil, 900},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withRateLimits)
			wantReset := strconv.FormatInt(start.Add(15*time.Minute).Unix(), 10)
			send := func(i int) (*http.Response, []byte) {
				var body any
				if tc.body != nil {
					body = tc.body(i)
				}
				return f.do(t, tc.method, tc.path, body, bearer)
			}
			for i := range tc.limit {
				if i == 1 {
					f.clock.Advance(time.Minute) // the window starts with the first request
				}
				resp, body := send(i)
				if resp.StatusCode >= 300 {
					t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
				}
				h := resp.Header
				if h.Get("x-rate-limit-limit") != strconv.Itoa(tc.limit) ||
					h.Get("x-rate-limit-remaining") != strconv.Itoa(tc.limit-i-1) ||
					h.Get("x-rate-limit-reset") != wantReset {
					t.Fatalf("request %d: headers %v, want limit %d remaining %d reset %s", i, h, tc.limit, tc.limit-i-1, wantReset)
				}
			}
			resp, body := send(tc.limit)
			mustStatus(t, resp, body, http.StatusTooManyRequests)
			if got := strings.TrimSpace(string(body)); got != `{"detail":"Too Many Requests","status":429,"title":"Too Many Requests","type":"about:blank"}` {
				t.Errorf("body %s", got)
			}
			if resp.Header.Get("x-rate-limit-remaining") != "0" || resp.Header.Get("x-rate-limit-reset") != wantReset {
				t.Errorf("429 headers %v", resp.Header)
			}
			// Budgets are per endpoint.
			resp, body = f.do(t, http.MethodGet, "/2/users/2001", nil, bearer)
			mustStatus(t, resp, body, http.StatusOK)

			f.clock.Advance(14 * time.Minute) // start + 15 min: the window is over
			resp, body = send(tc.limit + 1)
			if resp.StatusCode >= 300 {
				t.Fatalf("after reset: %d %s", resp.StatusCode, body)
			}
			if resp.Header.Get("x-rate-limit-remaining") != strconv.Itoa(tc.limit-1) ||
				resp.Header.Get("x-rate-limit-reset") != strconv.FormatInt(start.Add(30*time.Minute).Unix(), 10) {
				t.Errorf("after reset: headers %v", resp.Header)
			}
			noViolations(t, f.sim) // a 429 is not a violation
		})
	}
}

func TestRateLimitHeadersWhenNotEnforced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 20 {
		resp, body := f.do(t, http.MethodGet, "/2/dm_events", nil, bearer)
		mustStatus(t, resp, body, http.StatusOK)
		if resp.Header.Get("x-rate-limit-limit") != "15" || resp.Header.Get("x-rate-limit-remaining") != "15" || resp.Header.Get("x-rate-limit-reset") == "" {
			t.Fatalf("headers %v", resp.Header)
		}
	}
}

// TestDailyLimit checks a 24-hour budget such as that of DM sends (at 15
// per 15 minutes it cannot be reached, so the test uses a smaller one).
func TestDailyLimit(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: start}
	s, err := New(Options{SupportUserID: supportID, SupportHandle: supportHandle, Now: clock.Now, RateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	b := bucket{key: "POST /x", limit: 2, dailyKey: "x-24h", dailyLimit: 3}
	try := func() (bool, http.Header) {
		x := &exchange{w: &statusWriter{ResponseWriter: httptest.NewRecorder()}, now: clock.Now()}
		ok := s.setRateHeaders(x, b, true)
		return ok, x.w.Header()
	}
	for i, want := range []bool{true, true, false} {
		if ok, h := try(); ok != want {
			t.Fatalf("request %d: allowed=%v, want %v (%v)", i, ok, want, h)
		}
	}
	clock.Advance(15 * time.Minute)
	if ok, _ := try(); !ok {
		t.Fatal("third request of the day refused")
	}
	clock.Advance(15 * time.Minute)
	ok, h := try()
	if ok || h.Get("x-rate-limit-remaining") != "2" || h.Get("x-user-limit-24hour-remaining") != "0" ||
		h.Get("x-user-limit-24hour-reset") != strconv.FormatInt(start.Add(24*time.Hour).Unix(), 10) {
		t.Fatalf("fourth request of the day: allowed=%v headers %v", ok, h)
	}
	clock.Advance(24 * time.Hour)
	if ok, _ := try(); !ok {
		t.Fatal("refused the next day")
	}
	if got := bucketFor("POST", "/2/dm_conversations/with/{participant_id}/messages"); got.dailyLimit != 1440 || got.limit != 15 {
		t.Fatalf("DM send bucket %+v", got)
	}
}
