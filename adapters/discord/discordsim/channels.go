package discordsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// maxAppliedTags is how many tags a forum post may carry.
const maxAppliedTags = 5

// getGateway serves GET /gateway.
func (s *Server) getGateway(x *exchange) {
	s.mu.Lock()
	u := s.gatewayURLLocked()
	s.mu.Unlock()
	x.reply(http.StatusOK, obj{"url": u})
}

// getGatewayBot serves GET /gateway/bot.
func (s *Server) getGatewayBot(x *exchange) {
	s.mu.Lock()
	u := s.gatewayURLLocked()
	remaining := max(sessionStartLimit-s.gw.identifies, 0)
	s.mu.Unlock()
	x.reply(http.StatusOK, obj{
		"url":    u,
		"shards": 1,
		"session_start_limit": obj{
			"total":           sessionStartLimit,
			"remaining":       remaining,
			"reset_after":     86400000,
			"max_concurrency": 1,
		},
	})
}

// getMe serves GET /users/@me.
func (s *Server) getMe(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := userJSON(s.members[s.opts.BotUserID])
	u["verified"] = true
	u["mfa_enabled"] = false
	u["email"] = nil
	u["locale"] = "en-US"
	x.reply(http.StatusOK, u)
}

// getUser serves GET /users/{user_id}.
func (s *Server) getUser(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[x.param("user_id")]
	if m == nil {
		x.refuse(http.StatusNotFound, 10013, "Unknown User", "")
		return
	}
	x.reply(http.StatusOK, userJSON(m))
}

// guildLocked checks the guild_id parameter.
func (s *Server) guildLocked(x *exchange) bool {
	if x.param("guild_id") != s.opts.GuildID {
		x.refuse(http.StatusNotFound, 10004, "Unknown Guild", "")
		return false
	}
	return true
}

// getGuild serves GET /guilds/{guild_id}.
func (s *Server) getGuild(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guildLocked(x) {
		x.reply(http.StatusOK, s.guildJSONLocked())
	}
}

// guildRoles serves GET /guilds/{guild_id}/roles.
func (s *Server) guildRoles(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guildLocked(x) {
		x.reply(http.StatusOK, s.rolesJSONLocked())
	}
}

// guildChannels serves GET /guilds/{guild_id}/channels: channels, not threads.
func (s *Server) guildChannels(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.guildLocked(x) {
		return
	}
	out := []obj{}
	for _, id := range s.channelOrder {
		if c := s.channels[id]; !c.isThread() {
			out = append(out, s.channelJSONLocked(c))
		}
	}
	x.reply(http.StatusOK, out)
}

// getMember serves GET /guilds/{guild_id}/members/{user_id}.
func (s *Server) getMember(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.guildLocked(x) {
		return
	}
	m := s.members[x.param("user_id")]
	if m == nil {
		x.refuse(http.StatusNotFound, 10007, "Unknown Member", "")
		return
	}
	x.reply(http.StatusOK, s.memberJSONLocked(m, true))
}

// getChannel serves GET /channels/{channel_id}.
func (s *Server) getChannel(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[x.param("channel_id")]
	if c == nil {
		x.refuse(http.StatusNotFound, 10003, "Unknown Channel", "")
		return
	}
	x.reply(http.StatusOK, s.channelJSONLocked(c))
}

// threadPayload is the body of the thread creation routes.
type threadPayload struct {
	Name                string          `json:"name"`
	AutoArchiveDuration int             `json:"auto_archive_duration"`
	Type                *int            `json:"type"`
	AppliedTags         []string        `json:"applied_tags"`
	Message             *messagePayload `json:"message"`
}

// newThreadLocked creates a thread of parent with the given id.
func (s *Server) newThreadLocked(parent *channel, id, name string, typ, autoArchive int) *channel {
	if autoArchive == 0 {
		autoArchive = 4320
	}
	t := &channel{
		Channel:     Channel{ID: id, Name: name, Type: typ, ParentID: parent.ID, OwnerID: s.opts.BotUserID},
		created:     s.now(),
		archivedAt:  s.now(),
		autoArchive: autoArchive,
		byID:        map[string]*message{},
	}
	s.channels[id] = t
	s.channelOrder = append(s.channelOrder, id)
	return t
}

// dispatchThreadCreateLocked dispatches THREAD_CREATE of a new thread.
func (s *Server) dispatchThreadCreateLocked(t *channel) {
	d := s.channelJSONLocked(t)
	d["newly_created"] = true
	d["member"] = obj{"id": t.ID, "user_id": s.opts.BotUserID, "join_timestamp": timestamp(t.created), "flags": 1}
	s.dispatchLocked("THREAD_CREATE", IntentGuilds, d, nil)
}

// threadFromMessage serves POST /channels/{channel_id}/messages/{message_id}/threads.
// As on Discord, the thread's id is the message's.
func (s *Server) threadFromMessage(x *exchange) {
	var p threadPayload
	x.decode(&p)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.messageLocked(x)
	if m == nil {
		return
	}
	if c.Type != ChannelText && c.Type != ChannelAnnouncement {
		x.refuse(http.StatusBadRequest, 50024, "Cannot execute action on this channel type",
			fmt.Sprintf("threads start from messages of text channels, not of a channel of type %d", c.Type))
		return
	}
	if m.thread != "" || s.channels[m.ID] != nil {
		x.refuse(http.StatusBadRequest, 160004, "A thread has already been created for this message",
			"message "+m.ID+" already has a thread")
		return
	}
	t := s.newThreadLocked(c, m.ID, p.Name, ChannelPublicThread, p.AutoArchiveDuration)
	m.thread = t.ID
	m.Flags |= FlagHasThread
	s.dispatchThreadCreateLocked(t)
	x.reply(http.StatusCreated, s.channelJSONLocked(t))
}

// createThread serves POST /channels/{channel_id}/threads: a forum post
// (with its first message, whose id is the thread's) in a forum channel, or
// a thread without a message in a text channel (private by default, as in
// API v9 and v10).
func (s *Server) createThread(x *exchange) {
	var p threadPayload
	x.decode(&p)
	if !checkFiles(x) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[x.param("channel_id")]
	if c == nil {
		x.refuse(http.StatusNotFound, 10003, "Unknown Channel", "")
		return
	}
	switch c.Type {
	case ChannelForum:
		s.createForumPostLocked(x, c, &p)
	case ChannelText, ChannelAnnouncement:
		typ := ChannelPrivateThread
		if p.Type != nil {
			typ = *p.Type
		}
		if typ != ChannelPublicThread && typ != ChannelPrivateThread {
			fe := &formError{}
			fe.add([]string{"type"}, "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
			x.invalid(fe)
			return
		}
		t := s.newThreadLocked(c, s.snowflakeLocked(), p.Name, typ, p.AutoArchiveDuration)
		s.dispatchThreadCreateLocked(t)
		x.reply(http.StatusCreated, s.channelJSONLocked(t))
	default:
		x.refuse(http.StatusBadRequest, 50024, "Cannot execute action on this channel type",
			fmt.Sprintf("threads cannot be created in a channel of type %d", c.Type))
	}
}

// checkAppliedTags refuses tags the forum does not offer, or too many.
func checkAppliedTags(forum *channel, tags []string) *formError {
	fe := &formError{}
	if len(tags) > maxAppliedTags {
		fe.add([]string{"applied_tags"}, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxAppliedTags))
	}
	for i, id := range tags {
		if !slices.ContainsFunc(forum.AvailableTags, func(t Tag) bool { return t.ID == id }) {
			fe.add([]string{"applied_tags", strconv.Itoa(i)}, "FORUM_TAG_UNKNOWN", "Unknown tag "+strconv.Quote(id)+" for this forum")
		}
	}
	if len(fe.problems) == 0 {
		return nil
	}
	return fe
}

func (s *Server) createForumPostLocked(x *exchange, forum *channel, p *threadPayload) {
	if p.Message == nil {
		fe := &formError{}
		fe.add([]string{"message"}, "BASE_TYPE_REQUIRED", "This field is required")
		x.invalid(fe)
		return
	}
	if fe := checkAppliedTags(forum, p.AppliedTags); fe != nil {
		x.invalid(fe)
		return
	}
	if fe := p.Message.check(messageFlags); fe != nil {
		for i := range fe.problems {
			fe.problems[i].path = append([]string{"message"}, fe.problems[i].path...)
		}
		x.invalid(fe)
		return
	}
	if p.Message.empty(len(x.files)) {
		x.refuse(http.StatusBadRequest, 50006, "Cannot send an empty message", "forum post with an empty message")
		return
	}
	id := s.snowflakeLocked()
	t := s.newThreadLocked(forum, id, p.Name, ChannelPublicThread, p.AutoArchiveDuration)
	t.AppliedTags = slices.Clone(p.AppliedTags)
	m := &message{created: s.now()}
	m.ID, m.ChannelID, m.AuthorID, m.Bot = id, id, s.opts.BotUserID, true
	s.applyPayloadLocked(t, m, p.Message, x.files, false)
	s.dispatchThreadCreateLocked(t)
	s.postLocked(t, m)
	out := s.channelJSONLocked(t)
	out["message"] = s.messageJSONLocked(t, m, renderOpts{})
	x.reply(http.StatusCreated, out)
}

// channelPatch is the body of PATCH /channels/{channel_id} the simulator
// interprets.
type channelPatch struct {
	Name                *string   `json:"name"`
	Topic               *string   `json:"topic"`
	Archived            *bool     `json:"archived"`
	Locked              *bool     `json:"locked"`
	AutoArchiveDuration *int      `json:"auto_archive_duration"`
	AppliedTags         *[]string `json:"applied_tags"`
	AvailableTags       *[]struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Moderated bool   `json:"moderated"`
		EmojiName string `json:"emoji_name"`
	} `json:"available_tags"`
}

// patchChannel serves PATCH /channels/{channel_id}: a thread's name,
// archived, locked, auto_archive_duration and applied_tags; a channel's
// name, topic and (forums) available_tags.
func (s *Server) patchChannel(x *exchange) {
	var p channelPatch
	x.decode(&p)
	var fields map[string]json.RawMessage
	x.decode(&fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[x.param("channel_id")]
	if c == nil {
		x.refuse(http.StatusNotFound, 10003, "Unknown Channel", "")
		return
	}
	threadOnly := []string{"archived", "locked", "auto_archive_duration", "applied_tags", "invitable"}
	for _, f := range threadOnly {
		if _, ok := fields[f]; ok && !c.isThread() {
			fe := &formError{}
			fe.add([]string{f}, "BASE_TYPE_INVALID", "Only threads have this field.")
			x.invalid(fe)
			return
		}
	}
	if p.AppliedTags != nil {
		parent := s.channels[c.ParentID]
		if parent == nil || parent.Type != ChannelForum {
			fe := &formError{}
			fe.add([]string{"applied_tags"}, "BASE_TYPE_INVALID", "Only forum posts have tags.")
			x.invalid(fe)
			return
		}
		if fe := checkAppliedTags(parent, *p.AppliedTags); fe != nil {
			x.invalid(fe)
			return
		}
	}
	if c.isThread() && c.Archived && c.Locked && (p.Archived == nil || *p.Archived) && p.Locked == nil {
		x.refuse(http.StatusBadRequest, 50083, "Thread is archived", "")
		return
	}
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.Topic != nil {
		c.Topic = *p.Topic
	}
	if p.AppliedTags != nil {
		c.AppliedTags = slices.Clone(*p.AppliedTags)
	}
	if p.Locked != nil {
		c.Locked = *p.Locked
	}
	if p.Archived != nil && *p.Archived != c.Archived {
		c.Archived = *p.Archived
		c.archivedAt = s.now()
	}
	if p.AutoArchiveDuration != nil {
		c.autoArchive = *p.AutoArchiveDuration
	}
	if p.AvailableTags != nil {
		tags := make([]Tag, 0, len(*p.AvailableTags))
		for _, t := range *p.AvailableTags {
			id := t.ID
			if id == "" {
				id = s.snowflakeLocked()
			}
			tags = append(tags, Tag{ID: id, Name: t.Name, Moderated: t.Moderated, EmojiName: t.EmojiName})
		}
		c.AvailableTags = tags
	}
	event := "CHANNEL_UPDATE"
	if c.isThread() {
		event = "THREAD_UPDATE"
	}
	s.dispatchLocked(event, IntentGuilds, s.channelJSONLocked(c), nil)
	x.reply(http.StatusOK, s.channelJSONLocked(c))
}
