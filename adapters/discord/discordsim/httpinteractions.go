package discordsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// sign returns the X-Signature-Ed25519 of body sent at ts.
func (s *Server) sign(ts string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(s.key, append([]byte(ts), body...)))
}

// postInteraction POSTs an interaction body with the given signature.
func (s *Server) postInteraction(ctx context.Context, u string, body []byte, sig, ts string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set("X-Signature-Ed25519", sig)
	req.Header.Set("X-Signature-Timestamp", ts)
	return s.opts.HTTPClient.Do(req)
}

// DeliverInteractionRaw POSTs body to the interactions endpoint URL with
// the given signature and timestamp headers, as is, for tests of the app's
// signature check. The caller closes the response body.
func (s *Server) DeliverInteractionRaw(ctx context.Context, body []byte, sig, ts string) (*http.Response, error) {
	s.mu.Lock()
	u := s.interURL
	s.mu.Unlock()
	if u == "" {
		return nil, errors.New("discordsim: no interactions endpoint URL set")
	}
	return s.postInteraction(ctx, u, body, sig, ts)
}

// Sign returns the headers Discord would send with body at ts (Unix
// seconds): X-Signature-Ed25519 and X-Signature-Timestamp values.
func (s *Server) Sign(ts int64, body []byte) (sig, timestamp string) {
	timestamp = strconv.FormatInt(ts, 10)
	return s.sign(timestamp, body), timestamp
}

// deliverHTTP POSTs an interaction to the endpoint URL and applies the
// answer found in the response, if any (the app may instead answer through
// the callback route). It reports false when the interaction failed for
// good.
func (s *Server) deliverHTTP(in *interaction, u string, body []byte, deadline time.Time) bool {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	sig, ts := s.Sign(s.now().Unix(), body)
	resp, err := s.postInteraction(ctx, u, body, sig, ts)
	if err != nil {
		s.violation("interaction %s failed: delivery to %s: %v", in.id, u, err)
		return false
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		s.violation("interaction %s failed: the app refused a correctly signed interaction (401)", in.id)
		return false
	case resp.StatusCode >= 300:
		s.violation("interaction %s failed: the app answered HTTP %d", in.id, resp.StatusCode)
		return false
	case len(bytes.TrimSpace(rb)) == 0:
		return true // answered (or to be answered) through the callback route
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		s.violation("interaction %s failed: answer with Content-Type %q (want application/json)", in.id, resp.Header.Get("Content-Type"))
		return false
	}
	if !json.Valid(rb) {
		s.violation("interaction %s failed: answer is not JSON: %.100q", in.id, rb)
		return false
	}
	sp, _ := loadSpec()
	if fe := sp.checkBodyFor(http.MethodPost, "/interactions/{interaction_id}/{interaction_token}/callback", rb); fe != nil {
		s.violation("interaction %s failed: invalid answer: %s", in.id, fe.Error())
		return false
	}
	var cb callbackBody
	_ = json.Unmarshal(rb, &cb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ae := s.answerLocked(in, cb); ae != nil {
		why := ae.violation
		if ae.form != nil {
			why = ae.form.Error()
		}
		if why == "" {
			why = ae.message
		}
		s.violationLocked("interaction %s failed: answer refused: %s", in.id, why)
		return in.answered
	}
	return true
}

// PingInteraction checks the interactions endpoint as Discord does when the
// URL is saved: a signed PING must be answered {"type":1} and a PING with a
// bad signature refused with 401. Failures are returned and recorded as
// violations.
func (s *Server) PingInteraction(ctx context.Context) error {
	s.mu.Lock()
	u := s.interURL
	in := s.newInteractionLocked(interactionPing, "", "")
	in.delivered = time.Now()
	in.via = "http"
	body := marshal(obj{"id": in.id, "application_id": s.opts.AppID, "type": interactionPing, "token": in.token, "version": 1,
		"user": userJSON(s.members[s.opts.BotUserID])})
	ts := strconv.FormatInt(s.now().Unix(), 10)
	s.mu.Unlock()
	if u == "" {
		return errors.New("discordsim: no interactions endpoint URL set")
	}
	fail := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		s.violation("interactions endpoint check: %v", err)
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.InteractionTimeout)
	defer cancel()

	resp, err := s.postInteraction(ctx, u, body, s.sign(ts, body), ts)
	if err != nil {
		return fail("PING delivery failed: %v", err)
	}
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	var cb callbackBody
	if resp.StatusCode != http.StatusOK || json.Unmarshal(rb, &cb) != nil || cb.Type != CallbackPong {
		return fail("PING answered %d %.200q, want 200 {\"type\":1}", resp.StatusCode, rb)
	}
	s.mu.Lock()
	if !in.answered {
		in.answered, in.cbType = true, CallbackPong
		close(in.answeredCh)
	}
	s.mu.Unlock()

	bad := []byte(string(body) + " ")
	resp, err = s.postInteraction(ctx, u, bad, s.sign(ts, body), ts)
	if err != nil {
		return fail("badly signed PING delivery failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fail("a PING with a bad signature was answered %d, want 401", resp.StatusCode)
	}
	return nil
}
