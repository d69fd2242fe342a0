package slacksim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
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
	if len([]rune(c.text)) > maxTextRunes {
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
		var payload map[string]any
		if md.EventType == nil || *md.EventType == "" || json.Unmarshal(md.EventPayload, &payload) != nil || payload == nil {
			return c, fail("invalid_metadata_schema")
		}
		c.parsedMeta = json.RawMessage(c.metadata)
	}
	return c, nil
}

// normalizeBlocksLocked checks a blocks parameter and gives every block a
// block_id, as Slack does.
func (s *Server) normalizeBlocksLocked(raw string) (json.RawMessage, *apiError) {
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, fail("invalid_blocks_format")
	}
	if len(blocks) > maxBlocks {
		return nil, fail("invalid_blocks")
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		if t, _ := b["type"].(string); t == "" || !blockWithinLimits(b) {
			return nil, fail("invalid_blocks")
		}
		id, _ := b["block_id"].(string)
		if id == "" {
			id = randomString(5, alnumMixed)
			b["block_id"] = id
		}
		if ids[id] || runes(id) > 255 {
			return nil, fail("invalid_blocks") // block ids are unique in a message
		}
		ids[id] = true
	}
	out, _ := json.Marshal(blocks)
	return out, nil
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

// blockWithinLimits checks a block against Block Kit's documented limits:
// section text 3,000 characters and 10 fields of 2,000; header 150; context
// 10 elements; actions 25 elements; buttons' text 75, action_id 255, value
// 2,000; select options 100, each with text 75 and value 150.
func blockWithinLimits(b map[string]any) bool {
	text := func(v any) string {
		m, _ := v.(map[string]any)
		t, _ := m["text"].(string)
		return t
	}
	list := func(v any) []any { l, _ := v.([]any); return l }
	switch b["type"] {
	case "section":
		if runes(text(b["text"])) > 3000 || len(list(b["fields"])) > 10 {
			return false
		}
		for _, f := range list(b["fields"]) {
			if runes(text(f)) > 2000 {
				return false
			}
		}
		if acc, ok := b["accessory"].(map[string]any); ok && !elementWithinLimits(acc) {
			return false
		}
	case "header":
		if runes(text(b["text"])) > 150 {
			return false
		}
	case "context":
		if len(list(b["elements"])) > 10 {
			return false
		}
	case "actions":
		els := list(b["elements"])
		if len(els) > 25 {
			return false
		}
		for _, e := range els {
			if m, ok := e.(map[string]any); !ok || !elementWithinLimits(m) {
				return false
			}
		}
	}
	return true
}

// elementWithinLimits checks a button's or a select's sizes.
func elementWithinLimits(e map[string]any) bool {
	str := func(k string) string { v, _ := e[k].(string); return v }
	if runes(str("action_id")) > 255 || runes(str("value")) > 2000 {
		return false
	}
	if t, ok := e["text"].(map[string]any); ok {
		if s, _ := t["text"].(string); runes(s) > 75 {
			return false
		}
	}
	if opts, ok := e["options"].([]any); ok {
		if len(opts) > 100 {
			return false
		}
		for _, o := range opts {
			m, _ := o.(map[string]any)
			t, _ := m["text"].(map[string]any)
			s, _ := t["text"].(string)
			v, _ := m["value"].(string)
			if runes(s) > 75 || runes(v) > 150 {
				return false
			}
		}
	}
	return true
}

// runes counts characters, as Slack's limits do.
func runes(s string) int { return utf8.RuneCountInString(s) }
