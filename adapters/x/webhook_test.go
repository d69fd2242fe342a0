package x

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

// webhook serves the client's webhook handler over HTTP.
func (e *env) webhook(t *testing.T, in Inbound, obs Observer) string {
	t.Helper()
	srv := httptest.NewServer(e.client.WebhookHandler(in, obs))
	t.Cleanup(srv.Close)
	return srv.URL + "/x/webhook"
}

func TestWebhookCRC(t *testing.T) {
	t.Parallel()
	e := setup(t)
	url := e.webhook(t, &recorder{}, nil)
	if err := e.sim.CRC(context.Background(), url); err != nil {
		t.Fatalf("CRC: %v", err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET without crc_token: %d, want 400", resp.StatusCode)
	}
}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	rec := &recorder{}
	obs := &observer{}
	url := e.webhook(t, rec, obs)

	dm := e.sim.CustomerDM(dana, "Hi! My order #4521 still says 'label created' 😕")
	mention := e.sim.CustomerMention(raj, "the app logs me out every few minutes", "")
	e.clock.Advance(time.Minute)
	replyID, err := e.client.Reply(ctx, account, mention.ID, "Sorry Raj! Which version of the app are you on?")
	if err != nil {
		t.Fatal(err)
	}
	answer := e.sim.CustomerMention(raj, "@acme_help 5.2.1 on Android", replyID)
	own := e.sim.Tweets()
	var ownTweet xsim.Tweet
	for _, tw := range own {
		if tw.ID == replyID {
			ownTweet = tw
		}
	}
	long := e.sim.CustomerMention(raj, strings.Repeat("It happens again and again, even after reinstalling. ", 4), "")

	for _, p := range [][]byte{
		e.sim.DMWebhookPayload(dm),
		e.sim.TweetWebhookPayload(mention),
		e.sim.TweetWebhookPayload(ownTweet),
		e.sim.TweetWebhookPayload(answer),
		e.sim.TweetWebhookPayload(long),
	} {
		resp, err := e.sim.Deliver(ctx, url, p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery answered %d", resp.StatusCode)
		}
	}

	got := rec.all()
	if len(got) != 5 {
		t.Fatalf("%d events handled, want 5: %+v", len(got), got)
	}
	wantDM := bridge.InboundMessage{
		EventID: dm.ID, Account: account, Kind: bridge.KindDM, ConversationKey: "1000-2001",
		Sender: bridge.XUser{ID: dana, Handle: "danawhit", Name: "Dana Whitfield",
			AvatarURL: "https://pbs.twimg.com/profile_images/1/dana_normal.jpg", Followers: 1843, Verified: true},
		RecipientID: account, Text: dm.Text, CreatedAt: dm.CreatedAt, Via: "webhook",
	}
	if !reflect.DeepEqual(got[0], wantDM) {
		t.Errorf("DM:\n got %+v\nwant %+v", got[0], wantDM)
	}
	checks := []struct {
		i                   int
		id, inReplyTo, conv string
		sender              string
		text                string
	}{
		{1, mention.ID, "", mention.ID, raj, mention.Text},
		{2, replyID, mention.ID, "", account, ownTweet.Text},
		{3, answer.ID, replyID, "", raj, answer.Text},
		{4, long.ID, "", long.ID, raj, long.Text},
	}
	for _, c := range checks {
		m := got[c.i]
		if m.Kind != bridge.KindMention || m.EventID != c.id || m.InReplyToID != c.inReplyTo ||
			m.ConversationKey != c.conv || m.Sender.ID != c.sender || m.Text != c.text || m.Account != account {
			t.Errorf("event %d = %+v\nwant id %s in reply to %q, conversation %q, sender %s, text %q",
				c.i, m, c.id, c.inReplyTo, c.conv, c.sender, c.text)
		}
	}
	if ev := obs.eventList(); len(ev) != 5 {
		t.Errorf("observer events %q", ev)
	}
	e.noViolations(t)
}

func TestWebhookRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	dm := e.sim.CustomerDM(dana, "hello?")
	good := e.sim.DMWebhookPayload(dm)
	otherSecret := xsim.Sign("not-the-consumer-secret", good)
	tests := []struct {
		name      string
		body      []byte
		signature string // "" for none; "good" to sign properly
		want      int
	}{
		{"no signature", good, "", http.StatusUnauthorized},
		{"wrong secret", good, otherSecret, http.StatusUnauthorized},
		{"garbage signature", good, "sha256=@@@", http.StatusUnauthorized},
		{"signature of another body", append(bytes.Clone(good), ' '), xsim.Sign(simConsumerSecret, good), http.StatusUnauthorized},
		{"malformed JSON", []byte(`{"for_user_id": "1000", "direct_message_events": [`), "good", http.StatusBadRequest},
		{"not an object", []byte(`[1, 2, 3]`), "good", http.StatusBadRequest},
		{"too large", bytes.Repeat([]byte(" "), maxWebhookBody+1), "good", http.StatusRequestEntityTooLarge},
		{"for another account", []byte(`{"for_user_id": "4242", "direct_message_events": []}`), "good", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			url := e.webhook(t, rec, nil)
			sig := tt.signature
			if sig == "good" {
				sig = xsim.Sign(simConsumerSecret, tt.body)
			}
			resp, err := e.sim.DeliverRaw(context.Background(), url, tt.body, sig)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if n := len(rec.all()); n != 0 {
				t.Errorf("%d events handled, want none", n)
			}
		})
	}
	t.Run("other methods", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequest(http.MethodPut, "/x/webhook", nil)
		w := httptest.NewRecorder()
		e.client.WebhookHandler(&recorder{}, nil).ServeHTTP(w, req)
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("PUT: %d, want 405", w.Code)
		}
	})
	t.Run("no consumer secret", func(t *testing.T) {
		t.Parallel()
		c := e.newClient(t, Config{UserToken: simUserToken})
		req := httptest.NewRequest(http.MethodGet, "/x/webhook?crc_token=abc", nil)
		w := httptest.NewRecorder()
		c.WebhookHandler(&recorder{}, nil).ServeHTTP(w, req)
		if w.Code == http.StatusOK {
			t.Error("CRC answered without a consumer secret")
		}
	})
}

// TestWebhookHandlerErrors: X redelivers when the answer is not 2xx, which
// is only useful when a retry may succeed.
func TestWebhookHandlerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{bridge.Errorf(bridge.EUNAVAILABLE, "database is restarting"), http.StatusInternalServerError},
		{errors.New("disk I/O error"), http.StatusInternalServerError},
		{bridge.Errorf(bridge.EINVALID, "inbound event lacks an id"), http.StatusOK},
		{bridge.Errorf(bridge.ECONFLICT, "already there"), http.StatusOK},
	}
	e := setup(t)
	payload := e.sim.DMWebhookPayload(e.sim.CustomerDM(dana, "hi"))
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			t.Parallel()
			rec := &recorder{fail: func(bridge.InboundMessage) error { return tt.err }}
			url := e.webhook(t, rec, nil)
			resp, err := e.sim.Deliver(context.Background(), url, payload)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestWebhookIgnoresOtherEvents: events the bridge does not use are
// acknowledged and counted, and so are read receipts and typing when the
// Inbound does not take them (is not Receipts).
func TestWebhookIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rec := &recorder{}
	obs := &observer{}
	url := e.webhook(t, rec, obs)
	body := []byte(strings.ReplaceAll(otherEventsWebhook, testAccount, account))
	resp, err := e.sim.Deliver(context.Background(), url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(rec.all()) != 0 {
		t.Fatalf("status %d, %d handled; want 200 and none", resp.StatusCode, len(rec.all()))
	}
	want := []string{"webhook:favorite_events", "webhook:direct_message_mark_read_events",
		"webhook:direct_message_mark_read_events", "webhook:direct_message_indicate_typing_events"}
	if got := obs.ignoredReasons(); !reflect.DeepEqual(got, want) {
		t.Errorf("ignored %q, want %q", got, want)
	}
}

// TestSameDMByWebhookAndPoll: ingest may see an event twice; both reach
// Inbound with the same id, and the domain deduplicates.
func TestSameDMByWebhookAndPoll(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	rec := &recorder{}
	e.sim.AutoDeliver(e.webhook(t, rec, nil))
	p := &Poller{Client: e.client, In: rec, Cursors: &memCursors{}, Clock: e.clock, Logger: testLogger(t)}
	if _, err := p.PollDMs(ctx); err != nil { // first start: from now
		t.Fatal(err)
	}

	dm := e.sim.CustomerDM(dana, "Is my return label coming by email?")
	if err := e.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := p.PollDMs(ctx); err != nil || n != 1 {
		t.Fatalf("PollDMs = %d, %v; want 1", n, err)
	}
	got := rec.all()
	if len(got) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(got), got)
	}
	byWebhook, byPoll := got[0], got[1]
	if byWebhook.Via != "webhook" || byPoll.Via != "poll" {
		t.Fatalf("via %q then %q", byWebhook.Via, byPoll.Via)
	}
	byWebhook.Via, byPoll.Via = "", ""
	if !reflect.DeepEqual(byWebhook, byPoll) || byPoll.EventID != dm.ID {
		t.Errorf("webhook and poll disagree:\nwebhook %+v\npoll    %+v", byWebhook, byPoll)
	}
	e.noViolations(t)
}
