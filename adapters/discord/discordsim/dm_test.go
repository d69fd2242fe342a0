package discordsim

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestDirectMessagesWithButtons(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll|IntentDirectMessages)
	ev := collect(s)
	got := make(chan *discordgo.InteractionCreate, 4)
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- i
		empty := []discordgo.MessageComponent{}
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{Content: "Sent.", Components: empty},
		})
	})
	f.open(t, s)

	dm, err := s.UserChannelCreate(testAgent)
	if err != nil {
		t.Fatal(err)
	}
	if dm.Type != discordgo.ChannelTypeDM || dm.GuildID != "" || len(dm.Recipients) != 1 || dm.Recipients[0].ID != testAgent {
		t.Fatalf("DM channel %+v", dm)
	}
	if again, err := s.UserChannelCreate(testAgent); err != nil || again.ID != dm.ID {
		t.Errorf("opened again: %+v, %v; want the same channel", again, err)
	}
	if id, ok := f.sim.DMChannel(testAgent); !ok || id != dm.ID {
		t.Errorf("DMChannel = %s, %v", id, ok)
	}
	msg, err := s.ChannelMessageSendComplex(dm.ID, claimCard("preview"))
	if err != nil {
		t.Fatal(err)
	}
	// The DM's MESSAGE_CREATE comes with DIRECT_MESSAGES, without a guild.
	if m := ev.nextCreate(t, func(m *discordgo.MessageCreate) bool { return m.ID == msg.ID }); m.GuildID != "" || m.ChannelID != dm.ID {
		t.Errorf("MESSAGE_CREATE %+v", m.Message)
	}
	if chans, err := s.GuildChannels(testGuild); err != nil || len(chans) != 2 {
		t.Errorf("guild channels %d, %v: the DM is no channel of the guild", len(chans), err)
	}

	// A click in the DM comes as the user's, not a member's.
	res := f.sim.ClickButton(testAgent, dm.ID, msg.ID, "claim:42")
	if res.Failed || res.Type != CallbackUpdateMessage || res.Content != "Sent." {
		t.Errorf("result %+v", res)
	}
	i := recv(t, got, "INTERACTION_CREATE")
	if i.Member != nil || i.User == nil || i.User.ID != testAgent || i.GuildID != "" || i.ChannelID != dm.ID {
		t.Errorf("interaction in a DM %+v", i.Interaction)
	}
	if m, _ := f.sim.Message(dm.ID, msg.ID); m.Content != "Sent." || strings.Contains(string(m.Components), "claim:42") {
		t.Errorf("updated DM message %+v", m)
	}
	f.noViolations(t)

	// A double click: two interactions from the message as it was.
	msg2, err := s.ChannelMessageSendComplex(dm.ID, claimCard("another"))
	if err != nil {
		t.Fatal(err)
	}
	both := f.sim.DoubleClickButton(testAgent, dm.ID, msg2.ID, "claim:42")
	if both[0].Failed || both[1].Failed || both[0].ID == both[1].ID {
		t.Errorf("double click %+v", both)
	}
	recv(t, got, "first INTERACTION_CREATE")
	recv(t, got, "second INTERACTION_CREATE")
	f.noViolations(t)

	// Only the recipient can click in their DMs.
	if res := f.sim.ClickButton(testAgent2, dm.ID, msg.ID, "claim:42"); !res.Failed {
		t.Errorf("someone else clicked in alice's DMs: %+v", res)
	}
	f.wantViolation(t, "in the direct messages of")
}

func TestDirectMessagesRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.sim.AddMember(Member{ID: testAgent2, Username: "bob", NoDirectMessages: true})
	s := f.session(t, intentsAll)
	dm, err := s.UserChannelCreate(testAgent2)
	if err != nil {
		t.Fatal(err) // opening the channel works; sending does not
	}
	if _, err := s.ChannelMessageSend(dm.ID, "hi"); !isCode(err, 50007) {
		t.Errorf("DM to someone who refuses them: %v", err)
	}
	f.noViolations(t) // the app could not know
	if _, err := s.UserChannelCreate("1400000000000000099"); !isCode(err, 50033) {
		t.Errorf("DM to a stranger: %v", err)
	}
	f.wantViolation(t, "who is no member")
}
