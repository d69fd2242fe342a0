package slacksim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// delivery is one signed request received by the fake app.
type delivery struct {
	header http.Header
	body   []byte
}

// fakeApp is an HTTP app that checks Slack signatures with slack-go and
// records what it receives.
type fakeApp struct {
	srv       *httptest.Server
	got       chan delivery
	failFirst atomic.Int32 // answer 500 to this many requests first
	answer    func(d delivery) (contentType string, body []byte)
}

func newFakeApp(t *testing.T) *fakeApp {
	t.Helper()
	a := &fakeApp{got: make(chan delivery, 100)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slack.NewSecretsVerifier(r.Header, testSecret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		d := delivery{header: r.Header.Clone(), body: body}
		if a.failFirst.Add(-1) >= 0 {
			a.got <- d
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		var probe struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.Type == "url_verification" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(probe.Challenge))
			return
		}
		a.got <- d
		if a.answer != nil {
			ct, b := a.answer(d)
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write(b)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeApp) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-a.got:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered within 5s")
	}
	return delivery{}
}

// parseCallback parses an Events API body with slack-go.
func parseCallback(t *testing.T, body []byte) (*slackevents.EventsAPICallbackEvent, slackevents.EventsAPIInnerEvent) {
	t.Helper()
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	if ev.Type != slackevents.CallbackEvent {
		t.Fatalf("type %s", ev.Type)
	}
	return ev.Data.(*slackevents.EventsAPICallbackEvent), ev.InnerEvent
}

func TestHTTPEventsAreSignedAndShaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	app := newFakeApp(t)
	f.sim.SetEventsURL(app.srv.URL + "/slack/events")

	if err := f.sim.VerifyURL(context.Background(), app.srv.URL+"/slack/events"); err != nil {
		t.Fatalf("url_verification: %v", err)
	}

	ts := f.sim.PostAsUser(testAgent, testChannel, "", "hi from http")
	d := app.next(t)
	if d.header.Get("Content-Type") != "application/json" || d.header.Get("X-Slack-Retry-Num") != "" {
		t.Fatalf("headers %v", d.header)
	}
	var env map[string]any
	if err := json.Unmarshal(d.body, &env); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"token", "team_id", "api_app_id", "event", "type", "event_id", "event_time", "authorizations"} {
		if _, ok := env[k]; !ok {
			t.Errorf("envelope lacks %q: %s", k, d.body)
		}
	}
	cb, inner := parseCallback(t, d.body)
	msg := inner.Data.(*slackevents.MessageEvent)
	if msg.TimeStamp != ts || msg.EventTimeStamp != ts || msg.Text != "hi from http" || cb.APIAppID != "A0SIM" {
		t.Fatalf("event = %+v", msg)
	}

	// A retry of the same event carries the same event_id and X-Slack-Retry-Num.
	f.sim.RedeliverLast()
	d = app.next(t)
	cb2, _ := parseCallback(t, d.body)
	if cb2.EventID != cb.EventID || d.header.Get("X-Slack-Retry-Num") != "1" || d.header.Get("X-Slack-Retry-Reason") == "" {
		t.Fatalf("redelivery: %s %v", cb2.EventID, d.header)
	}

	// Edits, deletions and reactions, each checked against the events spec.
	f.sim.EditAsUser(testAgent, testChannel, ts, "edited text")
	_, inner = parseCallback(t, app.next(t).body)
	if m := inner.Data.(*slackevents.MessageEvent); m.SubType != "message_changed" || m.Message.Text != "edited text" || m.PreviousMessage.Text != "hi from http" {
		t.Fatalf("message_changed = %+v", m)
	}
	f.sim.React(testAgent, testChannel, ts, "wave")
	_, inner = parseCallback(t, app.next(t).body)
	if r := inner.Data.(*slackevents.ReactionAddedEvent); r.Reaction != "wave" || r.Item.Timestamp != ts || r.ItemUser != testAgent {
		t.Fatalf("reaction_added = %+v", r)
	}
	f.sim.DeleteAsUser(testAgent, testChannel, ts)
	_, inner = parseCallback(t, app.next(t).body)
	if m := inner.Data.(*slackevents.MessageEvent); m.SubType != "message_deleted" || m.DeletedTimeStamp != ts {
		t.Fatalf("message_deleted = %+v", m)
	}

	// The bot's own message produces an event with bot_id too.
	_, botTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("bot says", false))
	if err != nil {
		t.Fatal(err)
	}
	_, inner = parseCallback(t, app.next(t).body)
	if m := inner.Data.(*slackevents.MessageEvent); m.BotID != "BBOT" || m.User != "UBOT" || m.TimeStamp != botTS {
		t.Fatalf("bot event = %+v", m)
	}
	f.noViolations(t)
}

func TestHTTPSignatures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	app := newFakeApp(t)
	body := []byte(`{"type":"event_callback"}`)
	now := time.Now().Unix()
	cases := []struct {
		name string
		sig  string
		ts   int64
		want int
	}{
		{"good", Sign(testSecret, now, body), now, http.StatusOK},
		{"wrong secret", Sign("other", now, body), now, http.StatusUnauthorized},
		{"other body", Sign(testSecret, now, []byte("{}")), now, http.StatusUnauthorized},
		{"stale", Sign(testSecret, now-600, body), now - 600, http.StatusUnauthorized},
	}
	for _, c := range cases {
		h := http.Header{
			"X-Slack-Request-Timestamp": {strconv.FormatInt(c.ts, 10)},
			"X-Slack-Signature":         {c.sig},
		}
		resp, err := f.sim.DeliverRaw(context.Background(), app.srv.URL, body, h)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

func TestVerifyURLFailsOnWrongEcho(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"challenge":"nope"}`))
	}))
	defer bad.Close()
	if err := f.sim.VerifyURL(context.Background(), bad.URL); err == nil {
		t.Fatal("wrong challenge accepted")
	}
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Challenge string }
		_ = json.NewDecoder(r.Body).Decode(&v)
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": v.Challenge})
	}))
	defer good.Close()
	if err := f.sim.VerifyURL(context.Background(), good.URL); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPEventRetriedAfterFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.AckTimeout = 50 * time.Millisecond })
	app := newFakeApp(t)
	app.failFirst.Store(1)
	f.sim.SetEventsURL(app.srv.URL)
	f.sim.PostAsUser(testAgent, testChannel, "", "retry me")
	first := app.next(t)
	second := app.next(t)
	cb1, _ := parseCallback(t, first.body)
	cb2, _ := parseCallback(t, second.body)
	if cb1.EventID != cb2.EventID || second.header.Get("X-Slack-Retry-Num") != "1" || second.header.Get("X-Slack-Retry-Reason") != "http_error" {
		t.Fatalf("retry headers %v", second.header)
	}
	f.noViolations(t)
}

func TestHTTPInteractionsAndCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	app := newFakeApp(t)
	app.answer = func(d delivery) (string, []byte) {
		form, _ := url.ParseQuery(string(d.body))
		if form.Get("command") != "" {
			return "application/json", []byte(`{"response_type":"ephemeral","text":"pong"}`)
		}
		return "text/plain", nil
	}
	f.sim.SetInteractionsURL(app.srv.URL + "/interactions")
	f.sim.SetCommandsURL(app.srv.URL + "/commands")
	_, ts, err := f.client.PostMessage(testChannel, slack.MsgOptionText("claim", false), buttonBlocks("claim", "conv-9"))
	if err != nil {
		t.Fatal(err)
	}

	f.sim.ClickButton(testAgent, testChannel, ts, "claim", "conv-9")
	d := app.next(t)
	if ct := d.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Fatalf("content type %q", ct)
	}
	form, _ := url.ParseQuery(string(d.body))
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.ActionCallback.BlockActions[0].Value != "conv-9" || ic.Container.MessageTs != ts {
		t.Fatalf("interaction = %+v", ic)
	}
	// An in_channel answer through response_url lands in the channel.
	req, _ := http.NewRequest(http.MethodPost, ic.ResponseURL, bytes.NewReader([]byte(`{"response_type":"in_channel","text":"alice took it","thread_ts":"`+ts+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := testHTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if th := f.sim.Thread(testChannel, ts); len(th) != 1 || th[0].Text != "alice took it" {
		t.Fatalf("thread = %+v", th)
	}
	if p := f.sim.ResponseURLPosts(); len(p) != 1 || p[0].ResponseType != "in_channel" {
		t.Fatalf("response_url posts = %+v", p)
	}

	resps := f.sim.SlashCommand(testAgent, testChannel, "/xb", "ping")
	d = app.next(t)
	cmdReq, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(d.body))
	cmdReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slack.SlashCommandParse(cmdReq)
	if err != nil || cmd.Command != "/xb" || cmd.Text != "ping" || cmd.ChannelName != "support" || cmd.UserName != "alice" {
		t.Fatalf("command = %+v %v", cmd, err)
	}
	if _, has := url.Values(mustQuery(t, d.body))["thread_ts"]; has {
		t.Fatal("slash commands carry no thread_ts")
	}
	if len(resps) != 1 || resps[0].Via != "http" || resps[0].Text != "pong" {
		t.Fatalf("responses = %+v", resps)
	}
	if e := f.sim.Ephemerals(testAgent); len(e) != 1 || e[0].Text != "pong" {
		t.Fatalf("ephemerals = %+v", e)
	}
	f.noViolations(t)
}

// TestDoubleClick: both clicks are made from the message as it was, so
// the second carries the button even if the app replaced the message
// after the first; each has its own trigger and response_url.
func TestDoubleClick(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	app := newFakeApp(t)
	app.answer = func(delivery) (string, []byte) { return "text/plain", nil }
	f.sim.SetInteractionsURL(app.srv.URL + "/interactions")
	_, ts, err := f.client.PostMessage(testChannel, slack.MsgOptionText("send", false), buttonBlocks("send", "17"))
	if err != nil {
		t.Fatal(err)
	}
	f.sim.DoubleClickButton(testAgent, testChannel, ts, "send", "")
	var got []slack.InteractionCallback
	for range 2 {
		var ic slack.InteractionCallback
		if err := json.Unmarshal([]byte(mustQuery(t, app.next(t).body).Get("payload")), &ic); err != nil {
			t.Fatal(err)
		}
		got = append(got, ic)
	}
	if got[0].TriggerID == got[1].TriggerID || got[0].ResponseURL == got[1].ResponseURL ||
		got[0].ActionCallback.BlockActions[0].Value != "17" || got[1].ActionCallback.BlockActions[0].Value != "17" {
		t.Fatalf("double click = %+v", got)
	}
	f.noViolations(t)
}

func mustQuery(t *testing.T, b []byte) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNoEventSubscriptions: an app subscribed to no events is sent none,
// over HTTP or Socket Mode, while its interactions still reach it; once it
// subscribes, the next thing it is sent is the next event.
func TestNoEventSubscriptions(t *testing.T) {
	t.Parallel()
	// quietWorkspace makes everything happen that raises an event, with
	// subscriptions off, and returns the bot message it posted.
	quietWorkspace := func(t *testing.T, f *fixture) string {
		t.Helper()
		f.sim.SetEventSubscriptions(false)
		ts := f.sim.PostAsUser(testAgent, testChannel, "", "nobody hears this")
		f.sim.PostAsUser(testAgent, testChannel, ts, "nor this")
		f.sim.EditAsUser(testAgent, testChannel, ts, "nor this edit")
		f.sim.React(testAgent, testChannel, ts, "eyes")
		_, botTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("claim", false), buttonBlocks("claim", "conv-1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := f.client.UpdateMessage(testChannel, botTS, slack.MsgOptionText("claim it", false), buttonBlocks("claim", "conv-1")); err != nil {
			t.Fatal(err)
		}
		f.sim.DeleteAsUser(testAgent, testChannel, ts)
		if n := f.sim.Pending(); n != 0 {
			t.Fatalf("%d envelopes wait for an app subscribed to no events", n)
		}
		return botTS
	}

	t.Run("http", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		app := newFakeApp(t)
		f.sim.SetEventsURL(app.srv.URL + "/events")
		f.sim.SetInteractionsURL(app.srv.URL + "/interactions")
		botTS := quietWorkspace(t, f)

		f.sim.ClickButton(testAgent, testChannel, botTS, "claim", "conv-1")
		if d := app.next(t); d.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("first delivery is not the click: %s", d.body)
		}
		f.sim.SetEventSubscriptions(true)
		ts := f.sim.PostAsUser(testAgent, testChannel, "", "now you hear me")
		_, inner := parseCallback(t, app.next(t).body)
		if m, ok := inner.Data.(*slackevents.MessageEvent); !ok || m.TimeStamp != ts {
			t.Fatalf("first event is %+v, want the message %s", inner.Data, ts)
		}
		f.noViolations(t)
	})

	t.Run("socket mode", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		sc := f.startSocket(t)
		sc.hello(t)
		botTS := quietWorkspace(t, f)

		// Nothing was queued (quietWorkspace checked), so the next events_api
		// envelope is the first event raised after subscribing.
		go f.sim.ClickButton(testAgent, testChannel, botTS, "claim", "conv-1")
		sc.sm.Ack(*sc.next(t, socketmode.EventTypeInteractive).Request)
		f.sim.SetEventSubscriptions(true)
		ts := f.sim.PostAsUser(testAgent, testChannel, "", "now you hear me")
		ev := sc.next(t, socketmode.EventTypeEventsAPI)
		if _, msg := messageEvent(t, ev); msg.TimeStamp != ts {
			t.Fatalf("first event is %+v, want the message %s", msg, ts)
		}
		sc.sm.Ack(*ev.Request)
		f.noViolations(t)
	})
}
