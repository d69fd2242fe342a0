package discord

import (
	"context"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// handlerTimeout bounds the handling of one Gateway event: one DB
// transaction, and a lookup or two.
const handlerTimeout = 10 * time.Second

// retryWaits are the pauses before handing an event to the Handler again
// after it answered EUNAVAILABLE: the Gateway does not deliver an event
// twice, so the adapter retries (the event id makes that safe).
var retryWaits = []time.Duration{200 * time.Millisecond, time.Second}

// addHandlers registers the adapter's Gateway handlers. discordgo calls
// them one at a time in the order events arrive (SyncEvents); messages,
// edits, deletions and reactions are queued for the worker, which keeps
// that order, and interactions are answered beside it.
func (a *Adapter) addHandlers() {
	s := a.session
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
		if r.User != nil {
			a.botID.Store(r.User.ID)
		}
		a.logger.Info("discord gateway ready", "session_id", r.SessionID)
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Connect) {
		a.connected.Store(true)
		a.logger.Info("discord gateway connected")
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		if !a.connected.Swap(false) {
			return
		}
		a.lifeMu.Lock()
		closing := a.closed
		a.lifeMu.Unlock()
		if closing {
			a.logger.Info("discord gateway closed")
			return
		}
		a.logger.Warn("discord gateway disconnected; discordgo reconnects and resumes")
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) {
		a.logger.Info("discord gateway session resumed")
	})
	s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) {
		if g.Guild == nil || g.ID != a.cfg.GuildID {
			return
		}
		for _, c := range g.Channels {
			a.channels.learn(c)
		}
		for _, t := range g.Threads {
			a.channels.learn(t)
		}
	})
	s.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelCreate) { a.channels.learn(c.Channel) })
	s.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelUpdate) { a.channels.learn(c.Channel) })
	s.AddHandler(func(_ *discordgo.Session, t *discordgo.ThreadCreate) { a.channels.learn(t.Channel) })
	s.AddHandler(func(_ *discordgo.Session, t *discordgo.ThreadUpdate) { a.channels.learn(t.Channel) })
	s.AddHandler(func(_ *discordgo.Session, t *discordgo.ThreadListSync) {
		for _, c := range t.Threads {
			a.channels.learn(c)
		}
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
		if msg := m.Message; a.ours(msg) {
			a.enqueue(func(ctx context.Context) { a.onMessage(ctx, msg) })
		}
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageUpdate) {
		if msg := m.Message; a.ours(msg) {
			a.enqueue(func(ctx context.Context) { a.onEdit(ctx, msg) })
		}
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageDelete) {
		if msg := m.Message; msg != nil && (msg.GuildID == "" || msg.GuildID == a.cfg.GuildID) {
			a.enqueue(func(ctx context.Context) { a.onDelete(ctx, msg) })
		}
	})
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionAdd) {
		if r.MessageReaction != nil && (r.GuildID == "" || r.GuildID == a.cfg.GuildID) {
			a.enqueue(func(ctx context.Context) { a.onReaction(ctx, r) })
		}
	})
	// Interactions are read from the raw event, whose channel object
	// discordgo's Interaction leaves out.
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type == "INTERACTION_CREATE" && len(e.RawData) > 0 {
			a.gatewayInteraction(e.RawData)
		}
	})
}

// ours reports whether a message event is the bridge's business: a
// message of the guild by a person, not by a bot, a webhook or the bridge.
func (a *Adapter) ours(m *discordgo.Message) bool {
	switch {
	case m == nil || (m.GuildID != "" && m.GuildID != a.cfg.GuildID):
		return false
	case m.Author != nil && (m.Author.Bot || m.Author.System || m.Author.ID == a.self()):
		return false
	case m.WebhookID != "":
		return false
	}
	return true
}

// enqueue hands an event to the worker; after Close it is dropped.
func (a *Adapter) enqueue(f func(context.Context)) {
	select {
	case a.events <- f:
	case <-a.quit:
	}
}

// work hands queued events to their handlers, one at a time, until Close.
func (a *Adapter) work() {
	defer close(a.workerDone)
	run := func(f func(context.Context)) {
		ctx, cancel := context.WithTimeout(context.Background(), handlerTimeout)
		defer cancel()
		f(ctx)
	}
	for {
		select {
		case f := <-a.events:
			run(f)
		case <-a.quit:
			for {
				select {
				case f := <-a.events:
					run(f)
				default:
					return
				}
			}
		}
	}
}

// deliver calls the Handler, retrying while it answers EUNAVAILABLE, and
// logs what it refused.
func (a *Adapter) deliver(ctx context.Context, what string, call func(Handler) error) {
	h := a.loadHandler()
	if h == nil {
		a.logger.Debug("discord event dropped: no handler", "event", what)
		return
	}
	var err error
	for attempt := 0; ; attempt++ {
		if err = call(h); bridge.ErrorCode(err) != bridge.EUNAVAILABLE || attempt == len(retryWaits) {
			break
		}
		select {
		case <-ctx.Done():
			a.logHandlerError(what, err)
			return
		case <-time.After(retryWaits[attempt]):
		}
	}
	if err != nil {
		a.logHandlerError(what, err)
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

// isUserMessage reports whether a message is one a person typed (not a
// system message such as "thread created" or a pin).
func isUserMessage(m *discordgo.Message) bool {
	return m.Type == discordgo.MessageTypeDefault || m.Type == discordgo.MessageTypeReply
}

// onMessage handles MESSAGE_CREATE: in a thread, a command when it starts
// with the command prefix, else a message for the Handler with the
// thread's parent as Channel and the thread as ThreadID, as PostCard
// returned them.
func (a *Adapter) onMessage(ctx context.Context, m *discordgo.Message) {
	if m.Author == nil || !isUserMessage(m) {
		return
	}
	pl := a.placeOf(ctx, m.ChannelID)
	if pl.ThreadID != "" {
	}
	roles := a.rolesFor(m.Author.ID, m.Member, m.Author)
	name := displayName(m.Member, m.Author)
	if cs := a.loadCommands(); cs != nil && pl.ThreadID != "" && commands.IsCommand(m.Content, cs.p.Prefix) {
		inv := commands.Invocation{
			Source: commands.SourceText, Platform: platformName,
			Channel: pl.Channel, ThreadID: pl.ThreadID, MessageID: m.ID, EventID: m.ID,
			ActorID: m.Author.ID, ActorName: name, Roles: roles,
		}
		reply := a.runCommand(ctx, cs, inv, m.Content) // the raw content keeps <@id> mentions
		if strings.TrimSpace(reply.Text) != "" {
			a.tellUser(m.Author.ID, m.ChannelID, m.ID, reply)
		}
		return
	}
	msg := bridge.ChatMessage{
		Platform: platformName, EventID: m.ID,
		Channel: pl.Channel, ThreadID: pl.ThreadID, MessageID: m.ID,
		UserID: m.Author.ID, UserName: name, Roles: roles,
		Text:        plainText(m.Content, a.resolver(ctx, m.Mentions)),
		Files:       fileRefs(m.Attachments),
		InBotThread: pl.BotThread,
	}
	a.deliver(ctx, "discord message", func(h Handler) error {
		out, err := h.HandleChatMessage(ctx, msg)
		a.logger.Debug("discord message handled", "event_id", msg.EventID, "channel", msg.Channel, "thread", msg.ThreadID, "outcome", out)
		return err
	})
}

// onEdit handles MESSAGE_UPDATE of a person's message whose text changed
// (an edit has an edited_timestamp; embeds being resolved do not).
func (a *Adapter) onEdit(ctx context.Context, m *discordgo.Message) {
	if m.EditedTimestamp == nil || m.Author == nil || !isUserMessage(m) {
		return
	}
	pl := a.placeOf(ctx, m.ChannelID)
	e := bridge.ChatEdit{
		Platform: platformName, EventID: m.ID + ":edit:" + m.EditedTimestamp.UTC().Format(time.RFC3339Nano),
		Channel: pl.Channel, MessageID: m.ID, UserID: m.Author.ID,
		Text: plainText(m.Content, a.resolver(ctx, m.Mentions)),
	}
	a.deliver(ctx, "discord edit", func(h Handler) error { return h.HandleChatEdit(ctx, e) })
}

// onDelete handles MESSAGE_DELETE. Discord does not say whose message it
// was; the Handler ignores messages it does not know.
func (a *Adapter) onDelete(ctx context.Context, m *discordgo.Message) {
	pl := a.placeOf(ctx, m.ChannelID)
	d := bridge.ChatDelete{Platform: platformName, EventID: m.ID + ":delete", Channel: pl.Channel, MessageID: m.ID}
	a.deliver(ctx, "discord delete", func(h Handler) error { return h.HandleChatDelete(ctx, d) })
}

// onReaction runs the command an emoji reaction on a card (a forum post's
// starter message, or a card message of a text channel) stands for.
// Reactions that stand for nothing, those on other messages and those on
// messages that are no ticket's pass in silence; other refusals are told
// to the person who reacted.
func (a *Adapter) onReaction(ctx context.Context, r *discordgo.MessageReactionAdd) {
	cs := a.loadCommands()
	if cs == nil || r.UserID == a.self() || (r.Member != nil && r.Member.User != nil && r.Member.User.Bot) {
		return
	}
	text, ok := cs.p.FromReaction(r.Emoji.Name)
	if !ok {
		return
	}
	pl := a.placeOf(ctx, r.ChannelID)
	switch {
	case pl.ThreadID != "" && r.MessageID != r.ChannelID:
		return // a message inside a thread, not its starter
	case pl.ThreadID == "":
		pl.ThreadID = r.MessageID // a card of a text channel: its thread has its id
	}
	var user *discordgo.User
	if r.Member != nil {
		user = r.Member.User
	}
	inv := commands.Invocation{
		Source: commands.SourceReaction, Platform: platformName,
		Channel: pl.Channel, ThreadID: pl.ThreadID,
		EventID: r.MessageID + ":react:" + r.UserID + ":" + r.Emoji.APIName(),
		ActorID: r.UserID, ActorName: displayName(r.Member, user), Roles: a.rolesFor(r.UserID, r.Member, user),
	}
	if inv.ActorName == "" {
		inv.ActorName = a.NameOf(r.UserID)
	}
	reply := a.runCommand(ctx, cs, inv, text)
	if reply.Refused == bridge.ENOTFOUND || strings.TrimSpace(reply.Text) == "" {
		return
	}
	a.tellUser(r.UserID, pl.ThreadID, "", reply)
}

// resolver names the users and channels a message mentions.
func (a *Adapter) resolver(ctx context.Context, mentioned []*discordgo.User) resolver {
	return resolver{
		user: func(id string) string {
			for _, u := range mentioned {
				if u != nil && u.ID == id {
					if u.GlobalName != "" {
						return u.GlobalName
					}
					return u.Username
				}
			}
			m, _ := a.members.get(ctx, id)
			return m.name
		},
		channel: func(id string) string {
			info, err := a.channels.get(ctx, id)
			if err != nil {
				return ""
			}
			return info.Name
		},
	}
}
