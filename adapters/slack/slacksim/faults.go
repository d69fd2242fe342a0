package slacksim

import (
	"net/http"
	"strconv"
	"time"
)

// Fault describes how a Web API call should misbehave. Fields combine: a
// Delay is applied first, then the call fails as described (if it does).
type Fault struct {
	// Status is the HTTP status to answer with (429, 500, 503...). A 429
	// carries a Retry-After header and {"ok":false,"error":"ratelimited"};
	// other statuses carry an HTML body, as Slack's front end does.
	Status int
	// RetryAfter is the Retry-After of a 429, rounded up to whole seconds
	// (at least 1).
	RetryAfter time.Duration
	// Error is an ok:false error code answered with HTTP 200 (or with
	// Status, if set).
	Error string
	// Delay holds the answer back; alone it only slows the call down.
	Delay time.Duration
	// Drop hijacks the connection and closes it without answering.
	Drop bool
	// AfterEffect applies the call's effect first and only then fails or
	// drops: the caller cannot tell whether the call took effect.
	AfterEffect bool
}

// failing reports whether the fault makes the call fail (rather than only
// delaying it).
func (f Fault) failing() bool { return f.Drop || f.Status != 0 || f.Error != "" }

// FailNext makes the next n calls of a Web API method (e.g.
// "chat.postMessage", or "*" for any method) misbehave as f describes.
// Faults queue up: a later FailNext applies once earlier ones are used.
func (s *Server) FailNext(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// takeFault pops the next fault planned for method.
func (s *Server) takeFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{method, "*"} {
		if q := s.faults[key]; len(q) > 0 {
			s.faults[key] = q[1:]
			return q[0], true
		}
	}
	return Fault{}, false
}

// applyFault answers (or drops) a call as f describes and tells the
// observers about it first.
func (s *Server) applyFault(w http.ResponseWriter, f Fault, call Call) {
	call.OK = false
	if f.Drop {
		call.Status, call.Error = 0, "connection dropped"
		s.notify(call)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// Not hijackable (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	call.Status = status
	switch {
	case f.Error != "":
		call.Error = f.Error
		s.notify(call)
		writeJSON(w, status, obj{"ok": false, "error": f.Error}, f.RetryAfter)
	case status == http.StatusTooManyRequests:
		call.Error = "ratelimited"
		s.notify(call)
		writeJSON(w, status, obj{"ok": false, "error": "ratelimited"}, f.RetryAfter)
	default:
		call.Error = http.StatusText(status)
		s.notify(call)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(f.RetryAfter)))
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</h1></body></html>\n"))
	}
}

// Slack's "special" tier for chat.postMessage: one message per second per
// channel, with short bursts tolerated. The burst size is not published; 4
// lets a short exchange through and still trips a flood.
const (
	postMessageRate  = 1.0 // tokens per second
	postMessageBurst = 4.0
)

// bucket is a token bucket for one channel.
type bucket struct {
	tokens float64
	last   time.Time
}

// rateLimit takes a token for a chat.postMessage to channel; when none is
// left it reports how long until one is.
func (s *Server) rateLimit(channel string) (time.Duration, bool) {
	if !s.opts.RateLimits {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channelLocked(channel); c != nil {
		channel = c.id
	}
	now := s.opts.Now()
	b := s.buckets[channel]
	if b == nil {
		b = &bucket{tokens: postMessageBurst, last: now}
		s.buckets[channel] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(postMessageBurst, b.tokens+el*postMessageRate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, false
	}
	wait := time.Duration((1 - b.tokens) / postMessageRate * float64(time.Second))
	return wait, true
}
