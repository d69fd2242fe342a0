package slacksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiCall is one Web API request being served.
type apiCall struct {
	method string
	params url.Values
}

// apiError is an ok:false answer, sent with HTTP 200 as Slack does.
type apiError struct {
	code string
}

func fail(code string) *apiError { return &apiError{code: code} }

// obj is a JSON object of an answer.
type obj = map[string]any

// handler serves one Web API method. It runs with s.mu held.
type handler func(s *Server, c *apiCall) (obj, *apiError)

// handlerFor returns the implementation of a Web API method.
func handlerFor(method string) handler {
	switch method {
	case "auth.test":
		return (*Server).authTest
	case "chat.postMessage":
		return (*Server).chatPostMessage
	case "chat.update":
		return (*Server).chatUpdate
	case "chat.delete":
		return (*Server).chatDelete
	case "chat.postEphemeral":
		return (*Server).chatPostEphemeral
	case "chat.getPermalink":
		return (*Server).chatGetPermalink
	case "reactions.add":
		return (*Server).reactionsAdd
	case "reactions.remove":
		return (*Server).reactionsRemove
	case "reactions.get":
		return (*Server).reactionsGet
	case "users.info":
		return (*Server).usersInfo
	case "users.list":
		return (*Server).usersList
	case "usergroups.list":
		return (*Server).usergroupsList
	case "usergroups.users.list":
		return (*Server).usergroupsUsersList
	case "conversations.info":
		return (*Server).conversationsInfo
	case "conversations.replies":
		return (*Server).conversationsReplies
	case "conversations.history":
		return (*Server).conversationsHistory
	case "apps.connections.open":
		return (*Server).appsConnectionsOpen
	case "files.getUploadURLExternal":
		return (*Server).filesGetUploadURLExternal
	case "files.completeUploadExternal":
		return (*Server).filesCompleteUploadExternal
	}
	return nil
}

// Slack's limits that the API description does not carry.
const (
	maxTextRunes = 40000
	maxBlocks    = 50
)

// serveAPI serves /api/<method>.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, method string) {
	params, bearer, perr := readParams(r)
	// Observers are told before the answer leaves, so that a client that
	// got its answer can rely on them having seen the call.
	shown := url.Values{}
	for k, v := range params {
		if k != "token" {
			shown[k] = slices.Clone(v)
		}
	}
	call := Call{Method: method, Params: shown}

	answer := func(status int, body obj, retryAfter time.Duration) {
		if status == 0 {
			status = http.StatusOK
		}
		call.Status = status
		call.OK, _ = body["ok"].(bool)
		call.Error, _ = body["error"].(string)
		s.notify(call)
		writeJSON(w, status, body, retryAfter)
	}
	reject := func(code, format string, args ...any) {
		s.violation("web %s: %s", method, fmt.Sprintf(format, args...))
		answer(0, obj{"ok": false, "error": code}, 0)
	}

	spec, _ := loadWebSpec()
	m, known := spec.methods[method]
	impl := handlerFor(method)
	if !known || impl == nil {
		why := "unknown method (not in the API description nor the allowlist)"
		if known {
			why = "method exists on Slack but the simulator does not implement it"
		}
		s.violation("web %s: %s", method, why)
		answer(0, obj{"ok": false, "error": "unknown_method", "req_method": method}, 0)
		return
	}
	// Slack accepts POST for every method and GET as well; the description
	// lists one verb per method, so only other verbs are violations.
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		reject("invalid_arguments", "HTTP verb %s not accepted (spec lists %v)", r.Method, m.verbs)
		return
	}
	if perr != nil {
		code := "invalid_form_data"
		if errors.Is(perr, errBadJSON) {
			code = "invalid_json"
		}
		reject(code, "unreadable body: %v", perr)
		return
	}
	token := bearer
	if token == "" {
		token = params.Get("token")
	}
	if token == "" {
		reject("not_authed", "no token (neither Authorization: Bearer nor token parameter)")
		return
	}
	var missing []string
	for _, p := range m.required {
		if p != "token" && params.Get(p) == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		reject("invalid_arguments", "missing required parameter(s) %s", strings.Join(missing, ", "))
		return
	}
	if code := s.checkToken(method, token); code != "" {
		answer(0, obj{"ok": false, "error": code}, 0)
		return
	}

	f, hasFault := s.takeFault(method)
	if hasFault && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			call.Error = "client gave up"
			s.notify(call)
			return
		}
	}
	if hasFault && !f.AfterEffect && f.failing() {
		s.applyFault(w, f, call)
		return
	}
	if method == "chat.postMessage" {
		if wait, limited := s.rateLimit(params.Get("channel")); limited {
			answer(http.StatusTooManyRequests, obj{"ok": false, "error": "ratelimited"}, wait)
			return
		}
	}

	s.mu.Lock()
	res, aerr := impl(s, &apiCall{method: method, params: params})
	s.mu.Unlock()

	if hasFault && f.AfterEffect && f.failing() {
		s.applyFault(w, f, call)
		return
	}
	if aerr != nil {
		answer(0, obj{"ok": false, "error": aerr.code}, 0)
		return
	}
	body := obj{"ok": true}
	for k, v := range res {
		body[k] = v
	}
	answer(0, body, 0)
}

// notify passes a finished call to the OnCall observers.
func (s *Server) notify(c Call) {
	s.mu.Lock()
	obs := slices.Clone(s.observers)
	s.mu.Unlock()
	for _, f := range obs {
		f(c)
	}
}

// checkToken returns the error code for a token the method does not accept.
func (s *Server) checkToken(method, token string) string {
	isApp := s.opts.AppToken != "" && token == s.opts.AppToken
	isBot := token == s.opts.BotToken
	if method == "apps.connections.open" {
		switch {
		case isApp:
			return ""
		case isBot:
			return "not_allowed_token_type"
		}
		return "invalid_auth"
	}
	switch {
	case isBot:
		return ""
	case isApp:
		return "not_allowed_token_type"
	}
	return "invalid_auth"
}

func writeJSON(w http.ResponseWriter, status int, body any, retryAfter time.Duration) {
	b, err := appendJSON(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// With its length known the answer goes out in one piece, not in
	// chunks, and the client can size its buffer.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if retryAfter > 0 || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(retryAfter)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// retryAfterSeconds rounds d up to whole seconds, at least 1, as the
// Retry-After header carries.
func retryAfterSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}

var errBadJSON = errors.New("malformed JSON body")

// readParams collects a request's parameters from its query string and its
// form, multipart or JSON body, and the bearer token if any.
func readParams(r *http.Request) (params url.Values, bearer string, err error) {
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		bearer = strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	}
	params = url.Values{}
	for k, v := range r.URL.Query() {
		params[k] = append(params[k], v...)
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return params, bearer, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		raw, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return params, bearer, err
		}
		if len(strings.TrimSpace(string(raw))) == 0 || strings.TrimSpace(string(raw)) == "null" {
			return params, bearer, nil
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return params, bearer, fmt.Errorf("%w: %v", errBadJSON, err)
		}
		for k, v := range body {
			var str string
			if json.Unmarshal(v, &str) == nil {
				params.Set(k, str)
			} else {
				params.Set(k, string(v))
			}
		}
		// Slack takes the token of a JSON body from the Authorization header only.
		params.Del("token")
	case "multipart/form-data":
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return params, bearer, err
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = append(params[k], v...)
		}
	default:
		if err := r.ParseForm(); err != nil {
			return params, bearer, err
		}
		for k, v := range r.PostForm {
			params[k] = append(params[k], v...)
		}
	}
	return params, bearer, nil
}

// boolParam reads a boolean parameter the way Slack does ("1", "true").
func boolParam(v url.Values, name string) bool {
	switch strings.ToLower(v.Get(name)) {
	case "1", "true", "yes":
		return true
	}
	return false
}
