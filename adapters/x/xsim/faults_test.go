package xsim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"
)

const dmPath = "/2/dm_conversations/with/2001/messages"

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		pattern    string
		fault      Fault
		status     int  // 0: connection dropped
		recorded   bool // the DM took effect
		retryAfter string
		reset      time.Duration
	}{
		{"429 with reset", "POST", "/2/dm_conversations/with/*/messages", Fault{Status: 429, Reset: 90 * time.Second}, 429, false, "", 90 * time.Second},
		{"429 with retry-after", "", "/2/dm_conversations/with/{participant_id}/messages", Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, false, "2", 15 * time.Minute},
		{"503", "*", "/2/dm_conversations/with/2001/messages", Fault{Status: 503}, 503, false, "", 0},
		{"503 after effect", "POST", "/2/dm_conversations/with/*/messages", Fault{Status: 503, AfterEffect: true}, 503, true, "", 0},
		{"drop", "POST", "/2/dm_conversations/with/*/messages", Fault{Drop: true}, 0, false, "", 0},
		{"drop after effect", "POST", "/2/dm_conversations/with/*/messages", Fault{Drop: true, AfterEffect: true}, 0, true, "", 0},
		{"delay only", "POST", "/2/dm_conversations/with/*/messages", Fault{Delay: 50 * time.Millisecond}, 201, true, "", 0},
		{"other method", "GET", "/2/dm_conversations/with/*/messages", Fault{Status: 503}, 201, true, "", 0},
		{"other path", "POST", "/2/dm_conversations/with/*", Fault{Status: 503}, 201, true, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: start}
			sim, err := New(Options{SupportUserID: supportID, SupportHandle: supportHandle, UserToken: testUserToken, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			sim.AddUser(User{ID: "2001", Username: "alice"})
			// Served directly: a Drop must hijack the real connection.
			srv := httptest.NewServer(sim)
			defer srv.Close()
			sim.FailNext(tc.method, tc.pattern, 1, tc.fault)

			req, _ := http.NewRequest(http.MethodPost, srv.URL+dmPath, strings.NewReader(`{"text":"hi"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testUserToken)
			began := time.Now()
			resp, err := testHTTPClient.Do(req)
			if tc.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("status %d, want a dropped connection", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mustStatus(t, resp, body, tc.status)
				if tc.status >= 400 && !strings.Contains(string(body), `"status":`+strconv.Itoa(tc.status)) {
					t.Errorf("body %s", body)
				}
				if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
				}
				if tc.status == 429 {
					if resp.Header.Get("x-rate-limit-remaining") != "0" ||
						resp.Header.Get("x-rate-limit-reset") != strconv.FormatInt(start.Add(tc.reset).Unix(), 10) {
						t.Errorf("headers %v, want reset in %v", resp.Header, tc.reset)
					}
				}
			}
			if tc.fault.Delay > 0 && time.Since(began) < tc.fault.Delay {
				t.Errorf("answered after %v, want at least %v", time.Since(began), tc.fault.Delay)
			}
			if got := len(sim.DMsTo("2001")); got != map[bool]int{false: 0, true: 1}[tc.recorded] {
				t.Errorf("%d DMs recorded, want recorded=%v", got, tc.recorded)
			}
			logs := sim.Requests()
			if len(logs) != 1 || logs[0].Status != tc.status || logs[0].Dropped != (tc.status == 0) {
				t.Errorf("request log %+v", logs)
			}

			// The fault was used up: the next request is answered normally.
			req, _ = http.NewRequest(http.MethodPost, srv.URL+dmPath, strings.NewReader(`{"text":"again"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testUserToken)
			resp, err = testHTTPClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("next request: %d", resp.StatusCode)
			}
			noViolations(t, sim)
		})
	}
}

func TestFailNextCountsAndOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sim.FailNext("GET", "/2/users/*/mentions", 2, Fault{Status: 503})
	f.sim.FailNext("GET", "/2/users/*/mentions", 1, Fault{Status: 500})
	c := f.twitterClient(oauth1)
	for i, want := range []int{503, 503, 500, 200} {
		_, err := c.UserMentionTimeline(context.Background(), supportID, twitter.UserMentionTimelineOpts{MaxResults: 5})
		got := 200
		var er *twitter.ErrorResponse
		if errors.As(err, &er) {
			got = er.StatusCode
		} else if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("request %d: %d, want %d", i, got, want)
		}
	}
	// An invalid request is refused as such and does not use up a fault.
	f.sim.FailNext("GET", "/2/users/*/mentions", 1, Fault{Status: 503})
	resp, body := f.do(t, http.MethodGet, "/2/users/1000/mentions?max_results=1", nil, bearer)
	mustStatus(t, resp, body, http.StatusBadRequest)
	resp, body = f.do(t, http.MethodGet, "/2/users/1000/mentions", nil, bearer)
	mustStatus(t, resp, body, http.StatusServiceUnavailable)
	if n := len(f.sim.Violations()); n != 1 {
		t.Fatalf("violations %q", f.sim.Violations())
	}
}

func TestFaultPatternMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, pattern, reqMethod, path string
		want                             bool
	}{
		{"POST", "/2/tweets", "POST", "/2/tweets", true},
		{"post", "/2/tweets", "POST", "/2/tweets", true},
		{"", "/2/tweets", "GET", "/2/tweets", true},
		{"POST", "/2/tweets", "GET", "/2/tweets", false},
		{"GET", "/2/tweets/*", "GET", "/2/tweets/123", true},
		{"GET", "/2/tweets/*", "GET", "/2/tweets", false},
		{"GET", "/2/tweets/*", "GET", "/2/tweets/123/liking_users", false},
		{"GET", "/2/users/{id}/mentions", "GET", "/2/users/1000/mentions", true},
		{"GET", "/2/users/*/mentions", "GET", "/2/users//mentions", false},
	}
	for _, tc := range tests {
		s := &Server{}
		s.FailNext(tc.method, tc.pattern, 1, Fault{Status: 500})
		if _, got := s.takeFault(tc.reqMethod, tc.path); got != tc.want {
			t.Errorf("FailNext(%q, %q) on %s %s: %v, want %v", tc.method, tc.pattern, tc.reqMethod, tc.path, got, tc.want)
		}
	}
}
