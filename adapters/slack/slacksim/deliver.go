package slacksim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Envelope types of Socket Mode.
const (
	kindEvents      = "events_api"
	kindInteractive = "interactive"
	kindCommands    = "slash_commands"
)

// envelope is something Slack sends the app: an event, an interaction or a
// slash command. Over Socket Mode it waits in deliverer.pending until acked.
type envelope struct {
	id      string // envelope_id
	kind    string
	payload json.RawMessage
	eventID string
	attempt int    // retry_attempt
	reason  string // retry_reason
	conn    *sockConn
	sentAt  time.Time
	expires time.Time            // interactions and commands: when the user stops waiting
	reply   chan json.RawMessage // interactions and commands: the ack payload
}

// httpJob is an Events API delivery over HTTP.
type httpJob struct {
	url     string
	body    []byte
	eventID string
	attempt int
	reason  string
}

// lastEvent remembers the latest event for RedeliverLast.
type lastEvent struct {
	payload json.RawMessage
	eventID string
	url     string
}

// deliverer moves events, interactions and commands to the app, over
// Socket Mode or HTTP. Lock order: Server.mu before deliverer.mu.
type deliverer struct {
	s      *Server
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	socketMode bool // set once apps.connections.open succeeded
	tickets    map[string]bool
	conns      []*sockConn
	pending    []*envelope
	httpQ      []httpJob
	last       *lastEvent
	wake       chan struct{}
}

func newDeliverer(s *Server) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliverer{s: s, ctx: ctx, cancel: cancel, tickets: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// useSocketLocked reports whether deliveries go over Socket Mode: once the
// app opened a Socket Mode connection, or when no HTTP URL is configured (the
// envelope then waits for a connection).
func (d *deliverer) useSocketLocked(httpURL string) bool {
	return d.socketMode || httpURL == ""
}

// enqueueEvent hands an event_callback payload to delivery.
func (d *deliverer) enqueueEvent(payload []byte, eventID, httpURL string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = &lastEvent{payload: payload, eventID: eventID, url: httpURL}
	if d.useSocketLocked(httpURL) {
		e := &envelope{id: uuid.NewString(), kind: kindEvents, payload: payload, eventID: eventID}
		d.pending = append(d.pending, e)
		d.sendLocked(e)
		return
	}
	d.pushHTTPLocked(httpJob{url: httpURL, body: payload, eventID: eventID})
}

func (d *deliverer) redeliverLast() {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.last
	if l == nil {
		return
	}
	if d.useSocketLocked(l.url) {
		e := &envelope{id: uuid.NewString(), kind: kindEvents, payload: l.payload, eventID: l.eventID, attempt: 1, reason: "timeout"}
		d.pending = append(d.pending, e)
		d.sendLocked(e)
		return
	}
	d.pushHTTPLocked(httpJob{url: l.url, body: l.payload, eventID: l.eventID, attempt: 1, reason: "http_timeout"})
}

func (d *deliverer) pushHTTPLocked(j httpJob) {
	d.httpQ = append(d.httpQ, j)
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// httpLoop delivers HTTP events one at a time, in order.
func (d *deliverer) httpLoop() {
	defer d.s.wg.Done()
	for {
		select {
		case <-d.s.done:
			return
		case <-d.wake:
		}
		for {
			d.mu.Lock()
			if len(d.httpQ) == 0 {
				d.mu.Unlock()
				break
			}
			j := d.httpQ[0]
			d.httpQ = d.httpQ[1:]
			d.mu.Unlock()
			d.deliverHTTP(j)
		}
	}
}

// deliverHTTP posts one event and schedules a retry if the app did not take it.
func (d *deliverer) deliverHTTP(j httpJob) {
	h := http.Header{"Content-Type": {"application/json"}}
	if j.attempt > 0 {
		h.Set("X-Slack-Retry-Num", strconv.Itoa(j.attempt))
		h.Set("X-Slack-Retry-Reason", j.reason)
	}
	resp, err := d.s.postSigned(d.ctx, j.url, j.body, h)
	reason := ""
	switch {
	case err != nil && d.ctx.Err() != nil:
		return // shutting down
	case err != nil:
		reason = "http_timeout"
		if !isTimeout(err) {
			reason = "http_error"
		}
	default:
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode/100 == 2 || resp.Header.Get("X-Slack-No-Retry") == "1" {
			return
		}
		reason = "http_error"
	}
	if j.attempt+1 >= maxDeliveryAttempts {
		d.s.violation("events: %s to %s not accepted after %d attempts (%s)", j.eventID, j.url, maxDeliveryAttempts, reason)
		return
	}
	j.attempt++
	j.reason = reason
	time.AfterFunc(d.s.opts.AckTimeout, func() {
		if d.ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		d.pushHTTPLocked(j)
		d.mu.Unlock()
	})
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// redeliverLoop redelivers unacknowledged events and expires unanswered
// interactions and commands.
func (d *deliverer) redeliverLoop() {
	defer d.s.wg.Done()
	tick := min(max(d.s.opts.AckTimeout/10, 5*time.Millisecond), 250*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-d.s.done:
			return
		case <-t.C:
		}
		var failed []string
		now := time.Now()
		d.mu.Lock()
		keep := d.pending[:0]
		for _, e := range d.pending {
			switch {
			case e.kind != kindEvents:
				if now.After(e.expires) {
					continue
				}
			case e.conn != nil && now.Sub(e.sentAt) >= d.s.opts.AckTimeout:
				if e.attempt+1 >= maxDeliveryAttempts {
					failed = append(failed, e.eventID)
					continue
				}
				e.attempt++
				e.reason = "timeout"
				d.sendLocked(e)
			}
			keep = append(keep, e)
		}
		clear(d.pending[len(keep):])
		d.pending = keep
		d.mu.Unlock()
		for _, id := range failed {
			d.s.violation("socket: event %s never acknowledged after %d attempts", id, maxDeliveryAttempts)
		}
	}
}

// Pending returns how many Socket Mode envelopes wait for an
// acknowledgement (or for a connection to be sent on).
func (s *Server) Pending() int {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return len(s.d.pending)
}

// ack settles the envelope a Socket Mode acknowledgement names.
func (d *deliverer) ack(envelopeID string, payload json.RawMessage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, e := range d.pending {
		if e.id != envelopeID {
			continue
		}
		d.pending = append(d.pending[:i], d.pending[i+1:]...)
		if e.reply != nil {
			e.reply <- payload
		}
		return
	}
}

// interact delivers an interaction or a slash command and waits for the
// app's answer: the Socket Mode ack payload or the HTTP response body.
func (s *Server) interact(kind string, payload []byte, form url.Values, httpURL string) (answer []byte, via string, ok bool) {
	d := s.d
	d.mu.Lock()
	if d.useSocketLocked(httpURL) {
		e := &envelope{
			id: uuid.NewString(), kind: kind, payload: payload,
			expires: time.Now().Add(s.opts.ResponseTimeout),
			reply:   make(chan json.RawMessage, 1),
		}
		d.pending = append(d.pending, e)
		d.sendLocked(e)
		d.mu.Unlock()
		t := time.NewTimer(s.opts.ResponseTimeout)
		defer t.Stop()
		select {
		case p := <-e.reply:
			return p, "ack", true
		case <-t.C:
			d.remove(e)
			s.violation("socket: %s envelope not acknowledged within %v", kind, s.opts.ResponseTimeout)
			return nil, "", false
		case <-s.done:
			return nil, "", false
		}
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(d.ctx, s.opts.ResponseTimeout)
	defer cancel()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, err := s.postSigned(ctx, httpURL, []byte(form.Encode()), h)
	if err != nil {
		s.violation("http: %s delivery to %s failed: %v", kind, httpURL, err)
		return nil, "", false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		s.violation("http: %s delivery to %s answered HTTP %d", kind, httpURL, resp.StatusCode)
		return nil, "", false
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" && len(bytes.TrimSpace(body)) > 0 {
		// A plain-text answer is shown as the text of an ephemeral reply.
		body, _ = json.Marshal(obj{"text": string(body)})
	}
	return body, "http", true
}

func (d *deliverer) remove(e *envelope) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, x := range d.pending {
		if x == e {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return
		}
	}
}

// Sign returns Slack's request signature of body sent at unix time ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)), the value of the
// X-Slack-Signature header.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// postSigned POSTs body to u with Slack's signature headers added to h. The
// signature timestamp is the wall clock (not Options.Now), since receivers
// reject timestamps more than five minutes off their own clock.
func (s *Server) postSigned(ctx context.Context, u string, body []byte, h http.Header) (*http.Response, error) {
	h = h.Clone()
	ts := time.Now().Unix()
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", Sign(s.opts.SigningSecret, ts, body))
	h.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return s.DeliverRaw(ctx, u, body, h)
}

// DeliverRaw POSTs body to u with exactly the given headers (Content-Type
// defaults to application/json) and no signature of its own: for tests of
// how the app treats bad or missing signatures.
func (s *Server) DeliverRaw(ctx context.Context, u string, body []byte, headers http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header[k] = append([]string(nil), v...)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.opts.HTTPClient.Do(req)
}

// VerifyURL sends the url_verification handshake Slack sends when an Events
// API request URL is saved, and checks that the challenge comes back (as
// plain text, as {"challenge":...} or as challenge=... form data).
func (s *Server) VerifyURL(ctx context.Context, u string) error {
	challenge := randomString(48, alnumMixed)
	body, _ := json.Marshal(obj{"token": s.opts.VerificationToken, "challenge": challenge, "type": "url_verification"})
	resp, err := s.postSigned(ctx, u, body, http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return fmt.Errorf("slacksim: url_verification: %w", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("slacksim: url_verification: HTTP %d: %s", resp.StatusCode, got)
	}
	answer := strings.TrimSpace(string(got))
	var js struct {
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(got, &js) == nil && js.Challenge != "" {
		answer = js.Challenge
	} else if v, err := url.ParseQuery(answer); err == nil && v.Get("challenge") != "" {
		answer = v.Get("challenge")
	}
	if answer != challenge {
		return fmt.Errorf("slacksim: url_verification: challenge not echoed, got %q", got)
	}
	return nil
}
