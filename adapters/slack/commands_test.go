package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// execCall is one call a fakeExecutor received.
type execCall struct {
	Method string
	Inv    commands.Invocation
	Args   []string
}

// fakeExecutor records the commands that reach it and answers with the
// errors set for each method.
type fakeExecutor struct {
	mu    sync.Mutex
	calls []execCall
	errs  map[string]error // by method, for every call
}

var _ commands.Executor = (*fakeExecutor)(nil)

func newFakeExecutor() *fakeExecutor { return &fakeExecutor{errs: map[string]error{}} }

// fail makes every call of method return err (nil: succeed again).
func (f *fakeExecutor) fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

func (f *fakeExecutor) record(method string, inv commands.Invocation, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, execCall{Method: method, Inv: inv, Args: args})
	return f.errs[method]
}

func (f *fakeExecutor) Calls() []execCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// called returns a condition: method has been called at least n times.
func (f *fakeExecutor) called(method string, n int) func() bool {
	return func() bool { return len(f.callsOf(method)) >= n }
}

func (f *fakeExecutor) callsOf(method string) []execCall {
	var out []execCall
	for _, c := range f.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
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
	return "#42 · Jane <Doe> · open", f.record("Status", inv)
}
func (f *fakeExecutor) ReplyWith(_ context.Context, inv commands.Invocation, name string) (*bridge.ReplyPreview, error) {
	if err := f.record("ReplyWith", inv, name); err != nil {
		return nil, err
	}
	return &bridge.ReplyPreview{ID: 17, ConversationID: 42, Name: name, Text: "Hello!", Parts: 1}, nil
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
	return []string{"hello"}, f.record("SavedReplies", inv)
}
func (f *fakeExecutor) SetAvailable(_ context.Context, inv commands.Invocation, on bool) error {
	return f.record("SetAvailable", inv, strconv.FormatBool(on))
}
func (f *fakeExecutor) ListMine(_ context.Context, inv commands.Invocation) (string, error) {
	return "#42 · open", f.record("ListMine", inv)
}

// triageCard is a card with a ticket, so it carries the triage actions.
func triageCard() bridge.Card {
	c := testCard()
	c.Ticket, c.ConversationID = "#42", 42
	return c
}

// postTriageCard posts triageCard and returns its thread.
func (b *bundle) postTriageCard(t *testing.T) string {
	t.Helper()
	ts, err := b.adapter.PostCard(context.Background(), testChannel, triageCard(), "card:42")
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}
	return ts
}

// ephemeralsWith returns the ephemerals shown to user whose text has s.
func (b *bundle) ephemeralsWith(user, s string) []slacksim.Message {
	var out []slacksim.Message
	for _, e := range b.sim.Ephemerals(user) {
		if strings.Contains(e.Text, s) {
			out = append(out, e)
		}
	}
	return out
}

var agentRoles = []bridge.Role{bridge.RoleAgent}

// bothModes are the ways the adapter meets Slack: the Events API over
// HTTP, and Socket Mode.
var bothModes = []struct {
	name string
	mode mode
}{{"http", httpMode}, {"socket mode", socketMode}}

func TestThreadCommands(t *testing.T) {
	t.Parallel()
	for _, m := range bothModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, m.mode)
			thread := b.postTriageCard(t)

			ts := b.sim.PostAsUser(testAgent, testChannel, thread, "!tag billing")
			b.waitFor(t, "the tag command", b.ex.called("Tag", 1))
			c := b.ex.callsOf("Tag")[0]
			want := commands.Invocation{Source: commands.SourceText, Platform: "slack", Channel: testChannel, ThreadID: thread,
				ActorID: testAgent, ActorName: "alice", Roles: agentRoles, EventID: c.Inv.EventID, MessageID: ts}
			if !reflect.DeepEqual(c.Inv, want) || c.Inv.EventID == "" || !slices.Equal(c.Args, []string{"billing"}) {
				t.Errorf("Tag %+v %v, want %+v [billing]", c.Inv, c.Args, want)
			}

			// Mentions stay Slack markup for assign; other text is plain.
			b.sim.PostAsUser(testAgent, testChannel, thread, "!assign <@UAGENT1>")
			b.sim.PostAsUser(testAgent, testChannel, thread, "!note refund &amp; apology for <@UAGENT1|alice> &lt;3")
			b.waitFor(t, "assign and note", func() bool { return b.ex.called("Assign", 1)() && b.ex.called("Note", 1)() })
			if got := b.ex.callsOf("Assign")[0].Args; !slices.Equal(got, []string{"<@UAGENT1>"}) {
				t.Errorf("Assign %q, want the raw mention", got)
			}
			if got := b.ex.callsOf("Note")[0].Args; !slices.Equal(got, []string{"refund & apology for @alice <3"}) {
				t.Errorf("Note %q", got)
			}

			// A usage error comes back to its author only, in the thread.
			b.sim.PostAsUser(testAgent, testChannel, thread, "!tag")
			b.waitFor(t, "the usage error", func() bool { return len(b.ephemeralsWith(testAgent, "Usage: !tag")) == 1 })
			if e := b.ephemeralsWith(testAgent, "Usage: !tag")[0]; e.Channel != testChannel || e.ThreadTS != thread {
				t.Errorf("usage error shown as %+v", e)
			}
			// A refusal too, escaped.
			b.ex.fail("Claim", bridge.Errorf(bridge.EFORBIDDEN, "#42 is <bob>'s; a lead can reassign it."))
			b.sim.PostAsUser(testAgent, testChannel, thread, "!claim")
			b.waitFor(t, "the refusal", func() bool { return len(b.ephemeralsWith(testAgent, "a lead can reassign")) == 1 })
			if e := b.ephemeralsWith(testAgent, "a lead can reassign")[0]; e.Text != "#42 is &lt;bob&gt;'s; a lead can reassign it." || e.ThreadTS != thread {
				t.Errorf("refusal shown as %+v", e)
			}

			// Commands never reach the message handler; other messages do,
			// with the author's roles.
			plain := b.sim.PostAsUser(testAgent, testChannel, thread, "Hi Jane! Refund on its way")
			b.waitFor(t, "the plain message", b.h.has(plain))
			msgs := b.h.Messages()
			if len(msgs) != 1 || msgs[0].MessageID != plain || !slices.Equal(msgs[0].Roles, agentRoles) {
				t.Errorf("messages handled: %+v, want only the plain one, with roles", msgs)
			}
			if n := len(b.ex.Calls()); n != 4 {
				t.Errorf("%d executor calls: %+v", n, b.ex.Calls())
			}
			b.noViolations(t)
		})
	}
}

func TestCardButtons(t *testing.T) {
	t.Parallel()
	for _, m := range bothModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, m.mode)
			thread := b.postTriageCard(t)

			b.sim.ClickButton(testAgent, testChannel, thread, commands.ButtonAction("claim"), "")
			b.waitFor(t, "the Claim click", b.ex.called("Claim", 1))
			c := b.ex.callsOf("Claim")[0]
			want := commands.Invocation{Source: commands.SourceButton, Platform: "slack", ConversationID: 42,
				Channel: testChannel, ThreadID: thread, ActorID: testAgent, ActorName: "alice", Roles: agentRoles, EventID: c.Inv.EventID}
			if !reflect.DeepEqual(c.Inv, want) || c.Inv.EventID == "" {
				t.Errorf("Claim %+v, want %+v", c.Inv, want)
			}

			b.sim.SelectOption(testAgent, testChannel, thread, commands.ButtonAction("priority"), "high")
			b.waitFor(t, "the priority choice", b.ex.called("SetPriority", 1))
			c = b.ex.callsOf("SetPriority")[0]
			if c.Inv.ConversationID != 42 || c.Inv.ThreadID != thread || c.Inv.Source != commands.SourceButton || !slices.Equal(c.Args, []string{"high"}) {
				t.Errorf("SetPriority %+v %v", c.Inv, c.Args)
			}

			// A refusal is shown to the person who clicked, ephemerally.
			b.ex.fail("Close", bridge.Errorf(bridge.ECONFLICT, "#42 is already closed."))
			b.sim.ClickButton(testAgent, testChannel, thread, commands.ButtonAction("close"), "")
			b.waitFor(t, "the refusal", func() bool { return len(b.ephemeralsWith(testAgent, "already closed")) == 1 })
			if posts := b.sim.ResponseURLPosts(); len(posts) != 1 || posts[0].ResponseType != "ephemeral" || posts[0].ReplaceOriginal {
				t.Errorf("response_url posts %+v, want one ephemeral answer", posts)
			}
			if acts := b.h.Actions(); len(acts) != 0 {
				t.Errorf("command clicks reached HandleChatAction: %+v", acts)
			}
			b.noViolations(t)
		})
	}
}

func TestReactions(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	thread := b.postTriageCard(t)

	b.sim.React(testAgent, testChannel, thread, "eyes")
	b.waitFor(t, "the 👀 reaction", b.ex.called("Claim", 1))
	c := b.ex.callsOf("Claim")[0]
	want := commands.Invocation{Source: commands.SourceReaction, Platform: "slack", Channel: testChannel, ThreadID: thread,
		ActorID: testAgent, ActorName: "alice", Roles: agentRoles, EventID: c.Inv.EventID}
	if !reflect.DeepEqual(c.Inv, want) || c.Inv.EventID == "" {
		t.Errorf("Claim %+v, want %+v", c.Inv, want)
	}

	// The bridge's own delivery marks (✅ is also "close") run nothing, and
	// reactions that stand for no command neither.
	reply := b.sim.PostAsUser(testAgent, testChannel, thread, "On it")
	b.waitFor(t, "the reply", b.h.has(reply))
	if err := b.adapter.React(ctx, testChannel, "", reply, bridge.ReactionSent, true); err != nil {
		t.Fatal(err)
	}
	b.sim.React(testAgent, testChannel, thread, "tada")
	// Nor do reactions to people's messages: they are no cards.
	b.sim.React(testAgent, testChannel, reply, "eyes")
	// A reaction to one of the bridge's messages that is no ticket's
	// thread passes in silence.
	notice, err := b.adapter.Post(ctx, testChannel, thread, bridge.Post{Kind: bridge.PostNotice, Text: "Claimed by alice"})
	if err != nil {
		t.Fatal(err)
	}
	b.ex.fail("Pending", bridge.Errorf(bridge.ENOTFOUND, "This is not a conversation's thread: add its ticket number, e.g. #42."))
	b.sim.React(testAgent, testChannel, notice, "double_vertical_bar")
	b.waitFor(t, "the ⏸️ reaction", b.ex.called("Pending", 1))
	if c := b.ex.callsOf("Pending")[0]; c.Inv.ThreadID != notice {
		t.Errorf("Pending %+v, want the notice as the thread", c.Inv)
	}
	// Other refusals are shown.
	b.ex.fail("Escalate", bridge.Errorf(bridge.ECONFLICT, "#42 is already escalated."))
	b.sim.React(testAgent, testChannel, thread, "rotating_light")
	b.waitFor(t, "the refusal", func() bool { return len(b.ephemeralsWith(testAgent, "already escalated")) == 1 })

	if got := b.ex.Calls(); len(got) != 3 {
		t.Errorf("executor calls %+v, want Claim, Pending, Escalate", got)
	}
	if e := b.sim.Ephemerals(testAgent); len(e) != 1 {
		t.Errorf("ephemerals %+v, want only the escalation refusal", e)
	}
	b.noViolations(t)
}

func TestSlashCommands(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name string
		mode mode
		via  string
	}{{"http", httpMode, "http"}, {"socket mode", socketMode, "ack"}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, m.mode)
			got := b.sim.SlashCommand(testAgent, testChannel, "/xb", "status #42")
			if len(got) != 1 || got[0].Via != m.via || got[0].ResponseType != "ephemeral" || got[0].Text != "#42 · Jane &lt;Doe&gt; · open" {
				t.Errorf("answer %+v", got)
			}
			calls := b.ex.callsOf("Status")
			if len(calls) != 1 {
				t.Fatalf("Status calls %+v", b.ex.Calls())
			}
			want := commands.Invocation{Source: commands.SourceSlash, Platform: "slack", ConversationID: 42, Channel: testChannel,
				ActorID: testAgent, ActorName: "alice", Roles: agentRoles, EventID: calls[0].Inv.EventID}
			if !reflect.DeepEqual(calls[0].Inv, want) || want.EventID == "" {
				t.Errorf("Status %+v, want %+v", calls[0].Inv, want)
			}

			// "/xb" alone lists the caller's conversations.
			got = b.sim.SlashCommand(testAgent, testChannel, "/xb", "")
			if len(got) != 1 || got[0].Text != "#42 · open" || !b.ex.called("ListMine", 1)() {
				t.Errorf("/xb alone: %+v", got)
			}
			// Without a ticket the caller is told how to name one.
			got = b.sim.SlashCommand(testAgent, testChannel, "/xb", "tag billing")
			if len(got) != 1 || !strings.Contains(got[0].Text, "/xb tag billing #42") {
				t.Errorf("/xb tag billing: %+v", got)
			}
			// A state change is confirmed.
			got = b.sim.SlashCommand(testAgent, testChannel, "/xb", "claim #42")
			if len(got) != 1 || got[0].Text != "Claimed #42." {
				t.Errorf("/xb claim #42: %+v", got)
			}
			b.noViolations(t)
		})
	}
}

func TestSlashCommandSignature(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	form := url.Values{"user_id": {testAgent}, "channel_id": {testChannel}, "command": {"/xb"}, "text": {"close #42"}}
	body := []byte(form.Encode())
	now := time.Now().Unix()
	for _, h := range []http.Header{
		{"Content-Type": {"application/x-www-form-urlencoded"}},
		{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Slack-Request-Timestamp": {strconv.FormatInt(now, 10)},
			"X-Slack-Signature": {slacksim.Sign("not-the-secret", now, body)}},
	} {
		resp, err := b.sim.DeliverRaw(ctx, b.appURL+"/slack/commands", body, h)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("HTTP %d, want 401", resp.StatusCode)
		}
	}
	if calls := b.ex.Calls(); len(calls) != 0 {
		t.Errorf("an unsigned command ran: %+v", calls)
	}
}

// slowExecutor holds Status back.
type slowExecutor struct {
	*fakeExecutor
	delay time.Duration
}

func (s slowExecutor) Status(ctx context.Context, inv commands.Invocation) (string, error) {
	time.Sleep(s.delay)
	return s.fakeExecutor.Status(ctx, inv)
}

func TestSlowSlashCommand(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	b.adapter.SetCommands(commands.NewProcessor("!"), slowExecutor{b.ex, slashAnswerWithin + 300*time.Millisecond})
	got := b.sim.SlashCommand(testAgent, testChannel, "/xb", "status #42")
	if len(got) != 0 {
		t.Errorf("answered %+v at once, want nothing within the 3 seconds", got)
	}
	b.waitFor(t, "the late answer", func() bool { return len(b.sim.ResponseURLPosts()) == 1 })
	if p := b.sim.ResponseURLPosts()[0]; p.Text != "#42 · Jane &lt;Doe&gt; · open" || p.ResponseType != "ephemeral" {
		t.Errorf("late answer %+v", p)
	}
	b.noViolations(t)
}

func TestEscalationLandsInSlack(t *testing.T) {
	t.Parallel()
	const engChannel, engineer = "C0ENG", "UENG1"
	b := setupWith(t, httpMode, func(sim *slacksim.Server, cfg *Config) {
		sim.AddChannel(engChannel, "engineering")
		sim.AddUser(slacksim.User{ID: engineer, Name: "eve", RealName: "Eve Engineer"})
		sim.AddUser(slacksim.User{ID: "UGUEST1", Name: "gus", RealName: "Gus Guest"})
		sim.AddUserGroup("S0ENG", "eng-oncall", engineer)
		cfg.Roles = Roles{Agents: []string{testAgent}, Engineers: []string{"@eng-oncall"}}
	})
	ctx := context.Background()
	thread := b.postTriageCard(t)

	card := bridge.EscalationCard{
		Ticket: "#42", Summary: "Refund API returns 500", OpenedByName: "alice",
		CustomerName: "Jane Doe", Handle: "jane", Followers: 48213, Kind: bridge.KindDM,
		Priority: bridge.PriorityUrgent, Tags: []string{"billing"},
		Recent: []bridge.CardMessage{
			{Direction: bridge.DirectionIn, Author: "Jane Doe", Text: "My refund failed"},
			{Direction: bridge.DirectionNote, Author: "alice", Text: "500 from /refunds"},
		},
		Support: bridge.ThreadRef{Platform: "slack", Channel: testChannel, ThreadID: thread},
		OnCall:  "<!subteam^S0ENG>",
	}
	esc, err := b.adapter.PostEscalation(ctx, engChannel, card, "esc:1")
	if err != nil {
		t.Fatalf("PostEscalation: %v", err)
	}
	root, ok := b.sim.Message(engChannel, esc)
	if !ok || root.ThreadTS != "" {
		t.Fatalf("escalation %s: %+v", esc, root)
	}
	if typ, key := metadataOf(t, root.Metadata); typ != "xbridge_escalation" || key != "esc:1" {
		t.Errorf("metadata %s %s", typ, key)
	}
	link := "https://sim.slack.local/archives/" + testChannel + "/p" + strings.ReplaceAll(thread, ".", "")
	if !strings.HasPrefix(root.Text, "<!subteam^S0ENG> Escalation · #42") || !strings.Contains(string(root.Blocks), link) {
		t.Errorf("escalation text %q blocks %s", root.Text, root.Blocks)
	}

	// Engineers (and agents) resolve it with its button; others may not.
	b.sim.ClickButton("UGUEST1", engChannel, esc, commands.ButtonAction("resolve"), "")
	b.waitFor(t, "the refusal", func() bool { return len(b.ephemeralsWith("UGUEST1", "needs the agent or engineer role")) == 1 })
	b.sim.ClickButton(engineer, engChannel, esc, commands.ButtonAction("resolve"), "")
	b.waitFor(t, "the Resolve click", b.ex.called("Resolve", 1))
	if c := b.ex.callsOf("Resolve")[0]; c.Inv.ThreadID != esc || c.Inv.Channel != engChannel || c.Inv.ConversationID != 42 ||
		c.Inv.ActorName != "eve" || !slices.Equal(c.Inv.Roles, []bridge.Role{bridge.RoleEngineer}) {
		t.Errorf("Resolve %+v", c.Inv)
	}

	card.Resolved, card.ResolvedBy, card.Resolution = true, "eve", "fixed"
	if err := b.adapter.UpdateEscalation(ctx, engChannel, esc, card); err != nil {
		t.Fatalf("UpdateEscalation: %v", err)
	}
	root, _ = b.sim.Message(engChannel, esc)
	if !root.Edited || !strings.Contains(string(root.Blocks), "Resolved") || strings.Contains(string(root.Blocks), "xb_cmd:resolve") {
		t.Errorf("resolved escalation: %s", root.Blocks)
	}

	// The support card links back to the escalation thread.
	sc := triageCard()
	sc.Escalation = &bridge.CardEscalation{Open: true, Thread: bridge.ThreadRef{Platform: "slack", Channel: engChannel, ThreadID: esc}}
	if err := b.adapter.UpdateCard(ctx, testChannel, thread, sc); err != nil {
		t.Fatal(err)
	}
	cardMsg, _ := b.sim.Message(testChannel, thread)
	if want := "https://sim.slack.local/archives/" + engChannel + "/p" + strings.ReplaceAll(esc, ".", ""); !strings.Contains(string(cardMsg.Blocks), want) {
		t.Errorf("card blocks %s lack %s", cardMsg.Blocks, want)
	}

	// A notice that mentions the assignee.
	id, err := b.adapter.Post(ctx, testChannel, thread, bridge.Post{Kind: bridge.PostNotice, Text: "Engineering resolved the escalation.", Mention: []string{testAgent}})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := b.sim.Message(testChannel, id); !strings.HasPrefix(m.Text, "<@"+testAgent+"> ") {
		t.Errorf("notice text %q", m.Text)
	}
	b.noViolations(t)
}

// ackSpy records when the events handler has sent its answer.
type ackSpy struct {
	http.ResponseWriter
	sent *atomic.Bool
}

func (w ackSpy) WriteHeader(code int) {
	w.ResponseWriter.WriteHeader(code)
	w.sent.Store(true)
}

func (w ackSpy) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func TestCommandReplyAfterAck(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	var mu sync.Mutex
	acked := map[string]bool{} // by event id: was the answer sent?
	var current atomic.Pointer[atomic.Bool]
	events := b.adapter.EventsHandler(b.h)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := new(atomic.Bool)
		current.Store(sent)
		events.ServeHTTP(ackSpy{w, sent}, r)
	}))
	t.Cleanup(app.Close)
	b.sim.SetEventsURL(app.URL)
	b.sim.OnCall(func(c slacksim.Call) {
		if c.Method != "chat.postEphemeral" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		acked[c.Params.Get("text")] = current.Load() != nil && current.Load().Load()
	})

	thread := b.postTriageCard(t)
	b.sim.PostAsUser(testAgent, testChannel, thread, "!priority sky-high")
	b.waitFor(t, "the usage error", func() bool { return len(b.ephemeralsWith(testAgent, "sky-high")) == 1 })
	mu.Lock()
	defer mu.Unlock()
	for text, ok := range acked {
		if !ok {
			t.Errorf("%q was shown before Slack had its answer", text)
		}
	}
	if len(acked) != 1 {
		t.Errorf("ephemerals %v", acked)
	}
}

func TestConvertCommandActions(t *testing.T) {
	t.Parallel()
	const head = `"type": "block_actions",
		"user": {"id": "UAGENT1", "username": "alice", "name": "alice", "team_id": "T0001"},
		"api_app_id": "A0SIM", "token": "XXYYZZ", "team": {"id": "T0001", "domain": "sim"},
		"trigger_id": "1741944501.000200.123456789012.0123456789abcdef0123456789abcdef",
		"channel": {"id": "C0SUPPORT", "name": "support"},
		"response_url": "https://hooks.slack.com/actions/T0001/1/abc",`
	tests := []struct {
		name    string
		payload string
		want    []commandClick
	}{
		{
			name: "Claim on a card",
			payload: `{` + head + `
				"container": {"type": "message", "message_ts": "1741944360.000100", "channel_id": "C0SUPPORT", "is_ephemeral": false},
				"message": {"type": "message", "ts": "1741944360.000100", "text": "#42 · Jane"},
				"actions": [{"action_id": "xb_cmd:claim", "block_id": "xb_card #42 normal", "type": "button", "value": "#42",
					"text": {"type": "plain_text", "text": "Claim"}, "action_ts": "1741944501.000300"}]}`,
			want: []commandClick{{
				Inv: commands.Invocation{Source: commands.SourceButton, Platform: "slack", ConversationID: 42, Channel: "C0SUPPORT",
					ThreadID: "1741944360.000100", ActorID: "UAGENT1", ActorName: "alice",
					EventID: "1741944501.000200.123456789012.0123456789abcdef0123456789abcdef"},
				Text: "claim", ResponseURL: "https://hooks.slack.com/actions/T0001/1/abc",
			}},
		},
		{
			name: "a priority chosen on a card",
			payload: `{` + head + `
				"container": {"type": "message", "message_ts": "1741944360.000100", "channel_id": "C0SUPPORT", "is_ephemeral": false},
				"message": {"type": "message", "ts": "1741944360.000100", "text": "#42 · Jane"},
				"actions": [{"action_id": "xb_cmd:priority", "block_id": "xb_card #42 normal", "type": "static_select",
					"selected_option": {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
					"placeholder": {"type": "plain_text", "text": "Priority"}, "action_ts": "1741944501.000300"}]}`,
			want: []commandClick{{
				Inv: commands.Invocation{Source: commands.SourceButton, Platform: "slack", ConversationID: 42, Channel: "C0SUPPORT",
					ThreadID: "1741944360.000100", ActorID: "UAGENT1", ActorName: "alice",
					EventID: "1741944501.000200.123456789012.0123456789abcdef0123456789abcdef"},
				Text: "priority high", ResponseURL: "https://hooks.slack.com/actions/T0001/1/abc",
			}},
		},
		{
			name: "a button on a reply in a thread, with an argument",
			payload: `{` + head + `
				"container": {"type": "message", "message_ts": "1741944500.000100", "channel_id": "C0SUPPORT", "is_ephemeral": false, "thread_ts": "1741944360.000100"},
				"message": {"type": "message", "ts": "1741944500.000100", "thread_ts": "1741944360.000100", "text": "SLA"},
				"actions": [{"action_id": "xb_cmd:available", "block_id": "b1", "type": "button", "value": "on",
					"text": {"type": "plain_text", "text": "I'm back"}, "action_ts": "1741944501.000300"}]}`,
			want: []commandClick{{
				Inv: commands.Invocation{Source: commands.SourceButton, Platform: "slack", Channel: "C0SUPPORT",
					ThreadID: "1741944360.000100", ActorID: "UAGENT1", ActorName: "alice",
					EventID: "1741944501.000200.123456789012.0123456789abcdef0123456789abcdef"},
				Text: "available on", ResponseURL: "https://hooks.slack.com/actions/T0001/1/abc", ReplyThread: "1741944360.000100",
			}},
		},
		{
			name: "Resend is not a command",
			payload: `{` + head + `
				"container": {"type": "message", "message_ts": "1741944500.000100", "channel_id": "C0SUPPORT", "is_ephemeral": false},
				"actions": [{"action_id": "xb_resend", "block_id": "b1", "type": "button", "value": "17", "action_ts": "1741944501.000300"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cb slackapi.InteractionCallback
			if err := json.Unmarshal([]byte(tt.payload), &cb); err != nil {
				t.Fatal(err)
			}
			got := convertCommandActions(cb)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("convertCommandActions =\n%+v\nwant\n%+v", got, tt.want)
			}
			if acts := convertActions(cb); len(tt.want) > 0 && len(acts) != 0 {
				t.Errorf("a command click is also a ChatAction: %+v", acts)
			}
		})
	}
}

func TestCommandText(t *testing.T) {
	t.Parallel()
	p := commands.NewProcessor("!")
	names := func(id string) string { return map[string]string{"U1": "Ann"}[id] }
	tests := []struct{ raw, want string }{
		{"!tag billing", "!tag billing"},
		{"!assign <@U1>", "!assign <@U1>"},
		{"!ASSIGN <@U1|ann>", "!ASSIGN <@U1>"},
		{"!reply Thanks &amp; sorry, <@U1> will call &lt;today&gt;", "!reply Thanks & sorry, @Ann will call <today>"},
		{"!note see <https://status.example.com|status>", "!note see status (https://status.example.com)"},
	}
	for _, tt := range tests {
		if got := commandText(tt.raw, p, names); got != tt.want {
			t.Errorf("commandText(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// ephemeral returns the ephemeral message ts shown to user.
func (b *bundle) ephemeral(user, ts string) (slacksim.Message, bool) {
	for _, e := range b.sim.Ephemerals(user) {
		if e.TS == ts {
			return e, true
		}
	}
	return slacksim.Message{}, false
}

// sectionText joins the texts of the section blocks in blocks.
func sectionText(t *testing.T, blocks json.RawMessage) string {
	t.Helper()
	var bs []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatalf("blocks %s: %v", blocks, err)
	}
	var out []string
	for _, b := range bs {
		if b.Type == "section" {
			out = append(out, b.Text.Text)
		}
	}
	return strings.Join(out, "\n")
}

// previewButtons are the action ids of the preview 17's buttons.
var previewButtons = []string{commands.ButtonAction("preview-send 17"), commands.ButtonAction("preview-cancel 17")}

// hasButtons reports whether blocks hold a button with each action id.
func hasButtons(blocks json.RawMessage, actionIDs ...string) bool {
	for _, id := range actionIDs {
		if !strings.Contains(string(blocks), `"action_id":"`+id+`"`) {
			return false
		}
	}
	return len(actionIDs) > 0 && strings.Contains(string(blocks), `"type":"button"`)
}

func TestSavedReplyPreviewButtons(t *testing.T) {
	t.Parallel()
	for _, m := range bothModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, m.mode)
			thread := b.postTriageCard(t)

			// The slash command answers with the preview and its buttons,
			// shown to the caller only.
			got := b.sim.SlashCommand(testAgent, testChannel, "/xb", "reply-with refund-policy #42")
			if len(got) != 1 || !hasButtons(got[0].Blocks, previewButtons...) || !strings.Contains(sectionText(t, got[0].Blocks), "&gt; Hello!") {
				t.Fatalf("slash answer %+v", got)
			}
			shown := b.ephemeralsWith(testAgent, "Preview of saved reply `refund-policy` for #42")
			if len(shown) != 1 {
				t.Fatalf("ephemerals %+v", b.sim.Ephemerals(testAgent))
			}
			preview := shown[0]
			if c := b.ex.callsOf("ReplyWith"); len(c) != 1 || c[0].Inv.ConversationID != 42 {
				t.Fatalf("ReplyWith calls %+v", c)
			}
			// Send runs the preview's command and puts "Sent" in its place.
			b.sim.ClickButton(testAgent, testChannel, preview.TS, previewButtons[0], "")
			b.waitFor(t, "the Send click", b.ex.called("SendPreview", 1))
			if c := b.ex.callsOf("SendPreview")[0]; !slices.Equal(c.Args, []string{"17"}) || c.Inv.Source != commands.SourceButton || c.Inv.ActorID != testAgent {
				t.Errorf("SendPreview %+v", c)
			}
			b.waitFor(t, "the preview replaced", func() bool {
				e, ok := b.ephemeral(testAgent, preview.TS)
				return ok && e.Edited
			})
			if e, _ := b.ephemeral(testAgent, preview.TS); !strings.HasPrefix(e.Text, "Sent saved reply `refund-policy` to #42") || hasButtons(e.Blocks, previewButtons...) {
				t.Errorf("after Send the preview reads %q, blocks %s", e.Text, e.Blocks)
			}
			if posts := b.sim.ResponseURLPosts(); len(posts) != 1 || !posts[0].ReplaceOriginal {
				t.Errorf("response_url posts %+v, want one replacing the preview", posts)
			}

			// Typed in the thread: the preview shows in the thread, and
			// Cancel takes it back.
			b.sim.PostAsUser(testAgent, testChannel, thread, "!reply-with refund-policy")
			// (The first preview now reads "Sent".)
			b.waitFor(t, "the in-thread preview", func() bool { return len(b.ephemeralsWith(testAgent, "Preview of saved reply")) == 1 })
			inThread := b.ephemeralsWith(testAgent, "Preview of saved reply")[0]
			if inThread.ThreadTS != thread || !hasButtons(inThread.Blocks, previewButtons...) {
				t.Fatalf("in-thread preview %+v", inThread)
			}
			b.sim.ClickButton(testAgent, testChannel, inThread.TS, previewButtons[1], "")
			b.waitFor(t, "the Cancel click", b.ex.called("CancelPreview", 1))
			b.waitFor(t, "the preview replaced", func() bool {
				e, ok := b.ephemeral(testAgent, inThread.TS)
				return ok && strings.HasPrefix(e.Text, "Cancelled saved reply `refund-policy` for #42: nothing was sent.")
			})
			if n := len(b.ex.callsOf("SendPreview")); n != 1 {
				t.Errorf("%d sends, want the one click's", n)
			}
			b.noViolations(t)
		})
	}
}

// slowPreviews holds ReplyWith back past the slash command's 3 seconds.
type slowPreviews struct {
	*fakeExecutor
	delay time.Duration
}

func (s slowPreviews) ReplyWith(ctx context.Context, inv commands.Invocation, name string) (*bridge.ReplyPreview, error) {
	time.Sleep(s.delay)
	return s.fakeExecutor.ReplyWith(ctx, inv, name)
}

func TestSlowSlashPreviewComesWithItsButtons(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	b.adapter.SetCommands(commands.NewProcessor("!"), slowPreviews{b.ex, slashAnswerWithin + 300*time.Millisecond})
	if got := b.sim.SlashCommand(testAgent, testChannel, "/xb", "reply-with refund-policy #42"); len(got) != 0 {
		t.Errorf("answered %+v at once, want nothing within the 3 seconds", got)
	}
	b.waitFor(t, "the late preview", func() bool { return len(b.ephemeralsWith(testAgent, "Preview of saved reply")) == 1 })
	preview := b.ephemeralsWith(testAgent, "Preview of saved reply")[0]
	if !hasButtons(preview.Blocks, previewButtons...) {
		t.Fatalf("late preview %+v", preview)
	}
	b.sim.ClickButton(testAgent, testChannel, preview.TS, previewButtons[0], "")
	b.waitFor(t, "the Send click", b.ex.called("SendPreview", 1))
	b.noViolations(t)
}
