package xsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SignatureHeader is the header carrying the signature of a webhook
// delivery.
const SignatureHeader = "x-twitter-webhooks-signature"

// appID is the id of the app the support account uses, as webhook payloads
// show it for DMs the app sent.
const appID = "3033300"

// v1Time is the format of created_at in v1.1 objects.
const v1Time = "Mon Jan 02 15:04:05 +0000 2006"

// Sign returns the signature X puts in the x-twitter-webhooks-signature
// header of a webhook delivery of body: "sha256=" and the base64 of the
// HMAC-SHA256 of body keyed with the consumer secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// CRCResponse returns the response_token a webhook must answer to a
// challenge-response check with crc_token token.
func CRCResponse(secret, token string) string {
	return Sign(secret, []byte(token))
}

// CRC makes the challenge-response check X makes of a webhook: GET
// webhookURL?crc_token=<random>, which must answer 200 with JSON
// {"response_token": CRCResponse(ConsumerSecret, crc_token)}.
func (s *Server) CRC(ctx context.Context, webhookURL string) error {
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	u, err := url.Parse(webhookURL)
	if err != nil {
		return fmt.Errorf("xsim: CRC: %w", err)
	}
	q := u.Query()
	q.Set("crc_token", token)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("xsim: CRC: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("xsim: CRC: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("xsim: CRC: webhook answered %s: %s", resp.Status, body)
	}
	var ans struct {
		ResponseToken string `json:"response_token"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("xsim: CRC: answer is not JSON: %w", err)
	}
	if want := CRCResponse(s.opts.ConsumerSecret, token); !hmac.Equal([]byte(ans.ResponseToken), []byte(want)) {
		return fmt.Errorf("xsim: CRC: response_token %q, want %q", ans.ResponseToken, want)
	}
	return nil
}

// Deliver POSTs payload to webhookURL as X delivers an Account Activity
// event, signed with the consumer secret. The caller closes the response
// body.
func (s *Server) Deliver(ctx context.Context, webhookURL string, payload []byte) (*http.Response, error) {
	return s.DeliverRaw(ctx, webhookURL, payload, Sign(s.opts.ConsumerSecret, payload))
}

// DeliverRaw is Deliver with the signature header given (which may be
// wrong, or empty to send none), for tests of signature checks.
func (s *Server) DeliverRaw(ctx context.Context, webhookURL string, payload []byte, signature string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("xsim: deliver: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(SignatureHeader, signature)
	}
	return s.client.Do(req)
}

// Delivery records one webhook delivery made because of AutoDeliver.
type Delivery struct {
	Time    time.Time // when it was made (wall clock)
	URL     string
	Payload []byte
	Status  int    // status answered; 0 on a transport error
	Err     string // transport error, if any
}

// deliverer holds the queue of automatic webhook deliveries.
type deliverer struct {
	url     string
	queue   [][]byte
	running bool
	drained chan struct{} // closed when the running worker finds the queue empty
	done    []Delivery
}

// AutoDeliver makes the server deliver, from now on, every event of the
// support accounts to webhookURL, as X's Account Activity API does: DMs and
// mentions injected with CustomerDM and CustomerMention, and the echo of
// every DM and tweet a support account sends. An event concerning several
// support accounts (a tweet mentioning two) is delivered once for each,
// with its for_user_id. Deliveries are made in
// order, one at a time, in the background (see Flush); a delivery the
// webhook does not answer with 2xx is recorded as a violation. An empty
// webhookURL stops automatic deliveries.
func (s *Server) AutoDeliver(webhookURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.url = webhookURL
}

// Flush waits until every automatic delivery queued so far has been made.
func (s *Server) Flush(ctx context.Context) error {
	s.mu.Lock()
	if !s.hooks.running {
		s.mu.Unlock()
		return nil
	}
	ch := s.hooks.drained
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliveries returns the automatic deliveries made so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hooks.done)
}

// autoDeliverLocked queues the payload build makes, if automatic delivery
// is on. s.mu must be held.
func (s *Server) autoDeliverLocked(build func() []byte) {
	if s.hooks.url == "" {
		return
	}
	s.hooks.queue = append(s.hooks.queue, build())
	if !s.hooks.running {
		s.hooks.running = true
		s.hooks.drained = make(chan struct{})
		go s.runDeliveries(s.hooks.url)
	}
}

// runDeliveries delivers queued payloads until the queue is empty.
func (s *Server) runDeliveries(webhookURL string) {
	for {
		s.mu.Lock()
		if len(s.hooks.queue) == 0 {
			s.hooks.running = false
			close(s.hooks.drained)
			s.mu.Unlock()
			return
		}
		payload := s.hooks.queue[0]
		s.hooks.queue = s.hooks.queue[1:]
		if s.hooks.url != "" {
			webhookURL = s.hooks.url
		}
		s.mu.Unlock()

		d := Delivery{Time: time.Now(), URL: webhookURL, Payload: payload}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := s.Deliver(ctx, webhookURL, payload)
		if err != nil {
			d.Err = err.Error()
		} else {
			d.Status = resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()

		s.mu.Lock()
		s.hooks.done = append(s.hooks.done, d)
		if d.Status < 200 || d.Status > 299 {
			why := d.Err
			if why == "" {
				why = "answered " + strconv.Itoa(d.Status)
			}
			s.violations = append(s.violations, fmt.Sprintf("webhook delivery POST %s: %s", webhookURL, why))
		}
		s.mu.Unlock()
	}
}

// DMWebhookPayload returns the Account Activity event X delivers for the
// direct message ev (v1.1 shape, with both users) to the support account
// that received it, or else sent it.
func (s *Server) DMWebhookPayload(ev DMEvent) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmPayloadLocked(s.forUserLocked(ev.RecipientID, ev.SenderID), ev)
}

// forUserLocked returns the first support account among ids, or the first
// support account when there is none.
func (s *Server) forUserLocked(ids ...string) string {
	if p := s.supportPartiesLocked(ids...); len(p) > 0 {
		return p[0]
	}
	return s.opts.SupportUserID
}

// dmPayloadLocked renders the Account Activity event of ev for the
// support account forUser.
func (s *Server) dmPayloadLocked(forUser string, ev DMEvent) []byte {
	data := map[string]any{
		"text": ev.Text,
		"entities": map[string]any{
			"hashtags": []any{}, "symbols": []any{}, "user_mentions": []any{}, "urls": []any{},
		},
	}
	if len(ev.MediaIDs) > 0 {
		if m, ok := s.media[ev.MediaIDs[0]]; ok {
			data["attachment"] = map[string]any{
				"type": "media",
				"media": s.v1MediaLocked(m, s.baseURLLocked(), utf8.RuneCountInString(ev.Text),
					"https://twitter.com/messages/media/"+ev.ID),
			}
		}
	}
	create := map[string]any{
		"target":       map[string]any{"recipient_id": ev.RecipientID},
		"sender_id":    ev.SenderID,
		"message_data": data,
	}
	p := map[string]any{
		"for_user_id": forUser,
		"direct_message_events": []any{map[string]any{
			"type":              "message_create",
			"id":                ev.ID,
			"created_timestamp": strconv.FormatInt(ev.CreatedAt.UnixMilli(), 10),
			"message_create":    create,
		}},
		"users": map[string]any{
			ev.SenderID:    s.dmUserLocked(ev.SenderID),
			ev.RecipientID: s.dmUserLocked(ev.RecipientID),
		},
	}
	if s.isSupport(ev.SenderID) {
		// Sent through the API: X names the app.
		create["source_app_id"] = appID
		p["apps"] = map[string]any{appID: map[string]any{"id": appID, "name": "xbridge", "url": ""}}
	}
	return mustJSON(p)
}

// dmUserLocked renders a user as in the "users" of a DM event.
func (s *Server) dmUserLocked(id string) map[string]any {
	u := s.userLocked(id)
	return map[string]any{
		"id":                      u.ID,
		"created_timestamp":       strconv.FormatInt(u.created.UnixMilli(), 10),
		"name":                    u.Name,
		"screen_name":             u.Username,
		"protected":               false,
		"verified":                u.Verified,
		"followers_count":         u.Followers,
		"friends_count":           0,
		"statuses_count":          s.tweetCountLocked(u.ID),
		"profile_image_url":       strings.Replace(u.ProfileImageURL, "https://", "http://", 1),
		"profile_image_url_https": u.ProfileImageURL,
	}
}

func (s *Server) tweetCountLocked(id string) int {
	n := 0
	for _, t := range s.tweets {
		if t.AuthorID == id {
			n++
		}
	}
	return n
}

// TweetWebhookPayload returns the Account Activity event X delivers for
// the tweet t (a mention of a support account, or one of its own tweets)
// to the first support account it concerns: a v1.1 tweet in
// tweet_create_events. As in the real payload, a text over 140 characters
// is truncated, with the full text in extended_tweet.
func (s *Server) TweetWebhookPayload(t Tweet) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tweetPayloadLocked(s.forUserLocked(s.tweetPartiesLocked(t)...), t)
}

// tweetPayloadLocked renders the Account Activity event of t for the
// support account forUser.
func (s *Server) tweetPayloadLocked(forUser string, t Tweet) []byte {
	author := s.userLocked(t.AuthorID)
	id, _ := strconv.ParseInt(t.ID, 10, 64)
	full := []rune(t.Text)
	text := t.Text
	truncated := len(full) > 140
	if truncated {
		text = strings.TrimRight(string(full[:113]), " ") + "… https://t.co/" + tcoCode(t.ID)
	}
	tw := map[string]any{
		"created_at":                t.CreatedAt.UTC().Format(v1Time),
		"id":                        id,
		"id_str":                    t.ID,
		"text":                      text,
		"display_text_range":        []int{0, min(utf8.RuneCountInString(text), 140)},
		"source":                    `<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>`,
		"truncated":                 truncated,
		"in_reply_to_status_id":     nil,
		"in_reply_to_status_id_str": nil,
		"in_reply_to_user_id":       nil,
		"in_reply_to_user_id_str":   nil,
		"in_reply_to_screen_name":   nil,
		"user":                      s.v1UserLocked(author),
		"geo":                       nil,
		"coordinates":               nil,
		"place":                     nil,
		"contributors":              nil,
		"is_quote_status":           false,
		"quote_count":               0,
		"reply_count":               0,
		"retweet_count":             0,
		"favorite_count":            0,
		"entities":                  s.v1EntitiesLocked(text),
		"favorited":                 false,
		"retweeted":                 false,
		"filter_level":              "low",
		"lang":                      "en",
		"timestamp_ms":              strconv.FormatInt(t.CreatedAt.UnixMilli(), 10),
	}
	if t.InReplyToTweetID != "" {
		pid, _ := strconv.ParseInt(t.InReplyToTweetID, 10, 64)
		tw["in_reply_to_status_id"] = pid
		tw["in_reply_to_status_id_str"] = t.InReplyToTweetID
		if t.InReplyToUserID != "" {
			uid, _ := strconv.ParseInt(t.InReplyToUserID, 10, 64)
			tw["in_reply_to_user_id"] = uid
			tw["in_reply_to_user_id_str"] = t.InReplyToUserID
			tw["in_reply_to_screen_name"] = s.userLocked(t.InReplyToUserID).Username
		}
	}
	var media []any
	for i, id := range t.MediaIDs {
		if m, ok := s.media[id]; ok {
			kind := "photo"
			if m.kind != MediaPhoto {
				kind = "video"
			}
			media = append(media, s.v1MediaLocked(m, s.baseURLLocked(), len(full),
				fmt.Sprintf("https://x.com/%s/status/%s/%s/%d", author.Username, t.ID, kind, i+1)))
		}
	}
	if truncated {
		ext := map[string]any{
			"full_text":          t.Text,
			"display_text_range": []int{0, len(full)},
			"entities":           s.v1EntitiesLocked(t.Text),
		}
		if media != nil {
			// X gives the media of a truncated tweet in extended_tweet only.
			ext["entities"].(map[string]any)["media"] = media[:1]
			ext["extended_entities"] = map[string]any{"media": media}
		}
		tw["extended_tweet"] = ext
	} else if media != nil {
		tw["entities"].(map[string]any)["media"] = media[:1]
		tw["extended_entities"] = map[string]any{"media": media}
	}
	p := map[string]any{
		"for_user_id":         forUser,
		"tweet_create_events": []any{tw},
	}
	if t.AuthorID != forUser {
		p["user_has_blocked"] = false
	}
	return mustJSON(p)
}

// v1UserLocked renders a user as in a v1.1 tweet.
func (s *Server) v1UserLocked(u *userRec) map[string]any {
	id, _ := strconv.ParseInt(u.ID, 10, 64)
	return map[string]any{
		"id":                      id,
		"id_str":                  u.ID,
		"name":                    u.Name,
		"screen_name":             u.Username,
		"protected":               false,
		"verified":                u.Verified,
		"followers_count":         u.Followers,
		"friends_count":           0,
		"statuses_count":          s.tweetCountLocked(u.ID),
		"created_at":              u.created.UTC().Format(v1Time),
		"profile_image_url":       strings.Replace(u.ProfileImageURL, "https://", "http://", 1),
		"profile_image_url_https": u.ProfileImageURL,
	}
}

// v1EntitiesLocked renders the entities of a v1.1 tweet text.
func (s *Server) v1EntitiesLocked(text string) map[string]any {
	mentions := []any{}
	for _, m := range s.mentionsLocked(text) {
		id, _ := strconv.ParseInt(m.user.ID, 10, 64)
		mentions = append(mentions, map[string]any{
			"screen_name": m.user.Username,
			"name":        m.user.Name,
			"id":          id,
			"id_str":      m.user.ID,
			"indices":     []int{m.start, m.end},
		})
	}
	return map[string]any{
		"hashtags":      []any{},
		"urls":          []any{},
		"user_mentions": mentions,
		"symbols":       []any{},
	}
}

// tcoCode derives a stable t.co code from a tweet id.
func tcoCode(id string) string {
	n, _ := strconv.ParseUint(id, 10, 64)
	c := strconv.FormatUint(n, 36)
	if len(c) > 10 {
		c = c[len(c)-10:]
	}
	return c
}

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only maps, slices and scalars are encoded
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
