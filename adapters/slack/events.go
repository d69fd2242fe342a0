package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Handler receives what agents do in Slack. bridge.Service implements it.
type Handler interface {
	HandleChatMessage(ctx context.Context, m bridge.ChatMessage) (bridge.Outcome, error)
	HandleChatEdit(ctx context.Context, e bridge.ChatEdit) error
	HandleChatDelete(ctx context.Context, d bridge.ChatDelete) error
	HandleChatAction(ctx context.Context, a bridge.ChatAction) error
}

const (
	// maxBody bounds the requests Slack sends us.
	maxBody = 1 << 20
	// handlerTimeout bounds the handling of one event: one DB transaction.
	handlerTimeout = 10 * time.Second
	// nameTimeout bounds a users.info lookup on the way to the handler.
	nameTimeout = 2 * time.Second
)

// identity is the bot as auth.test describes it.
type identity struct {
	UserID string
	BotID  string
}

// chatEvent is what one Events API event means for the bridge: at most one
// of Message, Edit, Delete and Reaction is set.
type chatEvent struct {
	Message *bridge.ChatMessage
	Raw     string // the message's text as Slack sent it, for commands
	Edit    *bridge.ChatEdit
	Delete  *bridge.ChatDelete
	// Reaction is an emoji reaction someone (not the bot) added to a
	// message.
	Reaction *chatReaction
}

// chatReaction is a reaction_added event.
type chatReaction struct {
	EventID string
	Channel string
	TS      string // the message reacted to
	UserID  string
	Emoji   string // short name, without colons
}

// EventsHandler serves Slack's Events API request URL (POST /slack/events):
// it verifies the signature, answers url_verification, and hands message
// events to h before answering. Failures the domain calls internal or
// unavailable answer 500 so that Slack delivers the event again. With
// SetCommands, in-thread commands and mapped reactions run before the
// answer too, and their replies are shown (ephemerally) after it.
func (a *Adapter) EventsHandler(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.verifiedBody(w, r)
		if !ok {
			return
		}
		if !json.Valid(body) {
			http.Error(w, "malformed JSON", http.StatusBadRequest)
			return
		}
		ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
		if err != nil {
			if ev.Type != "unmarshalling_error" && ev.Type != "" || innerEventType(body) != "" {
				// An inner event slack-go has no type for, or one it cannot
				// read (a reaction to a file): not ours.
				a.logger.Debug("slack event ignored", "type", ev.Type, "err", err)
				w.WriteHeader(http.StatusOK)
				return
			}
			http.Error(w, "malformed event", http.StatusBadRequest)
			return
		}
		switch ev.Type {
		case slackevents.URLVerification:
			uv, _ := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
			if uv == nil {
				http.Error(w, "malformed event", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"challenge": uv.Challenge})
		case slackevents.CallbackEvent:
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), handlerTimeout)
			defer cancel()
			after, err := a.handleEvent(ctx, h, ev)
			if retryable(err) {
				http.Error(w, "temporarily unable to handle the event", http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
			if after != nil {
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
				a.goBackground(after)
			}
		case slackevents.AppRateLimited:
			a.logger.Warn("slack is dropping events: the app's event subscriptions are rate limited")
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

// innerEventType is the type of the inner event of an event_callback
// body, or "".
func innerEventType(body []byte) string {
	var env struct {
		Type  string `json:"type"`
		Event struct {
			Type string `json:"type"`
		} `json:"event"`
	}
	if json.Unmarshal(body, &env) != nil || env.Type != string(slackevents.CallbackEvent) {
		return ""
	}
	return env.Event.Type
}

// verifiedBody reads a POST body and checks Slack's signature on it,
// answering the request itself when it cannot be accepted.
func (a *Adapter) verifiedBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sv, err := slackapi.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.logger.Warn("slack request rejected: bad signature", "path", r.URL.Path, "reason", err.Error())
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// retryable reports whether a handler error should make Slack deliver the
// event again.
func retryable(err error) bool {
	code := bridge.ErrorCode(err)
	return code == bridge.EINTERNAL || code == bridge.EUNAVAILABLE
}

// handleEvent converts one Events API event and passes it to h, or runs
// the command it carries. It is shared by HTTP and Socket Mode. after, when
// not nil, is to run once Slack has been acknowledged: it shows a command's
// reply.
func (a *Adapter) handleEvent(ctx context.Context, h Handler, ev slackevents.EventsAPIEvent) (after func(), err error) {
	ce, why := convertEvent(ev, a.self(), a.mentionName(ctx))
	switch {
	case ce.Message != nil:
		m := *ce.Message
		if cs := a.loadCommands(); cs != nil && isThreadReply(m) && commands.IsCommand(ce.Raw, cs.p.Prefix) {
			return a.textCommand(ctx, cs, m, ce.Raw), nil
		}
		m.UserName = a.userName(ctx, m.UserID)
		m.Roles = a.RolesOf(m.UserID)
		var out bridge.Outcome
		out, err = h.HandleChatMessage(ctx, m)
		a.logger.Debug("slack message handled", "event_id", m.EventID, "channel", m.Channel, "ts", m.MessageID, "outcome", out)
	case ce.Edit != nil:
		err = h.HandleChatEdit(ctx, *ce.Edit)
		a.logger.Debug("slack edit handled", "event_id", ce.Edit.EventID, "channel", ce.Edit.Channel, "ts", ce.Edit.MessageID)
	case ce.Delete != nil:
		err = h.HandleChatDelete(ctx, *ce.Delete)
		a.logger.Debug("slack delete handled", "event_id", ce.Delete.EventID, "channel", ce.Delete.Channel, "ts", ce.Delete.MessageID)
	case ce.Reaction != nil:
		return a.reactionCommand(ctx, *ce.Reaction), nil
	default:
		a.logger.Debug("slack event ignored", "reason", why)
		return nil, nil
	}
	if err != nil {
		a.logHandlerError("slack event", err)
	}
	return nil, err
}

// isThreadReply reports whether m was posted in a thread, not as its root.
func isThreadReply(m bridge.ChatMessage) bool {
	return m.ThreadID != "" && m.ThreadID != m.MessageID
}

// textCommand runs a command typed in a thread ("!tag billing") and
// returns what shows its reply to the author, in the thread.
func (a *Adapter) textCommand(ctx context.Context, cs *commandSet, m bridge.ChatMessage, raw string) func() {
	inv := a.invocation(ctx, commands.SourceText, m.UserID)
	inv.Channel, inv.ThreadID, inv.MessageID, inv.EventID = m.Channel, m.ThreadID, m.MessageID, m.EventID
	text := commandText(raw, cs.p, a.mentionName(ctx))
	reply := a.runCommand(ctx, cs, inv, text)
	if strings.TrimSpace(reply.Text) == "" {
		return nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		a.showReply(ctx, "", m.Channel, m.UserID, m.ThreadID, reply)
	}
}

// reactionCommand runs the command an emoji reaction stands for, on the
// thread whose root was reacted to (a card or an escalation card).
// Reactions that stand for nothing, and those on messages that are no
// ticket's thread, pass in silence; other refusals are shown to the
// person who reacted.
func (a *Adapter) reactionCommand(ctx context.Context, r chatReaction) func() {
	cs := a.loadCommands()
	if cs == nil {
		return nil
	}
	text, ok := cs.p.FromReaction(r.Emoji)
	if !ok {
		a.logger.Debug("slack reaction ignored", "reason", "no command for :"+r.Emoji+":")
		return nil
	}
	inv := a.invocation(ctx, commands.SourceReaction, r.UserID)
	inv.Channel, inv.ThreadID, inv.EventID = r.Channel, r.TS, r.EventID
	reply := a.runCommand(ctx, cs, inv, text)
	if reply.Refused == bridge.ENOTFOUND || strings.TrimSpace(reply.Text) == "" {
		return nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		a.showReply(ctx, "", r.Channel, r.UserID, "", reply)
	}
}

// logHandlerError logs a handler's error, at error level only when it is
// internal.
func (a *Adapter) logHandlerError(what string, err error) {
	switch bridge.ErrorCode(err) {
	case bridge.EINTERNAL:
		a.logger.Error(what+" failed", "err", err)
	case bridge.EUNAVAILABLE:
		a.logger.Warn(what+" failed", "err", err)
	default:
		a.logger.Info(what+" refused", "err", err)
	}
}

// userName resolves a user's name, or "" when Slack cannot tell.
func (a *Adapter) userName(ctx context.Context, userID string) string {
	ctx, cancel := context.WithTimeout(ctx, nameTimeout)
	defer cancel()
	name, err := a.users.Name(ctx, userID)
	if err != nil {
		a.logger.Warn("slack users.info failed", "user", userID, "err", err)
	}
	return name
}

// mentionName returns the resolver convertEvent uses for <@U…> mentions.
func (a *Adapter) mentionName(ctx context.Context) func(string) string {
	return func(userID string) string { return a.userName(ctx, userID) }
}

// convertEvent turns an Events API event into the bridge's terms, or says
// why it is none of the bridge's business. mention resolves user ids in
// <@U…> mentions to names; nil leaves the id.
func convertEvent(ev slackevents.EventsAPIEvent, self identity, mention func(string) string) (chatEvent, string) {
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return chatEvent{}, "not an event callback: " + ev.Type
	}
	ours := func(user, botID string) bool {
		return botID != "" || user == "" || (self.UserID != "" && user == self.UserID)
	}
	if r, ok := ev.InnerEvent.Data.(*slackevents.ReactionAddedEvent); ok && r != nil {
		switch {
		case r.Item.Type != "message":
			return chatEvent{}, "reaction to a " + r.Item.Type
		case ours(r.User, ""):
			return chatEvent{}, "reaction by the bot (a delivery mark)"
		case r.ItemUser != "" && self.UserID != "" && r.ItemUser != self.UserID:
			// Cards and escalation cards are the bot's messages.
			return chatEvent{}, "reaction to a message the bridge did not post"
		}
		return chatEvent{Reaction: &chatReaction{
			EventID: cb.EventID, Channel: r.Item.Channel, TS: r.Item.Timestamp,
			UserID: r.User, Emoji: strings.Trim(r.Reaction, ":"),
		}}, ""
	}
	m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || m == nil {
		return chatEvent{}, "event " + ev.InnerEvent.Type
	}
	switch m.SubType {
	case "", "thread_broadcast", "file_share":
		if ours(m.User, m.BotID) {
			return chatEvent{}, "posted by a bot"
		}
		return chatEvent{Message: &bridge.ChatMessage{
			Platform:  platformName,
			EventID:   cb.EventID,
			Channel:   m.Channel,
			ThreadID:  m.ThreadTimeStamp,
			MessageID: m.TimeStamp,
			UserID:    m.User,
			Text:      plainText(m.Text, mention),
			Files:     fileRefs(m.Message),
			// A thread under one of the bridge's own messages is a ticket
			// or escalation thread, even if its record is still being
			// written.
			InBotThread: self.UserID != "" && parentUser(cb) == self.UserID,
		}, Raw: m.Text}, ""
	case "message_changed":
		nm := m.Message
		if nm == nil {
			return chatEvent{}, "edit without a message"
		}
		if ours(nm.User, nm.BotID) {
			return chatEvent{}, "edit of a bot's message"
		}
		if nm.SubType == "tombstone" {
			return chatEvent{}, "tombstone of a deleted thread root"
		}
		if m.PreviousMessage != nil && m.PreviousMessage.Text == nm.Text {
			return chatEvent{}, "text unchanged (unfurl or reply count)"
		}
		return chatEvent{Edit: &bridge.ChatEdit{
			Platform:  platformName,
			EventID:   cb.EventID,
			Channel:   m.Channel,
			MessageID: nm.Timestamp,
			UserID:    nm.User,
			Text:      plainText(nm.Text, mention),
		}}, ""
	case "message_deleted":
		if prev := m.PreviousMessage; prev != nil && ours(prev.User, prev.BotID) {
			return chatEvent{}, "deletion of a bot's message"
		}
		if m.DeletedTimeStamp == "" {
			return chatEvent{}, "deletion without a ts"
		}
		return chatEvent{Delete: &bridge.ChatDelete{
			Platform:  platformName,
			EventID:   cb.EventID,
			Channel:   m.Channel,
			MessageID: m.DeletedTimeStamp,
		}}, ""
	}
	return chatEvent{}, "message subtype " + m.SubType
}

// markup matches Slack's <…> markup: links, mentions, dates.
var markup = regexp.MustCompile(`<([^<>]*)>`)

// plainText turns Slack message text into what a reader sees: links become
// their URL (or "label (URL)"), mentions become @name and #channel, and
// &amp; &lt; &gt; are unescaped. The bridge keeps text platform-free: this
// is what goes to the customer on X.
func plainText(s string, mention func(string) string) string {
	return convertMarkup(s, mention, false)
}

// commandText is the text of a command typed in a thread as the processor
// reads it: plain text as plainText makes it, except that the user
// mentions of a command that takes one (assign <@U123>) stay Slack markup
// for the executor to resolve.
func commandText(raw string, p *commands.Processor, mention func(string) string) string {
	return convertMarkup(raw, mention, takesMention(p, raw))
}

// takesMention reports whether the command text names a command with a
// mention parameter.
func takesMention(p *commands.Processor, text string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), p.Prefix)
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	c := p.Lookup(strings.TrimSpace(name))
	if c == nil {
		return false
	}
	for _, prm := range c.Params {
		if prm.Kind == commands.ArgUser {
			return true
		}
	}
	return false
}

// convertMarkup does plainText's work; keepUsers leaves user mentions as
// <@U123> markup (without their label).
func convertMarkup(s string, mention func(string) string, keepUsers bool) string {
	s = markup.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[1 : len(m)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@") && keepUsers:
			return "<" + target + ">"
		case strings.HasPrefix(target, "@"): // <@U123> or <@U123|name>
			if label != "" {
				return "@" + strings.TrimPrefix(label, "@")
			}
			id := target[1:]
			if mention != nil {
				if name := mention(id); name != "" {
					return "@" + name
				}
			}
			return "@" + id
		case strings.HasPrefix(target, "#"): // <#C123|general>
			if label != "" {
				return "#" + label
			}
			return target
		case strings.HasPrefix(target, "!"): // <!here>, <!subteam^S1|@team>, <!date^…|fallback>
			if label != "" {
				return label
			}
			name, _, _ := strings.Cut(target[1:], "^")
			return "@" + name
		}
		url := target
		if !hasLabel || label == "" || label == url ||
			"http://"+label == url || "https://"+label == url || "mailto:"+label == url {
			if hasLabel && label != "" {
				return label
			}
			return strings.TrimPrefix(url, "mailto:")
		}
		return label + " (" + url + ")"
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// parentUser returns the parent_user_id of a thread reply's event, which
// slackevents.MessageEvent does not carry.
func parentUser(cb *slackevents.EventsAPICallbackEvent) string {
	if cb == nil || cb.InnerEvent == nil {
		return ""
	}
	var ev struct {
		ParentUserID string `json:"parent_user_id"`
	}
	_ = json.Unmarshal(*cb.InnerEvent, &ev)
	return ev.ParentUserID
}
