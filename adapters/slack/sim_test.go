package slack

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

const (
	testBotToken = "xoxb-test-bot"
	testAppToken = "xapp-test-app"
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testChannel  = "C0SUPPORT"
	testAgent    = "UAGENT1"
)

// recorder is a Handler that remembers what it was given and can be told
// to fail. Like the domain, it takes each event id once: Slack delivers at
// least once (an acknowledgement lost with a dropped connection means the
// event comes again).
type recorder struct {
	mu       sync.Mutex
	seen     map[string]bool
	messages []bridge.ChatMessage
	edits    []bridge.ChatEdit
	deletes  []bridge.ChatDelete
	actions  []bridge.ChatAction
	failures map[string][]error // by kind: errors for the next calls
	calls    map[string]int
}

func newRecorder() *recorder {
	return &recorder{failures: map[string][]error{}, calls: map[string]int{}, seen: map[string]bool{}}
}

// failNext makes the next call of kind ("message", "edit", "delete",
// "action") return err.
func (r *recorder) failNext(kind string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures[kind] = append(r.failures[kind], err)
}

func (r *recorder) take(kind string) error {
	r.calls[kind]++
	if q := r.failures[kind]; len(q) > 0 {
		r.failures[kind] = q[1:]
		return q[0]
	}
	return nil
}

func (r *recorder) HandleChatMessage(_ context.Context, m bridge.ChatMessage) (bridge.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.take("message"); err != nil {
		return "", err
	}
	if r.seen[m.EventID] {
		return bridge.OutcomeDuplicate, nil
	}
	r.seen[m.EventID] = true
	r.messages = append(r.messages, m)
	return bridge.OutcomeStored, nil
}

func (r *recorder) HandleChatEdit(_ context.Context, e bridge.ChatEdit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.take("edit"); err != nil || r.seen[e.EventID] {
		return err
	}
	r.seen[e.EventID] = true
	r.edits = append(r.edits, e)
	return nil
}

func (r *recorder) HandleChatDelete(_ context.Context, d bridge.ChatDelete) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.take("delete"); err != nil || r.seen[d.EventID] {
		return err
	}
	r.seen[d.EventID] = true
	r.deletes = append(r.deletes, d)
	return nil
}

func (r *recorder) HandleChatAction(_ context.Context, a bridge.ChatAction) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, a)
	return r.take("action")
}

func (r *recorder) Messages() []bridge.ChatMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages)
}

// Message returns the handled message with the given ts.
func (r *recorder) Message(ts string) (bridge.ChatMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.messages {
		if m.MessageID == ts {
			return m, true
		}
	}
	return bridge.ChatMessage{}, false
}

// has reports whether the message with ts was handled.
func (r *recorder) has(ts string) func() bool {
	return func() bool { _, ok := r.Message(ts); return ok }
}

func (r *recorder) Edits() []bridge.ChatEdit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.edits)
}

func (r *recorder) Deletes() []bridge.ChatDelete {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deletes)
}

func (r *recorder) Actions() []bridge.ChatAction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.actions)
}

func (r *recorder) Calls(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[kind]
}

// bundle is a simulated workspace, an adapter pointed at it and a
// recording handler.
type bundle struct {
	sim     *slacksim.Server
	srv     *httptest.Server
	adapter *Adapter
	h       *recorder
	ex      *fakeExecutor // commands run against it (prefix "!")
	appURL  string        // the bridge's own HTTP server, in HTTP mode
}

type mode int

const (
	httpMode mode = iota
	socketMode
)

// setup starts slacksim and an adapter against it. In HTTP mode the
// adapter's handlers are served and registered with the simulator; in
// Socket Mode RunSocketMode runs until the test ends.
func setup(t *testing.T, m mode) *bundle {
	t.Helper()
	return setupWith(t, m, nil)
}

// setupWith is setup with a chance to change the simulator (users, user
// groups) and the adapter's Config before the adapter starts.
func setupWith(t *testing.T, m mode, edit func(*slacksim.Server, *Config)) *bundle {
	t.Helper()
	opts := slacksim.Options{
		BotToken: testBotToken, SigningSecret: testSecret,
		BotUserID: "UBOT", BotID: "BBOT", TeamID: "T0001",
		AckTimeout: 300 * time.Millisecond, PingInterval: time.Second,
	}
	if m == socketMode {
		opts.AppToken = testAppToken
	}
	sim, err := slacksim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	sim.AddChannel(testChannel, "support")
	sim.AddUser(slacksim.User{ID: testAgent, Name: "alice", RealName: "Alice Agent"})

	cfg := Config{APIURL: srv.URL + "/api/", BotToken: testBotToken, SigningSecret: testSecret}
	if m == socketMode {
		cfg.AppToken = testAppToken
	}
	if edit != nil {
		edit(sim, &cfg)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{sim: sim, srv: srv, adapter: a, h: newRecorder(), ex: newFakeExecutor()}
	a.SetCommands(commands.NewProcessor("!"), b.ex)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	switch m {
	case httpMode:
		mux := http.NewServeMux()
		mux.Handle("POST /slack/events", a.EventsHandler(b.h))
		mux.Handle("POST /slack/interactions", a.InteractionsHandler(b.h))
		mux.Handle("POST /slack/commands", a.CommandsHandler())
		app := httptest.NewServer(mux)
		t.Cleanup(func() {
			app.Close()
			a.Close()
		})
		b.appURL = app.URL
		sim.SetEventsURL(app.URL + "/slack/events")
		sim.SetInteractionsURL(app.URL + "/slack/interactions")
		sim.SetCommandsURL(app.URL + "/slack/commands")
	case socketMode:
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.RunSocketMode(ctx, b.h) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunSocketMode: %v", err)
			}
			a.Close()
			if a.Connected() {
				t.Error("still Connected after RunSocketMode returned")
			}
		})
		b.waitFor(t, "the Socket Mode connection", a.Connected)
	}
	return b
}

// waitFor waits up to 5 s for cond.
func (b *bundle) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.sim.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// noViolations fails the test if the simulator saw anything real Slack
// would refuse.
func (b *bundle) noViolations(t *testing.T) {
	t.Helper()
	for _, v := range b.sim.Violations() {
		t.Errorf("slacksim violation: %s", v)
	}
}

// postCard posts a card and returns the thread id.
func (b *bundle) postCard(t *testing.T) string {
	t.Helper()
	ts, err := b.adapter.PostCard(context.Background(), testChannel, testCard(), "card:1")
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}
	return ts
}

func testCard() bridge.Card {
	return bridge.Card{
		Ticket: "#1", Kind: bridge.KindDM, Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
		CustomerName: "Jane Doe", Handle: "jane", ProfileURL: "https://x.com/jane", Followers: 48213,
		OpenedAt: time.Now(),
	}
}

func metadataOf(t *testing.T, raw json.RawMessage) (string, string) {
	t.Helper()
	var md struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatalf("metadata %s: %v", raw, err)
	}
	key, _ := md.EventPayload["key"].(string)
	return md.EventType, key
}

func TestPlatformLandsInSlack(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	a := b.adapter

	thread := b.postCard(t)
	roots := b.sim.Roots(testChannel)
	if len(roots) != 1 || roots[0].TS != thread {
		t.Fatalf("roots = %+v, want the card %s", roots, thread)
	}
	if typ, key := metadataOf(t, roots[0].Metadata); typ != "xbridge_card" || key != "card:1" {
		t.Errorf("card metadata = %s %s", typ, key)
	}
	if !strings.Contains(string(roots[0].Blocks), "48.2k") || !strings.Contains(roots[0].Text, "#1 · Jane Doe") {
		t.Errorf("card text %q, blocks %s", roots[0].Text, roots[0].Blocks)
	}

	long := strings.Repeat("0123456789 ", 910) // 10,010 characters
	posts := []bridge.Post{
		{Kind: bridge.PostCustomer, Text: "Hi <!channel> & team", AuthorName: "Jane Doe", AvatarURL: "https://pbs.twimg.com/jane.jpg", Key: "post:1"},
		{Kind: bridge.PostCustomer, Text: long, AuthorName: "Jane Doe", Key: "post:2"},
		{Kind: bridge.PostNotice, Text: "Claimed by alice", Key: "post:3"},
		{Kind: bridge.PostWarning, Text: "Delivery unknown", Buttons: []bridge.Button{{Action: bridge.ActionResend, Label: "Resend", Value: "17"}}, Key: "post:4"},
	}
	var ids []string
	for _, p := range posts {
		id, err := a.Post(ctx, testChannel, thread, p)
		if err != nil {
			t.Fatalf("Post %s: %v", p.Kind, err)
		}
		ids = append(ids, id)
	}
	replies := b.sim.Thread(testChannel, thread)
	if len(replies) != len(posts) {
		t.Fatalf("%d replies in the thread, want %d", len(replies), len(posts))
	}
	for i, r := range replies {
		if r.TS != ids[i] {
			t.Errorf("reply %d ts %s, Post returned %s", i, r.TS, ids[i])
		}
		if typ, key := metadataOf(t, r.Metadata); typ != "xbridge_post" || key != posts[i].Key {
			t.Errorf("reply %d metadata = %s %s", i, typ, key)
		}
	}
	if c := replies[0]; c.Username != "Jane Doe" || c.IconURL != "https://pbs.twimg.com/jane.jpg" ||
		!strings.Contains(string(c.Blocks), `Hi \u0026lt;!channel\u0026gt; \u0026amp; team`) {
		t.Errorf("customer post: username %q icon %q blocks %s", c.Username, c.IconURL, c.Blocks)
	}
	var sections []map[string]any
	if err := json.Unmarshal(replies[1].Blocks, &sections); err != nil || len(sections) != 4 {
		t.Errorf("10,000-character post: %d blocks (%v), want 4 sections", len(sections), err)
	}
	if !strings.Contains(string(replies[3].Blocks), `"action_id":"xb_resend"`) {
		t.Errorf("warning blocks %s lack the Resend button", replies[3].Blocks)
	}

	card := testCard()
	card.Status, card.Priority = bridge.StatusPending, bridge.PriorityHigh
	if err := a.UpdateCard(ctx, testChannel, thread, card); err != nil {
		t.Fatalf("UpdateCard: %v", err)
	}
	root, _ := b.sim.Message(testChannel, thread)
	if !root.Edited || !strings.Contains(string(root.Blocks), "Waiting on customer") || !strings.Contains(string(root.Blocks), "High") {
		t.Errorf("updated card: edited %v blocks %s", root.Edited, root.Blocks)
	}

	agentMsg := b.sim.PostAsUser(testAgent, testChannel, thread, "We are on it")
	steps := []struct {
		r    bridge.Reaction
		add  bool
		want []string
	}{
		{bridge.ReactionWaiting, true, []string{"hourglass_flowing_sand"}},
		{bridge.ReactionWaiting, true, []string{"hourglass_flowing_sand"}}, // already_reacted
		{bridge.ReactionWaiting, false, nil},
		{bridge.ReactionWaiting, false, nil}, // no_reaction
		{bridge.ReactionSent, true, []string{"white_check_mark"}},
		{bridge.ReactionFailed, true, []string{"white_check_mark", "warning"}},
	}
	for i, s := range steps {
		if err := a.React(ctx, testChannel, "", agentMsg, s.r, s.add); err != nil {
			t.Fatalf("step %d: React(%s, %v): %v", i, s.r, s.add, err)
		}
		m, _ := b.sim.Message(testChannel, agentMsg)
		if !slices.Equal(m.Reactions, s.want) {
			t.Errorf("step %d: reactions %v, want %v", i, m.Reactions, s.want)
		}
	}
	b.waitFor(t, "the agent's message to reach the handler", b.h.has(agentMsg))
	b.noViolations(t)
}

func TestDeliveryErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	thread := b.postCard(t)
	tests := []struct {
		name        string
		method      string
		fault       slacksim.Fault
		channel     string
		temporary   bool
		rateLimited bool
		retryAfter  time.Duration
		reason      string
	}{
		{name: "429 with Retry-After", method: "chat.postMessage", fault: slacksim.Fault{Status: 429, RetryAfter: 30 * time.Second},
			temporary: true, rateLimited: true, retryAfter: 30 * time.Second, reason: "rate limit"},
		{name: "503", method: "chat.postMessage", fault: slacksim.Fault{Status: 503}, temporary: true, reason: "HTTP 503"},
		{name: "internal_error", method: "chat.postMessage", fault: slacksim.Fault{Error: "internal_error"}, temporary: true},
		{name: "dropped connection", method: "chat.postMessage", fault: slacksim.Fault{Drop: true}, temporary: true, reason: "unreachable"},
		{name: "channel_not_found", channel: "CNOPE", reason: "channel was not found"},
		{name: "not_in_channel", method: "chat.postMessage", fault: slacksim.Fault{Error: "not_in_channel"}, reason: "invite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: faults apply to the next call of the shared simulator.
			if tt.method != "" {
				b.sim.FailNext(tt.method, 1, tt.fault)
			}
			ch := testChannel
			if tt.channel != "" {
				ch = tt.channel
			}
			before := time.Now()
			_, err := b.adapter.Post(context.Background(), ch, thread, bridge.Post{Kind: bridge.PostNotice, Text: "hello"})
			var de *bridge.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want a *bridge.DeliveryError", err, err)
			}
			if de.Temporary != tt.temporary || de.RateLimited != tt.rateLimited {
				t.Errorf("temporary %v rate limited %v, want %v %v (%v)", de.Temporary, de.RateLimited, tt.temporary, tt.rateLimited, de)
			}
			if tt.retryAfter > 0 {
				if de.RetryAt.Before(before.Add(tt.retryAfter)) || de.RetryAt.After(time.Now().Add(tt.retryAfter)) {
					t.Errorf("RetryAt %v, want about now + %v", de.RetryAt, tt.retryAfter)
				}
			} else if !de.RetryAt.IsZero() {
				t.Errorf("RetryAt %v, want zero", de.RetryAt)
			}
			if !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", de.Reason, tt.reason)
			}
		})
	}
	// Faults deliberately answered are not violations; nothing else is either.
	b.noViolations(t)

	t.Run("reactions", func(t *testing.T) {
		b.sim.FailNext("reactions.add", 1, slacksim.Fault{Status: 500})
		err := b.adapter.React(context.Background(), testChannel, "", thread, bridge.ReactionSent, true)
		if de := bridge.AsDeliveryError(err); err == nil || !de.Temporary {
			t.Errorf("React on a 500: %v", err)
		}
		err = b.adapter.React(context.Background(), testChannel, "", "1.000001", bridge.ReactionSent, true)
		if de := bridge.AsDeliveryError(err); err == nil || de.Temporary || !strings.Contains(de.Reason, "message was not found") {
			t.Errorf("React on a missing message: %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	if !b.adapter.Connected() {
		t.Error("HTTP mode: not Connected after Check")
	}
	if got := b.adapter.self(); got != (identity{UserID: "UBOT", BotID: "BBOT"}) {
		t.Errorf("identity = %+v", got)
	}
	bad, err := New(Config{APIURL: b.srv.URL + "/api/", BotToken: "xoxb-wrong", SigningSecret: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || !strings.Contains(err.Error(), "XBRIDGE_SLACK_BOT_TOKEN") {
		t.Errorf("Check with a wrong token: %v", err)
	}
	if bad.Connected() {
		t.Error("Connected after a failed Check")
	}
	if strings.Contains(err.Error(), "xoxb-wrong") {
		t.Error("the error shows the token")
	}
}

func TestHTTPEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()

	if err := b.sim.VerifyURL(ctx, b.appURL+"/slack/events"); err != nil {
		t.Errorf("url_verification: %v", err)
	}

	thread := b.postCard(t) // the card's own event is ignored
	if _, err := b.adapter.Post(ctx, testChannel, thread, bridge.Post{Kind: bridge.PostCustomer, Text: "Help!", AuthorName: "Jane"}); err != nil {
		t.Fatal(err)
	}
	ts := b.sim.PostAsUser(testAgent, testChannel, thread, "Hi Jane")
	b.waitFor(t, "the agent's message", func() bool { return len(b.h.Messages()) > 0 })
	msgs := b.h.Messages()
	if len(msgs) != 1 {
		t.Fatalf("handled %d messages, want only the agent's: %+v", len(msgs), msgs)
	}
	want := bridge.ChatMessage{Platform: "slack", EventID: msgs[0].EventID, Channel: testChannel, ThreadID: thread,
		MessageID: ts, UserID: testAgent, UserName: "alice", Roles: []bridge.Role{bridge.RoleAgent}, Text: "Hi Jane",
		InBotThread: true}
	if !reflect.DeepEqual(msgs[0], want) || want.EventID == "" {
		t.Errorf("message = %+v, want %+v", msgs[0], want)
	}

	b.sim.EditAsUser(testAgent, testChannel, ts, "Hi Jane, fixed")
	b.waitFor(t, "the edit", func() bool { return len(b.h.Edits()) == 1 })
	if e := b.h.Edits()[0]; e.MessageID != ts || e.Text != "Hi Jane, fixed" || e.UserID != testAgent || e.EventID == "" || e.EventID == want.EventID {
		t.Errorf("edit = %+v", e)
	}
	b.sim.DeleteAsUser(testAgent, testChannel, ts)
	b.waitFor(t, "the delete", func() bool { return len(b.h.Deletes()) == 1 })
	if d := b.h.Deletes()[0]; d.MessageID != ts || d.Channel != testChannel || d.EventID == "" {
		t.Errorf("delete = %+v", d)
	}

	// A retryable failure answers 500; Slack delivers the same event again.
	b.h.failNext("message", bridge.Errorf(bridge.EUNAVAILABLE, "database busy"))
	second := b.sim.PostAsUser(testAgent, testChannel, thread, "second")
	b.waitFor(t, "the redelivered message", b.h.has(second))
	if got, _ := b.h.Message(second); got.Text != "second" || b.h.Calls("message") != 3 {
		t.Errorf("after a retry: %+v, %d calls", got, b.h.Calls("message"))
	}
	// Other refusals are final: 200, no redelivery.
	b.h.failNext("message", bridge.Errorf(bridge.EINVALID, "no"))
	b.sim.PostAsUser(testAgent, testChannel, thread, "third")
	b.waitFor(t, "the refused message", func() bool { return b.h.Calls("message") == 4 })

	b.noViolations(t)
	if n := len(b.h.Messages()); n != 2 {
		t.Errorf("%d messages handled", n)
	}
}

func TestHTTPEventsRejected(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	body := []byte(callback("EvBAD", `{"type": "message", "text": "forged", "user": "UAGENT1", "ts": "1741944400.000200",
		"thread_ts": "1741944360.000100", "channel": "C0SUPPORT", "event_ts": "1741944400.000200", "channel_type": "channel"}`))
	fileReaction := callback("EvFILE", `{"type": "reaction_added", "user": "UAGENT1", "reaction": "eyes", "item_user": "UAGENT1",
		"item": {"type": "file", "file": "F123"}, "event_ts": "1741944442.001300"}`)
	now := time.Now().Unix()
	signed := func(ts int64, secret string, b []byte) http.Header {
		return http.Header{
			"X-Slack-Request-Timestamp": {strconv.FormatInt(ts, 10)},
			"X-Slack-Signature":         {slacksim.Sign(secret, ts, b)},
		}
	}
	tests := []struct {
		name    string
		path    string
		body    []byte
		headers http.Header
		status  int
	}{
		{"no signature", "/slack/events", body, http.Header{}, http.StatusUnauthorized},
		{"wrong secret", "/slack/events", body, signed(now, "not-the-secret", body), http.StatusUnauthorized},
		{"stale timestamp", "/slack/events", body, signed(now-6*60, testSecret, body), http.StatusUnauthorized},
		{"body changed", "/slack/events", append(body, ' '), signed(now, testSecret, body), http.StatusUnauthorized},
		{"interaction unsigned", "/slack/interactions", []byte("payload=%7B%7D"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, http.StatusUnauthorized},
		{"malformed JSON", "/slack/events", []byte(`{"type":`), signed(now, testSecret, []byte(`{"type":`)), http.StatusBadRequest},
		{"event_callback without event", "/slack/events", []byte(`{"type":"event_callback","event_id":"Ev1"}`),
			signed(now, testSecret, []byte(`{"type":"event_callback","event_id":"Ev1"}`)), http.StatusBadRequest},
		{"a reaction to a file is not ours", "/slack/events", []byte(fileReaction), signed(now, testSecret, []byte(fileReaction)), http.StatusOK},
	}
	for _, tt := range tests {
		resp, err := b.sim.DeliverRaw(ctx, b.appURL+tt.path, tt.body, tt.headers)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: HTTP %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
	// The same body, signed properly, is accepted.
	resp, err := b.sim.DeliverRaw(ctx, b.appURL+"/slack/events", body, signed(now, testSecret, body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("signed: HTTP %d", resp.StatusCode)
	}
	if msgs := b.h.Messages(); len(msgs) != 1 || msgs[0].EventID != "EvBAD" {
		t.Errorf("handled %+v, want only the signed delivery", msgs)
	}
}

func TestHTTPButton(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	clickResend(t, b)
}

// clickResend clicks a warning's Resend button twice: the first click is
// handled, the second is refused and the refusal shown to the agent.
func clickResend(t *testing.T, b *bundle) {
	t.Helper()
	ctx := context.Background()
	thread := b.postCard(t)
	warning, err := b.adapter.Post(ctx, testChannel, thread, bridge.Post{Kind: bridge.PostWarning, Text: "Delivery unknown",
		Buttons: []bridge.Button{{Action: bridge.ActionResend, Label: "Resend", Value: "17"}}})
	if err != nil {
		t.Fatal(err)
	}
	b.sim.ClickButton(testAgent, testChannel, warning, bridge.ActionResend, "")
	b.waitFor(t, "the click", func() bool { return len(b.h.Actions()) == 1 })
	act := b.h.Actions()[0]
	want := bridge.ChatAction{Platform: "slack", EventID: act.EventID, Channel: testChannel, MessageID: warning,
		UserID: testAgent, UserName: "alice", Action: bridge.ActionResend, Value: "17"}
	if act != want || act.EventID == "" {
		t.Errorf("action = %+v, want %+v", act, want)
	}

	b.h.failNext("action", bridge.Errorf(bridge.ECONFLICT, "That reply is sent; nothing to resend."))
	b.sim.ClickButton(testAgent, testChannel, warning, bridge.ActionResend, "")
	b.waitFor(t, "the ephemeral answer", func() bool { return len(b.sim.Ephemerals(testAgent)) == 1 })
	e := b.sim.Ephemerals(testAgent)[0]
	if e.Channel != testChannel || e.ThreadTS != thread || !strings.Contains(e.Text, "That reply is sent; nothing to resend.") {
		t.Errorf("ephemeral = %+v", e)
	}
	if acts := b.h.Actions(); len(acts) != 2 || acts[1].EventID == act.EventID {
		t.Errorf("actions = %+v", acts)
	}
	b.noViolations(t)
}

func TestSocketMode(t *testing.T) {
	t.Parallel()
	b := setup(t, socketMode)
	thread := b.postCard(t)

	ts := b.sim.PostAsUser(testAgent, testChannel, thread, "over the socket")
	b.waitFor(t, "the message over Socket Mode", b.h.has(ts))
	if m, _ := b.h.Message(ts); m.ThreadID != thread || m.UserName != "alice" || m.Text != "over the socket" || m.EventID == "" {
		t.Errorf("message = %+v", m)
	}

	b.sim.DropSocketConnections()
	ts2 := b.sim.PostAsUser(testAgent, testChannel, thread, "after the drop")
	b.waitFor(t, "the message after reconnecting", b.h.has(ts2))
	if !b.adapter.Connected() {
		t.Error("not Connected after reconnecting")
	}

	// Slack asks for a reconnection before recycling a connection.
	b.sim.RequestReconnect()
	ts3 := b.sim.PostAsUser(testAgent, testChannel, thread, "after a refresh")
	b.waitFor(t, "the message after a requested reconnection", b.h.has(ts3))

	// A retryable failure leaves the envelope unacknowledged; Slack
	// delivers it again.
	b.h.failNext("message", bridge.Errorf(bridge.EINTERNAL, "database down"))
	ts4 := b.sim.PostAsUser(testAgent, testChannel, thread, "retried")
	b.waitFor(t, "the redelivered message", b.h.has(ts4))

	b.sim.EditAsUser(testAgent, testChannel, ts2, "edited")
	b.waitFor(t, "the edit", func() bool { return len(b.h.Edits()) == 1 })
	if e := b.h.Edits()[0]; e.MessageID != ts2 || e.Text != "edited" {
		t.Errorf("edit = %+v", e)
	}

	b.waitFor(t, "every envelope acknowledged", func() bool { return b.sim.Pending() == 0 })
	if n := len(b.h.Messages()); n != 4 {
		t.Errorf("%d distinct messages handled, want 4", n)
	}
	clickResend(t, b)
}

func TestSocketModeBadAppToken(t *testing.T) {
	t.Parallel()
	sim, err := slacksim.New(slacksim.Options{BotToken: testBotToken, AppToken: testAppToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	a, err := New(Config{APIURL: srv.URL + "/api/", BotToken: testBotToken, AppToken: "xapp-wrong"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = a.RunSocketMode(ctx, newRecorder())
	if err == nil || !strings.Contains(err.Error(), "XBRIDGE_SLACK_APP_TOKEN") || strings.Contains(err.Error(), "xapp-wrong") {
		t.Errorf("RunSocketMode with a wrong app token: %v", err)
	}
}
