package slacksim

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// PostAsUser posts text as userID in channel, in the thread threadTS when it
// is not empty, and emits the message event Slack would. It returns the new
// message's ts, or "" (and records a violation) when channel or thread does
// not exist.
func (s *Server) PostAsUser(userID, channel, threadTS, text string) (ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	if ch == nil {
		s.violationLocked("sim: PostAsUser to unknown channel %q", channel)
		return ""
	}
	if _, ok := s.users[userID]; !ok {
		s.violationLocked("sim: PostAsUser by unknown user %q (AddUser first)", userID)
	}
	if threadTS != "" && ch.root(threadTS) == nil {
		s.violationLocked("sim: PostAsUser to unknown thread %s in %s", threadTS, ch.id)
		return ""
	}
	m := &message{Message: Message{
		Channel:  ch.id,
		TS:       s.newTSLocked(),
		ThreadTS: threadTS,
		User:     userID,
		Text:     text,
		Blocks:   richText(text),
	}, team: s.opts.TeamID, clientMsgID: uuid.NewString()}
	ch.addMessage(m)
	s.emitMessageLocked(ch, m)
	return m.TS
}

// userMessageLocked finds a live message of userID for an agent action.
func (s *Server) userMessageLocked(action, userID, channel, ts string) (*channel, *message) {
	ch := s.channelLocked(channel)
	if ch == nil {
		s.violationLocked("sim: %s in unknown channel %q", action, channel)
		return nil, nil
	}
	m := ch.live(ts)
	if m == nil {
		s.violationLocked("sim: %s of unknown message %s in %s", action, ts, ch.id)
		return nil, nil
	}
	if m.User != userID || m.isBot() {
		s.violationLocked("sim: %s of message %s by %s, not by %s", action, ts, m.User, userID)
		return nil, nil
	}
	return ch, m
}

// EditAsUser changes the text of userID's message and emits message_changed.
func (s *Server) EditAsUser(userID, channel, ts, newText string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m := s.userMessageLocked("EditAsUser", userID, channel, ts)
	if m == nil {
		return
	}
	prev := s.messageJSONLocked(ch, m, renderOpts{})
	m.Text = newText
	m.Blocks = richText(newText)
	m.Edited, m.editedBy, m.editedTS = true, userID, s.newTSLocked()
	s.emitChangedLocked(ch, m, prev)
}

// DeleteAsUser deletes userID's message and emits message_deleted.
func (s *Server) DeleteAsUser(userID, channel, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m := s.userMessageLocked("DeleteAsUser", userID, channel, ts)
	if m == nil {
		return
	}
	s.deleteLocked(ch, m)
}

// React adds the reaction name (without colons) of userID to a message and
// emits reaction_added.
func (s *Server) React(userID, channel, ts, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	if ch == nil {
		s.violationLocked("sim: React in unknown channel %q", channel)
		return
	}
	m := ch.live(ts)
	if m == nil {
		s.violationLocked("sim: React to unknown message %s in %s", ts, ch.id)
		return
	}
	if aerr := s.reactLocked(ch, m, userID, name); aerr != nil {
		s.violationLocked("sim: React %s: %s", name, aerr.code)
	}
}

// Response is an answer of the app to a slash command or an interaction.
type Response struct {
	// Via says how it came: "ack" (Socket Mode acknowledgement payload),
	// "http" (body of the HTTP answer) or "response_url".
	Via             string
	ResponseType    string // "ephemeral" (the default) or "in_channel"
	Text            string
	Blocks          json.RawMessage
	ThreadTS        string
	ReplaceOriginal bool
	DeleteOriginal  bool
	Raw             json.RawMessage // the answer as received
}

// responseURL is a response_url handed out with a command or interaction.
type responseURL struct {
	id        string
	userID    string
	channel   string
	messageTS string // the message an interaction came from
	ephemeral bool   // that message is ephemeral
	responses []Response
}

// ResponseURLPosts returns everything posted to the simulator's response
// URLs, oldest first.
func (s *Server) ResponseURLPosts() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Response
	for _, r := range s.responses {
		if r.Via == "response_url" {
			out = append(out, r)
		}
	}
	return out
}

// newResponseURLLocked registers a response URL.
func (s *Server) newResponseURLLocked(userID, channel, messageTS string, ephemeral bool) *responseURL {
	r := &responseURL{id: strings.ReplaceAll(uuid.NewString(), "-", ""), userID: userID, channel: channel, messageTS: messageTS, ephemeral: ephemeral}
	s.responseURLs[r.id] = r
	return r
}

func (s *Server) responseURLString(r *responseURL) string {
	return s.baseLocked() + "/response/" + r.id
}

// triggerIDLocked makes a trigger_id like Slack's.
func (s *Server) triggerIDLocked() string {
	return s.newTSLocked() + "." + randomString(12, "0123456789") + "." + randomString(32, "0123456789abcdef")
}

// SlashCommand runs command (e.g. "/xb") with text as userID in channel.
// Like Slack it sends no thread_ts. It returns the app's answers received
// by the time the command is acknowledged: the HTTP body or Socket Mode ack
// payload (when not empty) and any response_url posts made before that.
// Later response_url posts show up in ResponseURLPosts and Ephemerals.
func (s *Server) SlashCommand(userID, channel, command, text string) (responses []Response) {
	s.mu.Lock()
	ch := s.channelLocked(channel)
	if ch == nil {
		s.violationLocked("sim: SlashCommand in unknown channel %q", channel)
		s.mu.Unlock()
		return nil
	}
	if !strings.HasPrefix(command, "/") {
		s.violationLocked("sim: slash command %q does not start with /", command)
	}
	u := s.users[userID]
	ru := s.newResponseURLLocked(userID, ch.id, "", false)
	fields := [][2]string{
		{"token", s.opts.VerificationToken},
		{"team_id", s.opts.TeamID},
		{"team_domain", "sim"},
		{"channel_id", ch.id},
		{"channel_name", ch.name},
		{"user_id", userID},
		{"user_name", u.Name},
		{"command", command},
		{"text", text},
		{"api_app_id", s.opts.AppID},
		{"is_enterprise_install", "false"},
		{"response_url", s.responseURLString(ru)},
		{"trigger_id", s.triggerIDLocked()},
	}
	target := s.commandsURL
	s.mu.Unlock()

	form := url.Values{}
	js := obj{}
	for _, f := range fields {
		form.Set(f[0], f[1])
		js[f[0]] = f[1]
	}
	js["is_enterprise_install"] = false
	payload, _ := json.Marshal(js)
	answer, via, ok := s.interact(kindCommands, payload, form, target)

	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(ru.responses)
	if ok {
		if r, has := parseResponse(via, answer); has {
			s.applyResponseLocked(ru, r)
			out = append(out, r)
		}
	}
	return out
}

// ClickButton clicks the button with actionID on a message (in channel, or
// an ephemeral one shown to userID) and sends the block_actions interaction.
// value may be empty to send the button's own value. It returns once the app
// acknowledged the interaction (or did not in time).
func (s *Server) ClickButton(userID, channel, messageTS, actionID, value string) {
	s.blockAction("ClickButton", "button", userID, channel, messageTS, actionID, value)
}

// SelectOption picks the option with value in the static_select with
// actionID on a message and sends the block_actions interaction.
func (s *Server) SelectOption(userID, channel, messageTS, actionID, value string) {
	s.blockAction("SelectOption", "static_select", userID, channel, messageTS, actionID, value)
}

func (s *Server) blockAction(what, elemType, userID, channel, messageTS, actionID, value string) {
	s.mu.Lock()
	payload, ok := s.blockActionLocked(what, elemType, userID, channel, messageTS, actionID, value)
	target := s.interactionsURL
	s.mu.Unlock()
	if ok {
		s.deliverAction(payload, target)
	}
}

// DoubleClickButton clicks a button twice in quick succession, as someone
// who double-clicks: both block_actions interactions are made from the
// message as it is before the app answers either, then sent at once. It
// returns once the app acknowledged both.
func (s *Server) DoubleClickButton(userID, channel, messageTS, actionID, value string) {
	s.mu.Lock()
	var payloads [][]byte
	for range 2 {
		if p, ok := s.blockActionLocked("DoubleClickButton", "button", userID, channel, messageTS, actionID, value); ok {
			payloads = append(payloads, p)
		}
	}
	target := s.interactionsURL
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.deliverAction(p, target)
		}()
	}
	wg.Wait()
}

// blockActionLocked makes the block_actions payload of a click on the
// element actionID of a message; false (and a violation) when there is no
// such element.
func (s *Server) blockActionLocked(what, elemType, userID, channel, messageTS, actionID, value string) ([]byte, bool) {
	ch := s.channelLocked(channel)
	if ch == nil {
		s.violationLocked("sim: %s in unknown channel %q", what, channel)
		return nil, false
	}
	var msgJSON obj
	var blocks json.RawMessage
	ephemeral := false
	threadTS := ""
	if m := ch.live(messageTS); m != nil {
		msgJSON = s.messageJSONLocked(ch, m, renderOpts{})
		blocks = m.Blocks
		threadTS = m.ThreadTS
	} else {
		for _, e := range s.ephemerals[userID] {
			if e.TS == messageTS && e.Channel == ch.id {
				ephemeral = true
				blocks = e.Blocks
				threadTS = e.ThreadTS
				msgJSON = obj{"type": "message", "ts": e.TS, "text": e.Text, "user": e.User, "bot_id": e.BotID, "blocks": e.Blocks}
			}
		}
	}
	if msgJSON == nil {
		s.violationLocked("sim: %s on unknown message %s in %s", what, messageTS, ch.id)
		return nil, false
	}
	blockID, elem := findElement(blocks, actionID)
	if elem == nil {
		s.violationLocked("sim: %s: message %s has no element with action_id %q", what, messageTS, actionID)
		return nil, false
	}
	if t, _ := elem["type"].(string); t != elemType {
		s.violationLocked("sim: %s: element %q is a %s, not a %s", what, actionID, t, elemType)
		return nil, false
	}
	actionTS := s.newTSLocked()
	action := obj{"action_id": actionID, "block_id": blockID, "type": elemType, "action_ts": actionTS}
	state := obj{}
	switch elemType {
	case "button":
		own, _ := elem["value"].(string)
		switch {
		case value == "":
			value = own
		case own != "" && own != value:
			s.violationLocked("sim: ClickButton value %q differs from the button's %q", value, own)
		}
		action["value"] = value
		if t, ok := elem["text"]; ok {
			action["text"] = t
		}
		if st, ok := elem["style"]; ok {
			action["style"] = st
		}
	case "static_select":
		opt := findOption(elem, value)
		if opt == nil {
			s.violationLocked("sim: SelectOption: select %q has no option %q", actionID, value)
			return nil, false
		}
		action["selected_option"] = opt
		if ph, ok := elem["placeholder"]; ok {
			action["placeholder"] = ph
		}
		state[blockID] = obj{actionID: obj{"type": elemType, "selected_option": opt}}
	}
	container := obj{"type": "message", "message_ts": messageTS, "channel_id": ch.id, "is_ephemeral": ephemeral}
	if threadTS != "" {
		container["thread_ts"] = threadTS
	}
	u := s.users[userID]
	ru := s.newResponseURLLocked(userID, ch.id, messageTS, ephemeral)
	payload := obj{
		"type":                  "block_actions",
		"user":                  obj{"id": userID, "username": u.Name, "name": u.Name, "team_id": s.opts.TeamID},
		"api_app_id":            s.opts.AppID,
		"token":                 s.opts.VerificationToken,
		"container":             container,
		"trigger_id":            s.triggerIDLocked(),
		"team":                  obj{"id": s.opts.TeamID, "domain": "sim"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               obj{"id": ch.id, "name": ch.name},
		"message":               msgJSON,
		"state":                 obj{"values": state},
		"response_url":          s.responseURLString(ru),
		"actions":               []obj{action},
	}
	b, _ := json.Marshal(payload)
	return b, true
}

// deliverAction sends a block_actions payload to the app and records its
// answer.
func (s *Server) deliverAction(b []byte, target string) {
	answer, via, ok := s.interact(kindInteractive, b, url.Values{"payload": {string(b)}}, target)
	if !ok {
		return
	}
	if r, has := parseResponse(via, answer); has {
		s.mu.Lock()
		s.responses = append(s.responses, r)
		s.mu.Unlock()
	}
}

// findElement finds the interactive element with actionID in blocks and the
// block_id of the block holding it.
func findElement(blocks json.RawMessage, actionID string) (string, map[string]any) {
	var list []map[string]any
	if json.Unmarshal(blocks, &list) != nil {
		return "", nil
	}
	var walk func(v any) map[string]any
	walk = func(v any) map[string]any {
		switch x := v.(type) {
		case map[string]any:
			if id, _ := x["action_id"].(string); id == actionID {
				return x
			}
			for _, k := range []string{"elements", "accessory", "element"} {
				if found := walk(x[k]); found != nil {
					return found
				}
			}
		case []any:
			for _, it := range x {
				if found := walk(it); found != nil {
					return found
				}
			}
		}
		return nil
	}
	for _, b := range list {
		if el := walk(b); el != nil {
			id, _ := b["block_id"].(string)
			return id, el
		}
	}
	return "", nil
}

// findOption finds the option with value in a select element.
func findOption(elem map[string]any, value string) map[string]any {
	var opts []any
	if o, ok := elem["options"].([]any); ok {
		opts = append(opts, o...)
	}
	if groups, ok := elem["option_groups"].([]any); ok {
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				if o, ok := gm["options"].([]any); ok {
					opts = append(opts, o...)
				}
			}
		}
	}
	for _, o := range opts {
		if om, ok := o.(map[string]any); ok && om["value"] == value {
			return om
		}
	}
	return nil
}

// parseResponse reads an answer body; an empty body is no response.
func parseResponse(via string, body []byte) (Response, bool) {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" || trimmed == "null" || trimmed == "{}" {
		return Response{}, false
	}
	var m struct {
		ResponseType    string          `json:"response_type"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ThreadTS        string          `json:"thread_ts"`
		ReplaceOriginal any             `json:"replace_original"`
		DeleteOriginal  any             `json:"delete_original"`
	}
	if json.Unmarshal(body, &m) != nil {
		return Response{Via: via, ResponseType: "ephemeral", Text: trimmed, Raw: body}, true
	}
	rt := m.ResponseType
	if rt == "" {
		rt = "ephemeral"
	}
	return Response{
		Via: via, ResponseType: rt, Text: m.Text, Blocks: m.Blocks, ThreadTS: m.ThreadTS,
		ReplaceOriginal: truthy(m.ReplaceOriginal), DeleteOriginal: truthy(m.DeleteOriginal),
		Raw: slices.Clone(json.RawMessage(body)),
	}, true
}

// truthy reads the booleans of response_url payloads, which Slack accepts
// as true or "true".
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}
