package discordsim

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Discord's global limit: 50 requests per second per bot, interaction
// callbacks and webhook-token routes excepted.
const (
	globalLimit  = 50
	globalWindow = time.Second
)

// limit is the budget of one route bucket, counted per major parameter.
type limit struct {
	count  int
	per    time.Duration
	major  string // the major parameter's value(s)
	global bool   // also counts towards the global limit
}

// limitFor returns the budget of an operation, or false for routes Discord
// does not limit (interaction callbacks).
func limitFor(method, path string, params map[string]string) (limit, bool) {
	major := params["channel_id"]
	if major == "" {
		major = params["guild_id"]
	}
	switch {
	case path == "/interactions/{interaction_id}/{interaction_token}/callback":
		return limit{}, false
	case strings.HasPrefix(path, "/webhooks/{webhook_id}/{webhook_token}"):
		// Interaction follow-ups and webhook executions: 5 per 2 s per token.
		return limit{count: 5, per: 2 * time.Second, major: params["webhook_id"] + "/" + params["webhook_token"]}, true
	case method == http.MethodPost && path == "/channels/{channel_id}/messages":
		return limit{count: 5, per: 5 * time.Second, major: major, global: true}, true
	case strings.HasPrefix(path, "/channels/{channel_id}/messages/{message_id}/reactions/"):
		return limit{count: 1, per: 250 * time.Millisecond, major: major, global: true}, true
	}
	return limit{count: 50, per: time.Second, major: major, global: true}, true
}

// window counts the requests of one bucket; it starts with the first
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

// bucketHash is the X-RateLimit-Bucket of a route.
func bucketHash(route string) string {
	sum := sha256.Sum256([]byte(route))
	return hex.EncodeToString(sum[:16])
}

// rateLimit sets the X-RateLimit-* headers of x's bucket and, when
// Options.RateLimits is set, draws from it. Over the limit it answers 429 and
// reports false.
func (s *Server) rateLimit(x *exchange) bool {
	lim, ok := limitFor(x.rt.Method, x.rt.Path, x.rt.params)
	if !ok {
		return true
	}
	bucket := bucketHash(x.rt.Method + " " + x.rt.Path)
	now := x.now

	s.mu.Lock()
	w := s.windowLocked(bucket+":"+lim.major, lim.per, now)
	var g *window
	if lim.global {
		g = s.windowLocked("global", globalWindow, now)
	}
	scope := ""
	if s.opts.RateLimits {
		switch {
		case g != nil && g.count >= globalLimit:
			scope = "global"
		case w.count >= lim.count:
			scope = "user"
		default:
			w.count++
			if g != nil {
				g.count++
			}
		}
	}
	remaining := lim.count
	if s.opts.RateLimits {
		remaining = max(lim.count-w.count, 0)
	}
	reset := w.reset
	var globalReset time.Time
	if g != nil {
		globalReset = g.reset
	}
	s.mu.Unlock()

	h := x.w.Header()
	if scope == "global" {
		retry := globalReset.Sub(now).Seconds()
		h.Set("X-RateLimit-Global", "true")
		h.Set("X-RateLimit-Scope", "global")
		h.Set("X-RateLimit-Reset-After", formatSecs(retry))
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retry))))
		x.reply(http.StatusTooManyRequests, obj{"message": "You are being rate limited.", "retry_after": roundSecs(retry), "global": true})
		return false
	}
	resetAfter := reset.Sub(now).Seconds()
	h.Set("X-RateLimit-Limit", strconv.Itoa(lim.count))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", formatSecs(float64(reset.UnixMilli())/1000))
	h.Set("X-RateLimit-Reset-After", formatSecs(resetAfter))
	h.Set("X-RateLimit-Bucket", bucket)
	if scope == "user" {
		h.Set("X-RateLimit-Scope", "user")
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(resetAfter))))
		x.reply(http.StatusTooManyRequests, obj{"message": "You are being rate limited.", "retry_after": roundSecs(resetAfter), "global": false})
		return false
	}
	return true
}

// formatSecs formats seconds with millisecond precision, as Discord does.
func formatSecs(secs float64) string {
	return strconv.FormatFloat(roundSecs(secs), 'f', 3, 64)
}

func roundSecs(secs float64) float64 {
	return math.Round(max(secs, 0)*1000) / 1000
}
