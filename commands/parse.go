package commands

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parsed is a command with its arguments, ready to run.
type Parsed struct {
	Command *Command
	// Args satisfy Command.Params: one value per single parameter that was
	// given, every value of a variadic one, one value for ArgText.
	Args []string
	// Ticket is the conversation named by a ticket reference ("#42", "42"),
	// taken out of the arguments; 0 when the input had none.
	Ticket int64
}

// String renders p canonically, without a prefix and with the ticket last:
// parsing it again in the same place gives the same command, arguments and
// ticket. Use it for logs and for ButtonAction.
func (p Parsed) String() string {
	if p.Command == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(p.Command.Name)
	for i, a := range p.Args {
		b.WriteByte(' ')
		if prm, ok := p.Command.param(i); ok && prm.Kind == ArgText {
			b.WriteString(a) // verbatim, as parsed
			continue
		}
		b.WriteString(renderToken(a))
	}
	if p.Ticket != 0 {
		fmt.Fprintf(&b, " #%d", p.Ticket)
	}
	return b.String()
}

// UsageError is a command the processor could not make sense of. Its text
// is meant for the person who typed it.
type UsageError struct {
	Command string // the command's name when it was recognised
	Message string // what is wrong
	Usage   string // "Usage: !tag <tag> [tag…]"; empty for unknown commands
}

func (e *UsageError) Error() string {
	if e.Usage == "" {
		return e.Message
	}
	return e.Message + "\n" + e.Usage
}

// Parse reads text given in the place and way inv describes (inv.Source,
// and whether the conversation is known: see Invocation.InConversation).
// It returns either a command with its arguments or a *UsageError; it never
// panics. The parsing rules are in the package documentation.
func (p *Processor) Parse(inv Invocation, text string) (Parsed, error) {
	s := strings.TrimSpace(text)
	if inv.Source == SourceText && p.Prefix != "" {
		if !strings.HasPrefix(s, p.Prefix) {
			return Parsed{}, &UsageError{Message: fmt.Sprintf("Commands start with `%s`, e.g. `%shelp`.", p.Prefix, p.Prefix)}
		}
		s = strings.TrimSpace(s[len(p.Prefix):])
	}
	if s == "" {
		if inv.Source == SourceSlash {
			if c := p.Lookup(mineCommand); c != nil {
				return Parsed{Command: c}, nil
			}
		}
		return Parsed{}, &UsageError{Message: fmt.Sprintf("Which command? Try `%shelp`.", p.prefixFor(inv.Source))}
	}

	toks := tokenize(s)
	name := strings.ToLower(toks[0].val)
	c := p.Lookup(name)
	if c == nil {
		return Parsed{}, &UsageError{Message: p.unknownMessage(toks[0].val, inv.Source)}
	}
	usage := func(format string, args ...any) (Parsed, error) {
		return Parsed{}, &UsageError{Command: c.Name, Message: fmt.Sprintf(format, args...), Usage: p.usageLine(c, inv)}
	}

	args := toks[1:]
	var ticket int64
	if c.NeedsConversation && !inv.InConversation() {
		if ticket, args = takeTicket(args); ticket == 0 {
			return usage("Which conversation? Add its ticket number, e.g. `%s`.", p.example(c, inv.Source, true))
		}
	}

	out := make([]string, 0, len(args))
	for _, prm := range c.Params {
		if len(args) == 0 {
			if prm.Optional {
				break
			}
			return usage("`%s` needs %s.", c.Name, prm.describe())
		}
		if prm.Kind == ArgText {
			out = append(out, s[args[0].start:args[len(args)-1].end])
			args = nil
			break
		}
		n := 1
		if prm.Variadic {
			n = len(args)
		}
		for _, t := range args[:n] {
			v, msg := prm.check(t.val)
			if msg != "" {
				return usage("%s", msg)
			}
			out = append(out, v)
		}
		args = args[n:]
	}
	if len(args) > 0 {
		if len(c.Params) == 0 {
			return usage("`%s` takes no arguments; unexpected `%s`.", c.Name, rawSpan(s, args))
		}
		return usage("Too many arguments for `%s`: unexpected `%s`.", c.Name, rawSpan(s, args))
	}
	return Parsed{Command: c, Args: out, Ticket: ticket}, nil
}

// rawSpan is the input covered by toks, shortened for a message.
func rawSpan(s string, toks []token) string {
	span := s[toks[0].start:toks[len(toks)-1].end]
	if utf8.RuneCountInString(span) > 40 {
		r := []rune(span)
		span = string(r[:40]) + "…"
	}
	return strings.ReplaceAll(span, "`", "'")
}

var (
	tagRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	ticketRE  = regexp.MustCompile(`^#?[0-9]{1,18}$`)
	mentionRE = regexp.MustCompile(`^(?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>|<@!?[0-9]+>|@[^\s\p{Z}@<>"“”` + "`" + `]{1,80})$`)
)

// check validates one token's value against the parameter and returns the
// argument value, or a message saying what is wrong.
func (p Param) check(v string) (string, string) {
	switch p.Kind {
	case ArgTag:
		t := strings.ToLower(v)
		if !tagRE.MatchString(t) {
			return "", fmt.Sprintf("`%s` is not a tag: tags are up to 32 letters a-z, digits, `-` or `_`, starting with a letter or digit.", quoteForMessage(v))
		}
		return t, ""
	case ArgChoice:
		c := strings.ToLower(v)
		for _, ok := range p.Choices {
			if c == ok {
				return c, ""
			}
		}
		msg := fmt.Sprintf("`%s` is not %s.", quoteForMessage(v), p.describe())
		if s := closest(c, p.Choices); s != "" {
			msg += fmt.Sprintf(" Did you mean `%s`?", s)
		}
		return "", msg
	case ArgUser:
		if !mentionRE.MatchString(v) {
			return "", fmt.Sprintf("`%s` is not a mention: mention someone, e.g. `@alice`.", quoteForMessage(v))
		}
		return v, ""
	case ArgWord:
		if v == "" || strings.ContainsAny(v, quoteChars) {
			return "", fmt.Sprintf("`%s` is not a valid %s.", quoteForMessage(v), p.Name)
		}
		return v, ""
	}
	return v, ""
}

// describe names what the parameter wants, for messages.
func (p Param) describe() string {
	switch p.Kind {
	case ArgChoice:
		return "one of " + strings.Join(p.Choices, ", ")
	case ArgUser:
		return "a mention, e.g. `@alice`"
	case ArgText:
		return "some " + p.Name
	}
	if p.Variadic {
		return "at least one " + p.Name
	}
	return "a " + p.Name
}

// quoteForMessage makes a user's token safe to show inside backticks.
func quoteForMessage(v string) string {
	v = strings.ReplaceAll(v, "`", "'")
	if utf8.RuneCountInString(v) > 40 {
		v = string([]rune(v)[:40]) + "…"
	}
	return v
}

// takeTicket finds the ticket reference among args, which is the last or
// the first token, "#42" preferred over a bare "42" and the last over the
// first ("close #42 duplicate of 41" is about #42), and returns it with
// the other tokens; 0 and args when there is none.
func takeTicket(args []token) (int64, []token) {
	if len(args) == 0 {
		return 0, args
	}
	last, first := args[len(args)-1], args[0]
	for _, hash := range []bool{true, false} {
		if n := ticketOf(last); n != 0 && strings.HasPrefix(last.val, "#") == hash {
			return n, args[:len(args)-1]
		}
		if n := ticketOf(first); n != 0 && strings.HasPrefix(first.val, "#") == hash {
			return n, args[1:]
		}
	}
	return 0, args
}

// ticketOf returns the ticket a token refers to, or 0.
func ticketOf(t token) int64 {
	if t.quoted {
		return 0
	}
	return TicketNumber(t.val)
}

// quoteChars open and close a quoted phrase: straight and curly double
// quotes, in any pairing.
const quoteChars = "\"“”"

func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// token is one word of the input; start and end are byte offsets of its raw
// span (quotes included).
type token struct {
	val        string
	start, end int
	quoted     bool
}

// tokenize splits s on white space. A token that starts with a double quote
// (straight or curly) runs to the next double quote and may hold spaces; one
// that starts with "<" runs to the next ">" (platform markup such as
// <@U123|Jane Doe>). A quote or "<" with no closing partner is an ordinary
// character. s must be non-empty after trimming.
func tokenize(s string) []token {
	var toks []token
	// Past the last quote or ">", looking for a partner is pointless; this
	// keeps long input with many unpaired ones linear.
	lastQuote, lastGT := strings.LastIndexAny(s, quoteChars), strings.LastIndexByte(s, '>')
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += w
			continue
		}
		start := i
		if isQuote(r) && i < lastQuote {
			if j := strings.IndexAny(s[i+w:], quoteChars); j >= 0 {
				end := i + w + j
				_, cw := utf8.DecodeRuneInString(s[end:])
				toks = append(toks, token{val: s[i+w : end], start: start, end: end + cw, quoted: true})
				i = end + cw
				continue
			}
		}
		if r == '<' && i < lastGT {
			if j := strings.IndexByte(s[i+1:], '>'); j >= 0 {
				end := i + 1 + j + 1
				toks = append(toks, token{val: s[start:end], start: start, end: end})
				i = end
				continue
			}
		}
		for i < len(s) {
			r, w := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				break
			}
			i += w
		}
		toks = append(toks, token{val: s[start:i], start: start, end: i})
	}
	return toks
}

// renderToken writes an argument value so that tokenize reads it back as
// one token with the same value, never as a ticket.
func renderToken(v string) string {
	if strings.HasPrefix(v, "<") && strings.IndexByte(v, '>') == len(v)-1 {
		return v // platform markup: tokenize groups it again
	}
	r, _ := utf8.DecodeRuneInString(v)
	needs := v == "" || isQuote(r) || r == '<' || ticketRE.MatchString(v) ||
		strings.IndexFunc(v, unicode.IsSpace) >= 0
	if !needs || strings.ContainsAny(v, quoteChars) {
		return v
	}
	return `"` + v + `"`
}

// IsCommand reports whether text typed in a thread is a command: after
// leading white space it starts with prefix followed directly by a letter
// ("!tag billing", not "!!!" or "! tag"). Text that is not a command is a
// message for the customer or a note, so the test is strict.
func IsCommand(text, prefix string) bool {
	if prefix == "" {
		return false
	}
	rest, ok := strings.CutPrefix(strings.TrimLeftFunc(text, unicode.IsSpace), prefix)
	if !ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return unicode.IsLetter(r)
}
