package discordsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// xbCommands is the command set the bridge registers.
func xbCommands(withClose bool) []*discordgo.ApplicationCommand {
	perm := int64(discordgo.PermissionManageMessages)
	subs := []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "claim", Description: "Claim this conversation"},
		{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "assign", Description: "Assign to an agent", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionUser, Name: "agent", Description: "Who", Required: true},
		}},
	}
	if withClose {
		subs = append(subs, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "close", Description: "Close it"})
	}
	return []*discordgo.ApplicationCommand{
		{Name: "xb", Description: "xbridge", DefaultMemberPermissions: &perm, Options: subs},
		{Name: "status", Description: "Bridge status"},
	}
}

func TestCommandsBulkOverwrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)

	first, err := s.ApplicationCommandBulkOverwrite(testBot, testGuild, xbCommands(false))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].ID == "" || first[0].ApplicationID != testBot || first[0].GuildID != testGuild {
		t.Fatalf("first overwrite %+v", first)
	}
	// The second overwrite replaces the set: nothing is duplicated, and
	// commands that stay keep their ids.
	second, err := s.ApplicationCommandBulkOverwrite(testBot, testGuild, xbCommands(true)[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 1 || second[0].ID != first[0].ID || len(second[0].Options) != 3 {
		t.Errorf("second overwrite %+v", second)
	}
	if got := f.sim.Commands(); len(got) != 1 || !strings.Contains(string(got[0]), `"name":"close"`) {
		t.Errorf("Commands() = %s", got)
	}
	listed, err := s.ApplicationCommands(testBot, testGuild)
	if err != nil || len(listed) != 1 || *listed[0].DefaultMemberPermissions != discordgo.PermissionManageMessages {
		t.Errorf("listed %+v, %v", listed, err)
	}
	f.noViolations(t)

	dup := []*discordgo.ApplicationCommand{{Name: "xb", Description: "a"}, {Name: "xb", Description: "b"}}
	if _, err := s.ApplicationCommandBulkOverwrite(testBot, testGuild, dup); !isCode(err, 50035) {
		t.Errorf("duplicate names: %v", err)
	}
	upper := []*discordgo.ApplicationCommand{{Name: "XB", Description: "a"}}
	if _, err := s.ApplicationCommandBulkOverwrite(testBot, testGuild, upper); !isCode(err, 50035) {
		t.Errorf("upper-case name: %v", err)
	}
	if _, err := s.ApplicationCommandBulkOverwrite("1999999999999999999", testGuild, xbCommands(false)); !isCode(err, 50001) {
		t.Errorf("another application: %v", err)
	}
	if len(f.sim.Commands()) != 1 {
		t.Error("a refused overwrite changed the set")
	}
}

func TestInteractionButtonOverGateway(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	got := make(chan *discordgo.InteractionCreate, 1)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- i
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "You claimed it", Flags: discordgo.MessageFlagsEphemeral},
		})
	})
	f.open(t, s)
	card, err := s.ChannelMessageSendComplex(testText, claimCard("new conversation"))
	if err != nil {
		t.Fatal(err)
	}
	res := f.sim.ClickButton(testAgent, testText, card.ID, "claim:42")
	if res.Failed || res.Type != CallbackChannelMessageWithSource || res.Content != "You claimed it" || !res.Ephemeral || res.Via != "gateway" {
		t.Errorf("result %+v", res)
	}
	i := recv(t, got, "INTERACTION_CREATE")
	data := i.MessageComponentData()
	if i.Type != discordgo.InteractionMessageComponent || data.CustomID != "claim:42" || i.Member.User.ID != testAgent ||
		i.Message == nil || i.Message.ID != card.ID || i.ChannelID != testText || i.AppPermissions == 0 {
		t.Errorf("interaction %+v data %+v", i.Interaction, data)
	}
	// The ephemeral answer is stored, flagged, and was not dispatched.
	msgs := f.sim.Messages(testText)
	if last := msgs[len(msgs)-1]; !last.Ephemeral || last.InteractionID != res.ID || last.Content != "You claimed it" {
		t.Errorf("answer message %+v", last)
	}
	f.noViolations(t)

	// Answering twice is refused.
	if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); !isCode(err, 40060) {
		t.Errorf("second answer: %v", err)
	}
	f.wantViolation(t, "answered twice")
}

func TestInteractionUpdateMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	ev := collect(s)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		empty := []discordgo.MessageComponent{}
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{Content: "claimed by alice", Components: empty},
		})
	})
	f.open(t, s)
	card, err := s.ChannelMessageSendComplex(testText, claimCard("new conversation"))
	if err != nil {
		t.Fatal(err)
	}
	res := f.sim.ClickButton(testAgent, testText, card.ID, "claim:42")
	if res.Type != CallbackUpdateMessage || res.MessageID != card.ID || res.Content != "claimed by alice" {
		t.Errorf("result %+v", res)
	}
	if up := recv(t, ev.updated, "MESSAGE_UPDATE"); up.ID != card.ID || up.Content != "claimed by alice" || len(up.Components) != 0 {
		t.Errorf("MESSAGE_UPDATE %+v", up.Message)
	}
	f.noViolations(t)
}

func TestInteractionSlashCommandDeferred(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	got := make(chan discordgo.ApplicationCommandInteractionData, 1)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- i.ApplicationCommandData()
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
		})
		time.Sleep(50 * time.Millisecond) // "work"
		_, _ = s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "Assigned to bob"})
		_, _ = s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "Anything else?", Flags: discordgo.MessageFlagsEphemeral})
	})
	f.open(t, s)
	if _, err := s.ApplicationCommandBulkOverwrite(testBot, testGuild, xbCommands(true)); err != nil {
		t.Fatal(err)
	}
	res := f.sim.SlashCommand(testAgent, testText, "xb", []CommandOption{
		{Name: "assign", Options: []CommandOption{{Name: "agent", Value: testAgent2}}},
	})
	data := recv(t, got, "command data")
	if data.Name != "xb" || len(data.Options) != 1 || data.Options[0].Name != "assign" ||
		data.Options[0].Options[0].UserValue(nil).ID != testAgent2 || data.Resolved == nil || data.Resolved.Users[testAgent2] == nil {
		t.Errorf("command data %+v", data)
	}
	// The first follow-up replaces the "thinking" message (ephemeral, as
	// deferred); SlashCommand returns at that first follow-up.
	if res.Type != CallbackDeferredChannelMessage || res.Content != "Assigned to bob" || !res.Ephemeral || len(res.FollowUps) < 1 {
		t.Errorf("result %+v", res)
	}
	f.waitFor(t, "second follow-up", func() bool {
		r, _ := f.sim.Interaction(res.ID)
		return len(r.FollowUps) == 2
	})
	r, _ := f.sim.Interaction(res.ID)
	if r.FollowUps[1].Content != "Anything else?" || !r.FollowUps[1].Ephemeral || r.FollowUps[1].Flags&FlagLoading != 0 {
		t.Errorf("follow-ups %+v", r.FollowUps)
	}
	f.noViolations(t)

	if res := f.sim.SlashCommand(testAgent, testText, "xb", []CommandOption{{Name: "assign"}}); !res.Failed {
		t.Error("missing required option accepted")
	}
	f.wantViolation(t, `required option "agent" missing`)
}

func TestInteractionLateAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.InteractionTimeout = 200 * time.Millisecond })
	s := f.session(t, intentsAll)
	errs := make(chan error, 1)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		time.Sleep(400 * time.Millisecond)
		errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
	})
	f.open(t, s)
	card, err := s.ChannelMessageSendComplex(testText, claimCard("x"))
	if err != nil {
		t.Fatal(err)
	}
	if res := f.sim.ClickButton(testAgent, testText, card.ID, "close:42"); !res.Failed || res.Type != 0 {
		t.Errorf("late answer result %+v", res)
	}
	if err := recv(t, errs, "late answer"); !isCode(err, 10062) {
		t.Errorf("late callback: %v", err)
	}
	f.wantViolation(t, "failed: no answer within 200ms")
	f.wantViolation(t, "after its 200ms ran out")
}

func TestInteractionsOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	key := f.sim.PublicKey()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !discordgo.VerifyInteraction(r, key) {
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		var i discordgo.Interaction
		if err := json.NewDecoder(r.Body).Decode(&i); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var resp discordgo.InteractionResponse
		switch i.Type {
		case discordgo.InteractionPing:
			resp.Type = discordgo.InteractionResponsePong
		case discordgo.InteractionMessageComponent:
			resp.Type = discordgo.InteractionResponseChannelMessageWithSource
			resp.Data = &discordgo.InteractionResponseData{Content: "claimed via " + i.MessageComponentData().CustomID}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(app.Close)
	f.sim.SetInteractionsURL(app.URL)

	if err := f.sim.PingInteraction(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := f.session(t, intentsAll)
	ev := collect(s)
	f.open(t, s)
	card, err := s.ChannelMessageSendComplex(testText, claimCard("x"))
	if err != nil {
		t.Fatal(err)
	}
	res := f.sim.ClickButton(testAgent, testText, card.ID, "claim:42")
	if res.Via != "http" || res.Type != CallbackChannelMessageWithSource || res.Content != "claimed via claim:42" || res.Ephemeral {
		t.Errorf("result %+v", res)
	}
	// The public answer shows up on the Gateway, as from the application.
	m := ev.nextCreate(t, func(m *discordgo.MessageCreate) bool { return m.ID == res.MessageID })
	if m.WebhookID != testBot || m.Author.ID != testBot || m.Interaction == nil {
		t.Errorf("answer MESSAGE_CREATE %+v", m.Message)
	}
	f.noViolations(t)

	// Bad signatures must be refused by the app.
	body := []byte(`{"type":1,"id":"1","token":"t","version":1}`)
	sig, ts := f.sim.Sign(time.Now().Unix(), body)
	for _, c := range []struct{ body, sig string }{
		{string(body) + " ", sig},
		{string(body), strings.Repeat("0", 128)},
		{string(body), ""},
	} {
		resp, err := f.sim.DeliverInteractionRaw(context.Background(), []byte(c.body), c.sig, ts)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad signature %q answered %d", c.sig, resp.StatusCode)
		}
	}
	resp, err := f.sim.DeliverInteractionRaw(context.Background(), body, sig, ts)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("good signature answered %d", resp.StatusCode)
	}
}

func TestPingInteractionCatchesLaxApps(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":1}`))
	}))
	t.Cleanup(lax.Close)
	f.sim.SetInteractionsURL(lax.URL)
	if err := f.sim.PingInteraction(context.Background()); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Errorf("an app that checks no signature passed: %v", err)
	}
	f.wantViolation(t, "interactions endpoint check")
}

func TestInteractionWithoutReceiver(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	card, err := s.ChannelMessageSendComplex(testText, claimCard("x"))
	if err != nil {
		t.Fatal(err)
	}
	if res := f.sim.ClickButton(testAgent, testText, card.ID, "claim:42"); !res.Failed {
		t.Errorf("result %+v", res)
	}
	f.wantViolation(t, "no interactions endpoint URL and no Gateway session")
}

func TestInteractionHTTPAppError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(app.Close)
	f.sim.SetInteractionsURL(app.URL)
	s := f.session(t, intentsAll)
	card, err := s.ChannelMessageSendComplex(testText, claimCard("x"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if res := f.sim.ClickButton(testAgent, testText, card.ID, "claim:42"); !res.Failed {
		t.Errorf("result %+v", res)
	}
	if time.Since(start) > time.Second {
		t.Errorf("a 500 answer took %v to fail", time.Since(start))
	}
	f.wantViolation(t, "failed: the app answered HTTP 500")
}
