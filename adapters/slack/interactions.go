package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// actionTimeout bounds the handling of one button click, which runs after
// Slack was acknowledged.
const actionTimeout = 30 * time.Second

// InteractionsHandler serves Slack's interactivity request URL
// (POST /slack/interactions). It verifies the signature and acknowledges at
// once; the clicks are handled afterwards, and a refusal is shown to the
// user who clicked as an ephemeral message in the thread.
func (a *Adapter) InteractionsHandler(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.verifiedBody(w, r)
		if !ok {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			http.Error(w, "missing payload", http.StatusBadRequest)
			return
		}
		var cb slackapi.InteractionCallback
		if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
			http.Error(w, "malformed payload", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		a.handleInteraction(h, cb)
	})
}

// handleInteraction starts handling the clicks in cb in the background; the
// caller has acknowledged Slack already. Buttons and selects whose action
// ids are commands.ButtonAction's run commands; the others (Resend) go to
// h.
func (a *Adapter) handleInteraction(h Handler, cb slackapi.InteractionCallback) {
	actions := convertActions(cb)
	clicks := convertCommandActions(cb)
	if len(actions) == 0 && len(clicks) == 0 {
		a.logger.Debug("slack interaction ignored", "type", cb.Type)
		return
	}
	thread := cb.Container.ThreadTs
	if thread == "" {
		thread = cb.Message.ThreadTimestamp
	}
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		for _, c := range clicks {
			a.runClick(ctx, c)
		}
		for _, act := range actions {
			if name := a.userName(ctx, act.UserID); name != "" {
				act.UserName = name
			}
			err := h.HandleChatAction(ctx, act)
			if err == nil {
				a.logger.Debug("slack action handled", "event_id", act.EventID, "action", act.Action)
				continue
			}
			a.logHandlerError("slack action "+act.Action, err)
			a.tellUser(ctx, act.Channel, act.UserID, thread, bridge.ErrorMessage(err))
		}
	})
}

// commandClick is a click on a button, or a choice in a select, that runs
// a command.
type commandClick struct {
	Inv  commands.Invocation // without the actor's name and roles
	Text string
	// ResponseURL and ReplyThread tell where the reply goes.
	ResponseURL string
	ReplyThread string
}

// runClick runs a clicked command and shows its reply to the person who
// clicked.
func (a *Adapter) runClick(ctx context.Context, c commandClick) {
	cs := a.loadCommands()
	if cs == nil {
		a.ephemeral(ctx, c.Inv.Channel, c.Inv.ActorID, c.ReplyThread, "Commands are not available on this bridge.")
		return
	}
	inv := a.invocation(ctx, commands.SourceButton, c.Inv.ActorID)
	inv.Channel, inv.ThreadID, inv.ConversationID, inv.EventID = c.Inv.Channel, c.Inv.ThreadID, c.Inv.ConversationID, c.Inv.EventID
	reply := a.runCommand(ctx, cs, inv, c.Text)
	a.showReply(ctx, c.ResponseURL, inv.Channel, inv.ActorID, c.ReplyThread, reply)
}

// tellUser shows text to one user only, in the thread when there is one.
func (a *Adapter) tellUser(ctx context.Context, channel, userID, threadTS, text string) {
	a.ephemeral(ctx, channel, userID, threadTS, ":warning: "+escape(text))
}

// blockTicket finds the ticket a card's block_id carries ("xb_card #42
// high").
var blockTicket = regexp.MustCompile(`#([0-9]{1,18})\b`)

// convertCommandActions turns the clicks of a block_actions payload that
// run commands into invocations. The thread is the clicked message's
// thread: the message itself when it is a root (a card, an escalation
// card). A button's value is the ticket ("#42") or else one more
// argument; a static_select's choice is the argument and the ticket comes
// from the block_id.
func convertCommandActions(cb slackapi.InteractionCallback) []commandClick {
	if cb.Type != slackapi.InteractionTypeBlockActions {
		return nil
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	messageTS := cb.Container.MessageTs
	if messageTS == "" {
		messageTS = cb.Message.Timestamp
	}
	threadTS := cb.Container.ThreadTs
	if threadTS == "" {
		threadTS = cb.Message.ThreadTimestamp
	}
	thread, replyThread := threadTS, ""
	if threadTS != "" && threadTS != messageTS {
		replyThread = threadTS // a reply in a thread: answer there
	}
	if thread == "" && !cb.Container.IsEphemeral {
		thread = messageTS // a root message: its own thread
	}
	blockActions := cb.ActionCallback.BlockActions
	var out []commandClick
	for i, ba := range blockActions {
		if ba == nil {
			continue
		}
		if _, ok := commands.FromButton(ba.ActionID, ""); !ok {
			continue
		}
		arg, ticket := "", int64(0)
		switch v, n := strings.TrimSpace(ba.Value), commands.ValueTicket(ba.Value); {
		case ba.SelectedOption.Value != "": // a select: the choice
			arg = ba.SelectedOption.Value
		case n != 0:
			ticket = n
		default:
			arg = v
		}
		if ticket == 0 {
			if m := blockTicket.FindStringSubmatch(ba.BlockID); m != nil {
				ticket = commands.TicketNumber(m[1])
			}
		}
		text, ok := commands.FromButton(ba.ActionID, arg)
		if !ok {
			continue
		}
		id := cb.TriggerID
		if id == "" {
			id = ba.ActionTs
		}
		if id == "" {
			id = cb.ActionTs
		}
		if len(blockActions) > 1 {
			id = fmt.Sprintf("%s:%d", id, i)
		}
		out = append(out, commandClick{
			Inv: commands.Invocation{
				Source: commands.SourceButton, Platform: platformName, ConversationID: ticket,
				Channel: channel, ThreadID: thread, ActorID: cb.User.ID, ActorName: cb.User.Name, EventID: id,
			},
			Text: text, ResponseURL: cb.ResponseURL, ReplyThread: replyThread,
		})
	}
	return out
}

// convertActions turns the button clicks of a block_actions payload into
// bridge actions, leaving out those that run commands; other interactions
// give none.
func convertActions(cb slackapi.InteractionCallback) []bridge.ChatAction {
	if cb.Type != slackapi.InteractionTypeBlockActions {
		return nil
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	messageID := cb.Container.MessageTs
	if messageID == "" {
		messageID = cb.Message.Timestamp
	}
	blockActions := cb.ActionCallback.BlockActions
	out := make([]bridge.ChatAction, 0, len(blockActions))
	for i, ba := range blockActions {
		if ba == nil {
			continue
		}
		if _, ok := commands.FromButton(ba.ActionID, ""); ok {
			continue // a command: see convertCommandActions
		}
		id := cb.TriggerID
		if id == "" {
			id = ba.ActionTs
		}
		if id == "" {
			id = cb.ActionTs
		}
		if len(blockActions) > 1 {
			id = fmt.Sprintf("%s:%d", id, i)
		}
		out = append(out, bridge.ChatAction{
			Platform:  platformName,
			EventID:   id,
			Channel:   channel,
			MessageID: messageID,
			UserID:    cb.User.ID,
			UserName:  cb.User.Name,
			Action:    ba.ActionID,
			Value:     ba.Value,
		})
	}
	return out
}
