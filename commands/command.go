package commands

import (
	"context"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

// Role is what a chat user is to the support team. The platform adapter
// derives roles from its own configuration (a Slack user group, a Discord
// role) and puts them in the Invocation.
type Role = bridge.Role

// The roles, as the domain defines them.
const (
	RoleAgent    = bridge.RoleAgent    // works customer conversations
	RoleEngineer = bridge.RoleEngineer // joins threads and escalations; internal by default
	RoleLead     = bridge.RoleLead     // an agent who may also reassign and reopen late
)

// Source is how a command reached the bridge.
type Source string

// Sources.
const (
	SourceText     Source = "text"     // "!tag billing" typed in a thread
	SourceSlash    Source = "slash"    // "/xb tag billing #42"; the platform strips "/xb"
	SourceButton   Source = "button"   // a button whose action id is ButtonAction(text)
	SourceReaction Source = "reaction" // an emoji reaction mapped by FromReaction
)

// Invocation is who runs a command, where, and how. Executors receive it
// with ConversationID set to the conversation the command acts on.
type Invocation struct {
	Source   Source
	Platform string // "slack", "discord"
	// ConversationID is the conversation (ticket number) the command acts
	// on; 0 when the platform does not know it. Processor.Run fills it in
	// from a ticket reference in the text.
	ConversationID int64
	// Channel and ThreadID locate the chat thread the command was given in;
	// ThreadID is empty outside threads (a Slack slash command never knows
	// its thread). Executors may use them to find the conversation of a
	// thread when the platform could not.
	Channel  string
	ThreadID string

	ActorID   string // the platform's user id of the person running the command
	ActorName string
	Roles     []Role
	EventID   string // the platform's event id, for deduplication
	// MessageID is the chat message that carried a command typed in a
	// thread (`!reply …`: that message gets the delivery marks).
	MessageID string
}

// Has reports whether the invocation's actor has role r; a lead has the
// agent role too.
func (inv Invocation) Has(r Role) bool {
	for _, have := range inv.Roles {
		if have == r || (have == RoleLead && r == RoleAgent) {
			return true
		}
	}
	return false
}

// InConversation reports whether the command was given where its
// conversation is known or knowable: a conversation id, or a chat thread.
// Outside one, a ticket reference in the text names the conversation.
func (inv Invocation) InConversation() bool {
	return inv.ConversationID != 0 || inv.ThreadID != ""
}

// Reply is what the person who ran a command sees. State changes also post
// their own notices in the conversation's thread through the executor, so a
// Reply with empty Text means "show nothing".
type Reply struct {
	// Text is plain text with `code` spans; it may quote what the user
	// typed, so adapters escape it for their platform (Slack's &, <, >) and
	// post it without pinging anyone (Discord allowed_mentions).
	Text string
	// Ephemeral asks the platform to show the text to the caller only.
	// Every reply this package makes is ephemeral; an adapter that cannot
	// show ephemeral messages (a Discord reply to a text message) should
	// fall back to a direct message rather than post in the thread.
	Ephemeral bool
	// Refused is the error code (bridge.ENOTFOUND, …) the command was
	// refused with by the executor; "" when it ran, or never reached the
	// executor (a usage error, a missing role). Adapters use it to stay
	// silent where a reaction fell outside a ticket thread.
	Refused string
	// Buttons are offered under the text, to the caller only (a preview's
	// Send and Cancel). Each runs its Command when clicked.
	Buttons []Button
	// Replace asks the adapter to put the reply in place of the message
	// whose button ran the command (the preview Send answered), without
	// that message's buttons; adapters that cannot show it anew instead.
	Replace bool
}

// Button is a button offered with a Reply. Adapters give it the action id
// ButtonAction(Command), so that a click comes back as that command, run
// with SourceButton by the person who clicked.
type Button struct {
	Label   string
	Command string // command text, e.g. "preview-send 17"
	Style   ButtonStyle
}

// ButtonStyle is how a button looks.
type ButtonStyle string

// Button styles, which adapters map onto their platform's.
const (
	ButtonDefault ButtonStyle = ""
	ButtonPrimary ButtonStyle = "primary" // the action the message is about
	ButtonDanger  ButtonStyle = "danger"
)

// Handler runs a parsed command. args satisfy the command's Params (see
// Param); inv.ConversationID is set when the command needs a conversation.
// A non-nil error is shown to the caller through bridge.ErrorMessage, and
// the Reply is then ignored.
type Handler func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error)

// Command is one command of the language, declared as a value.
type Command struct {
	Name    string   // lowercase; what the canonical rendering uses
	Aliases []string // lowercase
	Params  []Param
	Summary string // one line for the command list
	Help    string // optional more detail for "help <name>"
	Example string // example arguments, e.g. "billing refund"; may be empty
	// Roles may run the command; empty means everyone. RoleLead implies
	// RoleAgent. Checks that depend on state (assigning someone else,
	// reopening after the window) are the executor's.
	Roles []Role
	// NeedsConversation: the command acts on one conversation, so outside a
	// thread it needs a ticket reference.
	NeedsConversation bool
	// Hidden commands are run by the buttons of replies (a preview's Send)
	// rather than typed: help and the platforms' slash menus leave them
	// out.
	Hidden bool
	Run    Handler
}

// Usage is the command's synopsis without a prefix, e.g.
// "tag <tag> [tag…]".
func (c *Command) Usage() string {
	var b strings.Builder
	b.WriteString(c.Name)
	for _, p := range c.Params {
		b.WriteByte(' ')
		b.WriteString(p.synopsis())
	}
	return b.String()
}

// AllowedFor reports whether an invocation with inv's roles may run c.
func (c *Command) AllowedFor(inv Invocation) bool {
	if len(c.Roles) == 0 {
		return true
	}
	for _, r := range c.Roles {
		if inv.Has(r) {
			return true
		}
	}
	return false
}

// ParamKind is what an argument must look like.
type ParamKind int

// Parameter kinds.
const (
	// ArgWord is one token: a bare word or a "quoted phrase", not empty and
	// without quote characters (a saved reply's name, a command name).
	ArgWord ParamKind = iota
	// ArgTag is a tag, lowercased, matching [a-z0-9][a-z0-9_-]{0,31}.
	ArgTag
	// ArgUser is a mention, kept exactly as the platform wrote it: Slack
	// <@U123ABC> or <@U123ABC|name>, Discord <@123> or <@!123>, or a plain
	// @name. The executor resolves it.
	ArgUser
	// ArgChoice is one of Param.Choices, case-insensitive, lowercased.
	ArgChoice
	// ArgText is the rest of the input, verbatim: spacing, newlines and
	// quotes are kept. It must be the last parameter.
	ArgText
)

// Param declares one argument of a command.
type Param struct {
	Name     string // shown in usage: "tag", "reason", "@user"
	Kind     ParamKind
	Choices  []string // ArgChoice: the allowed values, lowercase
	Optional bool
	// Variadic takes every remaining token (at least one unless Optional);
	// only the last parameter may be variadic. ArgText is always "the
	// rest" and one argument.
	Variadic bool
	// KnownTag (ArgTag): refuse tags missing from Processor.KnownTags, when
	// that is set.
	KnownTag bool
}

// synopsis renders the parameter for a usage line.
func (p Param) synopsis() string {
	name := p.Name
	switch p.Kind {
	case ArgChoice:
		name = strings.Join(p.Choices, "|")
	case ArgUser:
		if !strings.HasPrefix(name, "@") {
			name = "@" + name
		}
	default:
		name = "<" + name + ">"
	}
	switch {
	case p.Kind == ArgText && p.Optional:
		return "[" + p.Name + "…]"
	case p.Kind == ArgText:
		return "<" + p.Name + "…>"
	case p.Variadic && p.Optional:
		return "[" + p.Name + "…]"
	case p.Variadic:
		return name + " [" + p.Name + "…]"
	case p.Optional:
		return "[" + strings.Trim(name, "<>") + "]"
	}
	return name
}

// param returns the parameter that the i-th argument binds to: the last
// parameter takes the extra arguments when it is variadic.
func (c *Command) param(i int) (Param, bool) {
	if i < len(c.Params) {
		return c.Params[i], true
	}
	if n := len(c.Params); n > 0 && c.Params[n-1].Variadic {
		return c.Params[n-1], true
	}
	return Param{}, false
}
