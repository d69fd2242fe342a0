// Package xsim is a local simulator of the X (Twitter) API v2, as far as
// xbridge uses it: direct messages, mentions, tweets, users and media (chunked
// uploads, and the media customers send, served as X's media hosts do), plus
// X's side of Account Activity webhooks. Two API v1.1 endpoints that v2 has
// no equivalent of are served too: marking DMs read and showing typing.
//
// A Server is an http.Handler, to be served by httptest.NewServer in tests or
// by the demo. It judges requests as the real API would: every request is
// checked against X's own OpenAPI description, its OAuth 1.0a signature or
// OAuth 2.0 bearer token is verified and X's per-15-minute rate limits can be
// enforced. A request the real API would refuse is answered as X would and
// recorded in Violations, so that tests can assert that none happened.
package xsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xbridge/xbridge/adapters/httpclient"
)

// Options configures a Server.
type Options struct {
	SupportUserID string // the support account's user id, e.g. "1000"
	SupportHandle string // the support account's handle without "@", e.g. "acme_help"

	// OAuth 1.0a credentials accepted (user context of the support account).
	// OAuth 1.0a is refused when ConsumerKey is empty. ConsumerSecret also
	// signs webhook deliveries and CRC answers, as X does.
	ConsumerKey, ConsumerSecret, AccessToken, AccessTokenSecret string

	// UserToken is the OAuth 2.0 user access token of the support account,
	// accepted as "Authorization: Bearer <token>". Refused when empty.
	UserToken string

	// Accounts are further support accounts, beside the one above (which
	// is the first). Each has its own user context under the same app
	// (ConsumerKey): a request acts as the account whose token it carries,
	// and webhook payloads name the account they are for in for_user_id.
	Accounts []Account

	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// RateLimits makes the server enforce X's per-user budgets per
	// 15-minute window (DM lookups 15, DM sends 15 and 1,440 a day,
	// mentions 300, POST /2/tweets 100, v1.1 mark_read and indicate_typing
	// 1,000 each, anything else 900), answering 429
	// past them. The x-rate-limit-* headers are sent either way; without
	// RateLimits nothing is consumed and x-rate-limit-remaining stays at the
	// limit, so that clients pacing themselves on it are not slowed down.
	RateLimits bool

	// BaseURL is the scheme and host the simulator is reached at (e.g.
	// httptest.Server.URL), used for the absolute URLs of media in answers
	// and webhook payloads. When empty, answers use the origin of the
	// request, and payloads built outside a request the origin of the last
	// request answered ("http://localhost" before any). See SetBaseURL.
	BaseURL string

	// ProcessingPolls is how many STATUS polls of a video or GIF upload
	// answer "in_progress" before one answers "succeeded". With 0 the first
	// poll after FINALIZE answers "succeeded".
	ProcessingPolls int
}

// Account is a support account the app holds credentials for.
type Account struct {
	UserID string // e.g. "1001"
	Handle string // without "@"
	// AccessToken and AccessTokenSecret are its OAuth 1.0a user context
	// under the app's consumer key; UserToken its OAuth 2.0 user token.
	// Either may be empty, refusing that way of authenticating.
	AccessToken, AccessTokenSecret string
	UserToken                      string
}

// RequestLog records one request the server answered.
type RequestLog struct {
	Time      time.Time     // when the request arrived (Options.Now)
	Account   string        // user id of the support account whose credentials authenticated it; "" when none did
	Method    string        // HTTP method
	Path      string        // URL path
	Query     string        // raw query string
	Body      string        // request body
	Status    int           // status answered; 0 when the connection was dropped
	Dropped   bool          // a Drop fault closed the connection without an answer
	Fault     bool          // the answer came from FailNext
	Violation string        // why the request was refused as the real API would, if it was
	Elapsed   time.Duration // time taken to answer (wall clock)
}

// Server simulates the X API v2. Create it with New.
type Server struct {
	opts     Options
	accounts []Account // the support accounts, Options' own first; guarded by mu
	spec     *apiSpec

	mu         sync.Mutex
	users      map[string]*userRec
	tweets     []Tweet // oldest first; ids increasing
	tweetIndex map[string]int
	dms        []DMEvent // oldest first; ids increasing
	lastID     uint64
	violations []string
	requests   []RequestLog
	observers  []func(RequestLog)
	faults     []*faultRule
	limits     map[string]*window
	hooks      deliverer
	media      map[string]*mediaRec // by media id
	mediaKeys  map[string]*mediaRec // by media key
	baseURL    string               // Options.BaseURL or SetBaseURL
	lastOrigin string               // origin of the last request answered
	readMarks  []ReadMark           // v1.1 read receipts and typing indicators

	client *http.Client // for webhook deliveries
}

// New returns a server for the support accounts described by opts. Each
// support account is added as a user (handle and name its handle).
func New(opts Options) (*Server, error) {
	if opts.SupportUserID == "" || opts.SupportHandle == "" {
		return nil, fmt.Errorf("xsim: SupportUserID and SupportHandle are required")
	}
	accounts := append([]Account{{UserID: opts.SupportUserID, Handle: opts.SupportHandle,
		AccessToken: opts.AccessToken, AccessTokenSecret: opts.AccessTokenSecret, UserToken: opts.UserToken}}, opts.Accounts...)
	if err := checkAccounts(accounts); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sp, err := spec()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:       opts,
		accounts:   accounts,
		spec:       sp,
		users:      map[string]*userRec{},
		tweetIndex: map[string]int{},
		limits:     map[string]*window{},
		media:      map[string]*mediaRec{},
		mediaKeys:  map[string]*mediaRec{},
		baseURL:    strings.TrimRight(opts.BaseURL, "/"),
		client:     httpclient.Own(nil, 10*time.Second),
	}
	for _, a := range accounts {
		s.addUserLocked(User{ID: a.UserID, Username: a.Handle, Name: a.Handle})
	}
	return s, nil
}

// checkAccounts refuses accounts without an id or handle, and two accounts
// sharing an id, a handle or a token: a request must name one account.
func checkAccounts(accounts []Account) error {
	seen := map[string]bool{}
	for i, a := range accounts {
		if a.UserID == "" || a.Handle == "" {
			return fmt.Errorf("xsim: account %d needs a UserID and a Handle", i)
		}
		for _, k := range []string{"id " + a.UserID, "handle " + strings.ToLower(a.Handle), "token " + a.AccessToken, "bearer " + a.UserToken} {
			if strings.HasSuffix(k, " ") {
				continue // not set
			}
			if seen[k] {
				return fmt.Errorf("xsim: two support accounts share the %s", strings.Fields(k)[0])
			}
			seen[k] = true
		}
	}
	return nil
}

// AddAccount adds a support account, as New does those of Options.
func (s *Server) AddAccount(a Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	accounts := append(slices.Clip(s.accounts), a)
	if err := checkAccounts(accounts); err != nil {
		return err
	}
	s.accounts = accounts
	s.addUserLocked(User{ID: a.UserID, Username: a.Handle, Name: a.Handle})
	return nil
}

// isSupport reports whether id is one of the support accounts. s.mu must
// be held.
func (s *Server) isSupport(id string) bool {
	return slices.ContainsFunc(s.accounts, func(a Account) bool { return a.UserID == id })
}

// Accounts returns the support accounts, the one of Options first.
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accounts)
}

func (s *Server) now() time.Time { return s.opts.Now() }

// Violations returns, in order, the requests the real API would have
// refused (bad schema, unknown endpoint, bad authentication, ...), each as
// "METHOD /path: reason". Rate limiting and injected faults are not
// violations.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Requests returns every request answered so far, in order.
func (s *Server) Requests() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// OnRequest registers f to be called with the log of each request after it
// has been answered. f must not block for long; it is called on the
// request's goroutine.
func (s *Server) OnRequest(f func(RequestLog)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, f)
}

// Bounds of what the server reads of a request body: 1 MiB in general, more
// for media uploads (a 5 MB chunk, base64-encoded in JSON, with room to
// spare). Bodies longer than maxLoggedBody are logged truncated, so that
// the request log does not keep the media uploaded.
const (
	maxBody       = 1 << 20
	maxMediaBody  = 8 << 20
	maxLoggedBody = 64 << 10
)

// readBody reads at most limit bytes of the body of r, in one allocation
// when the request announces its length.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength+1, limit)))
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit))
	return buf.Bytes(), err
}

// bodyLimit is the most the server reads of the body of a request to path.
func bodyLimit(path string) int64 {
	if strings.HasPrefix(path, "/2/media/upload") {
		return maxMediaBody
	}
	return maxBody
}

// exchange is one request being answered.
type exchange struct {
	w        *statusWriter
	r        *http.Request
	body     []byte
	tooLarge bool // the body was longer than bodyLimit: body is truncated
	route    *route
	now      time.Time
	origin   string // scheme and host absolute URLs in the answer use
	me       string // the support account the request authenticated as
	log      RequestLog
}

// ServeHTTP answers a request as the X API v2 would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	now := s.now()
	limit := bodyLimit(r.URL.Path)
	body, err := readBody(r, limit+1)
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	tooLarge := int64(len(body)) > limit
	if tooLarge {
		body = body[:limit]
	}
	logged := string(body)
	if len(body) > maxLoggedBody {
		logged = string(body[:maxLoggedBody]) + fmt.Sprintf("…(%d bytes)", len(body))
	}
	origin := requestOrigin(r)
	s.mu.Lock()
	s.lastOrigin = origin
	if s.baseURL != "" {
		origin = s.baseURL
	}
	s.mu.Unlock()
	x := &exchange{
		w:        &statusWriter{ResponseWriter: w},
		r:        r,
		body:     body,
		tooLarge: tooLarge,
		now:      now,
		origin:   origin,
		log: RequestLog{
			Time:   now,
			Method: r.Method,
			Path:   r.URL.Path,
			Query:  r.URL.RawQuery,
			Body:   logged,
		},
	}
	switch {
	case isMediaDownload(r.URL.Path):
		s.serveMediaFile(x)
	case isV1(r.URL.Path):
		s.serveV1(x)
	default:
		s.serve(x)
	}
	x.log.Status = x.w.status
	x.log.Elapsed = time.Since(start)

	s.mu.Lock()
	if x.log.Violation != "" {
		s.violations = append(s.violations, fmt.Sprintf("%s %s: %s", r.Method, r.URL.RequestURI(), x.log.Violation))
	}
	s.requests = append(s.requests, x.log)
	observers := slices.Clone(s.observers)
	s.mu.Unlock()
	for _, f := range observers {
		f(x.log)
	}
	if x.log.Dropped {
		dropConnection(w)
	}
}

// serve runs the checks X makes, in order, then the endpoint.
func (s *Server) serve(x *exchange) {
	rt, err := s.spec.findRoute(x.r)
	if err != nil {
		s.setRateHeaders(x, bucketFor(x.r.Method, x.r.URL.Path), false)
		x.log.Violation = "404 Not Found: " + err.Error()
		writeJSON(x.w, http.StatusNotFound, map[string]any{
			"errors": []any{map[string]any{"message": "Sorry, that page does not exist", "code": 34}},
		})
		return
	}
	x.route = rt
	b := bucketFor(x.r.Method, rt.Path)

	if err := s.authenticate(x); err != nil {
		s.setRateHeaders(x, b, false)
		x.log.Violation = "401 Unauthorized: " + err.Error()
		writeProblem(x.w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}

	if x.tooLarge {
		// Only media uploads may be this large. A one-shot image that big is
		// over X's 5 MB limit (a refusal the client must expect); an APPEND
		// chunk that big breaks the 5 MB chunk limit (a client error).
		s.setRateHeaders(x, b, false)
		detail := fmt.Sprintf("The request body is over %d bytes.", bodyLimit(x.r.URL.Path))
		if rt.Path != "/2/media/upload" {
			x.log.Violation = "413 Payload Too Large: " + detail
		}
		writeProblem(x.w, http.StatusRequestEntityTooLarge, "Payload Too Large", detail)
		return
	}

	if err := s.spec.validate(x.r.Context(), x.r, x.body, rt); err != nil {
		s.setRateHeaders(x, b, false)
		x.log.Violation = "400 Invalid Request: " + err.Error()
		writeInvalidRequest(x.w, err.(*invalidRequest))
		return
	}

	if f, ok := s.takeFault(x.r.Method, x.r.URL.Path); ok {
		s.applyFault(x, b, f)
		return
	}
	s.handle(x, b)
}

// handle applies the rate limit, then runs the endpoint.
func (s *Server) handle(x *exchange, b bucket) {
	if !s.setRateHeaders(x, b, true) {
		if isV1(x.r.URL.Path) {
			writeV1Error(x.w, http.StatusTooManyRequests, v1CodeRateLimit, "Rate limit exceeded")
			return
		}
		writeProblem(x.w, http.StatusTooManyRequests, "Too Many Requests", "Too Many Requests")
		return
	}
	h := s.endpoint(x.r.Method, x.route.Path)
	if h == nil {
		x.log.Violation = "endpoint exists in the X API but is not simulated by xsim"
		writeProblem(x.w, http.StatusNotImplemented, "Not Implemented", "xsim does not simulate "+x.r.Method+" "+x.route.Path)
		return
	}
	h(x)
}

// endpoint returns the handler of an operation, or nil when the simulator
// does not implement it.
func (s *Server) endpoint(method, path string) func(*exchange) {
	switch method + " " + path {
	case "POST /2/dm_conversations/with/{participant_id}/messages":
		return s.sendDM
	case "GET /2/dm_events":
		return s.dmEvents
	case "GET /2/dm_conversations/{id}/dm_events":
		return s.dmEventsByConversation
	case "GET /2/dm_conversations/with/{participant_id}/dm_events":
		return s.dmEventsWithParticipant
	case "GET /2/users/{id}/mentions":
		return s.mentionsTimeline
	case "GET /2/users/{id}/tweets":
		return s.userTimeline
	case "POST /2/tweets":
		return s.createTweet
	case "GET /2/tweets/{id}":
		return s.tweetByID
	case "GET /2/tweets":
		return s.tweetsByIDs
	case "GET /2/users/me":
		return s.usersMe
	case "GET /2/users/{id}":
		return s.userByID
	case "GET /2/users":
		return s.usersByIDs
	case "GET /2/users/by/username/{username}":
		return s.userByUsername
	case "POST /2/media/upload/initialize":
		return s.mediaInitialize
	case "POST /2/media/upload/{id}/append":
		return s.mediaAppend
	case "POST /2/media/upload/{id}/finalize":
		return s.mediaFinalize
	case "GET /2/media/upload":
		return s.mediaStatus
	case "POST /2/media/upload":
		return s.mediaUploadOneShot
	case "POST /2/media/metadata":
		return s.mediaMetadata
	case "GET /2/media/{media_key}":
		return s.mediaByKey
	case "GET /2/media":
		return s.mediaByKeys
	case "POST " + markReadPath:
		return s.markRead
	case "POST " + indicateTypingPath:
		return s.indicateTyping
	}
	return nil
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// discardWriter is a ResponseWriter that keeps nothing but headers and
// status, for faults that perform the request's effect and then fail.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, "application/json; charset=utf-8", status, v)
}

func writeJSONType(w http.ResponseWriter, contentType string, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problemType is the "type" of X's generic problems.
const problemType = "about:blank"

// writeProblem answers with X's generic problem shape.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	writeJSONType(w, "application/problem+json", status, map[string]any{
		"title":  title,
		"detail": detail,
		"type":   problemType,
		"status": status,
	})
}

// writeInvalidRequest answers 400 with X's "Invalid Request" problem.
func writeInvalidRequest(w http.ResponseWriter, ir *invalidRequest) {
	e := map[string]any{"message": ir.message}
	if ir.parameters != nil {
		e["parameters"] = ir.parameters
	}
	writeJSONType(w, "application/problem+json", http.StatusBadRequest, map[string]any{
		"title":  "Invalid Request",
		"detail": "One or more parameters to your request was invalid.",
		"type":   "https://api.twitter.com/2/problems/invalid-request",
		"errors": []any{e},
	})
}

// invalid answers 400 Invalid Request for a request the description allows
// but X refuses (for example a DM over 10,000 characters), and records it as
// a violation.
func invalid(x *exchange, param, value, message string) {
	x.log.Violation = "400 Invalid Request: " + message
	refuse(x, param, value, message)
}

// refuse answers 400 Invalid Request for a well-formed request that X
// refuses because of the media it carries (too large, of a type the media
// category does not allow, ...): a refusal clients must expect, so it is not
// recorded as a violation.
func refuse(x *exchange, param, value, message string) {
	ir := &invalidRequest{message: message}
	if param != "" {
		ir.parameters = map[string][]string{param: {value}}
	}
	writeInvalidRequest(x.w, ir)
}

// forbidden answers 403 as X does for a well-formed request it refuses (a
// tweet too long, a reply to an unknown tweet, ...), and records it as a
// violation.
func forbidden(x *exchange, detail string) {
	x.log.Violation = "403 Forbidden: " + detail
	writeProblem(x.w, http.StatusForbidden, "Forbidden", detail)
}

// queryList returns the comma-separated values of a query parameter.
func queryList(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
