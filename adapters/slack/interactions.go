package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
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
// caller has acknowledged Slack already.
func (a *Adapter) handleInteraction(h Handler, cb slackapi.InteractionCallback) {
	actions := convertActions(cb)
	if len(actions) == 0 {
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

// tellUser shows text to one user only, in the thread when there is one.
func (a *Adapter) tellUser(ctx context.Context, channel, userID, threadTS, text string) {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(":warning: "+escape(text), false)}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	if _, err := a.api.PostEphemeralContext(ctx, channel, userID, opts...); err != nil {
		a.logger.Warn("slack ephemeral answer failed", "channel", channel, "user", userID, "err", err)
	}
}

// convertActions turns the button clicks of a block_actions payload into
// bridge actions; other interactions give none.
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
