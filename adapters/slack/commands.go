package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/commands"
)

const (
	// commandTimeout bounds running one command: one DB transaction.
	commandTimeout = 10 * time.Second
	// slashAnswerWithin is how long a slash command may run before Slack
	// is answered without it (Slack waits 3 s); a later reply goes to the
	// response_url.
	slashAnswerWithin = 2500 * time.Millisecond
	// maxReplyChars bounds the text of an answer to a command.
	maxReplyChars = 3900
)

// commandSet is the command processor and the executor it runs commands
// against.
type commandSet struct {
	p  *commands.Processor
	ex commands.Executor
}

// SetCommands makes the adapter run commands with p against ex, from every
// Slack input: thread messages starting with p.Prefix, the buttons and
// select of cards and escalation cards (and any button whose action id is
// commands.ButtonAction's), emoji reactions that p.FromReaction maps, and
// the slash command (CommandsHandler, Socket Mode). Call it before serving;
// without it, thread messages all go to the Handler and the slash command
// answers that commands are off.
func (a *Adapter) SetCommands(p *commands.Processor, ex commands.Executor) {
	if p == nil || ex == nil {
		a.cmds.Store(nil)
		return
	}
	a.cmds.Store(&commandSet{p: p, ex: ex})
}

// loadCommands returns what SetCommands set, or nil.
func (a *Adapter) loadCommands() *commandSet { return a.cmds.Load() }

// invocation starts an Invocation of a Slack user, with their name and
// roles.
func (a *Adapter) invocation(ctx context.Context, src commands.Source, userID string) commands.Invocation {
	return commands.Invocation{
		Source: src, Platform: platformName,
		ActorID: userID, ActorName: a.userName(ctx, userID), Roles: a.RolesOf(userID),
	}
}

// runCommand runs text as inv describes and logs what came of it.
func (a *Adapter) runCommand(ctx context.Context, cs *commandSet, inv commands.Invocation, text string) commands.Reply {
	reply := cs.p.Run(ctx, cs.ex, inv, text)
	a.logger.Debug("slack command run", "source", string(inv.Source), "text", text, "actor", inv.ActorID,
		"channel", inv.Channel, "thread", inv.ThreadID, "conversation", inv.ConversationID, "event_id", inv.EventID, "refused", reply.Refused)
	return reply
}

// replyText renders a command's reply for Slack: escaped, not too long.
func replyText(r commands.Reply) string {
	return escape(truncate(strings.TrimSpace(r.Text), maxReplyChars))
}

// replyMessage renders a command's reply as a Slack message: its text,
// and, when it offers buttons, blocks showing the text whole and the
// buttons, whose action ids run their commands when clicked.
func replyMessage(r commands.Reply) (text string, blocks []slackapi.Block) {
	text = replyText(r)
	if len(r.Buttons) == 0 {
		return text, nil
	}
	for _, part := range splitEscaped(r.Text, maxSectionChars, maxBlocks-1) {
		blocks = append(blocks, section(part))
	}
	elems := make([]slackapi.BlockElement, 0, len(r.Buttons))
	for _, b := range r.Buttons {
		style := slackapi.StyleDefault
		switch b.Style {
		case commands.ButtonPrimary:
			style = slackapi.StylePrimary
		case commands.ButtonDanger:
			style = slackapi.StyleDanger
		}
		elems = append(elems, button(commands.ButtonAction(b.Command), "", b.Label, style))
	}
	return text, append(blocks, slackapi.NewActionBlock("", elems...))
}

// button is a button block element: value may be empty, the label is cut
// to Slack's 75 characters.
func button(actionID, value, label string, style slackapi.Style) *slackapi.ButtonBlockElement {
	b := slackapi.NewButtonBlockElement(actionID, value,
		slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(label, 75), false, false))
	b.Style = style
	return b
}

// ephemeral shows text (already Slack markup) to one user, in the thread
// threadTS when it is not empty, with blocks when there are any.
func (a *Adapter) ephemeral(ctx context.Context, channel, userID, threadTS, text string, blocks ...slackapi.Block) {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(blocks...))
	}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	if _, err := a.api.PostEphemeralContext(ctx, channel, userID, opts...); err != nil {
		a.logger.Warn("slack ephemeral answer failed", "channel", channel, "user", userID, "err", err)
	}
}

// respond answers through a response_url, ephemerally, or in place of the
// message whose button was clicked when the reply asks; it reports whether
// Slack took the answer.
func (a *Adapter) respond(ctx context.Context, responseURL, threadTS string, r commands.Reply) bool {
	if responseURL == "" {
		return false
	}
	text, blocks := replyMessage(r)
	m := &slackapi.WebhookMessage{
		ResponseType: slackapi.ResponseTypeEphemeral, Text: text, ThreadTimestamp: threadTS,
		ReplaceOriginal: r.Replace,
	}
	if blocks != nil {
		m.Blocks = &slackapi.Blocks{BlockSet: blocks}
	}
	if err := slackapi.PostWebhookCustomHTTPContext(ctx, responseURL, a.cfg.HTTPClient, m); err != nil {
		a.logger.Warn("slack response_url answer failed", "err", err)
		return false
	}
	return true
}

// showReply shows a command's reply to the person who ran it: through the
// response_url when there is one, else as an ephemeral message in channel
// (in the thread threadTS when it is not empty).
func (a *Adapter) showReply(ctx context.Context, responseURL, channel, userID, threadTS string, r commands.Reply) {
	if strings.TrimSpace(r.Text) == "" || a.respond(ctx, responseURL, threadTS, r) {
		return
	}
	text, blocks := replyMessage(r)
	a.ephemeral(ctx, channel, userID, threadTS, text, blocks...)
}

// slashAnswer is the answer to a slash command in the HTTP body or the
// Socket Mode acknowledgement.
type slashAnswer struct {
	ResponseType string           `json:"response_type"`
	Text         string           `json:"text"`
	Blocks       []slackapi.Block `json:"blocks,omitempty"`
}

// runSlash runs a slash command and returns the answer to give Slack at
// once: nil when there is nothing to show, or when the command took longer
// than slashAnswerWithin (its reply then goes to the response_url).
func (a *Adapter) runSlash(sc slackapi.SlashCommand) *slashAnswer {
	cs := a.loadCommands()
	if cs == nil {
		return &slashAnswer{ResponseType: slackapi.ResponseTypeEphemeral, Text: "Commands are not available on this bridge."}
	}
	done := make(chan commands.Reply, 1)
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		inv := a.invocation(ctx, commands.SourceSlash, sc.UserID)
		inv.Channel, inv.EventID = sc.ChannelID, sc.TriggerID
		reply := a.runCommand(ctx, cs, inv, sc.Text)
		done <- reply
	})
	t := time.NewTimer(slashAnswerWithin)
	defer t.Stop()
	select {
	case reply := <-done:
		if strings.TrimSpace(reply.Text) == "" {
			return nil
		}
		text, blocks := replyMessage(reply)
		return &slashAnswer{ResponseType: slackapi.ResponseTypeEphemeral, Text: text, Blocks: blocks}
	case <-t.C:
	}
	a.logger.Warn("slack slash command slow; answering by response_url", "user", sc.UserID, "text", sc.Text)
	a.goBackground(func() {
		reply := <-done
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		a.showReply(ctx, sc.ResponseURL, sc.ChannelID, sc.UserID, "", reply)
	})
	return nil
}

// CommandsHandler serves the slash command's request URL
// (POST /slack/commands): it verifies the signature like EventsHandler,
// runs the command and answers ephemerally in the HTTP response. Slack
// gives no thread_ts: the command names its ticket ("/xb tag billing #42")
// and "/xb" alone lists the caller's conversations.
func (a *Adapter) CommandsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.verifiedBody(w, r)
		if !ok {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("user_id") == "" || form.Get("channel_id") == "" {
			http.Error(w, "malformed slash command", http.StatusBadRequest)
			return
		}
		sc := slackapi.SlashCommand{
			TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
			UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
			Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
			APIAppID: form.Get("api_app_id"),
		}
		answer := a.runSlash(sc)
		if answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
}
