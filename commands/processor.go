package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

// Processor parses and runs commands. Configure it before use; it is then
// safe for concurrent use.
type Processor struct {
	Commands []*Command
	// Prefix starts a command typed in a thread (SourceText), e.g. "!".
	Prefix string
	// Slash is the slash command, used in usage lines and examples for
	// every source but SourceText. Default "/xb".
	Slash string
	// KnownTags, when set, lists the tags that may be added: parameters
	// marked KnownTag (the tag command's) refuse any other tag, listing
	// the known ones. untag accepts any well-formed tag so that a retired
	// tag can still be removed.
	KnownTags func(ctx context.Context) ([]string, error)
	// Reactions maps emoji (Slack short names without colons, and unicode)
	// to command text; see FromReaction.
	Reactions map[string]string
	// Logger receives internal errors at error level; default
	// slog.Default().
	Logger *slog.Logger
}

// NewProcessor returns a processor with the built-in commands and
// reactions, reading in-thread commands that start with prefix.
func NewProcessor(prefix string) *Processor {
	p := &Processor{Prefix: prefix, Slash: "/xb", Reactions: DefaultReactions()}
	p.Commands = builtins(p)
	return p
}

// Lookup returns the command called name, or with that alias, ignoring
// case; nil if there is none.
func (p *Processor) Lookup(name string) *Command {
	name = strings.ToLower(name)
	for _, c := range p.Commands {
		if c.Name == name {
			return c
		}
	}
	for _, c := range p.Commands {
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// internalMessage is what the caller sees when the executor failed in a way
// that is not theirs to fix.
const internalMessage = "Something went wrong; it was logged."

// Run parses text given as inv describes, checks the caller's roles, puts
// the ticket into the invocation and runs the command against ex. Usage
// errors, refusals and executor errors come back as ephemeral replies;
// internal errors are logged to p.Logger. Run never returns an error: what
// the caller must see is in the Reply.
func (p *Processor) Run(ctx context.Context, ex Executor, inv Invocation, text string) Reply {
	parsed, err := p.Parse(inv, text)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) && ue.Command != "" {
			// Say "you may not" before "you typed it wrong".
			if c := p.Lookup(ue.Command); c != nil && !c.AllowedFor(inv) {
				return ephemeral(NeedsRole(c.Name, c.Roles...).Message)
			}
		}
		return ephemeral(err.Error())
	}
	c := parsed.Command
	if !c.AllowedFor(inv) {
		if c.Name == mineCommand && strings.TrimSpace(text) == "" {
			return ephemeral(p.Help("", inv.Roles)) // "/xb" alone, for a non-agent
		}
		return ephemeral(NeedsRole(c.Name, c.Roles...).Message)
	}
	if parsed.Ticket != 0 {
		inv.ConversationID = parsed.Ticket
	}
	if msg, err := p.checkKnownTags(ctx, c, parsed.Args); err != nil {
		return p.fail(ctx, inv, c, fmt.Errorf("list known tags: %w", err))
	} else if msg != "" {
		return ephemeral(msg)
	}
	reply, err := c.Run(ctx, ex, inv, parsed.Args)
	if err != nil {
		return p.fail(ctx, inv, c, err)
	}
	return reply
}

// fail turns an executor error into the caller's reply, logging internal
// ones.
func (p *Processor) fail(ctx context.Context, inv Invocation, c *Command, err error) Reply {
	code := bridge.ErrorCode(err)
	if code == bridge.EINTERNAL {
		p.logger().ErrorContext(ctx, "command failed",
			"command", c.Name, "conversation", inv.ConversationID, "platform", inv.Platform,
			"actor", inv.ActorID, "source", string(inv.Source), "event_id", inv.EventID, "err", err)
		return Reply{Text: internalMessage, Ephemeral: true, Refused: code}
	}
	msg := bridge.ErrorMessage(err)
	if msg == "" {
		msg = codeMessages[code]
	}
	return Reply{Text: msg, Ephemeral: true, Refused: code}
}

// codeMessages stand in for a domain error without a message.
var codeMessages = map[string]string{
	bridge.EINVALID:     "That can't be done.",
	bridge.ENOTFOUND:    "Not found.",
	bridge.ECONFLICT:    "Someone else changed this conversation first; look again and retry.",
	bridge.EFORBIDDEN:   "You're not allowed to do that.",
	bridge.EUNAVAILABLE: "The bridge is busy; try again in a moment.",
}

// NeedsRole is the refusal for someone without any of roles: "`assign`
// needs the lead role." Executors use it for the state-dependent checks so
// that every refusal reads the same.
func NeedsRole(command string, roles ...Role) *bridge.Error {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return bridge.Errorf(bridge.EFORBIDDEN, "`%s` needs the %s role.", command, orList(names))
}

// checkKnownTags returns a message naming the first unknown tag among args
// for a command whose tag parameter is marked KnownTag.
func (p *Processor) checkKnownTags(ctx context.Context, c *Command, args []string) (string, error) {
	if p.KnownTags == nil {
		return "", nil
	}
	var known []string
	for i, a := range args {
		prm, ok := c.param(i)
		if !ok || prm.Kind != ArgTag || !prm.KnownTag {
			continue
		}
		if known == nil {
			var err error
			if known, err = p.KnownTags(ctx); err != nil {
				return "", err
			}
			if known == nil {
				known = []string{}
			}
		}
		if contains(known, a) {
			continue
		}
		if len(known) == 0 {
			return fmt.Sprintf("Unknown tag `%s`: no tags are configured.", a), nil
		}
		msg := fmt.Sprintf("Unknown tag `%s`.", a)
		if s := closest(a, known); s != "" {
			msg += fmt.Sprintf(" Did you mean `%s`?", s)
		}
		return msg + " Known tags: " + codeList(known) + ".", nil
	}
	return "", nil
}

func (p *Processor) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// prefixFor is what starts a command given from src: the in-thread prefix
// for text, else the slash command and a space.
func (p *Processor) prefixFor(src Source) string {
	if src == SourceText {
		return p.Prefix
	}
	slash := p.Slash
	if slash == "" {
		slash = "/xb"
	}
	return slash + " "
}

// usageLine is "Usage: !tag <tag> [tag…]", with " #ticket" where the
// conversation is not known.
func (p *Processor) usageLine(c *Command, inv Invocation) string {
	u := "Usage: " + p.prefixFor(inv.Source) + c.Usage()
	if c.NeedsConversation && !inv.InConversation() {
		u += " #ticket"
	}
	return u
}

// example is a runnable example of c from src, with a ticket when asked.
func (p *Processor) example(c *Command, src Source, ticket bool) string {
	e := p.prefixFor(src) + c.Name
	if c.Example != "" {
		e += " " + c.Example
	}
	if ticket {
		e += " #42"
	}
	return e
}

func ephemeral(text string) Reply { return Reply{Text: text, Ephemeral: true} }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// codeList renders names as "`a`, `b`, `c`".
func codeList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}
