package xsim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure injected with FailNext in place of the normal answer.
type Fault struct {
	// Status is the HTTP status answered, with an X-style problem body. Zero
	// answers normally (after Delay), unless Drop is set.
	Status int
	// Reset, for a 429, sets x-rate-limit-reset to now+Reset (default: the
	// end of the endpoint's current window).
	Reset time.Duration
	// RetryAfter, when set, is sent as a Retry-After header (in seconds).
	RetryAfter time.Duration
	// Delay is waited before answering (or dropping).
	Delay time.Duration
	// Drop closes the connection without answering anything. Note that Go's
	// http.Transport silently retries an idempotent request (GET) dropped on
	// a reused connection: the client may then see the next answer instead.
	Drop bool
	// AfterEffect performs the request's effect (e.g. records the DM or the
	// tweet) and only then fails or drops: the client cannot know whether
	// its request took effect.
	AfterEffect bool
}

type faultRule struct {
	method string   // "" for any
	segs   []string // path pattern, split on "/"
	left   int
	fault  Fault
}

// FailNext makes the next n requests matching method and pathPattern get
// fault f instead of the normal answer. method "" or "*" matches any
// method. In pathPattern (e.g. "/2/dm_conversations/with/*/messages") a
// segment "*" or "{name}" matches any one segment. Rules apply in the order
// they were added. Only requests that pass authentication and validation
// reach a fault. Media downloads ("/media/*", "/dm_media/*/*") can fail
// too, with Status, Drop, Delay and RetryAfter.
func (s *Server) FailNext(method, pathPattern string, n int, f Fault) {
	if n <= 0 {
		return
	}
	if method == "*" {
		method = ""
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
func (s *Server) applyFault(x *exchange, b bucket, f Fault) {
	x.log.Fault = true
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-x.r.Context().Done():
			t.Stop()
		}
	}
	if f.Status == 0 && !f.Drop {
		s.handle(x, b)
		return
	}
	if f.AfterEffect {
		effect := *x
		effect.w = &statusWriter{ResponseWriter: &discardWriter{}}
		s.handle(&effect, b)
		x.log.Violation = effect.log.Violation
	}
	if f.Drop {
		x.log.Dropped = true // ServeHTTP drops the connection once logged
		return
	}

	s.setRateHeaders(x, b, false)
	h := x.w.Header()
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	if f.Status == http.StatusTooManyRequests {
		reset, _ := strconv.ParseInt(h.Get("x-rate-limit-reset"), 10, 64)
		if f.Reset > 0 {
			reset = x.now.Add(f.Reset).Unix()
		}
		setExhaustedHeaders(h, b, time.Unix(reset, 0))
		if isV1(x.r.URL.Path) {
			writeV1Error(x.w, f.Status, v1CodeRateLimit, "Rate limit exceeded")
			return
		}
		writeProblem(x.w, f.Status, "Too Many Requests", "Too Many Requests")
		return
	}
	title := http.StatusText(f.Status)
	if title == "" {
		title = "Error " + strconv.Itoa(f.Status)
	}
	if isV1(x.r.URL.Path) {
		writeV1Error(x.w, f.Status, v1FaultCode(f.Status), title)
		return
	}
	writeProblem(x.w, f.Status, title, title)
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
