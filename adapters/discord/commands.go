package discord

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

const (
	// commandTimeout bounds running one command: one DB transaction.
	commandTimeout = 10 * time.Second
	// tellTimeout bounds showing a reply outside an interaction.
	tellTimeout = 15 * time.Second
)

// commandSet is the command processor and the executor it runs commands
// against.
type commandSet struct {
	p  *commands.Processor
	ex commands.Executor
}

// SetCommands makes the adapter run commands with p against ex, from every
// Discord input: thread messages starting with p.Prefix, the buttons and
// select of cards and escalation cards (and any component whose custom id
// starts with commands.ButtonAction's), emoji reactions on cards that
// p.FromReaction maps, and the /xb slash command (see RegisterCommands).
// Call it before Open; without it, thread messages all go to the Handler
// and interactions answer that commands are off.
func (a *Adapter) SetCommands(p *commands.Processor, ex commands.Executor) {
	if p == nil || ex == nil {
		a.cmds.Store(nil)
		return
	}
	a.cmds.Store(&commandSet{p: p, ex: ex})
}

// loadCommands returns what SetCommands set, or nil.
func (a *Adapter) loadCommands() *commandSet { return a.cmds.Load() }

// runCommand runs text as inv describes. It returns the reply and the code
// of the executor's error, if it refused ("" when it did not, or was not
// reached).
func (a *Adapter) runCommand(ctx context.Context, cs *commandSet, inv commands.Invocation, text string) (commands.Reply, string) {
	tap := &errorTap{ex: cs.ex}
	reply := cs.p.Run(ctx, tap, inv, text)
	code := tap.code()
	a.logger.Debug("discord command run", "source", string(inv.Source), "text", text, "actor", inv.ActorID,
		"channel", inv.Channel, "thread", inv.ThreadID, "conversation", inv.ConversationID, "event_id", inv.EventID, "refused", code)
	return reply, code
}

// replyText renders a command's reply for Discord: not too long, and never
// empty.
func replyText(r commands.Reply) string {
	t := strings.TrimSpace(r.Text)
	if t == "" {
		return "Done."
	}
	return truncate(t, maxContent)
}

// tellUser shows text to one person where no interaction allows an
// ephemeral answer (a command typed in a thread, a reaction): in a direct
// message, or, when Discord refuses that (the person does not accept
// direct messages from server members), as a reply to their message in
// the thread. It runs after the event was handled.
func (a *Adapter) tellUser(userID, channelID, replyTo, text string) {
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tellTimeout)
		defer cancel()
		dm, err := a.session.UserChannelCreate(userID, discordgo.WithContext(ctx))
		if err == nil {
			_, err = a.session.ChannelMessageSendComplex(dm.ID, &discordgo.MessageSend{
				Content: text, AllowedMentions: noMentions(),
			}, discordgo.WithContext(ctx))
			if err == nil {
				return
			}
		}
		a.logger.Info("discord direct message refused; answering in the thread", "user", userID, "err", redact(err, a.cfg.Token))
		if channelID == "" {
			return
		}
		msg := &discordgo.MessageSend{
			Content:         truncate("<@"+userID+"> "+text, maxContent),
			AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: []string{userID}},
		}
		if replyTo != "" {
			no := false
			msg.Reference = &discordgo.MessageReference{MessageID: replyTo, ChannelID: channelID, FailIfNotExists: &no}
		}
		if _, err := a.session.ChannelMessageSendComplex(channelID, msg, discordgo.WithContext(ctx)); err != nil {
			a.logger.Warn("discord answer not shown", "user", userID, "channel", channelID, "err", redact(err, a.cfg.Token))
		}
	})
}

// errorTap passes calls to an Executor and remembers the code of the first
// error it returned, so that the adapter can tell "this is not a ticket
// thread" (ENOTFOUND) from other refusals.
type errorTap struct {
	ex commands.Executor

	mu    sync.Mutex
	first string
}

var _ commands.Executor = (*errorTap)(nil)

func (t *errorTap) note(err error) error {
	if err != nil {
		t.mu.Lock()
		if t.first == "" {
			t.first = bridge.ErrorCode(err)
		}
		t.mu.Unlock()
	}
	return err
}

func (t *errorTap) code() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first
}

func (t *errorTap) Claim(ctx context.Context, inv commands.Invocation) error {
	return t.note(t.ex.Claim(ctx, inv))
}

func (t *errorTap) Unclaim(ctx context.Context, inv commands.Invocation) error {
	return t.note(t.ex.Unclaim(ctx, inv))
}

func (t *errorTap) Assign(ctx context.Context, inv commands.Invocation, userRef string) error {
	return t.note(t.ex.Assign(ctx, inv, userRef))
}

func (t *errorTap) Tag(ctx context.Context, inv commands.Invocation, tags []string) error {
	return t.note(t.ex.Tag(ctx, inv, tags))
}

func (t *errorTap) Untag(ctx context.Context, inv commands.Invocation, tags []string) error {
	return t.note(t.ex.Untag(ctx, inv, tags))
}

func (t *errorTap) SetPriority(ctx context.Context, inv commands.Invocation, p bridge.Priority) error {
	return t.note(t.ex.SetPriority(ctx, inv, p))
}

func (t *errorTap) Pending(ctx context.Context, inv commands.Invocation) error {
	return t.note(t.ex.Pending(ctx, inv))
}

func (t *errorTap) Close(ctx context.Context, inv commands.Invocation, reason string) error {
	return t.note(t.ex.Close(ctx, inv, reason))
}

func (t *errorTap) Reopen(ctx context.Context, inv commands.Invocation) error {
	return t.note(t.ex.Reopen(ctx, inv))
}

func (t *errorTap) Note(ctx context.Context, inv commands.Invocation, text string) error {
	return t.note(t.ex.Note(ctx, inv, text))
}

func (t *errorTap) Reply(ctx context.Context, inv commands.Invocation, text string) error {
	return t.note(t.ex.Reply(ctx, inv, text))
}

func (t *errorTap) Escalate(ctx context.Context, inv commands.Invocation, summary string) error {
	return t.note(t.ex.Escalate(ctx, inv, summary))
}

func (t *errorTap) Resolve(ctx context.Context, inv commands.Invocation, text string) error {
	return t.note(t.ex.Resolve(ctx, inv, text))
}

func (t *errorTap) Status(ctx context.Context, inv commands.Invocation) (string, error) {
	s, err := t.ex.Status(ctx, inv)
	return s, t.note(err)
}

func (t *errorTap) ReplyWith(ctx context.Context, inv commands.Invocation, name string) (string, error) {
	s, err := t.ex.ReplyWith(ctx, inv, name)
	return s, t.note(err)
}

func (t *errorTap) SavedReplies(ctx context.Context, inv commands.Invocation) ([]string, error) {
	s, err := t.ex.SavedReplies(ctx, inv)
	return s, t.note(err)
}

func (t *errorTap) SetAvailable(ctx context.Context, inv commands.Invocation, on bool) error {
	return t.note(t.ex.SetAvailable(ctx, inv, on))
}

func (t *errorTap) ListMine(ctx context.Context, inv commands.Invocation) (string, error) {
	s, err := t.ex.ListMine(ctx, inv)
	return s, t.note(err)
}
