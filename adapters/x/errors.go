package x

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

// apiError is a non-success answer of the X API to our own client.
type apiError struct {
	Status  int
	Title   string
	Detail  string
	Message string // the first of "errors", which says what was invalid
}

func newAPIError(status int, body []byte) *apiError {
	e := &apiError{Status: status}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &p) == nil {
		e.Title, e.Detail = p.Title, p.Detail
		if len(p.Errors) > 0 {
			e.Message = p.Errors[0].Message
		}
	}
	return e
}

func (e *apiError) Error() string {
	return fmt.Sprintf("x: status %d: %s", e.Status, problemText(e.Title, e.Detail, e.Message))
}

// problemText picks the most telling part of an X problem: the specific
// message of an invalid request, else the detail, else the title.
func problemText(title, detail, message string) string {
	for _, s := range []string{message, detail, title} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// call records what happened to the requests made for one operation: if a
// request was written to the network, and the status and headers of the
// last answer. The transport fills it in; the operation reads it to tell
// "never sent" from "sent, answer lost".
type call struct {
	now   func() time.Time
	wrote atomic.Bool

	mu     sync.Mutex
	status int
	header http.Header
}

type callKey struct{}

// startCall returns a context that records into a new call.
func (c *Client) startCall(ctx context.Context) (context.Context, *call) {
	cl := &call{now: c.now}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				cl.wrote.Store(true)
			}
		},
	})
	return context.WithValue(ctx, callKey{}, cl), cl
}

func (cl *call) record(resp *http.Response) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.status, cl.header = resp.StatusCode, resp.Header.Clone()
}

// answer returns the status and headers of the last answer, status 0 when
// none came.
func (cl *call) answer() (int, http.Header) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.status, cl.header
}

// recordingTransport records each answer into the request's call, if any.
type recordingTransport struct {
	base http.RoundTripper
}

// RoundTrip sends req and records the answer's status and headers.
func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		if cl, ok := req.Context().Value(callKey{}).(*call); ok {
			cl.record(resp)
		}
	}
	return resp, err
}

// deliveryError turns the failure of an operation on "what" (a DM, a reply)
// into a *bridge.DeliveryError the dispatcher can act on.
func (cl *call) deliveryError(what string, err error) *bridge.DeliveryError {
	var de *bridge.DeliveryError
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, twitter.ErrParameter) {
		return &bridge.DeliveryError{Reason: fmt.Sprintf("the bridge built an invalid %s request", what), Err: err}
	}
	status, h := cl.answer()
	switch {
	case status == 0 && cl.wrote.Load():
		return &bridge.DeliveryError{Unknown: true,
			Reason: fmt.Sprintf("X did not answer after the %s was sent; it may have gone out", what), Err: err}
	case status == 0:
		return &bridge.DeliveryError{Temporary: true, Reason: "X unreachable", Err: err}
	case status >= 200 && status < 300:
		return &bridge.DeliveryError{Unknown: true,
			Reason: fmt.Sprintf("X accepted the %s but its answer was unreadable", what), Err: err}
	case status == http.StatusTooManyRequests:
		return &bridge.DeliveryError{Temporary: true, RateLimited: true, RetryAt: rateLimitRetryAt(h, cl.now()),
			Reason: "X rate limit reached", Err: err}
	case status == http.StatusUnauthorized:
		return &bridge.DeliveryError{Reason: "X rejected the bridge's credentials", Err: err}
	case status >= 500:
		return &bridge.DeliveryError{Temporary: true, RetryAt: retryAfter(h, cl.now()),
			Reason: fmt.Sprintf("X is unavailable (%d %s)", status, http.StatusText(status)), Err: err}
	}
	reason := fmt.Sprintf("X refused the %s", what)
	if text := problemOf(err); text != "" {
		reason += ": " + shorten(text, 200)
	} else {
		reason += fmt.Sprintf(" (%d %s)", status, http.StatusText(status))
	}
	return &bridge.DeliveryError{Reason: reason, Err: err}
}

// problemOf returns X's explanation carried by err, if any.
func problemOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return problemText(ae.Title, ae.Detail, ae.Message)
	}
	var er *twitter.ErrorResponse
	if errors.As(err, &er) {
		msg := ""
		if len(er.Errors) > 0 {
			msg = er.Errors[0].Message
		}
		return problemText(er.Title, er.Detail, msg)
	}
	return ""
}

// rateLimitRetryAt is when a 429 answer lets us try again: the latest of
// x-rate-limit-reset, the 24-hour reset when that budget is spent, and
// Retry-After. Zero when the answer says nothing.
func rateLimitRetryAt(h http.Header, now time.Time) time.Time {
	at := epochHeader(h, "x-rate-limit-reset")
	if h.Get("x-user-limit-24hour-remaining") == "0" {
		if t := epochHeader(h, "x-user-limit-24hour-reset"); t.After(at) {
			at = t
		}
	}
	if t := retryAfter(h, now); t.After(at) {
		at = t
	}
	return at
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Time {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return time.Time{}
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return now.Add(time.Duration(n) * time.Second).UTC()
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

func epochHeader(h http.Header, name string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
