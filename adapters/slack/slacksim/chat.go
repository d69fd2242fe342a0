package slacksim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Methods that post and change messages: chat.* and reactions.*.

// content is the text, blocks and metadata of a message being posted or updated.
type content struct {
	text, blocks, metadata         string
	hasText, hasBlocks, hasAttachm bool
	parsedBlocks                   json.RawMessage
	parsedMeta                     json.RawMessage
}

// readContentLocked checks text, blocks, attachments and metadata against Slack's limits.
func (s *Server) readContentLocked(p url.Values) (content, *apiError) {
	c := content{text: p.Get("text"), blocks: p.Get("blocks"), metadata: p.Get("metadata")}
	_, c.hasText = p["text"]
	c.hasBlocks = c.blocks != ""
	c.hasAttachm = p.Get("attachments") != "" && p.Get("attachments") != "[]"
	if runes(c.text) > maxTextRunes {
		return c, fail("msg_too_long")
	}
	if c.hasBlocks {
		b, aerr := s.normalizeBlocksLocked(c.blocks)
		if aerr != nil {
			return c, aerr
		}
		c.parsedBlocks = b
	}
	if c.hasAttachm {
		var a []json.RawMessage
		if json.Unmarshal([]byte(p.Get("attachments")), &a) != nil {
			return c, fail("invalid_attachments")
		}
	}
	if c.metadata != "" {
		var md struct {
			EventType    *string         `json:"event_type"`
			EventPayload json.RawMessage `json:"event_payload"`
		}
		if json.Unmarshal([]byte(c.metadata), &md) != nil {
			return c, fail("invalid_metadata_format")
		}
		// The payload must be an object. Unmarshal checked it is JSON, so
		// its first byte tells (decoding it into a map costs more than the
		// rest of the post).
		if md.EventType == nil || *md.EventType == "" || len(md.EventPayload) == 0 || md.EventPayload[0] != '{' {
			return c, fail("invalid_metadata_schema")
		}
		c.parsedMeta = json.RawMessage(c.metadata)
	}
	return c, nil
}

func (s *Server) chatPostMessage(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	cont, aerr := s.readContentLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if cont.text == "" && !cont.hasBlocks && !cont.hasAttachm {
		return nil, fail("no_text")
	}
	threadTS := p.Get("thread_ts")
	if threadTS != "" && ch.root(threadTS) == nil {
		return nil, fail("thread_not_found")
	}
	m := &message{Message: Message{
		Channel:  ch.id,
		TS:       s.newTSLocked(),
		ThreadTS: threadTS,
		User:     s.opts.BotUserID,
		BotID:    s.opts.BotID,
		Text:     cont.text,
		Username: p.Get("username"),
		IconURL:  p.Get("icon_url"),
		Blocks:   cont.parsedBlocks,
		Metadata: cont.parsedMeta,
	}, team: s.opts.TeamID, iconEmoji: p.Get("icon_emoji")}
	ch.addMessage(m)
	s.emitMessageLocked(ch, m)
	return obj{"channel": ch.id, "ts": m.TS, "message": s.messageJSONLocked(ch, m, renderOpts{metadata: true})}, nil
}

func (s *Server) chatUpdate(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	m := ch.live(p.Get("ts"))
	if m == nil {
		return nil, fail("message_not_found")
	}
	if !m.isBot() {
		return nil, fail("cant_update_message")
	}
	cont, aerr := s.readContentLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if cont.text == "" && !cont.hasBlocks && !cont.hasAttachm {
		return nil, fail("no_text")
	}
	prev := s.messageJSONLocked(ch, m, renderOpts{})
	if cont.hasText {
		m.Text = cont.text
	}
	if cont.hasBlocks {
		m.Blocks = cont.parsedBlocks
		if string(m.Blocks) == "[]" {
			m.Blocks = nil
		}
	}
	if cont.parsedMeta != nil {
		m.Metadata = cont.parsedMeta
	}
	m.Edited, m.editedBy, m.editedTS = true, s.opts.BotUserID, s.newTSLocked()
	s.emitChangedLocked(ch, m, prev)
	return obj{"channel": ch.id, "ts": m.TS, "text": m.Text, "message": s.messageJSONLocked(ch, m, renderOpts{metadata: true})}, nil
}

func (s *Server) chatDelete(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	m := ch.live(p.Get("ts"))
	if m == nil {
		return nil, fail("message_not_found")
	}
	if !m.isBot() {
		return nil, fail("cant_delete_message")
	}
	s.deleteLocked(ch, m)
	return obj{"channel": ch.id, "ts": m.TS}, nil
}

func (s *Server) chatPostEphemeral(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	user := p.Get("user")
	if _, ok := s.users[user]; !ok {
		return nil, fail("user_not_found")
	}
	cont, aerr := s.readContentLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if cont.text == "" && !cont.hasBlocks && !cont.hasAttachm {
		return nil, fail("no_text")
	}
	m := Message{
		Channel:  ch.id,
		TS:       s.newTSLocked(),
		ThreadTS: p.Get("thread_ts"),
		User:     s.opts.BotUserID,
		BotID:    s.opts.BotID,
		Text:     cont.text,
		Username: p.Get("username"),
		IconURL:  p.Get("icon_url"),
		Blocks:   cont.parsedBlocks,
	}
	s.ephemerals[user] = append(s.ephemerals[user], m)
	return obj{"message_ts": m.TS}, nil
}

func (s *Server) chatGetPermalink(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	m := ch.msgs[p.Get("message_ts")]
	if m == nil {
		return nil, fail("message_not_found")
	}
	link := fmt.Sprintf("https://sim.slack.local/archives/%s/p%s", ch.id, strings.ReplaceAll(m.TS, ".", ""))
	if m.ThreadTS != "" {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.id
	}
	return obj{"channel": ch.id, "permalink": link}, nil
}

// reactionTargetLocked finds the message a reactions.* call is about.
func (s *Server) reactionTargetLocked(p url.Values) (*channel, *message, *apiError) {
	if p.Get("channel") == "" || p.Get("timestamp") == "" {
		return nil, nil, fail("no_item_specified")
	}
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, nil, fail("channel_not_found")
	}
	m := ch.live(p.Get("timestamp"))
	if m == nil {
		return nil, nil, fail("message_not_found")
	}
	return ch, m, nil
}

func (s *Server) reactionsAdd(c *apiCall) (obj, *apiError) {
	ch, m, aerr := s.reactionTargetLocked(c.params)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.reactLocked(ch, m, s.opts.BotUserID, c.params.Get("name")); aerr != nil {
		return nil, aerr
	}
	return obj{}, nil
}

func (s *Server) reactionsRemove(c *apiCall) (obj, *apiError) {
	ch, m, aerr := s.reactionTargetLocked(c.params)
	if aerr != nil {
		return nil, aerr
	}
	name := strings.Trim(c.params.Get("name"), ":")
	for i, r := range m.reactions {
		if r.name != name {
			continue
		}
		j := slices.Index(r.users, s.opts.BotUserID)
		if j < 0 {
			break
		}
		r.users = slices.Delete(r.users, j, j+1)
		if len(r.users) == 0 {
			m.reactions = slices.Delete(m.reactions, i, i+1)
		}
		s.emitLocked(obj{
			"type":      "reaction_removed",
			"user":      s.opts.BotUserID,
			"reaction":  name,
			"item_user": m.User,
			"item":      obj{"type": "message", "channel": ch.id, "ts": m.TS},
			"event_ts":  s.newTSLocked(),
		})
		return obj{}, nil
	}
	return nil, fail("no_reaction")
}

func (s *Server) reactionsGet(c *apiCall) (obj, *apiError) {
	ch, m, aerr := s.reactionTargetLocked(c.params)
	if aerr != nil {
		return nil, aerr
	}
	return obj{"type": "message", "channel": ch.id, "message": s.messageJSONLocked(ch, m, renderOpts{})}, nil
}
