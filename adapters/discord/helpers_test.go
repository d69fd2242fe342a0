package discord

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

const (
	testToken  = "sim-bot-token"
	testGuild  = "1200000000000000001"
	testBot    = "1100000000000000001"
	testText   = "1300000000000000001" // a text support channel
	testForum  = "1300000000000000002" // a forum support channel
	testEng    = "1300000000000000003" // the engineering channel (text)
	testAgent  = "1400000000000000001"
	testAgent2 = "1400000000000000002"
	testRole   = "1500000000000000001" // the support role
	tagBilling = "1600000000000000001"
	tagRefund  = "1600000000000000002"
)

// recorder is a Handler that remembers what it was given. Like the domain,
// it takes each event id once.
type recorder struct {
	mu       sync.Mutex
	seen     map[string]bool
	messages []bridge.ChatMessage
	edits    []bridge.ChatEdit
	deletes  []bridge.ChatDelete
	actions  []bridge.ChatAction
	actErr   error
}

func newRecorder() *recorder { return &recorder{seen: map[string]bool{}} }

func (r *recorder) HandleChatMessage(_ context.Context, m bridge.ChatMessage) (bridge.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
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
	if !r.seen[e.EventID] {
		r.seen[e.EventID] = true
		r.edits = append(r.edits, e)
	}
	return nil
}

func (r *recorder) HandleChatDelete(_ context.Context, d bridge.ChatDelete) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seen[d.EventID] {
		r.seen[d.EventID] = true
		r.deletes = append(r.deletes, d)
	}
	return nil
}

func (r *recorder) HandleChatAction(_ context.Context, a bridge.ChatAction) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, a)
	return r.actErr
}

// reset forgets the edits and deletions handled so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edits, r.deletes = nil, nil
}

// message returns the handled message with the given id.
func (r *recorder) message(id string) (bridge.ChatMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.messages {
		if m.MessageID == id {
			return m, true
		}
	}
	return bridge.ChatMessage{}, false
}

func (r *recorder) has(id string) func() bool {
	return func() bool { _, ok := r.message(id); return ok }
}

func (r *recorder) Messages() []bridge.ChatMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages)
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

// execCall is one call of the fake executor.
type execCall struct {
	Method string
	Inv    commands.Invocation
	Args   []string
}

// fakeExecutor records the commands it is asked to run.
type fakeExecutor struct {
	mu     sync.Mutex
	calls  []execCall
	errs   map[string]error // by method
	status string
	delay  time.Duration // before answering
}

var _ commands.Executor = (*fakeExecutor)(nil)

func newFakeExecutor() *fakeExecutor {
	return &fakeExecutor{errs: map[string]error{}, status: "#42 is open."}
}

func (f *fakeExecutor) fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

func (f *fakeExecutor) setDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *fakeExecutor) record(method string, inv commands.Invocation, args ...string) error {
	f.mu.Lock()
	f.calls = append(f.calls, execCall{Method: method, Inv: inv, Args: args})
	err, d := f.errs[method], f.delay
	f.mu.Unlock()
	time.Sleep(d)
	return err
}

// reset forgets the calls so far.
func (f *fakeExecutor) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *fakeExecutor) callsOf(method string) []execCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []execCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeExecutor) called(method string, n int) func() bool {
	return func() bool { return len(f.callsOf(method)) >= n }
}

func (f *fakeExecutor) Claim(_ context.Context, inv commands.Invocation) error {
	return f.record("Claim", inv)
}
func (f *fakeExecutor) Unclaim(_ context.Context, inv commands.Invocation) error {
	return f.record("Unclaim", inv)
}
func (f *fakeExecutor) Assign(_ context.Context, inv commands.Invocation, user string) error {
	return f.record("Assign", inv, user)
}
func (f *fakeExecutor) Tag(_ context.Context, inv commands.Invocation, tags []string) error {
	return f.record("Tag", inv, tags...)
}
func (f *fakeExecutor) Untag(_ context.Context, inv commands.Invocation, tags []string) error {
	return f.record("Untag", inv, tags...)
}
func (f *fakeExecutor) SetPriority(_ context.Context, inv commands.Invocation, p bridge.Priority) error {
	return f.record("SetPriority", inv, string(p))
}
func (f *fakeExecutor) Pending(_ context.Context, inv commands.Invocation) error {
	return f.record("Pending", inv)
}
func (f *fakeExecutor) Close(_ context.Context, inv commands.Invocation, reason string) error {
	return f.record("Close", inv, reason)
}
func (f *fakeExecutor) Reopen(_ context.Context, inv commands.Invocation) error {
	return f.record("Reopen", inv)
}
func (f *fakeExecutor) Note(_ context.Context, inv commands.Invocation, text string) error {
	return f.record("Note", inv, text)
}
func (f *fakeExecutor) Reply(_ context.Context, inv commands.Invocation, text string) error {
	return f.record("Reply", inv, text)
}
func (f *fakeExecutor) Escalate(_ context.Context, inv commands.Invocation, summary string) error {
	return f.record("Escalate", inv, summary)
}
func (f *fakeExecutor) Resolve(_ context.Context, inv commands.Invocation, text string) error {
	return f.record("Resolve", inv, text)
}
func (f *fakeExecutor) Status(_ context.Context, inv commands.Invocation) (string, error) {
	err := f.record("Status", inv)
	return f.status, err
}
func (f *fakeExecutor) ReplyWith(_ context.Context, inv commands.Invocation, name string) (*bridge.ReplyPreview, error) {
	if err := f.record("ReplyWith", inv, name); err != nil {
		return nil, err
	}
	return &bridge.ReplyPreview{ID: 17, ConversationID: 42, Name: name, Text: "Our refund policy…", Parts: 1}, nil
}
func (f *fakeExecutor) SendPreview(_ context.Context, inv commands.Invocation, id int64) (*bridge.ReplyPreview, error) {
	return &bridge.ReplyPreview{ID: id, ConversationID: 42, Name: "refund-policy", State: bridge.PreviewSent},
		f.record("SendPreview", inv, strconv.FormatInt(id, 10))
}
func (f *fakeExecutor) CancelPreview(_ context.Context, inv commands.Invocation, id int64) (*bridge.ReplyPreview, error) {
	return &bridge.ReplyPreview{ID: id, ConversationID: 42, Name: "refund-policy", State: bridge.PreviewCancelled},
		f.record("CancelPreview", inv, strconv.FormatInt(id, 10))
}
func (f *fakeExecutor) SavedReplies(_ context.Context, inv commands.Invocation) ([]string, error) {
	return []string{"refund-policy"}, f.record("SavedReplies", inv)
}
func (f *fakeExecutor) SetAvailable(_ context.Context, inv commands.Invocation, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	return f.record("SetAvailable", inv, v)
}
func (f *fakeExecutor) ListMine(_ context.Context, inv commands.Invocation) (string, error) {
	return "", f.record("ListMine", inv)
}

// bundle is a simulated Discord server, an adapter pointed at it, a
// recording handler and a fake executor.
type bundle struct {
	sim    *discordsim.Server
	srv    *httptest.Server
	a      *Adapter
	h      *recorder
	ex     *fakeExecutor
	appURL string // the bridge's HTTP server, when interactions go over HTTP
}

// options adjust a bundle.
type options struct {
	http   bool // interactions over HTTP instead of the Gateway
	noOpen bool // no Gateway connection
	sim    func(*discordsim.Options)
	cfg    func(*Config)
}

// setup starts discordsim with a text channel, a forum with two tags, an
// engineering channel, a support role and two members, and an adapter
// connected to it.
func setup(t *testing.T, o options) *bundle {
	t.Helper()
	opts := discordsim.Options{
		BotToken: testToken, BotUserID: testBot, GuildID: testGuild,
		HeartbeatInterval: time.Second,
		// A silent acknowledgement (type 6) has no follow-up to wait for.
		FollowUpWait: 300 * time.Millisecond,
	}
	if o.sim != nil {
		o.sim(&opts)
	}
	sim, err := discordsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	sim.SetBaseURL(srv.URL)
	sim.AddRole(discordsim.Role{ID: testRole, Name: "support"})
	sim.AddChannel(discordsim.Channel{ID: testText, Name: "support", Type: discordsim.ChannelText})
	sim.AddChannel(discordsim.Channel{ID: testForum, Name: "tickets", Type: discordsim.ChannelForum, AvailableTags: []discordsim.Tag{
		{ID: tagBilling, Name: "billing"}, {ID: tagRefund, Name: "Refund"},
	}})
	sim.AddChannel(discordsim.Channel{ID: testEng, Name: "engineering", Type: discordsim.ChannelText})
	sim.AddMember(discordsim.Member{ID: testAgent, Username: "alice", GlobalName: "Alice", Roles: []string{testRole}})
	sim.AddMember(discordsim.Member{ID: testAgent2, Username: "bob"})

	cfg := Config{
		Token: testToken, AppID: testBot, GuildID: testGuild, APIURL: srv.URL,
		PublicKey: sim.PublicKeyHex(), HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{sim: sim, srv: srv, a: a, h: newRecorder(), ex: newFakeExecutor()}
	a.SetHandler(b.h)
	a.SetCommands(commands.NewProcessor("!"), b.ex)
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if o.http {
		mux := http.NewServeMux()
		mux.Handle("POST /discord/interactions", a.InteractionsHandler())
		app := httptest.NewServer(mux)
		t.Cleanup(app.Close)
		b.appURL = app.URL
		sim.SetInteractionsURL(app.URL + "/discord/interactions")
	}
	if !o.noOpen {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Open(ctx); err != nil {
			t.Fatalf("Open: %v", err)
		}
		b.waitFor(t, "the Gateway", a.Connected)
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

// noViolations fails the test if the simulator saw anything real Discord
// would refuse.
func (b *bundle) noViolations(t *testing.T) {
	t.Helper()
	for _, v := range b.sim.Violations() {
		t.Errorf("discordsim violation: %s", v)
	}
}

// testCard is the card of conversation 42.
func testCard() bridge.Card {
	return bridge.Card{
		Ticket: "#42", ConversationID: 42, Kind: bridge.KindDM, Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
		CustomerName: "Jane Doe", Handle: "jane", ProfileURL: "https://x.com/jane", Followers: 48213,
		OpenedAt: time.Unix(1741944360, 0), Tags: []string{"billing"},
	}
}

// embedOf decodes the first embed of a message.
type embedJSON struct {
	Title  string `json:"title"`
	Fields []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
}

func embedOf(t *testing.T, raw json.RawMessage) embedJSON {
	t.Helper()
	var list []embedJSON
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		t.Fatalf("embeds %s: %v", raw, err)
	}
	return list[0]
}

// field returns an embed field's value.
func (e embedJSON) field(name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// customIDs lists the custom ids of a message's components.
func customIDs(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var rows []struct {
		Components []struct {
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatalf("components %s: %v", raw, err)
	}
	var out []string
	for _, r := range rows {
		for _, c := range r.Components {
			out = append(out, c.CustomID)
		}
	}
	return out
}

// contains reports whether s has every one of subs.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
