package slacksim

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// renderOpts selects optional parts of a rendered message.
type renderOpts struct {
	metadata bool // include "metadata" (include_all_metadata, or the poster's own answer)
}

// messageJSONLocked renders m as Slack's message object.
func (s *Server) messageJSONLocked(ch *channel, m *message, o renderOpts) obj {
	out := obj{"type": "message", "ts": m.TS, "text": m.Text}
	if m.Deleted {
		// A deleted root that still has replies stays as a tombstone.
		out["subtype"] = "tombstone"
		out["text"] = "This message was deleted."
		out["hidden"] = true
		out["user"] = "USLACKBOT"
	} else {
		out["user"] = m.User
		out["team"] = m.team
		if m.clientMsgID != "" {
			out["client_msg_id"] = m.clientMsgID
		}
		if len(m.Blocks) > 0 {
			out["blocks"] = m.Blocks
		}
		if m.isBot() {
			out["bot_id"] = m.BotID
			out["app_id"] = s.opts.AppID
			out["bot_profile"] = s.botProfileLocked()
		}
		if m.Username != "" {
			out["username"] = m.Username
		}
		switch {
		case m.IconURL != "":
			out["icons"] = obj{"image_48": m.IconURL}
		case m.iconEmoji != "":
			out["icons"] = obj{"emoji": m.iconEmoji}
		}
		if m.Edited {
			out["edited"] = obj{"user": m.editedBy, "ts": m.editedTS}
		}
		if len(m.reactions) > 0 {
			rs := make([]obj, 0, len(m.reactions))
			for _, r := range m.reactions {
				rs = append(rs, obj{"name": r.name, "users": r.users, "count": len(r.users)})
			}
			out["reactions"] = rs
		}
		if o.metadata && len(m.Metadata) > 0 {
			out["metadata"] = m.Metadata
		}
		if len(m.Files) > 0 {
			out["subtype"] = "file_share"
			out["upload"] = false
			fs := make([]obj, 0, len(m.Files))
			for _, f := range m.Files {
				fs = append(fs, s.fileJSONLocked(f))
			}
			out["files"] = fs
		}
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
		if root := ch.msgs[m.ThreadTS]; root != nil {
			out["parent_user_id"] = root.User
		}
	} else if live := liveReplies(ch, m); len(live) > 0 {
		users := []string{}
		for _, r := range live {
			if !slices.Contains(users, r.User) {
				users = append(users, r.User)
			}
		}
		out["thread_ts"] = m.TS
		out["reply_count"] = len(live)
		out["reply_users_count"] = len(users)
		out["reply_users"] = users
		out["latest_reply"] = live[len(live)-1].TS
		out["is_locked"] = false
		out["subscribed"] = false
	}
	return out
}

// liveReplies returns the replies of root that are not deleted.
func liveReplies(ch *channel, root *message) []*message {
	var out []*message
	for _, ts := range root.replies {
		if r := ch.live(ts); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) botProfileLocked() obj {
	bot := s.users[s.opts.BotUserID]
	return obj{
		"id":      s.opts.BotID,
		"app_id":  s.opts.AppID,
		"name":    bot.Name,
		"icons":   obj{"image_36": bot.ImageURL, "image_48": bot.ImageURL, "image_72": bot.ImageURL},
		"deleted": false,
		"updated": 1700000000,
		"team_id": s.opts.TeamID,
	}
}

func (s *Server) userJSONLocked(u User) obj {
	display := u.Name
	real := u.RealName
	if real == "" {
		real = u.Name
	}
	profile := obj{
		"real_name": real, "real_name_normalized": real,
		"display_name": display, "display_name_normalized": display,
		"first_name": strings.Fields(real + " ")[0],
		"image_24":   u.ImageURL, "image_32": u.ImageURL, "image_48": u.ImageURL,
		"image_72": u.ImageURL, "image_192": u.ImageURL, "image_512": u.ImageURL,
		"team": s.opts.TeamID, "status_text": "", "status_emoji": "",
	}
	if u.ID == s.opts.BotUserID {
		profile["bot_id"] = s.opts.BotID
		profile["api_app_id"] = s.opts.AppID
	}
	return obj{
		"id": u.ID, "team_id": s.opts.TeamID, "name": u.Name, "deleted": false,
		"color": "9f69e7", "real_name": real,
		"tz": "Etc/UTC", "tz_label": "Coordinated Universal Time", "tz_offset": 0,
		"profile":  profile,
		"is_admin": false, "is_owner": false, "is_primary_owner": false,
		"is_restricted": false, "is_ultra_restricted": false,
		"is_bot": u.IsBot, "is_app_user": false, "updated": 1700000000,
	}
}

func (s *Server) channelJSONLocked(ch *channel) obj {
	return obj{
		"id": ch.id, "name": ch.name, "name_normalized": ch.name,
		"is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
		"is_private": false, "is_archived": false, "is_general": false, "is_shared": false,
		"is_ext_shared": false, "is_org_shared": false, "is_member": true,
		"created": ch.created, "creator": s.opts.BotUserID, "unlinked": 0,
		"topic":   obj{"value": "", "creator": "", "last_set": 0},
		"purpose": obj{"value": "", "creator": "", "last_set": 0},
	}
}

// richText renders plain text as the rich_text block Slack's clients send
// along with a user's message.
func richText(text string) json.RawMessage {
	b, _ := json.Marshal([]obj{{
		"type":     "rich_text",
		"block_id": randomString(5, alnumMixed),
		"elements": []obj{{
			"type":     "rich_text_section",
			"elements": []obj{{"type": "text", "text": text}},
		}},
	}})
	return b
}

// encodeCursor makes an opaque pagination cursor, shaped like Slack's
// (base64 of "next_ts:..." and the like).
func encodeCursor(kind, value string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + value))
}

func decodeCursor(c string) (kind, value string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}
