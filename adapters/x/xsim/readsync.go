package xsim

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/routers"
)

// Read receipts and typing indicators exist only in API v1.1, which the
// embedded v2 description does not cover: the simulator checks these two
// endpoints by hand and answers their errors in v1.1's shape
// ({"errors":[{"code":…,"message":…}]}). They take OAuth 1.0a user context
// only, parameters in a form-encoded body, and answer 204 No Content.
const (
	markReadPath       = "/1.1/direct_messages/mark_read.json"
	indicateTypingPath = "/1.1/direct_messages/indicate_typing.json"
)

// Kinds of ReadMark.
const (
	ReadMarkRead   = "read"
	ReadMarkTyping = "typing"
)

// ReadMark is a read receipt or a typing indicator a support account sent
// through the API.
type ReadMark struct {
	Kind            string // ReadMarkRead or ReadMarkTyping
	Account         string // the support account that sent it
	RecipientID     string // the customer
	LastReadEventID string // read receipts only
	At              time.Time
}

// ReadMarks returns the read receipts and typing indicators the support
// accounts sent, in order.
func (s *Server) ReadMarks() []ReadMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.readMarks)
}

// v1Params are the form parameters of the v1.1 endpoints served, all
// required and numeric.
var v1Params = map[string][]string{
	markReadPath:       {"last_read_event_id", "recipient_id"},
	indicateTypingPath: {"recipient_id"},
}

// isV1 reports whether path is one of the v1.1 endpoints served.
func isV1(path string) bool {
	_, ok := v1Params[path]
	return ok
}

// X's v1.1 error codes used here.
const (
	v1CodeAuth         = 32  // Could not authenticate you.
	v1CodeMissing      = 38  // <parameter> parameter is missing.
	v1CodeInvalid      = 44  // <parameter> parameter is invalid.
	v1CodeUserNotFound = 50  // User not found.
	v1CodeRateLimit    = 88  // Rate limit exceeded.
	v1CodeOAuth1Only   = 220 // Your credentials do not allow access to this resource.
)

// writeV1Error answers with X's v1.1 error shape.
func writeV1Error(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"errors": []any{map[string]any{"code": code, "message": message}},
	})
}

// v1Invalid answers 400 for a request X refuses, recording it as a
// violation.
func v1Invalid(x *exchange, code int, message string) {
	x.log.Violation = "400 Bad Request: " + message
	writeV1Error(x.w, http.StatusBadRequest, code, message)
}

// serveV1 runs the checks X makes of a v1.1 request, in order, then the
// endpoint (through handle, for faults and rate limits).
func (s *Server) serveV1(x *exchange) {
	path := x.r.URL.Path
	b := bucketFor(http.MethodPost, path)
	if x.r.Method != http.MethodPost {
		s.setRateHeaders(x, b, false)
		v1Invalid(x, v1CodeInvalid, fmt.Sprintf("%s takes POST only, not %s.", path, x.r.Method))
		return
	}
	x.route = &route{Route: &routers.Route{Path: path, Method: http.MethodPost}}
	if err := s.authenticate(x); err != nil {
		s.setRateHeaders(x, b, false)
		x.log.Violation = "401 Unauthorized: " + err.Error()
		writeV1Error(x.w, http.StatusUnauthorized, v1CodeAuth, "Could not authenticate you.")
		return
	}
	if scheme, _, _ := strings.Cut(x.r.Header.Get("Authorization"), " "); !strings.EqualFold(scheme, "oauth") {
		// An OAuth 2.0 token: refused as X refuses it, which clients must
		// expect, so not a violation.
		s.setRateHeaders(x, b, false)
		writeV1Error(x.w, http.StatusForbidden, v1CodeOAuth1Only, "Your credentials do not allow access to this resource.")
		return
	}
	if x.tooLarge {
		s.setRateHeaders(x, b, false)
		x.log.Violation = fmt.Sprintf("413 Payload Too Large: the request body is over %d bytes", maxBody)
		writeV1Error(x.w, http.StatusRequestEntityTooLarge, v1CodeInvalid, "Request entity too large.")
		return
	}
	if _, code, msg := v1Form(x.r, x.body); msg != "" {
		s.setRateHeaders(x, b, false)
		v1Invalid(x, code, msg)
		return
	}
	if f, ok := s.takeFault(x.r.Method, path); ok {
		s.applyFault(x, b, f)
		return
	}
	s.handle(x, b)
}

// v1Form returns the form parameters of a request to a v1.1 endpoint, or
// the error code and message X answers when they are not what it takes:
// a form-encoded body holding exactly the endpoint's parameters, each once
// and numeric.
func v1Form(r *http.Request, body []byte) (url.Values, int, string) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return nil, v1CodeInvalid, fmt.Sprintf("The request body must be application/x-www-form-urlencoded, not %q.",
			r.Header.Get("Content-Type"))
	}
	if r.URL.RawQuery != "" {
		return nil, v1CodeInvalid, "Parameters belong in the form body, not in the query string."
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, v1CodeInvalid, "The form body is not valid: " + err.Error()
	}
	want := v1Params[r.URL.Path]
	var unknown []string
	for k := range form {
		if !slices.Contains(want, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, v1CodeInvalid, fmt.Sprintf("%s parameter is not one of [%s].", unknown[0], strings.Join(want, ","))
	}
	for _, p := range want {
		vs := form[p]
		switch {
		case len(vs) == 0 || vs[0] == "":
			return nil, v1CodeMissing, p + " parameter is missing."
		case len(vs) > 1:
			return nil, v1CodeInvalid, p + " parameter is given more than once."
		case !numeric(vs[0]):
			return nil, v1CodeInvalid, fmt.Sprintf("%s parameter is invalid: %q is not an id.", p, vs[0])
		}
	}
	return form, 0, ""
}

// numeric reports whether s is an X id: 1 to 20 decimal digits.
func numeric(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// markRead answers POST /1.1/direct_messages/mark_read.json.
func (s *Server) markRead(x *exchange) { s.readMark(x, ReadMarkRead) }

// indicateTyping answers POST /1.1/direct_messages/indicate_typing.json.
func (s *Server) indicateTyping(x *exchange) { s.readMark(x, ReadMarkTyping) }

// readMark records a read receipt or typing indicator towards a user the
// support account has a DM conversation with, and answers 204.
func (s *Server) readMark(x *exchange, kind string) {
	form, code, msg := v1Form(x.r, x.body)
	if msg != "" {
		v1Invalid(x, code, msg)
		return
	}
	rid := form.Get("recipient_id")
	me := x.me
	s.mu.Lock()
	_, known := s.users[rid]
	conv := DMConversationID(me, rid)
	hasConv := slices.ContainsFunc(s.dms, func(ev DMEvent) bool { return ev.ConversationID == conv })
	switch {
	case rid == me:
		s.mu.Unlock()
		v1Invalid(x, v1CodeInvalid, "recipient_id parameter is invalid: it is the authenticated user.")
		return
	case !known:
		s.mu.Unlock()
		v1Invalid(x, v1CodeUserNotFound, "User not found.")
		return
	case !hasConv:
		s.mu.Unlock()
		v1Invalid(x, v1CodeInvalid, "recipient_id parameter is invalid: there is no direct message conversation with "+rid+".")
		return
	}
	s.readMarks = append(s.readMarks, ReadMark{
		Kind: kind, Account: me, RecipientID: rid, LastReadEventID: form.Get("last_read_event_id"), At: x.now,
	})
	s.mu.Unlock()
	x.w.WriteHeader(http.StatusNoContent)
}

// ReadWebhookPayload returns the Account Activity event X delivers when
// readerID reads the direct messages otherID sent, up to the DM event
// lastEventID (direct_message_mark_read_events, with both users).
func (s *Server) ReadWebhookPayload(readerID, otherID, lastEventID string, at time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signalPayloadLocked(s.forUserLocked(otherID, readerID), "direct_message_mark_read_events", readerID, otherID, lastEventID, at)
}

// TypingWebhookPayload returns the Account Activity event X delivers when
// typerID is typing a direct message to otherID
// (direct_message_indicate_typing_events, with both users).
func (s *Server) TypingWebhookPayload(typerID, otherID string, at time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signalPayloadLocked(s.forUserLocked(otherID, typerID), "direct_message_indicate_typing_events", typerID, otherID, "", at)
}

// signalPayloadLocked renders a read receipt or typing indicator for the
// support account forUser.
func (s *Server) signalPayloadLocked(forUser, member, senderID, recipientID, lastEventID string, at time.Time) []byte {
	ev := map[string]any{
		"created_timestamp": strconv.FormatInt(at.UnixMilli(), 10),
		"sender_id":         senderID,
		"target":            map[string]any{"recipient_id": recipientID},
	}
	if lastEventID != "" {
		ev["last_read_event_id"] = lastEventID
	}
	return mustJSON(map[string]any{
		"for_user_id": forUser,
		member:        []any{ev},
		"users": map[string]any{
			senderID:    s.dmUserLocked(senderID),
			recipientID: s.dmUserLocked(recipientID),
		},
	})
}

// CustomerReads makes the customer read a support account's direct
// messages up to the DM event lastEventID (the account that sent it, or
// the first support account when the event is unknown): with AutoDeliver
// on, the read receipt is delivered to the webhook. An unknown customer is
// created on the fly.
func (s *Server) CustomerReads(customerID, lastEventID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(customerID)
	account := s.opts.SupportUserID
	if i := slices.IndexFunc(s.dms, func(ev DMEvent) bool { return ev.ID == lastEventID }); i >= 0 {
		account = s.forUserLocked(s.dms[i].SenderID)
	}
	at := s.now().UTC()
	s.autoDeliverLocked(func() []byte {
		return s.signalPayloadLocked(account, "direct_message_mark_read_events", customerID, account, lastEventID, at)
	})
}

// CustomerTypes makes the customer start typing a direct message to the
// (first) support account: with AutoDeliver on, the typing indicator is
// delivered to the webhook. An unknown customer is created on the fly.
func (s *Server) CustomerTypes(customerID string) {
	s.CustomerTypesTo(s.opts.SupportUserID, customerID)
}

// CustomerTypesTo is CustomerTypes towards the support account accountID.
func (s *Server) CustomerTypesTo(accountID, customerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(customerID)
	at := s.now().UTC()
	s.autoDeliverLocked(func() []byte {
		return s.signalPayloadLocked(accountID, "direct_message_indicate_typing_events", customerID, accountID, "", at)
	})
}

// v1FaultCode is the v1.1 error code of an injected failure with status.
func v1FaultCode(status int) int {
	switch status {
	case http.StatusUnauthorized:
		return v1CodeAuth
	case http.StatusForbidden:
		return 200 // Forbidden.
	case http.StatusServiceUnavailable:
		return 130 // Over capacity.
	}
	return 131 // Internal error.
}
