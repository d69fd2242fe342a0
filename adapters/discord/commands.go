package discord

import (
	"context"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

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

// runCommand runs text as inv describes and logs what came of it.
func (a *Adapter) runCommand(ctx context.Context, cs *commandSet, inv commands.Invocation, text string) commands.Reply {
	reply := cs.p.Run(ctx, cs.ex, inv, text)
	a.logger.Debug("discord command run", "source", string(inv.Source), "text", text, "actor", inv.ActorID,
		"channel", inv.Channel, "thread", inv.ThreadID, "conversation", inv.ConversationID, "event_id", inv.EventID, "refused", reply.Refused)
	return reply
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

// tellUser shows a command's reply to one person where no interaction
// allows an ephemeral answer (a command typed in a thread, a reaction): in
// a direct message, or, when Discord refuses that (the person does not
// accept direct messages from server members), as a reply to their
// message in the thread. The reply's buttons come along; clicked in the
// thread by someone else, they act as that person, whom the command may
// refuse. It runs after the event was handled.
func (a *Adapter) tellUser(userID, channelID, replyTo string, reply commands.Reply) {
	text, buttons := replyText(reply), replyButtons(reply)
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tellTimeout)
		defer cancel()
		dm, err := a.session.UserChannelCreate(userID, discordgo.WithContext(ctx))
		if err == nil {
			_, err = a.session.ChannelMessageSendComplex(dm.ID, &discordgo.MessageSend{
				Content: text, Components: buttons, AllowedMentions: noMentions(),
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
			Components:      buttons,
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
