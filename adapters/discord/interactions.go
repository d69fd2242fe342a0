package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

const (
	// answerWithin is how long after an interaction arrived its command
	// may still be running before the interaction is answered without it
	// (Discord waits 3 s, and the answer itself takes a request); the
	// command's reply then follows.
	answerWithin = 2200 * time.Millisecond
	// placeWithin bounds the channel lookup of an interaction.
	placeWithin = 500 * time.Millisecond
	// maxSignatureAge is how old (or early) an HTTP interaction's
	// timestamp may be.
	maxSignatureAge = 5 * time.Minute
	// maxBody bounds the HTTP interactions Discord sends.
	maxBody = 1 << 20
	// respondTimeout bounds the callback request over the Gateway.
	respondTimeout = 3 * time.Second
)

// InteractionsHandler serves the interactions endpoint URL
// (POST /discord/interactions): it checks the Ed25519 signature with the
// application's public key and refuses timestamps more than five minutes
// off (401), answers PING with PONG, and answers every other interaction
// in the response, within Discord's 3 s. Without a public key it refuses
// everything.
func (a *Adapter) InteractionsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusRequestEntityTooLarge)
			return
		}
		if why := a.verify(r, body); why != "" {
			a.logger.Warn("discord interaction rejected", "reason", why)
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		var i discordgo.Interaction
		if err := json.Unmarshal(body, &i); err != nil {
			http.Error(w, "malformed interaction", http.StatusBadRequest)
			return
		}
		a.learnInteractionChannel(body)
		resp, after := a.interaction(r.Context(), &i, time.Now().Add(answerWithin))
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(resp); err != nil {
			a.logger.Warn("discord interaction answer not written", "interaction", i.ID, "err", err)
			return
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if after != nil {
			a.goBackground(after)
		}
	})
}

// verify returns why a request is not a genuine, fresh interaction from
// Discord, or "".
func (a *Adapter) verify(r *http.Request, body []byte) string {
	if a.publicKey == nil {
		return "discord.public_key (XBRIDGE_DISCORD_PUBLIC_KEY) is not set"
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(r, a.publicKey) {
		return "bad signature"
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-Signature-Timestamp"), 10, 64)
	if err != nil {
		return "bad timestamp"
	}
	if age := a.now().Sub(time.Unix(ts, 0)); age > maxSignatureAge || age < -maxSignatureAge {
		return "stale timestamp (" + age.Round(time.Second).String() + ")"
	}
	return ""
}

// learnInteractionChannel remembers the channel object an interaction
// carries, which discordgo's Interaction leaves out: it tells a thread
// from a channel without a request.
func (a *Adapter) learnInteractionChannel(body []byte) {
	var v struct {
		Channel *discordgo.Channel `json:"channel"`
	}
	if json.Unmarshal(body, &v) == nil && v.Channel != nil && v.Channel.ID != "" {
		a.channels.learn(v.Channel)
	}
}

// gatewayInteraction answers an INTERACTION_CREATE through the callback
// route, beside the event loop.
func (a *Adapter) gatewayInteraction(raw []byte) {
	var i discordgo.Interaction
	if err := json.Unmarshal(raw, &i); err != nil {
		a.logger.Warn("discord interaction not understood", "err", err)
		return
	}
	a.learnInteractionChannel(raw)
	answerBy := time.Now().Add(answerWithin)
	a.goBackground(func() {
		resp, after := a.interaction(context.Background(), &i, answerBy)
		ctx, cancel := context.WithTimeout(context.Background(), respondTimeout)
		err := a.session.InteractionRespond(&i, resp, discordgo.WithContext(ctx))
		cancel()
		if err != nil {
			a.logger.Warn("discord interaction answer failed", "interaction", i.ID, "err", redact(err, a.cfg.Token))
			return
		}
		if after != nil {
			after()
		}
	})
}

// interaction works out the answer to an interaction by answerBy: resp is
// given at once (as the HTTP response, or through the callback route);
// after, when not nil, runs once it was given and sends what came too late
// for it.
func (a *Adapter) interaction(ctx context.Context, i *discordgo.Interaction, answerBy time.Time) (resp *discordgo.InteractionResponse, after func()) {
	switch i.Type {
	case discordgo.InteractionPing:
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}, nil
	case discordgo.InteractionApplicationCommand:
		return a.slashInteraction(ctx, i, answerBy)
	case discordgo.InteractionMessageComponent:
		return a.componentInteraction(ctx, i, answerBy)
	case discordgo.InteractionApplicationCommandAutocomplete:
		return &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
		}, nil
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}, nil
}

// ephemeral is an answer only its user sees, notifying no one, with
// buttons when there are any.
func ephemeral(text string, buttons ...discordgo.MessageComponent) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content: truncate(text, maxContent), Flags: discordgo.MessageFlagsEphemeral,
			Components: buttons, AllowedMentions: noMentions(),
		},
	}
}

// noButtons clears a message's buttons when it is edited.
var noButtons = []discordgo.MessageComponent{}

// updateMessage answers a click by putting text in place of the clicked
// message, without its buttons (a preview answered Send).
func updateMessage(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{
			Content: truncate(text, maxContent), Components: noButtons, AllowedMentions: noMentions(),
		},
	}
}

// actor is who used an interaction.
type actor struct {
	id, name string
	roles    []bridge.Role
}

// actorOf reads an interaction's user, with roles from the member's
// Discord roles.
func (a *Adapter) actorOf(i *discordgo.Interaction) actor {
	var user *discordgo.User
	switch {
	case i.Member != nil && i.Member.User != nil:
		user = i.Member.User
	case i.User != nil:
		user = i.User
	default:
		return actor{roles: a.cfg.Roles.rolesOf("", nil)}
	}
	return actor{id: user.ID, name: displayName(i.Member, user), roles: a.rolesFor(user.ID, i.Member, user)}
}

// interactionPlace locates an interaction's channel, quickly.
func (a *Adapter) interactionPlace(ctx context.Context, channelID string) place {
	ctx, cancel := context.WithTimeout(ctx, placeWithin)
	defer cancel()
	return a.placeOf(ctx, channelID)
}

// result is what a command run beside an interaction gave.
type result struct {
	text    string // "" to show nothing
	buttons []discordgo.MessageComponent
	replace bool // in place of the message whose button was clicked
}

// within runs f beside the interaction and returns its result when it
// ends by answerBy; otherwise ok is false and later delivers the result
// once there is one.
func (a *Adapter) within(answerBy time.Time, f func(ctx context.Context) result) (r result, ok bool, later <-chan result) {
	ch := make(chan result, 1)
	started := a.goBackground(func() {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		ch <- f(ctx)
	})
	if !started {
		return result{text: "The bridge is shutting down; try again in a moment."}, true, nil
	}
	t := time.NewTimer(time.Until(answerBy))
	defer t.Stop()
	select {
	case r := <-ch:
		return r, true, nil
	case <-t.C:
		return result{}, false, ch
	}
}

// slashInteraction runs an /xb command. Inside a thread it acts on the
// thread's conversation; elsewhere the ticket option names one. The
// answer is ephemeral; a slow command is answered "thinking…" first and
// its reply edited in.
func (a *Adapter) slashInteraction(ctx context.Context, i *discordgo.Interaction, answerBy time.Time) (*discordgo.InteractionResponse, func()) {
	cs := a.loadCommands()
	if cs == nil {
		return ephemeral("Commands are not available on this bridge."), nil
	}
	data := i.ApplicationCommandData()
	if data.Name != slashName {
		return ephemeral("Unknown command /" + data.Name + "."), nil
	}
	text, ticket, err := slashText(cs.p, data)
	if err != nil {
		return ephemeral(err.Error()), nil
	}
	who := a.actorOf(i)
	pl := a.interactionPlace(ctx, i.ChannelID)
	inv := commands.Invocation{
		Source: commands.SourceSlash, Platform: platformName, ConversationID: ticket,
		Channel: pl.Channel, ThreadID: pl.ThreadID,
		ActorID: who.id, ActorName: who.name, Roles: who.roles, EventID: i.ID,
	}
	if c := cs.p.Lookup(firstWord(text)); c != nil && c.NeedsConversation && ticket == 0 && pl.ThreadID == "" && c.AllowedFor(inv) {
		// The processor would ask for "#42" in the text; on Discord the
		// ticket is an option.
		return ephemeral("Which conversation? Use `/xb " + c.Name + "` in the conversation's thread, or give its `ticket`, e.g. `ticket:42`."), nil
	}
	r, ok, later := a.within(answerBy, func(ctx context.Context) result {
		reply := a.runCommand(ctx, cs, inv, text)
		return result{text: replyText(reply), buttons: replyButtons(reply)}
	})
	if ok {
		return ephemeral(r.text, r.buttons...), nil
	}
	a.logger.Warn("discord slash command slow; answering later", "interaction", i.ID, "text", text)
	deferred := &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}
	return deferred, func() {
		r := <-later
		ctx, cancel := context.WithTimeout(context.Background(), tellTimeout)
		defer cancel()
		content := truncate(r.text, maxContent)
		edit := &discordgo.WebhookEdit{Content: &content, AllowedMentions: noMentions()}
		if len(r.buttons) > 0 {
			edit.Components = &r.buttons
		}
		if _, err := a.session.InteractionResponseEdit(i, edit, discordgo.WithContext(ctx)); err != nil {
			a.logger.Warn("discord slash command answer failed", "interaction", i.ID, "err", redact(err, a.cfg.Token))
		}
	}
}

// componentInteraction handles a click on a button or a choice in a
// select. Components whose custom id starts with a command's
// (commands.ButtonAction) run it, with the ticket the custom id carries;
// the others (Resend) go to the Handler as a bridge.ChatAction. Refusals
// and replies are ephemeral; a click with nothing to say is acknowledged
// silently.
func (a *Adapter) componentInteraction(ctx context.Context, i *discordgo.Interaction, answerBy time.Time) (*discordgo.InteractionResponse, func()) {
	data := i.MessageComponentData()
	action, value := splitCustomID(data.CustomID)
	who := a.actorOf(i)
	pl := a.interactionPlace(ctx, i.ChannelID)
	messageID := ""
	if i.Message != nil {
		messageID = i.Message.ID
	}
	var run func(ctx context.Context) result
	if _, isCommand := commands.FromButton(action, ""); isCommand {
		cs := a.loadCommands()
		if cs == nil {
			return ephemeral("Commands are not available on this bridge."), nil
		}
		arg, ticket := value, int64(0)
		if n := commands.ValueTicket(value); n != 0 {
			arg, ticket = "", n
		}
		if len(data.Values) > 0 {
			arg = data.Values[0] // a select: the choice
		}
		text, _ := commands.FromButton(action, arg)
		if pl.ThreadID == "" && messageID != "" {
			pl.ThreadID = messageID // a card of a text channel: its thread has its id
		}
		inv := commands.Invocation{
			Source: commands.SourceButton, Platform: platformName, ConversationID: ticket,
			Channel: pl.Channel, ThreadID: pl.ThreadID,
			ActorID: who.id, ActorName: who.name, Roles: who.roles, EventID: i.ID,
		}
		run = func(ctx context.Context) result {
			reply := a.runCommand(ctx, cs, inv, text)
			return result{text: strings.TrimSpace(reply.Text), buttons: replyButtons(reply), replace: reply.Replace}
		}
	} else {
		act := bridge.ChatAction{
			Platform: platformName, EventID: i.ID, Channel: pl.Channel, MessageID: messageID,
			UserID: who.id, UserName: who.name, Action: action, Value: value,
		}
		run = func(ctx context.Context) result {
			h := a.loadHandler()
			if h == nil {
				return result{text: "This button is not available on this bridge."}
			}
			if err := h.HandleChatAction(ctx, act); err != nil {
				a.logHandlerError("discord action "+act.Action, err)
				return result{text: "⚠️ " + bridge.ErrorMessage(err)}
			}
			a.logger.Debug("discord action handled", "event_id", act.EventID, "action", act.Action)
			return result{}
		}
	}
	r, ok, later := a.within(answerBy, run)
	if ok {
		switch {
		case r.text == "":
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}, nil
		case r.replace:
			return updateMessage(r.text), nil
		}
		return ephemeral(r.text, r.buttons...), nil
	}
	a.logger.Warn("discord click slow; answering later", "interaction", i.ID, "custom_id", data.CustomID)
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}, func() {
		r := <-later
		if r.text == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), tellTimeout)
		defer cancel()
		var err error
		if r.replace {
			// After a deferred update, @original is the clicked message.
			content := truncate(r.text, maxContent)
			_, err = a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{
				Content: &content, Components: &noButtons, AllowedMentions: noMentions(),
			}, discordgo.WithContext(ctx))
		} else {
			_, err = a.session.FollowupMessageCreate(i, true, &discordgo.WebhookParams{
				Content: truncate(r.text, maxContent), Flags: discordgo.MessageFlagsEphemeral,
				Components: r.buttons, AllowedMentions: noMentions(),
			}, discordgo.WithContext(ctx))
		}
		if err != nil {
			a.logger.Warn("discord click answer failed", "interaction", i.ID, "err", redact(err, a.cfg.Token))
		}
	}
}

// firstWord is the first word of s, "" when there is none.
func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}
