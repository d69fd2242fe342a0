package xsim

import (
	"net/http"
	"strconv"
	"time"
)

// Rate-limit windows of the X API.
const (
	limitWindow = 15 * time.Minute
	dailyWindow = 24 * time.Hour
)

// bucket is the rate-limit budget an endpoint draws from.
type bucket struct {
	key   string // one per endpoint (method and path template)
	limit int    // requests per 15 minutes per user

	dailyKey   string // shared by the endpoints of a 24-hour budget, if any
	dailyLimit int
}

// bucketFor returns the budget of an endpoint given by its method and path
// template, with X's published per-user limits.
func bucketFor(method, path string) bucket {
	b := bucket{key: method + " " + path, limit: 900}
	switch b.key {
	case "GET /2/dm_events",
		"GET /2/dm_conversations/{id}/dm_events",
		"GET /2/dm_conversations/with/{participant_id}/dm_events":
		b.limit = 15
	case "POST /2/dm_conversations/with/{participant_id}/messages",
		"POST /2/dm_conversations/{dm_conversation_id}/messages",
		"POST /2/dm_conversations":
		b.limit = 15
		b.dailyKey, b.dailyLimit = "dm-send-24h", 1440
	case "GET /2/users/{id}/mentions":
		b.limit = 300
	case "POST /2/tweets":
		b.limit = 100
	case "POST " + markReadPath, "POST " + indicateTypingPath:
		b.limit = 1000
	}
	return b
}

// window counts the requests of one budget. It starts with the first
// request made after the previous window ended.
type window struct {
	reset time.Time
	count int
}

func (s *Server) windowLocked(key string, period time.Duration, now time.Time) *window {
	w, ok := s.limits[key]
	if !ok || !now.Before(w.reset) {
		w = &window{reset: now.Add(period)}
		s.limits[key] = w
	}
	return w
}

// setRateHeaders sets the x-rate-limit-* headers of budget b on the answer
// to x. When consume is set the request draws from the budget; it reports
// false when Options.RateLimits is set and the budget is spent (the request
// must then be answered 429).
func (s *Server) setRateHeaders(x *exchange, b bucket, consume bool) bool {
	s.mu.Lock()
	// X's budgets are per user: each support account has its own.
	w := s.windowLocked(x.me+" "+b.key, limitWindow, x.now)
	var d *window
	if b.dailyKey != "" {
		d = s.windowLocked(x.me+" "+b.dailyKey, dailyWindow, x.now)
	}
	allowed := true
	if consume && s.opts.RateLimits {
		if w.count >= b.limit || (d != nil && d.count >= b.dailyLimit) {
			allowed = false
		} else {
			w.count++
			if d != nil {
				d.count++
			}
		}
	}
	remaining, dailyRemaining := b.limit, b.dailyLimit
	if s.opts.RateLimits {
		remaining = max(b.limit-w.count, 0)
		if d != nil {
			dailyRemaining = max(b.dailyLimit-d.count, 0)
		}
	}
	if !allowed && w.count >= b.limit {
		remaining = 0
	}
	reset := w.reset
	var dailyReset time.Time
	if d != nil {
		dailyReset = d.reset
	}
	s.mu.Unlock()

	h := x.w.Header()
	h.Set("x-rate-limit-limit", strconv.Itoa(b.limit))
	h.Set("x-rate-limit-remaining", strconv.Itoa(remaining))
	h.Set("x-rate-limit-reset", strconv.FormatInt(reset.Unix(), 10))
	if d != nil {
		h.Set("x-user-limit-24hour-limit", strconv.Itoa(b.dailyLimit))
		h.Set("x-user-limit-24hour-remaining", strconv.Itoa(dailyRemaining))
		h.Set("x-user-limit-24hour-reset", strconv.FormatInt(dailyReset.Unix(), 10))
	}
	return allowed
}

// setExhaustedHeaders sets headers announcing that budget b is spent until
// reset, for an injected 429.
func setExhaustedHeaders(h http.Header, b bucket, reset time.Time) {
	h.Set("x-rate-limit-limit", strconv.Itoa(b.limit))
	h.Set("x-rate-limit-remaining", "0")
	h.Set("x-rate-limit-reset", strconv.FormatInt(reset.Unix(), 10))
}
