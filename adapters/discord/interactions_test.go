package discord

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// register registers /xb and fails the test if it cannot.
func (b *bundle) register(t *testing.T) {
	t.Helper()
	if err := b.a.RegisterCommands(context.Background()); err != nil {
		t.Fatalf("RegisterCommands: %v", err)
	}
}

// slash runs "/xb <sub> [options]" as alice in channel.
func (b *bundle) slash(channel, sub string, opts ...discordsim.CommandOption) discordsim.InteractionResult {
	return b.sim.SlashCommand(testAgent, channel, "xb", []discordsim.CommandOption{{Name: sub, Options: opts}})
}

func TestRegisterCommandsIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, options{noOpen: true})
	b.register(t)
	first := b.sim.Commands()
	b.register(t)
	second := b.sim.Commands()
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("commands after two registrations: %d then %d, want one /xb", len(first), len(second))
	}
	var cmd struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Options []struct {
			Name string `json:"name"`
		} `json:"options"`
	}
	var again struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(first[0], &cmd); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(second[0], &again)
	if cmd.Name != "xb" || cmd.ID != again.ID {
		t.Errorf("command %s (id %s), then id %s: want /xb keeping its id", cmd.Name, cmd.ID, again.ID)
	}
	var subs []string
	for _, o := range cmd.Options {
		subs = append(subs, o.Name)
	}
	for _, c := range commands.NewProcessor("!").Commands {
		if !c.Hidden && !slices.Contains(subs, c.Name) {
			t.Errorf("/xb %s not registered (have %v)", c.Name, subs)
		}
	}
	b.noViolations(t)
}

func TestInteractionsOverGateway(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.register(t)
	text := b.postCard(t, testText)
	forum := b.postCard(t, testForum)

	// The Claim button of a text channel's card: the thread has the card's
	// id, the ticket comes from the custom id.
	res := b.sim.ClickButton(testAgent, testText, text, "xb_cmd:claim|#42")
	if res.Failed || res.Type != discordsim.CallbackDeferredUpdateMessage {
		t.Errorf("claim click answered %+v, want a silent acknowledgement", res)
	}
	claim := b.ex.callsOf("Claim")
	if len(claim) != 1 {
		t.Fatalf("Claim calls %+v", claim)
	}
	inv := claim[0].Inv
	if inv.Source != commands.SourceButton || inv.ConversationID != 42 || inv.Channel != testText || inv.ThreadID != text ||
		inv.ActorID != testAgent || inv.ActorName != "Alice" || inv.EventID != res.ID || !slices.Equal(inv.Roles, []bridge.Role{bridge.RoleAgent}) {
		t.Errorf("claim invocation %+v", inv)
	}

	// A refusal is shown to the one who clicked only.
	b.ex.fail("Claim", bridge.Errorf(bridge.ECONFLICT, "#42 is already Bob's."))
	res = b.sim.ClickButton(testAgent, forum, forum, "xb_cmd:claim|#42")
	if res.Type != discordsim.CallbackChannelMessageWithSource || !res.Ephemeral || res.Content != "#42 is already Bob's." {
		t.Errorf("refused claim answered %+v", res)
	}
	b.ex.fail("Claim", nil)

	// 👀 on a forum post's starter message claims it.
	b.ex.reset()
	b.sim.React(testAgent, forum, forum, "👀")
	b.waitFor(t, "the reaction's claim", b.ex.called("Claim", 1))
	if inv := b.ex.callsOf("Claim")[0].Inv; inv.Source != commands.SourceReaction || inv.Channel != testForum || inv.ThreadID != forum || inv.ActorID != testAgent {
		t.Errorf("reaction invocation %+v", inv)
	}

	// /xb tag billing in a thread acts on the thread's conversation.
	res = b.slash(forum, "tag", discordsim.CommandOption{Name: "tag", Value: "billing"})
	if res.Type != discordsim.CallbackChannelMessageWithSource || !res.Ephemeral || res.Content != "Tagged the conversation: billing." {
		t.Errorf("/xb tag answered %+v", res)
	}
	if calls := b.ex.callsOf("Tag"); len(calls) != 1 || calls[0].Inv.Source != commands.SourceSlash ||
		calls[0].Inv.Channel != testForum || calls[0].Inv.ThreadID != forum || calls[0].Inv.ConversationID != 0 || !slices.Equal(calls[0].Args, []string{"billing"}) {
		t.Errorf("Tag calls %+v", calls)
	}

	// /xb status ticket:42 outside a thread names its conversation.
	res = b.slash(testText, "status", discordsim.CommandOption{Name: "ticket", Value: "42"})
	if !res.Ephemeral || res.Content != "#42 is open." {
		t.Errorf("/xb status answered %+v", res)
	}
	if calls := b.ex.callsOf("Status"); len(calls) != 1 || calls[0].Inv.ConversationID != 42 || calls[0].Inv.Channel != testText || calls[0].Inv.ThreadID != "" {
		t.Errorf("Status calls %+v", calls)
	}

	// Outside a thread and without a ticket: usage, ephemerally.
	res = b.slash(testText, "close", discordsim.CommandOption{Name: "reason", Value: "done"})
	if !res.Ephemeral || !contains(res.Content, "Which conversation?", "ticket:42") || len(b.ex.callsOf("Close")) != 0 {
		t.Errorf("/xb close without ticket answered %+v", res)
	}

	// A user option becomes a mention the executor resolves.
	b.slash(forum, "assign", discordsim.CommandOption{Name: "user", Value: testAgent2})
	if calls := b.ex.callsOf("Assign"); len(calls) != 1 || !slices.Equal(calls[0].Args, []string{"<@" + testAgent2 + ">"}) {
		t.Errorf("Assign calls %+v", calls)
	}

	// The Resend button of a warning goes to the handler.
	warn, err := b.a.Post(context.Background(), testForum, forum, bridge.Post{
		Kind: bridge.PostWarning, Text: "Delivery unknown: X did not answer.",
		Buttons: []bridge.Button{{Action: bridge.ActionResend, Label: "Resend", Value: "17"}},
	})
	if err != nil {
		t.Fatalf("Post warning: %v", err)
	}
	res = b.sim.ClickButton(testAgent, forum, warn, "xb_resend|17")
	if res.Failed || res.Type != discordsim.CallbackDeferredUpdateMessage {
		t.Errorf("resend click answered %+v", res)
	}
	acts := b.h.Actions()
	want := bridge.ChatAction{Platform: "discord", EventID: res.ID, Channel: testForum, MessageID: warn,
		UserID: testAgent, UserName: "Alice", Action: bridge.ActionResend, Value: "17"}
	if len(acts) != 1 || acts[0] != want {
		t.Errorf("actions %+v, want %+v", acts, want)
	}
	b.noViolations(t)
}

func TestSlowCommandIsAnsweredLater(t *testing.T) {
	t.Parallel()
	b := setup(t, options{sim: func(o *discordsim.Options) { o.FollowUpWait = 2 * time.Second }})
	b.register(t)
	b.ex.setDelay(2500 * time.Millisecond)
	res := b.slash(testText, "status", discordsim.CommandOption{Name: "ticket", Value: "#42"})
	if res.Type != discordsim.CallbackDeferredChannelMessage || !res.Ephemeral || res.Content != "#42 is open." {
		t.Errorf("slow /xb status answered %+v, want deferred, then the reply", res)
	}
	b.noViolations(t)
}

// signed delivers a raw interaction to the adapter, signed at ts.
func (b *bundle) signed(t *testing.T, body []byte, ts time.Time) *http.Response {
	t.Helper()
	sig, stamp := b.sim.Sign(ts.Unix(), body)
	resp, err := b.sim.DeliverInteractionRaw(context.Background(), body, sig, stamp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestInteractionsOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t, options{http: true, noOpen: true})
	ctx := context.Background()
	b.register(t)
	if err := b.sim.PingInteraction(ctx); err != nil {
		t.Errorf("PING: %v", err)
	}

	ping := []byte(`{"id":"1700000000000000001","application_id":"` + testBot + `","type":1,"token":"x","version":1}`)
	if resp := b.signed(t, ping, time.Now()); resp.StatusCode != http.StatusOK {
		t.Errorf("signed PING answered %d", resp.StatusCode)
	}
	if resp := b.signed(t, ping, time.Now().Add(-10*time.Minute)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stale PING answered %d, want 401", resp.StatusCode)
	}
	sig, stamp := b.sim.Sign(time.Now().Unix(), ping)
	bad := []byte(strings.Replace(string(ping), `"x"`, `"y"`, 1))
	resp, err := b.sim.DeliverInteractionRaw(ctx, bad, sig, stamp)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("badly signed PING answered %d, want 401", resp.StatusCode)
	}

	// A slash command over HTTP is answered in the response.
	res := b.slash(testText, "status", discordsim.CommandOption{Name: "ticket", Value: "42"})
	if res.Via != "http" || !res.Ephemeral || res.Content != "#42 is open." {
		t.Errorf("/xb status over HTTP answered %+v", res)
	}

	// The priority select (discordsim cannot choose in a select: the
	// interaction is written out).
	thread := b.postCard(t, testForum)
	body, _ := json.Marshal(map[string]any{
		"id": "1700000000000000002", "application_id": testBot, "type": 3, "token": "tok", "version": 1,
		"guild_id": testGuild, "channel_id": thread,
		"channel": map[string]any{"id": thread, "type": 11, "parent_id": testForum},
		"member":  map[string]any{"roles": []string{testRole}, "user": map[string]any{"id": testAgent, "username": "alice", "global_name": "Alice"}},
		"message": map[string]any{"id": thread, "channel_id": thread},
		"data":    map[string]any{"custom_id": "xb_cmd:priority|#42", "component_type": 3, "values": []string{"high"}},
	})
	resp = b.signed(t, body, time.Now())
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(answer)) != `{"type":6}` {
		t.Errorf("priority select answered %d %s, want a silent acknowledgement", resp.StatusCode, answer)
	}
	calls := b.ex.callsOf("SetPriority")
	if len(calls) != 1 || calls[0].Inv.ConversationID != 42 || calls[0].Inv.Channel != testForum || calls[0].Inv.ThreadID != thread ||
		calls[0].Inv.Source != commands.SourceButton || !slices.Equal(calls[0].Args, []string{"high"}) {
		t.Errorf("SetPriority calls %+v", calls)
	}
	b.noViolations(t)
}

// previewSend and previewCancel are the custom ids of preview 17's buttons.
var (
	previewSend   = commands.ButtonAction("preview-send 17")
	previewCancel = commands.ButtonAction("preview-cancel 17")
)

func TestSavedReplyPreviewButtons(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    options
	}{{"gateway", options{}}, {"http", options{http: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.o)
			b.register(t)
			forum := b.postCard(t, testForum)

			// /xb reply-with in the thread: the preview, ephemeral, with
			// Send and Cancel.
			res := b.slash(forum, "reply-with", discordsim.CommandOption{Name: "saved-reply", Value: "refund-policy"})
			if !res.Ephemeral || !strings.HasPrefix(res.Content, "Preview of saved reply `refund-policy` for #42:\n> Our refund policy…") ||
				!contains(string(res.Components), previewSend, previewCancel) {
				t.Fatalf("/xb reply-with answered %+v", res)
			}
			if c := b.ex.callsOf("ReplyWith"); len(c) != 1 || c[0].Inv.ThreadID != forum || !slices.Equal(c[0].Args, []string{"refund-policy"}) {
				t.Fatalf("ReplyWith calls %+v", c)
			}
			// Send: the preview becomes "Sent", without its buttons.
			sent := b.sim.ClickButton(testAgent, forum, res.MessageID, previewSend)
			if sent.Type != discordsim.CallbackUpdateMessage || sent.MessageID != res.MessageID ||
				!strings.HasPrefix(sent.Content, "Sent saved reply `refund-policy` to #42") || contains(string(sent.Components), previewSend) {
				t.Errorf("Send answered %+v", sent)
			}
			if c := b.ex.callsOf("SendPreview"); len(c) != 1 || !slices.Equal(c[0].Args, []string{"17"}) || c[0].Inv.ActorID != testAgent {
				t.Errorf("SendPreview calls %+v", c)
			}

			// !reply-with typed in the thread: Discord has no ephemeral
			// answer to a message, so the preview comes by direct message,
			// where Cancel works the same.
			b.sim.PostAsUser(testAgent, forum, "!reply-with refund-policy")
			var dm, preview string
			b.waitFor(t, "the preview by DM", func() bool {
				dm, _ = b.sim.DMChannel(testAgent)
				for _, m := range b.sim.Messages(dm) {
					if strings.HasPrefix(m.Content, "Preview of saved reply") && contains(string(m.Components), previewSend, previewCancel) {
						preview = m.ID
					}
				}
				return preview != ""
			})
			cancelled := b.sim.ClickButton(testAgent, dm, preview, previewCancel)
			if cancelled.Type != discordsim.CallbackUpdateMessage || !strings.HasPrefix(cancelled.Content, "Cancelled saved reply") {
				t.Errorf("Cancel answered %+v", cancelled)
			}
			if c := b.ex.callsOf("CancelPreview"); len(c) != 1 || c[0].Inv.ActorID != testAgent || !slices.Equal(c[0].Inv.Roles, []bridge.Role{bridge.RoleAgent}) {
				t.Errorf("CancelPreview calls %+v", c)
			}
			if n := len(b.ex.callsOf("SendPreview")); n != 1 {
				t.Errorf("%d sends, want the one click's", n)
			}
			b.noViolations(t)
		})
	}
}

func TestSlowPreviewAndSendAreAnsweredLater(t *testing.T) {
	t.Parallel()
	b := setup(t, options{sim: func(o *discordsim.Options) { o.FollowUpWait = 2 * time.Second }})
	b.register(t)
	forum := b.postCard(t, testForum)
	b.ex.setDelay(2500 * time.Millisecond)
	res := b.slash(forum, "reply-with", discordsim.CommandOption{Name: "saved-reply", Value: "refund-policy"})
	if res.Type != discordsim.CallbackDeferredChannelMessage || !res.Ephemeral || !contains(string(res.Components), previewSend, previewCancel) {
		t.Fatalf("slow /xb reply-with answered %+v, want deferred, then the preview with its buttons", res)
	}
	sent := b.sim.ClickButton(testAgent, forum, res.MessageID, previewSend)
	if sent.Type != discordsim.CallbackDeferredUpdateMessage || !strings.HasPrefix(sent.Content, "Sent saved reply") || contains(string(sent.Components), previewSend) {
		t.Errorf("slow Send answered %+v, want a deferred update, then the preview replaced", sent)
	}
	b.noViolations(t)
}
