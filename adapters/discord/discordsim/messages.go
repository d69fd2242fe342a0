package discordsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Flags a bot may set on a channel message (and on edits).
const messageFlags = flagSuppressEm | flagSilent | 1<<13 | flagCompV2

// Message types.
const (
	messageDefault     = 0
	messageReply       = 19
	messageChatInput   = 20
	messageThreadStart = 21
)

// newMessageLocked makes a message in c by author, not yet stored.
func (s *Server) newMessageLocked(c *channel, author string) *message {
	m := &message{created: s.now()}
	m.ID = s.snowflakeLocked()
	m.ChannelID = c.ID
	m.AuthorID = author
	if mem := s.members[author]; mem != nil {
		m.Bot = mem.Bot && author == s.opts.BotUserID
	}
	return m
}

// normalizeEmbeds gives each embed its type ("rich" by default), as Discord
// answers them.
func normalizeEmbeds(raw json.RawMessage) json.RawMessage {
	if !present(raw) {
		return nil
	}
	var list []map[string]any
	if json.Unmarshal(raw, &list) != nil {
		return raw
	}
	if len(list) == 0 {
		return nil
	}
	for _, e := range list {
		if _, ok := e["type"]; !ok {
			e["type"] = "rich"
		}
	}
	return marshal(list)
}

// numberComponents gives every component without an id one, numbering them
// in order of appearance from 1 and skipping the ids already given, as
// Discord does.
func numberComponents(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var list []any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&list) != nil {
		return raw
	}
	used := map[string]bool{}
	var walk func(v any, f func(map[string]any))
	walk = func(v any, f func(map[string]any)) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, f)
			}
		case map[string]any:
			f(x)
			walk(x["components"], f)
			walk(x["accessory"], f)
		}
	}
	walk(list, func(c map[string]any) {
		if id, ok := c["id"].(json.Number); ok {
			used[id.String()] = true
		}
	})
	next := 0
	walk(list, func(c map[string]any) {
		if _, ok := c["id"]; ok {
			return
		}
		for {
			next++
			if !used[strconv.Itoa(next)] {
				break
			}
		}
		c["id"] = next
	})
	return marshal(list)
}

// nonNull returns raw, or nil when it is empty, null or [].
func nonNull(raw json.RawMessage) json.RawMessage {
	if !present(raw) || string(raw) == "[]" {
		return nil
	}
	return slices.Clone(raw)
}

// applyPayloadLocked sets on m what p carries. On an edit, members absent
// from p are left as they are; attachments listed in p.Attachments are
// kept, others removed, when the list is sent.
func (s *Server) applyPayloadLocked(c *channel, m *message, p *messagePayload, files []*upload, edit bool) {
	if p.Content != nil {
		m.Content = *p.Content
	}
	if p.Embeds != nil {
		m.Embeds = normalizeEmbeds(p.Embeds)
	}
	if p.Components != nil {
		m.Components = numberComponents(nonNull(p.Components))
	}
	if p.AllowedMentions != nil {
		m.AllowedMentions = nonNull(p.AllowedMentions)
	}
	if p.Flags != nil {
		m.Flags = m.Flags&^messageFlags | *p.Flags&messageFlags
	}
	if edit && p.Attachments != nil {
		keep := map[string]bool{}
		for _, a := range p.Attachments {
			var id string
			if json.Unmarshal(a.ID, &id) == nil {
				keep[id] = true
			}
		}
		m.Attachments = slices.DeleteFunc(m.Attachments, func(a Attachment) bool { return !keep[a.ID] })
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].index < files[j].index })
	for _, f := range files {
		a := Attachment{
			ID:          s.snowflakeLocked(),
			Filename:    f.filename,
			ContentType: f.contentType,
			Size:        len(f.data),
			Data:        slices.Clone(f.data),
		}
		for _, meta := range p.Attachments {
			if strings.Trim(string(meta.ID), `"`) == strconv.Itoa(f.index) {
				a.Description = meta.Description
				if meta.Filename != "" {
					a.Filename = meta.Filename
				}
			}
		}
		if a.Filename == "" {
			a.Filename = "file" + strconv.Itoa(f.index)
		}
		a.URL = s.baseLocked() + "/attachments/" + c.ID + "/" + a.ID + "/" + url.PathEscape(a.Filename)
		s.attachments[a.ID] = &a
		m.Attachments = append(m.Attachments, a)
	}
}

// checkFiles refuses more files, or bigger ones, than Discord takes.
func checkFiles(x *exchange) bool {
	if len(x.files) > maxFiles {
		fe := &formError{}
		fe.add([]string{"files"}, "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
		x.invalid(fe)
		return false
	}
	for _, f := range x.files {
		if len(f.data) > maxFileSize {
			x.refuse(http.StatusRequestEntityTooLarge, 40005, "Request entity too large",
				"file "+f.filename+" is larger than 10 MiB")
			return false
		}
	}
	return true
}

// textChannelLocked finds a channel messages can be posted in, or answers
// why not.
func (s *Server) textChannelLocked(x *exchange, id string) *channel {
	c := s.channels[id]
	switch {
	case c == nil:
		x.refuse(http.StatusNotFound, 10003, "Unknown Channel", "")
		return nil
	case c.Type == ChannelForum || c.Type == ChannelCategory:
		x.refuse(http.StatusBadRequest, 50008, "Cannot send messages in a non-text channel",
			"channel "+id+" is not a text channel (post in a thread of the forum)")
		return nil
	case c.isThread() && c.Archived && c.Locked:
		x.refuse(http.StatusBadRequest, 50083, "Thread is archived", "")
		return nil
	case c.Type == ChannelDM && s.members[c.RecipientID] != nil && s.members[c.RecipientID].NoDirectMessages:
		x.refuse(http.StatusForbidden, 50007, "Cannot send messages to this user", "")
		return nil
	}
	return c
}

// createMessage serves POST /channels/{channel_id}/messages.
func (s *Server) createMessage(x *exchange) {
	var p messagePayload
	x.decode(&p)
	if !checkFiles(x) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.textChannelLocked(x, x.param("channel_id"))
	if c == nil {
		return
	}
	if fe := p.check(messageFlags); fe != nil {
		x.invalid(fe)
		return
	}
	if p.empty(len(x.files)) {
		x.refuse(http.StatusBadRequest, 50006, "Cannot send an empty message", "empty message")
		return
	}
	nonce := ""
	if p.EnforceNonce && present(p.Nonce) {
		nonce = c.ID + "|" + strings.Trim(string(p.Nonce), `"`)
		if prev, ok := s.nonces[nonce]; ok && s.now().Sub(prev.at) < nonceWindow {
			if m := c.live(prev.id); m != nil {
				// The same author sent this nonce lately: Discord answers
				// with that message and creates none.
				x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{}))
				return
			}
		}
	}
	m := s.newMessageLocked(c, s.opts.BotUserID)
	if ref := p.MessageReference; ref != nil && ref.MessageID != "" {
		if ref.ChannelID != "" && ref.ChannelID != c.ID {
			fe := &formError{}
			fe.add([]string{"message_reference"}, "MESSAGE_REFERENCE_INVALID_CHANNEL", "Cannot reply to a message in another channel")
			x.invalid(fe)
			return
		}
		switch {
		case c.live(ref.MessageID) != nil:
			m.ReferenceID = ref.MessageID
			m.Type = messageReply
		case ref.FailIfNotExists == nil || *ref.FailIfNotExists:
			fe := &formError{}
			fe.add([]string{"message_reference"}, "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
			x.reply(http.StatusBadRequest, fe.body()) // the message may have been deleted: not a violation
			return
		}
	}
	s.applyPayloadLocked(c, m, &p, x.files, false)
	s.postLocked(c, m)
	if nonce != "" {
		s.nonces[nonce] = sentNonce{id: m.ID, at: s.now()}
	}
	x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{}))
}

// nonceWindow is how long Discord remembers a message's nonce for
// enforce_nonce ("the past few minutes").
const nonceWindow = 5 * time.Minute

// sentNonce is a message created with enforce_nonce.
type sentNonce struct {
	id string
	at time.Time
}

// postLocked stores m in c and dispatches MESSAGE_CREATE (unless ephemeral).
// Posting in an archived, unlocked thread unarchives it.
func (s *Server) postLocked(c *channel, m *message) {
	if c.isThread() && c.Archived && !c.Locked && !m.Ephemeral {
		c.Archived = false
		c.archivedAt = s.now()
		s.dispatchLocked("THREAD_UPDATE", IntentGuilds, s.channelJSONLocked(c), nil)
	}
	c.add(m)
	if !m.Ephemeral {
		s.dispatchMessageLocked("MESSAGE_CREATE", c, m)
	}
}

// dispatchMessageLocked dispatches MESSAGE_CREATE or MESSAGE_UPDATE of m.
// Sessions without the MESSAGE_CONTENT intent get it without content.
func (s *Server) dispatchMessageLocked(event string, c *channel, m *message) {
	full := s.messageJSONLocked(c, m, renderOpts{gateway: true})
	var bare obj
	if !s.canSeeContent(m) {
		bare = s.messageJSONLocked(c, m, renderOpts{gateway: true, hideContent: true})
	}
	intent := IntentGuildMessages
	if c.Type == ChannelDM {
		intent = IntentDirectMessages
	}
	s.dispatchLocked(event, intent, full, bare)
}

// messageLocked finds a live message of a known channel, or answers 404.
func (s *Server) messageLocked(x *exchange) (*channel, *message) {
	c := s.channels[x.param("channel_id")]
	if c == nil {
		x.refuse(http.StatusNotFound, 10003, "Unknown Channel", "")
		return nil, nil
	}
	m := c.live(x.param("message_id"))
	if m == nil || m.Ephemeral {
		x.refuse(http.StatusNotFound, 10008, "Unknown Message", "")
		return nil, nil
	}
	return c, m
}

// hideContent reports whether the HTTP API hides others' message content:
// when the MESSAGE_CONTENT privileged intent is not enabled for the app.
func (s *Server) hideContent() bool {
	return s.opts.DisabledPrivilegedIntents&IntentMessageContent != 0
}

// getMessage serves GET /channels/{channel_id}/messages/{message_id}.
func (s *Server) getMessage(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.messageLocked(x)
	if m == nil {
		return
	}
	x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{hideContent: s.hideContent()}))
}

// listMessages serves GET /channels/{channel_id}/messages: newest first,
// limit (default 50), before, after or around.
func (s *Server) listMessages(x *exchange) {
	q := x.r.URL.Query()
	lim := 50
	if v := q.Get("limit"); v != "" {
		lim, _ = strconv.Atoi(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[x.param("channel_id")]
	if c == nil {
		x.refuse(http.StatusNotFound, 10003, "Unknown Channel", "")
		return
	}
	var live []*message
	for _, m := range c.msgs {
		if !m.Deleted && !m.Ephemeral {
			live = append(live, m)
		}
	}
	// live is oldest first; ids grow with time.
	idLess := func(a, b string) bool {
		x, _ := strconv.ParseUint(a, 10, 64)
		y, _ := strconv.ParseUint(b, 10, 64)
		return x < y
	}
	var sel []*message
	switch {
	case q.Get("after") != "":
		for _, m := range live {
			if idLess(q.Get("after"), m.ID) && len(sel) < lim {
				sel = append(sel, m)
			}
		}
	case q.Get("around") != "":
		at := sort.Search(len(live), func(i int) bool { return !idLess(live[i].ID, q.Get("around")) })
		from := max(at-lim/2, 0)
		sel = live[from:min(from+lim, len(live))]
	default:
		end := len(live)
		if b := q.Get("before"); b != "" {
			end = sort.Search(len(live), func(i int) bool { return !idLess(live[i].ID, b) })
		}
		sel = live[max(end-lim, 0):end]
	}
	out := make([]obj, 0, len(sel))
	for i := len(sel) - 1; i >= 0; i-- {
		out = append(out, s.messageJSONLocked(c, sel[i], renderOpts{hideContent: s.hideContent()}))
	}
	x.reply(http.StatusOK, out)
}

// editMessage serves PATCH /channels/{channel_id}/messages/{message_id}.
func (s *Server) editMessage(x *exchange) {
	var p messagePayload
	x.decode(&p)
	if !checkFiles(x) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.messageLocked(x)
	if m == nil {
		return
	}
	if m.AuthorID != s.opts.BotUserID || m.webhookID != "" {
		x.refuse(http.StatusForbidden, 50005, "Cannot edit a message authored by another user",
			"message "+m.ID+" was not posted by the bot through this route")
		return
	}
	if fe := p.check(messageFlags); fe != nil {
		x.invalid(fe)
		return
	}
	s.editLocked(x, c, m, &p)
}

// editLocked applies an edit and dispatches MESSAGE_UPDATE, or refuses an
// edit that would leave the message empty.
func (s *Server) editLocked(x *exchange, c *channel, m *message, p *messagePayload) {
	before := *m
	s.applyPayloadLocked(c, m, p, x.files, true)
	if m.Content == "" && m.Embeds == nil && m.Components == nil && len(m.Attachments) == 0 {
		*m = before
		x.refuse(http.StatusBadRequest, 50006, "Cannot send an empty message", "edit leaves the message empty")
		return
	}
	m.Edited = true
	m.editedAt = s.now()
	m.Flags &^= FlagLoading
	if !m.Ephemeral {
		s.dispatchMessageLocked("MESSAGE_UPDATE", c, m)
	}
	x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{}))
}

// deleteMessage serves DELETE /channels/{channel_id}/messages/{message_id}.
func (s *Server) deleteMessage(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.messageLocked(x)
	if m == nil {
		return
	}
	s.deleteLocked(c, m)
	x.noContent()
}

func (s *Server) deleteLocked(c *channel, m *message) {
	m.Deleted = true
	if !m.Ephemeral {
		s.dispatchLocked("MESSAGE_DELETE", IntentGuildMessages, obj{"id": m.ID, "channel_id": c.ID, "guild_id": s.opts.GuildID}, nil)
	}
}

// emojiParam returns the emoji of a reaction route, or answers why it is
// not one: Discord wants the unicode character itself (URL-escaped) or
// name:id for a custom emoji, never a :shortcode:.
func (s *Server) emojiParam(x *exchange) (string, bool) {
	e := x.param("emoji_name")
	if u, err := url.PathUnescape(e); err == nil {
		e = u
	}
	if name, id, ok := strings.Cut(e, ":"); ok && name != "" && isSnowflake(id) {
		return e, true
	}
	for _, r := range e {
		if r > unicode.MaxASCII {
			return e, true
		}
	}
	x.refuse(http.StatusBadRequest, 10014, "Unknown Emoji",
		"reaction "+strconv.Quote(e)+" is not an emoji (send the unicode character, URL-escaped, or name:id)")
	return "", false
}

// addReaction serves PUT .../reactions/{emoji_name}/@me.
func (s *Server) addReaction(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.messageLocked(x)
	if m == nil {
		return
	}
	e, ok := s.emojiParam(x)
	if !ok {
		return
	}
	if !s.reactLocked(c, m, s.opts.BotUserID, e) {
		x.refuse(http.StatusBadRequest, 30010, "Maximum number of reactions reached (20)", "")
		return
	}
	x.noContent()
}

// reactLocked adds userID's reaction and dispatches MESSAGE_REACTION_ADD;
// it reports false when the message has 20 other emoji already.
func (s *Server) reactLocked(c *channel, m *message, userID, e string) bool {
	var r *reaction
	for _, have := range m.reactions {
		if have.emoji == e {
			r = have
		}
	}
	if r == nil {
		if len(m.reactions) >= maxReactions {
			return false
		}
		r = &reaction{emoji: e}
		m.reactions = append(m.reactions, r)
	}
	if slices.Contains(r.users, userID) {
		return true
	}
	r.users = append(r.users, userID)
	d := obj{
		"user_id":           userID,
		"channel_id":        c.ID,
		"message_id":        m.ID,
		"guild_id":          s.opts.GuildID,
		"emoji":             emojiJSON(e),
		"burst":             false,
		"type":              0,
		"message_author_id": m.AuthorID,
	}
	if mem := s.members[userID]; mem != nil {
		d["member"] = s.memberJSONLocked(mem, true)
	}
	s.dispatchLocked("MESSAGE_REACTION_ADD", IntentGuildMessageReactions, d, nil)
	return true
}

// unreactLocked removes userID's reaction and dispatches MESSAGE_REACTION_REMOVE.
func (s *Server) unreactLocked(c *channel, m *message, userID, e string) {
	for i, r := range m.reactions {
		if r.emoji != e || !slices.Contains(r.users, userID) {
			continue
		}
		r.users = slices.DeleteFunc(r.users, func(u string) bool { return u == userID })
		if len(r.users) == 0 {
			m.reactions = slices.Delete(m.reactions, i, i+1)
		}
		s.dispatchLocked("MESSAGE_REACTION_REMOVE", IntentGuildMessageReactions, obj{
			"user_id": userID, "channel_id": c.ID, "message_id": m.ID, "guild_id": s.opts.GuildID,
			"emoji": emojiJSON(e), "burst": false, "type": 0,
		}, nil)
		return
	}
}

// removeReaction serves DELETE .../reactions/{emoji_name}/@me.
func (s *Server) removeReaction(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.messageLocked(x)
	if m == nil {
		return
	}
	e, ok := s.emojiParam(x)
	if !ok {
		return
	}
	s.unreactLocked(c, m, s.opts.BotUserID, e)
	x.noContent()
}
