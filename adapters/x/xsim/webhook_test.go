package xsim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// webhook is a receiver that checks CRC and signatures as the bridge must,
// with an implementation independent of the simulator's.
type webhook struct {
	secret string
	mu     sync.Mutex
	got    [][]byte
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mac := func(msg []byte) string {
		m := hmac.New(sha256.New, []byte(h.secret))
		m.Write(msg)
		return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"response_token": mac([]byte(r.URL.Query().Get("crc_token")))})
	case http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		if !hmac.Equal([]byte(r.Header.Get("X-Twitter-Webhooks-Signature")), []byte(mac(body))) || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, body)
		h.mu.Unlock()
	}
}

func (h *webhook) received() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.got...)
}

func TestSignAndCRCResponse(t *testing.T) {
	t.Parallel()
	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a
	// published test vector, in base64.
	const want = "sha256=97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
	if got := Sign("key", []byte("The quick brown fox jumps over the lazy dog")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := CRCResponse("key", "The quick brown fox jumps over the lazy dog"); got != want {
		t.Fatalf("CRCResponse = %s, want %s", got, want)
	}
}

func TestCRC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := httptest.NewServer(&webhook{secret: testConsumerSecret})
	defer good.Close()
	wrong := httptest.NewServer(&webhook{secret: "another secret"})
	defer wrong.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer broken.Close()
	ctx := context.Background()
	if err := f.sim.CRC(ctx, good.URL+"/webhooks/x?env=test"); err != nil {
		t.Fatalf("good webhook: %v", err)
	}
	if err := f.sim.CRC(ctx, wrong.URL); err == nil || !strings.Contains(err.Error(), "response_token") {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := f.sim.CRC(ctx, broken.URL); err == nil {
		t.Fatal("broken webhook passed CRC")
	}
}

func TestDeliverSignatures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := &webhook{secret: testConsumerSecret}
	srv := httptest.NewServer(h)
	defer srv.Close()
	payload := f.sim.DMWebhookPayload(f.sim.CustomerDM("2001", "hello"))
	ctx := context.Background()
	tests := []struct {
		name   string
		send   func() (*http.Response, error)
		status int
	}{
		{"signed", func() (*http.Response, error) { return f.sim.Deliver(ctx, srv.URL, payload) }, 200},
		{"bad signature", func() (*http.Response, error) {
			return f.sim.DeliverRaw(ctx, srv.URL, payload, Sign("not the secret", payload))
		}, 403},
		{"signature of another body", func() (*http.Response, error) {
			return f.sim.DeliverRaw(ctx, srv.URL, payload, Sign(testConsumerSecret, []byte("{}")))
		}, 403},
		{"no signature", func() (*http.Response, error) { return f.sim.DeliverRaw(ctx, srv.URL, payload, "") }, 403},
	}
	for _, tc := range tests {
		resp, err := tc.send()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if n := len(h.received()); n != 1 {
		t.Fatalf("webhook accepted %d deliveries, want 1", n)
	}
}

// v1DMPayload is the Account Activity DM event as the bridge would decode it.
type v1DMPayload struct {
	ForUserID string `json:"for_user_id"`
	Events    []struct {
		Type             string `json:"type"`
		ID               string `json:"id"`
		CreatedTimestamp string `json:"created_timestamp"`
		MessageCreate    struct {
			Target struct {
				RecipientID string `json:"recipient_id"`
			} `json:"target"`
			SenderID    string  `json:"sender_id"`
			SourceAppID *string `json:"source_app_id"`
			MessageData struct {
				Text     string `json:"text"`
				Entities struct {
					Hashtags     []any `json:"hashtags"`
					Symbols      []any `json:"symbols"`
					UserMentions []any `json:"user_mentions"`
					URLs         []any `json:"urls"`
				} `json:"entities"`
			} `json:"message_data"`
		} `json:"message_create"`
	} `json:"direct_message_events"`
	Users map[string]struct {
		ID                   string `json:"id"`
		CreatedTimestamp     string `json:"created_timestamp"`
		Name                 string `json:"name"`
		ScreenName           string `json:"screen_name"`
		FollowersCount       int    `json:"followers_count"`
		Verified             bool   `json:"verified"`
		ProfileImageURLHTTPS string `json:"profile_image_url_https"`
	} `json:"users"`
}

// v1TweetPayload is the Account Activity tweet event as the bridge would
// decode it.
type v1TweetPayload struct {
	ForUserID string `json:"for_user_id"`
	Events    []struct {
		CreatedAt            string  `json:"created_at"`
		ID                   int64   `json:"id"`
		IDStr                string  `json:"id_str"`
		Text                 string  `json:"text"`
		Truncated            bool    `json:"truncated"`
		InReplyToStatusIDStr *string `json:"in_reply_to_status_id_str"`
		InReplyToUserIDStr   *string `json:"in_reply_to_user_id_str"`
		User                 struct {
			IDStr                string `json:"id_str"`
			ScreenName           string `json:"screen_name"`
			Name                 string `json:"name"`
			FollowersCount       int    `json:"followers_count"`
			Verified             bool   `json:"verified"`
			ProfileImageURLHTTPS string `json:"profile_image_url_https"`
		} `json:"user"`
		Entities struct {
			UserMentions []struct {
				IDStr      string `json:"id_str"`
				ScreenName string `json:"screen_name"`
				Indices    []int  `json:"indices"`
			} `json:"user_mentions"`
		} `json:"entities"`
		ExtendedTweet *struct {
			FullText string `json:"full_text"`
		} `json:"extended_tweet"`
	} `json:"tweet_create_events"`
}

func TestDMWebhookPayload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := f.sim.CustomerDM("2001", "where is my parcel?")
	var p v1DMPayload
	decode(t, f.sim.DMWebhookPayload(ev), &p)
	if p.ForUserID != supportID || len(p.Events) != 1 {
		t.Fatalf("payload %+v", p)
	}
	e := p.Events[0]
	mc := e.MessageCreate
	if e.Type != "message_create" || e.ID != ev.ID || e.CreatedTimestamp != "1748856600000" ||
		mc.Target.RecipientID != supportID || mc.SenderID != "2001" || mc.MessageData.Text != ev.Text ||
		mc.SourceAppID != nil ||
		mc.MessageData.Entities.Hashtags == nil || mc.MessageData.Entities.Symbols == nil ||
		mc.MessageData.Entities.UserMentions == nil || mc.MessageData.Entities.URLs == nil {
		t.Fatalf("event %+v", e)
	}
	alice, support := p.Users["2001"], p.Users[supportID]
	if alice.ID != "2001" || alice.ScreenName != "alice" || alice.Name != "Alice" || alice.FollowersCount != 12 ||
		alice.ProfileImageURLHTTPS != "https://pbs.twimg.com/a.jpg" || alice.CreatedTimestamp == "" ||
		support.ScreenName != supportHandle {
		t.Fatalf("users %+v", p.Users)
	}
}

func TestTweetWebhookPayload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.sim.CustomerMention("2002", "hello", "")
	long := f.sim.CustomerMention("2001", strings.Repeat("word ", 40), root.ID)

	var p v1TweetPayload
	decode(t, f.sim.TweetWebhookPayload(root), &p)
	tw := p.Events[0]
	if p.ForUserID != supportID || tw.IDStr != root.ID || tw.Text != "@acme_help hello" ||
		tw.InReplyToStatusIDStr != nil || tw.InReplyToUserIDStr != nil || tw.Truncated ||
		tw.User.IDStr != "2002" || tw.User.ScreenName != "bob" || !tw.User.Verified ||
		len(tw.Entities.UserMentions) != 1 || tw.Entities.UserMentions[0].IDStr != supportID ||
		tw.Entities.UserMentions[0].Indices[0] != 0 || tw.Entities.UserMentions[0].Indices[1] != 10 {
		t.Fatalf("root %+v", tw)
	}
	if ts, err := time.Parse(time.RubyDate, tw.CreatedAt); err != nil || !ts.Equal(start) {
		t.Fatalf("created_at %q: %v", tw.CreatedAt, err)
	}

	decode(t, f.sim.TweetWebhookPayload(long), &p)
	tw = p.Events[0]
	if tw.InReplyToStatusIDStr == nil || *tw.InReplyToStatusIDStr != root.ID || *tw.InReplyToUserIDStr != "2002" {
		t.Fatalf("reply fields %+v", tw)
	}
	if !tw.Truncated || tw.ExtendedTweet == nil || tw.ExtendedTweet.FullText != long.Text || len([]rune(tw.Text)) > 140 {
		t.Fatalf("long tweet: truncated=%v text=%q extended=%+v", tw.Truncated, tw.Text, tw.ExtendedTweet)
	}
}

func TestAutoDeliver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := &webhook{secret: testConsumerSecret}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f.sim.AutoDeliver(srv.URL)

	dm := f.sim.CustomerDM("2001", "hi")
	mention := f.sim.CustomerMention("2002", "@acme_help hey", "")
	resp, body := f.do(t, http.MethodPost, dmPath, map[string]string{"text": "hello back"}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)
	resp, body = f.do(t, http.MethodPost, "/2/tweets", map[string]any{"text": "hey bob", "reply": map[string]string{"in_reply_to_tweet_id": mention.ID}}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.received()
	if len(got) != 4 {
		t.Fatalf("%d deliveries, want 4", len(got))
	}
	var d1, d3 v1DMPayload
	var t2, t4 v1TweetPayload
	decode(t, got[0], &d1)
	decode(t, got[1], &t2)
	decode(t, got[2], &d3)
	decode(t, got[3], &t4)
	switch {
	case d1.Events[0].ID != dm.ID:
		t.Errorf("delivery 1 is not the customer's DM: %s", got[0])
	case t2.Events[0].IDStr != mention.ID:
		t.Errorf("delivery 2 is not the mention: %s", got[1])
	case d3.Events[0].MessageCreate.SenderID != supportID || d3.Events[0].MessageCreate.SourceAppID == nil:
		t.Errorf("delivery 3 is not the echo of the sent DM: %s", got[2])
	case t4.Events[0].User.IDStr != supportID || *t4.Events[0].InReplyToStatusIDStr != mention.ID:
		t.Errorf("delivery 4 is not the echo of the reply: %s", got[3])
	}
	if ds := f.sim.Deliveries(); len(ds) != 4 || ds[3].Status != 200 {
		t.Errorf("deliveries %+v", ds)
	}
	noViolations(t, f.sim)

	// A webhook that refuses deliveries is a violation; AutoDeliver("") stops.
	refusing := httptest.NewServer(&webhook{secret: "wrong"})
	defer refusing.Close()
	f.sim.AutoDeliver(refusing.URL)
	f.sim.CustomerDM("2001", "anyone?")
	if err := f.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if v := violationsContaining(f.sim, "webhook delivery"); len(v) != 1 {
		t.Fatalf("violations %q", f.sim.Violations())
	}
	f.sim.AutoDeliver("")
	f.sim.CustomerDM("2001", "hello?")
	if err := f.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sim.Deliveries()); n != 5 {
		t.Fatalf("%d deliveries after AutoDeliver(\"\"), want 5", n)
	}
}
