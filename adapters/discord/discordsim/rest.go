package discordsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds what the server reads of a request body.
const maxBody = 64 << 20

// maxCalls is how many calls Calls keeps (the newest).
const maxCalls = 10000

// exchange is one HTTP API request being answered.
type exchange struct {
	w     *statusWriter
	r     *http.Request
	rt    *route
	body  []byte    // the JSON body: the request body, or multipart's payload_json
	files []*upload // multipart files[n] parts
	now   time.Time
	call  Call
	drop  bool
}

// upload is one files[n] part of a multipart request.
type upload struct {
	index       int
	filename    string
	contentType string
	data        []byte
}

// handler serves one operation.
type handler func(s *Server, x *exchange)

// endpoint returns the implementation of an operation given by method and
// path template, or nil when the simulator does not implement it.
func endpoint(method, path string) handler {
	switch method + " " + path {
	case "GET /gateway":
		return (*Server).getGateway
	case "GET /gateway/bot":
		return (*Server).getGatewayBot
	case "GET /users/@me":
		return (*Server).getMe
	case "GET /users/{user_id}":
		return (*Server).getUser
	case "POST /users/@me/channels":
		return (*Server).createDM
	case "GET /channels/{channel_id}":
		return (*Server).getChannel
	case "PATCH /channels/{channel_id}":
		return (*Server).patchChannel
	case "GET /channels/{channel_id}/messages":
		return (*Server).listMessages
	case "POST /channels/{channel_id}/messages":
		return (*Server).createMessage
	case "GET /channels/{channel_id}/messages/{message_id}":
		return (*Server).getMessage
	case "PATCH /channels/{channel_id}/messages/{message_id}":
		return (*Server).editMessage
	case "DELETE /channels/{channel_id}/messages/{message_id}":
		return (*Server).deleteMessage
	case "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me":
		return (*Server).addReaction
	case "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me":
		return (*Server).removeReaction
	case "POST /channels/{channel_id}/messages/{message_id}/threads":
		return (*Server).threadFromMessage
	case "POST /channels/{channel_id}/threads":
		return (*Server).createThread
	case "GET /guilds/{guild_id}":
		return (*Server).getGuild
	case "GET /guilds/{guild_id}/channels":
		return (*Server).guildChannels
	case "GET /guilds/{guild_id}/roles":
		return (*Server).guildRoles
	case "GET /guilds/{guild_id}/members/{user_id}":
		return (*Server).getMember
	case "PUT /applications/{application_id}/guilds/{guild_id}/commands",
		"PUT /applications/{application_id}/commands":
		return (*Server).putCommands
	case "GET /applications/{application_id}/guilds/{guild_id}/commands",
		"GET /applications/{application_id}/commands":
		return (*Server).getCommands
	case "POST /interactions/{interaction_id}/{interaction_token}/callback":
		return (*Server).interactionCallback
	case "POST /webhooks/{webhook_id}/{webhook_token}":
		return (*Server).followUpCreate
	case "GET /webhooks/{webhook_id}/{webhook_token}/messages/@original",
		"GET /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}":
		return (*Server).webhookMessageGet
	case "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original",
		"PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}":
		return (*Server).webhookMessageEdit
	case "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/@original",
		"DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}":
		return (*Server).webhookMessageDelete
	}
	return nil
}

// serveREST answers a request under /api/ as Discord would, records it and
// tells the observers.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	x := &exchange{
		w:   &statusWriter{ResponseWriter: w},
		r:   r,
		now: now,
		call: Call{
			Time:   now,
			Method: r.Method,
			Path:   r.URL.Path,
			Query:  r.URL.RawQuery,
			Body:   raw,
		},
	}
	s.serveAPI(x, raw)
	x.call.Status = x.w.status
	if x.drop {
		x.call.Status = 0
	}
	s.mu.Lock()
	if x.call.Violation != "" {
		s.violations = append(s.violations, fmt.Sprintf("%s %s: %s", r.Method, r.URL.RequestURI(), x.call.Violation))
	}
	s.calls = append(s.calls, x.call)
	if len(s.calls) > maxCalls {
		s.calls = slices.Delete(s.calls, 0, len(s.calls)-maxCalls)
	}
	observers := slices.Clone(s.observers)
	s.mu.Unlock()
	for _, f := range observers {
		f(x.call)
	}
	if x.drop {
		dropConnection(w)
	}
}

// serveAPI runs Discord's checks in order, then the endpoint.
func (s *Server) serveAPI(x *exchange, raw []byte) {
	sp, _ := loadSpec()
	rt, err := sp.findRoute(x.r)
	switch err {
	case nil:
	case errNoMethod:
		x.refuse(http.StatusMethodNotAllowed, 0, "405: Method Not Allowed", err.Error())
		return
	default:
		x.refuse(http.StatusNotFound, 0, "404: Not Found", err.Error())
		return
	}
	x.rt = rt
	x.call.Route = rt.Path

	if why := s.checkAuth(x.r, rt); why != "" {
		x.refuse(http.StatusUnauthorized, 0, "401: Unauthorized", why)
		return
	}
	if fe := sp.checkParams(x.r.Context(), x.r, rt); fe != nil {
		x.invalid(fe)
		return
	}
	if !s.readBody(x, raw) {
		return
	}
	if has, required := rt.hasJSONBody(); has {
		switch {
		case len(x.body) == 0 && required:
			fe := &formError{}
			fe.add(nil, "BASE_TYPE_REQUIRED", "This field is required")
			x.invalid(fe)
			return
		case len(x.body) > 0 && !json.Valid(x.body):
			x.refuse(http.StatusBadRequest, 50109, "The request body contains invalid JSON.", "body is not JSON")
			return
		case len(x.body) > 0:
			if fe := sp.checkBody(rt, x.body); fe != nil {
				x.invalid(fe)
				return
			}
		}
	}

	if f, ok := s.takeFault(x.r.Method, rt.path); ok {
		s.applyFault(x, f)
		return
	}
	s.handle(x)
}

// handle applies the rate limits, then runs the endpoint.
func (s *Server) handle(x *exchange) {
	if !s.rateLimit(x) {
		return
	}
	h := endpoint(x.rt.Method, x.rt.Path)
	if h == nil {
		x.refuse(http.StatusNotImplemented, 0, "discordsim does not simulate "+x.rt.Method+" "+x.rt.Path,
			"endpoint exists in the Discord API but is not simulated by discordsim")
		return
	}
	h(s, x)
}

// checkAuth returns why the Authorization header is refused, or "".
func (s *Server) checkAuth(r *http.Request, rt *route) string {
	h := r.Header.Get("Authorization")
	switch {
	case h == "" && rt.requiresAuth():
		return "no Authorization header"
	case h == "":
		return ""
	case h == "Bot "+s.opts.BotToken:
		return ""
	case h == s.opts.BotToken:
		return `Authorization lacks the "Bot " prefix`
	}
	return "Authorization is not the bot token"
}

// readBody decodes the request body into x.body (JSON) and x.files.
func (s *Server) readBody(x *exchange, raw []byte) bool {
	ct := x.r.Header.Get("Content-Type")
	if len(raw) == 0 {
		return true
	}
	mt, params, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/json", "":
		x.body = raw
	case "multipart/form-data":
		if err := s.readMultipart(x, raw, params["boundary"]); err != "" {
			x.refuse(http.StatusBadRequest, 50035, "Invalid Form Body", "multipart body: "+err)
			return false
		}
		x.call.Body = x.body
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			x.refuse(http.StatusBadRequest, 50035, "Invalid Form Body", "form body: "+err.Error())
			return false
		}
		o := obj{}
		for k, v := range form {
			o[k] = v[0]
		}
		x.body = marshal(o)
		x.call.Body = x.body
	default:
		x.refuse(http.StatusBadRequest, 50035, "Invalid Form Body", "unsupported Content-Type "+ct)
		return false
	}
	return true
}

var filePart = regexp.MustCompile(`^files\[(\d+)\]$`)

// Discord's upload limits: 10 files, 10 MiB each (guilds without boosts).
const (
	maxFiles    = 10
	maxFileSize = 10 << 20
)

func (s *Server) readMultipart(x *exchange, raw []byte, boundary string) string {
	if boundary == "" {
		return "no boundary"
	}
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	fields := obj{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err.Error()
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return err.Error()
		}
		name := p.FormName()
		switch m := filePart.FindStringSubmatch(name); {
		case name == "payload_json":
			x.body = data
		case m != nil:
			i, _ := strconv.Atoi(m[1])
			x.files = append(x.files, &upload{index: i, filename: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
		case p.FileName() != "":
			x.files = append(x.files, &upload{index: len(x.files), filename: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
		default:
			fields[name] = string(data)
		}
	}
	if x.body == nil && len(fields) > 0 {
		x.body = marshal(fields)
	}
	return ""
}

// reply answers with v as JSON.
func (x *exchange) reply(status int, v any) { writeJSON(x.w, status, v) }

// noContent answers 204.
func (x *exchange) noContent() { x.w.WriteHeader(http.StatusNoContent) }

// refuse answers Discord's error shape {"message":...,"code":...}; a
// non-empty violation records the request as one Discord refuses for what
// it is (not for the state it found).
func (x *exchange) refuse(status, code int, message, violation string) {
	if violation != "" {
		x.call.Violation = fmt.Sprintf("%d %s", status, violation)
	}
	x.reply(status, obj{"message": message, "code": code})
}

// invalid answers 400 Invalid Form Body and records a violation.
func (x *exchange) invalid(fe *formError) {
	x.call.Violation = "400 Invalid Form Body: " + fe.Error()
	x.reply(http.StatusBadRequest, fe.body())
}

// param returns a path parameter.
func (x *exchange) param(name string) string { return x.rt.params[name] }

// decode unmarshals the JSON body into v.
func (x *exchange) decode(v any) {
	if len(x.body) > 0 {
		_ = json.Unmarshal(x.body, v)
	}
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

// discardWriter keeps nothing, for faults that apply the request's effect
// and then fail.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// serveAttachment serves the data of an attachment:
// /attachments/{channel_id}/{attachment_id}/{filename}.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/attachments/"), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	a := s.attachments[parts[1]]
	s.mu.Unlock()
	if a == nil || a.Filename != parts[2] {
		http.NotFound(w, r)
		return
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Data)))
	_, _ = w.Write(a.Data)
}
