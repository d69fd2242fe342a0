package discordsim

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
)

// everyonePermissions is the permission set of @everyone (a default guild's).
const everyonePermissions = "1071698660929"

// appPermissions is what the bot may do in every channel (administrator).
const appPermissions = "2251799813685247"

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rawOrEmpty returns a JSON array, [] when raw is empty or null.
func rawOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("[]")
	}
	return raw
}

func userJSON(m *Member) obj {
	o := obj{
		"id":                     m.ID,
		"username":               m.Username,
		"global_name":            nilIfEmpty(m.GlobalName),
		"discriminator":          "0",
		"avatar":                 nil,
		"public_flags":           0,
		"flags":                  0,
		"banner":                 nil,
		"accent_color":           nil,
		"avatar_decoration_data": nil,
		"collectibles":           nil,
		"clan":                   nil,
		"primary_guild":          nil,
	}
	if m.Bot {
		o["bot"] = true
	}
	return o
}

// userLocked returns the user object of id (a placeholder for strangers).
func (s *Server) userLocked(id string) obj {
	if m := s.members[id]; m != nil {
		return userJSON(m)
	}
	return userJSON(&Member{ID: id, Username: "unknown-" + id})
}

// memberJSONLocked is a guild member object; withUser adds its user.
func (s *Server) memberJSONLocked(m *Member, withUser bool) obj {
	roles := slices.Clone(m.Roles)
	if roles == nil {
		roles = []string{}
	}
	o := obj{
		"roles":                        roles,
		"nick":                         nil,
		"avatar":                       nil,
		"banner":                       nil,
		"joined_at":                    timestamp(s.joinedLocked()),
		"premium_since":                nil,
		"deaf":                         false,
		"mute":                         false,
		"flags":                        0,
		"pending":                      false,
		"communication_disabled_until": nil,
	}
	if withUser {
		o["user"] = userJSON(m)
	}
	return o
}

// joinedLocked is when members joined: the simulated guild's creation.
func (s *Server) joinedLocked() time.Time { return s.created }

var mentionRE = regexp.MustCompile(`<@!?(\d+)>`)

// mentionsLocked returns the users mentioned in content.
func (s *Server) mentionsLocked(content string) []obj {
	out := []obj{}
	seen := map[string]bool{}
	for _, m := range mentionRE.FindAllStringSubmatch(content, -1) {
		id := m[1]
		if seen[id] {
			continue
		}
		seen[id] = true
		if mem := s.members[id]; mem != nil {
			u := userJSON(mem)
			u["member"] = s.memberJSONLocked(mem, false)
			out = append(out, u)
		}
	}
	return out
}

// mentionsBot reports whether content mentions the bot user.
func (s *Server) mentionsBot(content string) bool {
	for _, m := range mentionRE.FindAllStringSubmatch(content, -1) {
		if m[1] == s.opts.BotUserID {
			return true
		}
	}
	return false
}

func emojiJSON(e string) obj {
	if name, id, ok := strings.Cut(e, ":"); ok && isSnowflake(id) {
		return obj{"id": id, "name": name}
	}
	return obj{"id": nil, "name": e}
}

func (s *Server) attachmentJSON(a Attachment) obj {
	o := obj{
		"id":           a.ID,
		"filename":     a.Filename,
		"size":         a.Size,
		"url":          a.URL,
		"proxy_url":    a.URL,
		"content_type": nilIfEmpty(a.ContentType),
	}
	if a.Description != "" {
		o["description"] = a.Description
	}
	return o
}

// renderOpts adjusts a message object.
type renderOpts struct {
	hideContent bool // no MESSAGE_CONTENT: content, embeds, attachments and components are empty
	noReference bool // leave out referenced_message (inside a referenced_message)
	gateway     bool // a dispatch: add guild_id and member
}

// canSeeContent reports whether an app without the MESSAGE_CONTENT intent
// still sees m's content: its own messages and those mentioning it.
func (s *Server) canSeeContent(m *message) bool {
	return m.AuthorID == s.opts.BotUserID || s.mentionsBot(m.Content)
}

// messageJSONLocked is the message object of m in c.
func (s *Server) messageJSONLocked(c *channel, m *message, o renderOpts) obj {
	content, embeds, components := m.Content, rawOrEmpty(m.Embeds), rawOrEmpty(m.Components)
	attachments := make([]obj, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		attachments = append(attachments, s.attachmentJSON(a))
	}
	if o.hideContent && !s.canSeeContent(m) {
		content, embeds, components = "", json.RawMessage("[]"), json.RawMessage("[]")
		attachments = []obj{}
	}
	var edited any
	if m.Edited {
		edited = timestamp(m.editedAt)
	}
	out := obj{
		"id":               m.ID,
		"channel_id":       c.ID,
		"type":             m.Type,
		"content":          content,
		"author":           s.userLocked(m.AuthorID),
		"attachments":      attachments,
		"embeds":           embeds,
		"components":       components,
		"mentions":         s.mentionsLocked(m.Content),
		"mention_roles":    []string{},
		"mention_everyone": false,
		"pinned":           false,
		"tts":              false,
		"timestamp":        timestamp(m.created),
		"edited_timestamp": edited,
		"flags":            m.Flags,
	}
	if len(m.reactions) > 0 {
		rs := make([]obj, 0, len(m.reactions))
		for _, r := range m.reactions {
			rs = append(rs, obj{
				"count":         len(r.users),
				"count_details": obj{"burst": 0, "normal": len(r.users)},
				"me":            slices.Contains(r.users, s.opts.BotUserID),
				"me_burst":      false,
				"burst_me":      false,
				"burst_count":   0,
				"burst_colors":  []string{},
				"emoji":         emojiJSON(r.emoji),
			})
		}
		out["reactions"] = rs
	}
	if m.ReferenceID != "" {
		out["message_reference"] = obj{"type": 0, "message_id": m.ReferenceID, "channel_id": c.ID, "guild_id": s.opts.GuildID}
		if !o.noReference {
			if ref := c.byID[m.ReferenceID]; ref != nil && !ref.Deleted {
				out["referenced_message"] = s.messageJSONLocked(c, ref, renderOpts{hideContent: o.hideContent, noReference: true})
			} else {
				out["referenced_message"] = nil
			}
		}
	}
	if m.webhookID != "" {
		out["webhook_id"] = m.webhookID
		out["application_id"] = s.opts.AppID
	}
	if in := m.inter; in != nil {
		u := s.userLocked(in.userID)
		out["interaction_metadata"] = obj{
			"id":                             in.id,
			"type":                           in.typ,
			"user":                           u,
			"authorizing_integration_owners": obj{"0": s.opts.GuildID},
		}
		legacy := obj{"id": in.id, "type": in.typ, "name": in.command, "user": u}
		if in.typ == interactionComponent {
			legacy["name"] = ""
		}
		out["interaction"] = legacy
	}
	if m.thread != "" {
		if t := s.channels[m.thread]; t != nil {
			out["thread"] = s.channelJSONLocked(t)
		}
	}
	if c.isThread() {
		out["position"] = slices.Index(c.msgs, m)
	}
	if o.gateway && c.Type != ChannelDM {
		out["guild_id"] = s.opts.GuildID
		if mem := s.members[m.AuthorID]; mem != nil && m.webhookID == "" {
			out["member"] = s.memberJSONLocked(mem, false)
		}
	}
	return out
}

func tagJSON(t Tag) obj {
	return obj{"id": t.ID, "name": t.Name, "moderated": t.Moderated, "emoji_id": nil, "emoji_name": nilIfEmpty(t.EmojiName)}
}

// channelJSONLocked is the channel object of c.
func (s *Server) channelJSONLocked(c *channel) obj {
	if c.Type == ChannelDM {
		return s.dmChannelJSON(c)
	}
	o := obj{
		"id":                  c.ID,
		"type":                c.Type,
		"guild_id":            s.opts.GuildID,
		"name":                c.Name,
		"flags":               0,
		"parent_id":           nilIfEmpty(c.ParentID),
		"rate_limit_per_user": 0,
		"last_message_id":     nilIfEmpty(c.lastMessage),
	}
	if c.isThread() {
		applied := slices.Clone(c.AppliedTags)
		if applied == nil {
			applied = []string{}
		}
		o["owner_id"] = c.OwnerID
		o["thread_metadata"] = obj{
			"archived":              c.Archived,
			"auto_archive_duration": c.autoArchive,
			"archive_timestamp":     timestamp(c.archivedAt),
			"locked":                c.Locked,
			"create_timestamp":      timestamp(c.created),
		}
		o["message_count"] = c.totalSent
		o["total_message_sent"] = c.totalSent
		o["member_count"] = 1
		o["applied_tags"] = applied
		return o
	}
	o["position"] = slices.Index(s.channelOrder, c.ID)
	o["permission_overwrites"] = []any{}
	o["nsfw"] = false
	o["topic"] = nilIfEmpty(c.Topic)
	if c.Type == ChannelForum {
		tags := make([]obj, 0, len(c.AvailableTags))
		for _, t := range c.AvailableTags {
			tags = append(tags, tagJSON(t))
		}
		o["available_tags"] = tags
		o["default_reaction_emoji"] = nil
		o["default_sort_order"] = nil
		o["default_forum_layout"] = 0
		o["default_thread_rate_limit_per_user"] = 0
	}
	return o
}

func (s *Server) rolesJSONLocked() []obj {
	out := make([]obj, 0, len(s.roles))
	for i, r := range s.roles {
		perms := "0"
		if r.ID == s.opts.GuildID {
			perms = everyonePermissions
		}
		out = append(out, obj{
			"id":            r.ID,
			"name":          r.Name,
			"color":         0,
			"colors":        obj{"primary_color": 0, "secondary_color": nil, "tertiary_color": nil},
			"hoist":         false,
			"icon":          nil,
			"unicode_emoji": nil,
			"position":      i,
			"permissions":   perms,
			"managed":       false,
			"mentionable":   false,
			"flags":         0,
		})
	}
	return out
}

// guildJSONLocked is the guild object (REST GET /guilds/{id}).
func (s *Server) guildJSONLocked() obj {
	owner := s.opts.BotUserID
	for _, id := range s.memberOrder {
		if !s.members[id].Bot {
			owner = id
			break
		}
	}
	return obj{
		"id":                            s.opts.GuildID,
		"name":                          s.opts.GuildName,
		"icon":                          nil,
		"splash":                        nil,
		"discovery_splash":              nil,
		"banner":                        nil,
		"description":                   nil,
		"owner_id":                      owner,
		"afk_channel_id":                nil,
		"afk_timeout":                   300,
		"verification_level":            0,
		"default_message_notifications": 0,
		"explicit_content_filter":       0,
		"roles":                         s.rolesJSONLocked(),
		"emojis":                        []any{},
		"stickers":                      []any{},
		"features":                      []string{},
		"mfa_level":                     0,
		"application_id":                nil,
		"system_channel_id":             nil,
		"system_channel_flags":          0,
		"rules_channel_id":              nil,
		"public_updates_channel_id":     nil,
		"safety_alerts_channel_id":      nil,
		"vanity_url_code":               nil,
		"premium_tier":                  0,
		"premium_subscription_count":    0,
		"preferred_locale":              "en-US",
		"nsfw_level":                    0,
		"nsfw":                          false,
		"premium_progress_bar_enabled":  false,
		"max_members":                   500000,
		"max_video_channel_users":       25,
	}
}
