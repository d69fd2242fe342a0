package discordsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Interaction types.
const (
	interactionPing         = 1
	interactionCommand      = 2
	interactionComponent    = 3
	interactionAutocomplete = 4
	interactionModal        = 5
)

// Interaction callback types.
const (
	CallbackPong                     = 1
	CallbackChannelMessageWithSource = 4
	CallbackDeferredChannelMessage   = 5
	CallbackDeferredUpdateMessage    = 6
	CallbackUpdateMessage            = 7
	CallbackAutocompleteResult       = 8
	CallbackModal                    = 9
)

// tokenLifetime is how long an interaction token takes follow-ups.
const tokenLifetime = 15 * time.Minute

// callbackFlags are the flags an interaction answer or follow-up may set.
const callbackFlags = FlagEphemeral | flagSuppressEm | flagSilent | flagCompV2

// CommandOption is an option of a slash command invocation.
type CommandOption struct {
	Name    string
	Type    int // option type; 0 takes it from the registered command
	Value   any // for value options: string, number, bool, or an id
	Options []CommandOption
}

// InteractionResult is what the app answered to an interaction: the
// callback (Type, and the message it made or updated), then the
// follow-ups sent by the time it is taken.
type InteractionResult struct {
	ID, Token string
	Via       string // "gateway" or "http"
	Type      int    // callback type answered; 0 when the app did not answer in time
	// The message of the original response (types 4, 5 once edited, 6 once
	// @original is edited, and 7): its state when the result was taken.
	MessageID  string
	Content    string
	Ephemeral  bool
	Flags      int
	Embeds     json.RawMessage
	Components json.RawMessage
	Data       json.RawMessage // the callback's data as sent (modals, autocomplete choices)
	FollowUps  []Message
	Failed     bool // the user saw "This interaction failed"
}

// interaction is the simulator's record of an interaction.
type interaction struct {
	id, token string
	typ       int
	userID    string
	channelID string
	messageID string // the component's message
	command   string
	via       string
	delivered time.Time // wall clock, for the answer deadline
	created   time.Time // simulator clock, for the token lifetime

	answered       bool
	expired        bool
	cbType         int
	cbData         json.RawMessage
	originalID     string
	originalEdited bool
	followUps      []string

	answeredCh chan struct{}
	progress   chan struct{}
}

func (in *interaction) signal() {
	select {
	case in.progress <- struct{}{}:
	default:
	}
}

// SetInteractionsURL sets the interactions endpoint URL. When set,
// interactions are POSTed there, signed with Ed25519; otherwise they go
// over the Gateway as INTERACTION_CREATE.
func (s *Server) SetInteractionsURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interURL = u
}

// Interaction returns the current result of an interaction, with the
// follow-ups sent since it was delivered.
func (s *Server) Interaction(id string) (InteractionResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[id]
	if in == nil {
		return InteractionResult{}, false
	}
	return s.resultLocked(in), true
}

func (s *Server) newInteractionLocked(typ int, userID, channelID string) *interaction {
	in := &interaction{
		id:         s.snowflakeLocked(),
		token:      "aW50ZXJhY3Rpb246" + randomHex(40),
		typ:        typ,
		userID:     userID,
		channelID:  channelID,
		created:    s.now(),
		answeredCh: make(chan struct{}),
		progress:   make(chan struct{}, 1),
	}
	for id, old := range s.interactions {
		if in.created.Sub(old.created) > 2*tokenLifetime {
			delete(s.interactions, id)
		}
	}
	s.interactions[in.id] = in
	return in
}

// interactionPayloadLocked is the interaction object common to every type.
// In a DM channel it carries the user instead of a guild and member.
func (s *Server) interactionPayloadLocked(in *interaction, mem *Member, c *channel) obj {
	p := obj{
		"id":                             in.id,
		"application_id":                 s.opts.AppID,
		"type":                           in.typ,
		"token":                          in.token,
		"version":                        1,
		"channel_id":                     c.ID,
		"channel":                        s.channelJSONLocked(c),
		"app_permissions":                appPermissions,
		"locale":                         "en-US",
		"entitlements":                   []any{},
		"authorizing_integration_owners": obj{"0": "0"},
		"context":                        1, // BOT_DM
		"attachment_size_limit":          maxFileSize,
	}
	if c.Type == ChannelDM {
		p["user"] = userJSON(mem)
		return p
	}
	member := s.memberJSONLocked(mem, true)
	member["permissions"] = everyonePermissions
	p["member"] = member
	p["guild_id"] = s.opts.GuildID
	p["guild"] = obj{"id": s.opts.GuildID, "locale": "en-US", "features": []string{}}
	p["guild_locale"] = "en-US"
	p["authorizing_integration_owners"] = obj{"0": s.opts.GuildID}
	p["context"] = 0 // GUILD
	return p
}

// ClickButton makes userID click the button with customID on a message and
// delivers the MESSAGE_COMPONENT interaction. It returns once the app
// answered (and, for a deferred answer, sent its first follow-up or edit,
// or FollowUpWait passed), or once the 3 s ran out.
func (s *Server) ClickButton(userID, channelID, messageID, customID string) InteractionResult {
	s.mu.Lock()
	in, p := s.clickLocked("ClickButton", userID, channelID, messageID, customID)
	s.mu.Unlock()
	if in == nil {
		return InteractionResult{Failed: true}
	}
	return s.deliverInteraction(in, p)
}

// DoubleClickButton clicks a button twice in quick succession, as someone
// who double-clicks: both interactions are made from the message as it is
// before the app answers either, then delivered at once. It returns both
// results, as ClickButton does.
func (s *Server) DoubleClickButton(userID, channelID, messageID, customID string) [2]InteractionResult {
	var out [2]InteractionResult
	s.mu.Lock()
	var ins [2]*interaction
	var ps [2]obj
	for i := range ins {
		ins[i], ps[i] = s.clickLocked("DoubleClickButton", userID, channelID, messageID, customID)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for i := range ins {
		if ins[i] == nil {
			out[i] = InteractionResult{Failed: true}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.deliverInteraction(ins[i], ps[i])
		}()
	}
	wg.Wait()
	return out
}

// clickLocked makes the MESSAGE_COMPONENT interaction of a click on a
// button; nil (and a violation) when the click cannot happen.
func (s *Server) clickLocked(what, userID, channelID, messageID, customID string) (*interaction, obj) {
	c := s.channels[channelID]
	var m *message
	if c != nil {
		m = c.live(messageID)
	}
	mem := s.members[userID]
	switch {
	case c == nil || m == nil:
		s.violationLocked("sim: %s on unknown message %s in channel %s", what, messageID, channelID)
		return nil, nil
	case mem == nil:
		s.violationLocked("sim: %s by unknown member %s", what, userID)
		return nil, nil
	case c.Type == ChannelDM && c.RecipientID != userID:
		s.violationLocked("sim: %s by %s in the direct messages of %s", what, userID, c.RecipientID)
		return nil, nil
	case m.Ephemeral && m.inter != nil && m.inter.userID != userID:
		s.violationLocked("sim: %s by %s on a message only %s sees", what, userID, m.inter.userID)
		return nil, nil
	}
	btn, ok := findButton(m.Components, customID)
	switch {
	case !ok:
		s.violationLocked("sim: %s: message %s has no component with custom_id %q", what, messageID, customID)
	case btn.Type != componentButton:
		s.violationLocked("sim: %s: component %q is of type %d, not a button", what, customID, btn.Type)
		ok = false
	case btn.Disabled:
		s.violationLocked("sim: %s: button %q is disabled", what, customID)
		ok = false
	}
	if !ok {
		return nil, nil
	}
	in := s.newInteractionLocked(interactionComponent, userID, c.ID)
	in.messageID = m.ID
	p := s.interactionPayloadLocked(in, mem, c)
	p["data"] = obj{"custom_id": customID, "component_type": componentButton}
	p["message"] = s.messageJSONLocked(c, m, renderOpts{})
	return in, p
}

// SlashCommand makes userID run the registered CHAT_INPUT command name in
// channelID with options (sub-commands are options of type 1 with their
// own options) and delivers the APPLICATION_COMMAND interaction. It
// returns as ClickButton does.
func (s *Server) SlashCommand(userID, channelID, name string, options []CommandOption) InteractionResult {
	s.mu.Lock()
	c := s.channels[channelID]
	mem := s.members[userID]
	cmd := s.commandLocked(name)
	var err error
	var opts []obj
	resolved := obj{}
	if cmd != nil {
		opts, err = s.resolveOptionsLocked(cmd.options, options, resolved)
	}
	switch {
	case c == nil:
		err = fmt.Errorf("unknown channel %s", channelID)
	case mem == nil:
		err = fmt.Errorf("unknown member %s", userID)
	case cmd == nil:
		err = fmt.Errorf("/%s is not a registered command", name)
	}
	if err != nil {
		s.violationLocked("sim: SlashCommand /%s: %v", name, err)
		s.mu.Unlock()
		return InteractionResult{Failed: true}
	}
	in := s.newInteractionLocked(interactionCommand, userID, c.ID)
	in.command = cmd.name
	p := s.interactionPayloadLocked(in, mem, c)
	data := obj{"id": cmd.id, "name": cmd.name, "type": commandChatInput}
	if len(opts) > 0 {
		data["options"] = opts
	}
	if len(resolved) > 0 {
		data["resolved"] = resolved
	}
	if cmd.guildID != "" {
		data["guild_id"] = cmd.guildID
	}
	p["data"] = data
	s.mu.Unlock()
	return s.deliverInteraction(in, p)
}

// resolveOptionsLocked checks given options against their definitions and
// renders them as the interaction's data.options.
func (s *Server) resolveOptionsLocked(defs []any, given []CommandOption, resolved obj) ([]obj, error) {
	find := func(name string) map[string]any {
		for _, d := range defs {
			if m, ok := d.(map[string]any); ok && m["name"] == name {
				return m
			}
		}
		return nil
	}
	out := make([]obj, 0, len(given))
	for _, g := range given {
		def := find(g.Name)
		if def == nil {
			return nil, fmt.Errorf("the command has no option %q", g.Name)
		}
		typ := g.Type
		if n, ok := def["type"].(json.Number); ok && typ == 0 {
			t, _ := n.Int64()
			typ = int(t)
		}
		o := obj{"name": g.Name, "type": typ}
		if typ == optionSubcommand || typ == optionGroup {
			sub, _ := def["options"].([]any)
			nested, err := s.resolveOptionsLocked(sub, g.Options, resolved)
			if err != nil {
				return nil, err
			}
			o["options"] = nested
		} else {
			o["value"] = g.Value
			if id, ok := g.Value.(string); ok && (typ == 6 || typ == 9) {
				if mem := s.members[id]; mem != nil {
					users, _ := resolved["users"].(obj)
					members, _ := resolved["members"].(obj)
					if users == nil {
						users, members = obj{}, obj{}
						resolved["users"], resolved["members"] = users, members
					}
					users[id] = userJSON(mem)
					mj := s.memberJSONLocked(mem, false)
					mj["permissions"] = everyonePermissions
					members[id] = mj
				}
			}
		}
		out = append(out, o)
	}
	for _, d := range defs {
		m, _ := d.(map[string]any)
		if req, _ := m["required"].(bool); req && !slices.ContainsFunc(given, func(g CommandOption) bool { return g.Name == m["name"] }) {
			return nil, fmt.Errorf("required option %q missing", m["name"])
		}
	}
	return out, nil
}

// deliverInteraction sends an interaction to the app and waits for its
// answer (see ClickButton).
func (s *Server) deliverInteraction(in *interaction, payload obj) InteractionResult {
	s.mu.Lock()
	target := s.interURL
	in.delivered = time.Now()
	if target == "" {
		in.via = "gateway"
		sess := s.interactionSessionLocked()
		if sess == nil {
			in.expired = true
			s.violationLocked("interaction %s failed: the app has no interactions endpoint URL and no Gateway session", in.id)
			defer s.mu.Unlock()
			return s.resultLocked(in)
		}
		s.sendLocked(sess, "INTERACTION_CREATE", payload)
	} else {
		in.via = "http"
	}
	s.mu.Unlock()

	deadline := in.delivered.Add(s.opts.InteractionTimeout)
	if target != "" && !s.deliverHTTP(in, target, marshal(payload), deadline) {
		// The delivery failed for good (and was recorded): the user sees
		// "This interaction failed" at once.
		s.mu.Lock()
		defer s.mu.Unlock()
		if !in.answered {
			in.expired = true
		}
		return s.resultLocked(in)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-in.answeredCh:
	case <-t.C:
	case <-s.done:
	}
	s.mu.Lock()
	s.expireLocked(in)
	deferred := in.answered && (in.cbType == CallbackDeferredChannelMessage || in.cbType == CallbackDeferredUpdateMessage)
	s.mu.Unlock()
	if deferred {
		t := time.NewTimer(s.opts.FollowUpWait)
		select {
		case <-in.progress:
		case <-t.C:
		case <-s.done:
		}
		t.Stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resultLocked(in)
}

// expireLocked marks an interaction that was not answered in time as failed.
func (s *Server) expireLocked(in *interaction) {
	if in.answered || in.expired {
		return
	}
	select {
	case <-s.done:
		in.expired = true // the simulator is closing: not the app's fault
		return
	default:
	}
	if time.Since(in.delivered) < s.opts.InteractionTimeout {
		return
	}
	in.expired = true
	s.violationLocked("interaction %s failed: no answer within %v (the user saw \"This interaction failed\")", in.id, s.opts.InteractionTimeout)
}

// resultLocked snapshots what the app answered to in.
func (s *Server) resultLocked(in *interaction) InteractionResult {
	r := InteractionResult{
		ID:        in.id,
		Token:     in.token,
		Via:       in.via,
		Type:      in.cbType,
		Data:      slices.Clone(in.cbData),
		MessageID: in.originalID,
		Failed:    in.expired && !in.answered,
	}
	c := s.channels[in.channelID]
	if c == nil {
		return r
	}
	if m := c.byID[in.originalID]; m != nil && (in.cbType != CallbackDeferredUpdateMessage || in.originalEdited) {
		r.Content = m.Content
		r.Ephemeral = m.Ephemeral
		r.Flags = m.Flags
		r.Embeds = slices.Clone(m.Embeds)
		r.Components = slices.Clone(m.Components)
	}
	for _, id := range in.followUps {
		if m := c.byID[id]; m != nil {
			r.FollowUps = append(r.FollowUps, m.snapshot())
		}
	}
	return r
}
