package discordsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Application command types and option types used by the simulator.
const (
	commandChatInput = 1
	optionSubcommand = 1
	optionGroup      = 2
	maxChatInput     = 100
	maxOtherCommands = 5
)

// command is a registered application command.
type command struct {
	id, guildID, name string
	typ               int
	options           []any // as registered, nulls removed
	json              obj   // the command object answered
}

// commandName is what Discord accepts as the name of a CHAT_INPUT command or
// option: 1 to 32 lower-case letters, digits, - and _.
var commandName = regexp.MustCompile(`^[-_\p{Ll}\p{Lo}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// commandsScopeLocked checks the application and guild of a commands
// route; guildID is "" for global commands.
func (s *Server) commandsScopeLocked(x *exchange) (guildID string, ok bool) {
	if x.param("application_id") != s.opts.AppID {
		x.refuse(http.StatusForbidden, 50001, "Missing Access",
			"application id "+x.param("application_id")+" is not the bot's application ("+s.opts.AppID+")")
		return "", false
	}
	if g, has := x.rt.params["guild_id"]; has {
		if g != s.opts.GuildID {
			x.refuse(http.StatusForbidden, 50001, "Missing Access", "the bot is not in guild "+g)
			return "", false
		}
		return g, true
	}
	return "", true
}

// dropNulls removes null members from objects, recursively.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}

// checkOptionNames checks the names of a CHAT_INPUT command's options,
// recursively: valid and unique at each level.
func checkOptionNames(fe *formError, path []string, options []any) {
	seen := map[string]bool{}
	for i, o := range options {
		opt, _ := o.(map[string]any)
		name, _ := opt["name"].(string)
		at := append(append([]string{}, path...), "options", strconv.Itoa(i))
		if !commandName.MatchString(name) {
			fe.add(append(at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		if seen[name] {
			fe.add(append(at, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
		}
		seen[name] = true
		if sub, ok := opt["options"].([]any); ok {
			checkOptionNames(fe, at, sub)
		}
	}
}

// putCommands serves PUT /applications/{application_id}/guilds/{guild_id}/commands
// (and the global route): the set given replaces the registered one. A
// command keeps its id when one of the same type and name existed.
func (s *Server) putCommands(x *exchange) {
	var list []map[string]any
	dec := json.NewDecoder(bytes.NewReader(x.body))
	dec.UseNumber()
	_ = dec.Decode(&list)
	s.mu.Lock()
	defer s.mu.Unlock()
	guildID, ok := s.commandsScopeLocked(x)
	if !ok {
		return
	}
	fe := &formError{}
	seen := map[string]bool{}
	counts := map[int]int{}
	for i, c := range list {
		dropNulls(c)
		typ := commandChatInput
		if n, ok := c["type"].(json.Number); ok {
			t, _ := n.Int64()
			typ = int(t)
		}
		name, _ := c["name"].(string)
		at := []string{strconv.Itoa(i)}
		key := strconv.Itoa(typ) + "/" + name
		if seen[key] {
			fe.add(append(at, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
		counts[typ]++
		if typ == commandChatInput {
			if !commandName.MatchString(name) {
				fe.add(append(at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
			}
			if d, _ := c["description"].(string); d == "" {
				fe.add(append(at, "description"), "BASE_TYPE_REQUIRED", "This field is required")
			}
			if opts, ok := c["options"].([]any); ok {
				checkOptionNames(fe, at, opts)
			}
		}
	}
	if counts[commandChatInput] > maxChatInput {
		fe.add(nil, "APPLICATION_COMMANDS_TOO_MANY", "Maximum number of application commands reached (100)")
	}
	for typ, n := range counts {
		if typ != commandChatInput && n > maxOtherCommands {
			fe.add(nil, "APPLICATION_COMMANDS_TOO_MANY", "Maximum number of user and message commands reached (5 each)")
		}
	}
	if len(fe.problems) > 0 {
		x.invalid(fe)
		return
	}

	old := map[string]string{}
	var keep []*command
	for _, c := range s.commands {
		if c.guildID == guildID {
			old[strconv.Itoa(c.typ)+"/"+c.name] = c.id
		} else {
			keep = append(keep, c)
		}
	}
	version := s.snowflakeLocked()
	out := make([]obj, 0, len(list))
	for _, c := range list {
		typ := commandChatInput
		if n, ok := c["type"].(json.Number); ok {
			t, _ := n.Int64()
			typ = int(t)
		}
		name, _ := c["name"].(string)
		id := old[strconv.Itoa(typ)+"/"+name]
		if id == "" {
			id = s.snowflakeLocked()
		}
		cmd := &command{id: id, guildID: guildID, name: name, typ: typ}
		o := obj{}
		for k, v := range c {
			o[k] = v
		}
		o["id"] = id
		o["application_id"] = s.opts.AppID
		o["version"] = version
		o["type"] = typ
		if guildID != "" {
			o["guild_id"] = guildID
		}
		if _, ok := o["description"]; !ok {
			o["description"] = ""
		}
		switch p := o["default_member_permissions"].(type) {
		case json.Number:
			o["default_member_permissions"] = p.String()
		case nil:
			o["default_member_permissions"] = nil
		}
		delete(o, "default_permission")
		o["dm_permission"] = guildID == ""
		if _, ok := o["nsfw"]; !ok {
			o["nsfw"] = false
		}
		o["integration_types"] = []int{0}
		if opts, ok := o["options"].([]any); ok && len(opts) > 0 {
			cmd.options = opts
		} else {
			delete(o, "options")
		}
		cmd.json = o
		keep = append(keep, cmd)
		out = append(out, o)
	}
	s.commands = keep
	x.reply(http.StatusOK, out)
}

// getCommands serves GET /applications/{application_id}/guilds/{guild_id}/commands
// (and the global route).
func (s *Server) getCommands(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	guildID, ok := s.commandsScopeLocked(x)
	if !ok {
		return
	}
	out := []obj{}
	for _, c := range s.commands {
		if c.guildID == guildID {
			out = append(out, c.json)
		}
	}
	x.reply(http.StatusOK, out)
}

// Commands returns the registered application commands (guild ones, then
// global ones, each in registration order) as the API answers them.
func (s *Server) Commands() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []json.RawMessage
	for _, global := range []bool{false, true} {
		for _, c := range s.commands {
			if (c.guildID == "") == global {
				out = append(out, marshal(c.json))
			}
		}
	}
	return out
}

// commandLocked finds a registered CHAT_INPUT command by name, guild
// commands first.
func (s *Server) commandLocked(name string) *command {
	name = strings.TrimPrefix(name, "/")
	var global *command
	for _, c := range s.commands {
		if c.typ != commandChatInput || c.name != name {
			continue
		}
		if c.guildID != "" {
			return c
		}
		global = c
	}
	return global
}
