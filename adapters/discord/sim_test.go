package discord

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/bridge"
)

func TestCardInForum(t *testing.T) {
	t.Parallel()
	b := setup(t, options{noOpen: true})
	ctx := context.Background()

	thread, err := b.a.PostCard(ctx, testForum, testCard(), "card:42")
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}
	posts := b.sim.Threads(testForum)
	if len(posts) != 1 || posts[0].ID != thread || posts[0].Name != "#42 · Jane Doe" {
		t.Fatalf("forum posts %+v, want one with id %s", posts, thread)
	}
	if !slices.Equal(posts[0].AppliedTags, []string{tagBilling}) {
		t.Errorf("applied tags %v, want billing", posts[0].AppliedTags)
	}
	starter, ok := b.sim.Message(thread, thread)
	if !ok || !starter.Bot {
		t.Fatalf("no starter message %s in the post", thread)
	}
	e := embedOf(t, starter.Embeds)
	if e.Title != "#42 · Jane Doe" || e.field("Followers") != "48.2k" || !strings.Contains(e.field("Status"), "Open") {
		t.Errorf("card embed %+v", e)
	}
	if ids := customIDs(t, starter.Components); !slices.Contains(ids, "xb_cmd:claim|#42") || !slices.Contains(ids, "xb_cmd:priority|#42") {
		t.Errorf("card components %v", ids)
	}

	card := testCard()
	card.Status, card.AssigneeID, card.AssigneeName = bridge.StatusPending, testAgent, "Alice"
	card.Tags = []string{"billing", "refund", "vip"}
	if err := b.a.UpdateCard(ctx, testForum, thread, card); err != nil {
		t.Fatalf("UpdateCard: %v", err)
	}
	starter, _ = b.sim.Message(thread, thread)
	if e := embedOf(t, starter.Embeds); e.field("Assignee") != "<@"+testAgent+">" || !strings.Contains(e.field("Status"), "Waiting") {
		t.Errorf("updated card embed %+v", e)
	}
	if ids := customIDs(t, starter.Components); !slices.Contains(ids, "xb_cmd:unclaim|#42") || slices.Contains(ids, "xb_cmd:pending|#42") {
		t.Errorf("updated card components %v", ids)
	}
	post, _ := b.sim.Channel(thread)
	if !slices.Equal(post.AppliedTags, []string{tagBilling, tagRefund}) {
		t.Errorf("applied tags after update %v, want billing and Refund", post.AppliedTags)
	}

	// A customer's message lands in the post, and a delivery mark on an
	// agent's message there.
	id, err := b.a.Post(ctx, testForum, thread, bridge.Post{Kind: bridge.PostCustomer, AuthorName: "Jane Doe", Text: "Hi @everyone, my card was charged twice"})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	m, _ := b.sim.Message(thread, id)
	if m.Content != "**Jane Doe**: Hi @everyone, my card was charged twice" || string(m.AllowedMentions) != `{"parse":[],"replied_user":false}` {
		t.Errorf("customer post %q, allowed mentions %s", m.Content, m.AllowedMentions)
	}
	b.noViolations(t)
}

func TestCardInTextChannel(t *testing.T) {
	t.Parallel()
	b := setup(t, options{noOpen: true})
	ctx := context.Background()

	thread, err := b.a.PostCard(ctx, testText, testCard(), "card:42")
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}
	roots := b.sim.Messages(testText)
	if len(roots) != 1 || roots[0].ID != thread {
		t.Fatalf("channel messages %+v, want the card %s (a thread started from a message has its id)", roots, thread)
	}
	threads := b.sim.Threads(testText)
	if len(threads) != 1 || threads[0].ID != thread || threads[0].Name != "#42 · Jane Doe" {
		t.Fatalf("threads %+v", threads)
	}

	card := testCard()
	card.Status, card.ClosedAt, card.ClosedByName, card.CloseReason = bridge.StatusClosed, card.OpenedAt.Add(3*time.Hour), "Alice", "refund issued"
	if err := b.a.UpdateCard(ctx, testText, thread, card); err != nil {
		t.Fatalf("UpdateCard: %v", err)
	}
	msg, _ := b.sim.Message(testText, thread)
	e := embedOf(t, msg.Embeds)
	if !contains(e.field("Closed"), "by Alice", "after 3 h") || e.field("Close reason") != "refund issued" {
		t.Errorf("closed card %+v", e)
	}
	if ids := customIDs(t, msg.Components); !slices.Equal(ids, []string{"xb_cmd:reopen|#42"}) {
		t.Errorf("closed card components %v", ids)
	}

	// A customer's message lands in the thread, and a delivery mark on it.
	id, err := b.a.Post(ctx, testText, thread, bridge.Post{Kind: bridge.PostCustomer, AuthorName: "Jane Doe", Text: "thanks!"})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if err := b.a.React(ctx, testText, thread, id, bridge.ReactionWaiting, true); err != nil {
		t.Fatalf("React: %v", err)
	}
	if m, ok := b.sim.Message(thread, id); !ok || m.Content != "**Jane Doe**: thanks!" || !slices.Equal(m.Reactions, []string{"⏳"}) {
		t.Errorf("customer post %+v", m)
	}
	if err := b.a.React(ctx, testText, thread, id, bridge.ReactionFailed, false); err != nil {
		t.Errorf("removing an absent mark: %v", err)
	}
	b.noViolations(t)
}

// postCard posts conversation 42's card in channel and returns its thread.
func (b *bundle) postCard(t *testing.T, channel string) string {
	t.Helper()
	thread, err := b.a.PostCard(context.Background(), channel, testCard(), "card:42")
	if err != nil {
		t.Fatalf("PostCard: %v", err)
	}
	return thread
}

func TestGatewayInbound(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	ctx := context.Background()
	for _, channel := range []string{testText, testForum} {
		thread := b.postCard(t, channel)

		// An agent's message in the thread reaches the handler with the
		// parent channel and the thread, as PostCard returned them.
		id := b.sim.PostAsUser(testAgent, thread, "Sorry about that <@"+testAgent2+">, refund on its way")
		b.waitFor(t, "the agent's message", b.h.has(id))
		m, _ := b.h.message(id)
		want := bridge.ChatMessage{
			Platform: "discord", EventID: id, Channel: channel, ThreadID: thread, MessageID: id,
			UserID: testAgent, UserName: "Alice", Roles: []bridge.Role{bridge.RoleAgent},
			Text: "Sorry about that @bob, refund on its way", InBotThread: true,
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("message in %s:\n got %+v\nwant %+v", channel, m, want)
		}

		// Its delivery mark lands on it, in the thread.
		if err := b.a.React(ctx, channel, thread, id, bridge.ReactionSent, true); err != nil {
			t.Fatalf("React: %v", err)
		}
		if got, _ := b.sim.Message(thread, id); !slices.Equal(got.Reactions, []string{"✅"}) {
			t.Errorf("reactions %v, want ✅", got.Reactions)
		}
		if err := b.a.React(ctx, channel, thread, id, bridge.ReactionSent, false); err != nil {
			t.Fatalf("React remove: %v", err)
		}

		// An in-thread command runs; its raw text keeps mentions.
		cmd := b.sim.PostAsUser(testAgent, thread, "!tag billing")
		b.waitFor(t, "!tag", b.ex.called("Tag", 1))
		tag := b.ex.callsOf("Tag")[0]
		b.ex.reset()
		if tag.Inv.Source != "text" || tag.Inv.Channel != channel || tag.Inv.ThreadID != thread || tag.Inv.MessageID != cmd ||
			tag.Inv.ActorID != testAgent || tag.Inv.ActorName != "Alice" || !slices.Equal(tag.Args, []string{"billing"}) {
			t.Errorf("!tag invocation %+v", tag)
		}
		if _, ok := b.h.message(cmd); ok {
			t.Error("a command reached HandleChatMessage")
		}

		// Edits and deletions reach the handler with the parent channel.
		b.sim.EditAsUser(testAgent, thread, id, "Sorry, refund sent")
		b.sim.DeleteAsUser(testAgent, thread, id)
		b.waitFor(t, "edit and delete", func() bool { return len(b.h.Edits()) > 0 && len(b.h.Deletes()) > 0 })
		e, d := b.h.Edits()[0], b.h.Deletes()[0]
		if e.Channel != channel || e.MessageID != id || e.Text != "Sorry, refund sent" || e.UserID != testAgent || e.EventID == id {
			t.Errorf("edit %+v", e)
		}
		if d.Channel != channel || d.MessageID != id || d.EventID == id || d.EventID == e.EventID {
			t.Errorf("delete %+v", d)
		}
		b.h.reset()
	}

	// The bot's own messages are not agents' messages.
	if n := len(b.h.Messages()); n != 2 {
		t.Errorf("%d messages handled, want the 2 agents' ones", n)
	}
	b.noViolations(t)
}

func TestGatewayResumesAfterDrop(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	thread := b.postCard(t, testForum)
	b.sim.DropGatewayConnections()
	// discordgo notices the drop, closes (a second) and resumes.
	b.waitFor(t, "the session resumed", func() bool { return b.sim.Resumes() == 1 })
	b.waitFor(t, "the reconnection", b.a.Connected)
	id := b.sim.PostAsUser(testAgent, thread, "still there?")
	b.waitFor(t, "the message after the drop", b.h.has(id))
	if b.sim.Resumes() < 1 || b.sim.Identifies() != 1 {
		t.Errorf("resumes %d, identifies %d: want the session resumed", b.sim.Resumes(), b.sim.Identifies())
	}
	b.noViolations(t)
}

func TestPostSplitsAndReportsErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, options{noOpen: true})
	ctx := context.Background()
	thread := b.postCard(t, testForum)

	long := strings.Repeat("refund please ", 330) // 4,620 characters
	first, err := b.a.Post(ctx, testForum, thread, bridge.Post{Kind: bridge.PostCustomer, AuthorName: "Jane Doe", Text: long})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	msgs := b.sim.Messages(thread)[1:] // after the starter
	if len(msgs) != 3 || msgs[0].ID != first {
		t.Fatalf("%d messages, first %s; want 3, the first returned", len(msgs), first)
	}
	for i, m := range msgs {
		if n := runeLen(m.Content); n > 2000 || strings.HasSuffix(m.Content, "refun") || strings.HasPrefix(m.Content, "d ") {
			t.Errorf("part %d: %d characters, cut %q…%q", i, n, m.Content[:10], m.Content[len(m.Content)-10:])
		}
	}

	// A post with an idempotency key carries it as an enforced nonce, so
	// that Discord does not post it twice when a retry follows a lost
	// answer.
	if _, err := b.a.Post(ctx, testForum, thread, bridge.Post{Kind: bridge.PostNotice, Text: "Claimed by Alice", Key: "notice:7"}); err != nil {
		t.Fatalf("Post with key: %v", err)
	}
	calls := b.sim.Calls()
	if body := string(calls[len(calls)-1].Body); !contains(body, `"nonce":"`+nonceOf("notice:7#0")+`"`, `"enforce_nonce":true`, `"content":"Claimed by Alice"`) {
		t.Errorf("keyed post sent %s", body)
	}

	// 5xx: worth retrying.
	b.sim.FailNext("POST", "/channels/*/messages", 1, discordsim.Fault{Status: 502})
	b.sim.FailNext("POST", "/channels/*/messages", 1, discordsim.Fault{Status: 500})
	_, err = b.a.Post(ctx, testForum, thread, bridge.Post{Kind: bridge.PostNotice, Text: "x"})
	if de := bridge.AsDeliveryError(err); err == nil || !de.Temporary || de.RateLimited {
		t.Errorf("500: %v", err)
	}
	// 4xx: permanent, with Discord's reason.
	_, err = b.a.Post(ctx, "1399999999999999999", "", bridge.Post{Kind: bridge.PostNotice, Text: "x"})
	if de := bridge.AsDeliveryError(err); err == nil || de.Temporary || de.Reason != "the Discord channel or thread was not found" {
		t.Errorf("unknown channel: %+v", de)
	}
	// 429: rate limited, with the wait Discord asked for.
	b.sim.FailNext("POST", "/channels/*/messages", 1, discordsim.Fault{Status: 429, RetryAfter: 2 * time.Second})
	before := time.Now()
	_, err = b.a.Post(ctx, testForum, thread, bridge.Post{Kind: bridge.PostNotice, Text: "x"})
	de := bridge.AsDeliveryError(err)
	if err == nil || !de.RateLimited || !de.Temporary || de.RetryAt.Before(before.Add(1500*time.Millisecond)) || de.RetryAt.After(time.Now().Add(2500*time.Millisecond)) {
		t.Errorf("429: %+v", de)
	}
	b.sim.FailNext("PUT", "/channels/*/messages/*/reactions/*/@me", 1, discordsim.Fault{Status: 429, RetryAfter: time.Second})
	err = b.a.React(ctx, testForum, thread, first, bridge.ReactionWaiting, true)
	if de := bridge.AsDeliveryError(err); err == nil || !de.RateLimited {
		t.Errorf("429 on a reaction: %v", err)
	}
	b.noViolations(t)
}

func TestEscalationCard(t *testing.T) {
	t.Parallel()
	b := setup(t, options{noOpen: true})
	ctx := context.Background()
	support := b.postCard(t, testForum)
	esc := bridge.EscalationCard{
		Ticket: "#42", Summary: "Refund failed with error 500", OpenedByName: "Alice", CustomerName: "Jane Doe", Handle: "jane",
		Kind: bridge.KindDM, Priority: bridge.PriorityHigh, Tags: []string{"billing"},
		Recent:  []bridge.CardMessage{{Direction: bridge.DirectionIn, Text: "I was charged twice"}, {Direction: bridge.DirectionNote, Author: "Alice", Text: "checking"}},
		Support: bridge.ThreadRef{Platform: "discord", Channel: testForum, ThreadID: support},
		OnCall:  "<@&" + testRole + ">",
	}
	thread, err := b.a.PostEscalation(ctx, testEng, esc, "esc:42")
	if err != nil {
		t.Fatalf("PostEscalation: %v", err)
	}
	m, ok := b.sim.Message(testEng, thread)
	if !ok || !strings.HasPrefix(m.Content, "<@&"+testRole+">") || !strings.Contains(string(m.AllowedMentions), testRole) {
		t.Fatalf("escalation card %+v", m)
	}
	e := embedOf(t, m.Embeds)
	if !contains(e.field("Support thread"), "https://discord.com/channels/"+testGuild+"/"+testForum+"/"+support) || e.field("Customer @jane") != "> I was charged twice" {
		t.Errorf("escalation embed %+v", e)
	}
	if ids := customIDs(t, m.Components); !slices.Equal(ids, []string{"xb_cmd:resolve|#42"}) {
		t.Errorf("escalation components %v", ids)
	}
	if th := b.sim.Threads(testEng); len(th) != 1 || th[0].ID != thread {
		t.Errorf("escalation threads %+v", th)
	}
	esc.Resolved, esc.ResolvedBy, esc.Resolution = true, "Bob", "fixed in 2.3"
	if err := b.a.UpdateEscalation(ctx, testEng, thread, esc); err != nil {
		t.Fatalf("UpdateEscalation: %v", err)
	}
	m, _ = b.sim.Message(testEng, thread)
	if e := embedOf(t, m.Embeds); !contains(e.field("Status"), "Resolved by Bob", "fixed in 2.3") || len(customIDs(t, m.Components)) != 0 {
		t.Errorf("resolved escalation %+v, components %s", e, m.Components)
	}
	b.noViolations(t)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	b := setup(t, options{noOpen: true})
	if err := b.a.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	if b.a.self() != testBot {
		t.Errorf("bot id %q", b.a.self())
	}
	b.noViolations(t)

	wrongGuild, err := New(Config{Token: testToken, AppID: testBot, GuildID: "1299999999999999999", APIURL: b.srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wrongGuild.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "XBRIDGE_DISCORD_GUILD_ID") {
		t.Errorf("wrong guild: %v", err)
	}
	badToken, err := New(Config{Token: "not-the-token", AppID: testBot, GuildID: testGuild, APIURL: b.srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = badToken.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "XBRIDGE_DISCORD_BOT_TOKEN") || strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("bad token: %v", err)
	}
	err = badToken.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "XBRIDGE_DISCORD_BOT_TOKEN") || strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("bad token Open: %v", err)
	}
	_ = badToken.Close()
	unreachable, _ := New(Config{Token: testToken, AppID: testBot, GuildID: testGuild, APIURL: "http://127.0.0.1:1"}, nil)
	if err := unreachable.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "XBRIDGE_DISCORD_API_URL") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestRolesFromDiscord(t *testing.T) {
	t.Parallel()
	b := setup(t, options{cfg: func(c *Config) {
		c.Roles = Roles{Agents: []string{testRole}, Engineers: []string{testAgent2}}
	}})
	b.register(t)
	thread := b.postCard(t, testText)
	alice := b.sim.PostAsUser(testAgent, thread, "on it")
	bob := b.sim.PostAsUser(testAgent2, thread, "looking at the logs")
	b.waitFor(t, "both messages", func() bool { return b.h.has(alice)() && b.h.has(bob)() })
	if m, _ := b.h.message(alice); !slices.Equal(m.Roles, []bridge.Role{bridge.RoleAgent}) {
		t.Errorf("alice's roles %v", m.Roles)
	}
	if m, _ := b.h.message(bob); !slices.Equal(m.Roles, []bridge.Role{bridge.RoleEngineer}) || m.UserName != "bob" {
		t.Errorf("bob's message %+v", m)
	}
	if got := b.a.RolesOf(testAgent); !slices.Equal(got, []bridge.Role{bridge.RoleAgent}) {
		t.Errorf("RolesOf(alice) = %v", got)
	}
	if got := b.a.NameOf(testAgent); got != "Alice" {
		t.Errorf("NameOf(alice) = %q", got)
	}
	// An engineer may not claim: the processor says so, ephemerally.
	res := b.sim.ClickButton(testAgent2, testText, thread, "xb_cmd:claim|#42")
	if !res.Ephemeral || res.Content != "`claim` needs the agent role." {
		t.Errorf("engineer's claim answered %+v", res)
	}
	if len(b.ex.callsOf("Claim")) != 0 {
		t.Error("the executor ran an engineer's claim")
	}
	b.noViolations(t)
}

func TestTextCommandReplyReachesItsAuthor(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	thread := b.postCard(t, testForum)
	// The answer goes by direct message.
	b.sim.PostAsUser(testAgent, thread, "!claim now please")
	b.waitFor(t, "the answer by DM", func() bool {
		dm, _ := b.sim.DMChannel(testAgent)
		msgs := b.sim.Messages(dm)
		return len(msgs) == 1 && contains(msgs[0].Content, "`claim` takes no arguments")
	})
	// To someone who does not accept direct messages from server members,
	// it comes as a reply to their message in the thread, pinging them.
	b.sim.AddMember(discordsim.Member{ID: testAgent, Username: "alice", GlobalName: "Alice", Roles: []string{testRole}, NoDirectMessages: true})
	cmd := b.sim.PostAsUser(testAgent, thread, "!claim again please")
	b.waitFor(t, "the answer in the thread", func() bool {
		for _, m := range b.sim.Messages(thread) {
			if m.Bot && m.ReferenceID == cmd {
				return true
			}
		}
		return false
	})
	for _, m := range b.sim.Messages(thread) {
		if m.Bot && m.ReferenceID == cmd && !contains(m.Content, "<@"+testAgent+">", "`claim` takes no arguments") {
			t.Errorf("answer %q", m.Content)
		}
	}
	if len(b.ex.callsOf("Claim")) != 0 {
		t.Error("a malformed command ran")
	}
	b.noViolations(t)
}
