package discordsim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure injected with FailNext in place of the normal answer.
type Fault struct {
	// Status is the HTTP status answered with Discord's error shape; a 429
	// carries Retry-After and {"message":"You are being rate limited.",
	// "retry_after":...,"global":false}. Zero answers normally (after
	// Delay), unless Drop is set.
	Status int
	// RetryAfter is the wait a 429 announces (default 1 s); for other
	// statuses it is sent as a Retry-After header when set.
	RetryAfter time.Duration
	// Delay is waited before answering (or dropping).
	Delay time.Duration
	// Drop closes the connection without answering. Go's http.Transport
	// silently retries an idempotent request (GET, PUT, DELETE) dropped on a
	// reused connection: the client may then see the next answer instead.
	Drop bool
	// AfterEffect performs the request's effect first and only then fails
	// or drops: the client cannot know whether it took effect.
	AfterEffect bool
}

type faultRule struct {
	method string   // "" for any
	segs   []string // path pattern without /api/vN, split on "/"
	left   int
	fault  Fault
}

// FailNext makes the next n requests matching method and pathPattern get
// fault f instead of the normal answer. method "" or "*" matches any
// method. pathPattern is a path with or without its /api/v9 or /api/v10
// prefix (e.g. "/channels/*/messages"); a segment "*" or "{name}" matches
// any one segment. Rules apply in the order they were added. Only requests
// that pass authentication and validation reach a fault.
func (s *Server) FailNext(method, pathPattern string, n int, f Fault) {
	if n <= 0 {
		return
	}
	if method == "*" {
		method = ""
	}
	for _, prefix := range []string{"/api/v9", "/api/v10"} {
		if p, ok := strings.CutPrefix(pathPattern, prefix); ok && strings.HasPrefix(p, "/") {
			pathPattern = p
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{
		method: strings.ToUpper(method),
		segs:   strings.Split(pathPattern, "/"),
		left:   n,
		fault:  f,
	})
}

func (fr *faultRule) matches(method, path string) bool {
	if fr.method != "" && fr.method != method {
		return false
	}
	segs := strings.Split(path, "/")
	if len(segs) != len(fr.segs) {
		return false
	}
	for i, p := range fr.segs {
		wild := p == "*" || strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")
		if wild && segs[i] == "" || !wild && p != segs[i] {
			return false
		}
	}
	return true
}

// takeFault consumes one use of the first rule matching the request.
func (s *Server) takeFault(method, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fr := range s.faults {
		if !fr.matches(method, path) {
			continue
		}
		fr.left--
		if fr.left == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return fr.fault, true
	}
	return Fault{}, false
}

// applyFault answers x with fault f.
func (s *Server) applyFault(x *exchange, f Fault) {
	x.call.Fault = true
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-x.r.Context().Done():
			t.Stop()
		}
	}
	if f.Status == 0 && !f.Drop {
		s.handle(x)
		return
	}
	if f.AfterEffect {
		effect := *x
		effect.w = &statusWriter{ResponseWriter: &discardWriter{}}
		s.handle(&effect)
		x.call.Violation = effect.call.Violation
	}
	if f.Drop {
		x.drop = true // serveREST drops the connection once recorded
		return
	}
	h := x.w.Header()
	if f.Status == http.StatusTooManyRequests {
		ra := f.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		secs := ra.Seconds()
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		h.Set("X-RateLimit-Limit", "1")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", formatSecs(secs))
		h.Set("X-RateLimit-Reset", formatSecs(float64(x.now.Add(ra).UnixMilli())/1000))
		h.Set("X-RateLimit-Bucket", bucketHash(x.rt.Method+" "+x.rt.Path))
		h.Set("X-RateLimit-Scope", "user")
		x.reply(f.Status, obj{"message": "You are being rate limited.", "retry_after": roundSecs(secs), "global": false})
		return
	}
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	text := http.StatusText(f.Status)
	x.reply(f.Status, obj{"message": strconv.Itoa(f.Status) + ": " + text, "code": 0})
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
