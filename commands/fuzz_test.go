package commands

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzParse checks, for any input, place and source: Parse never panics;
// it returns exactly one of a command and a *UsageError; a command's
// arguments and ticket satisfy its spec (checked here independently of the
// parser); and the canonical rendering parses back to the same command,
// arguments and ticket. Run also survives the input.
//
//	go test -fuzz=FuzzParse ./commands/
func FuzzParse(f *testing.F) {
	seeds := []string{
		"", "!", "!claim", "claim #42", "  !CLAIM  ", "!unclaim", "!assign @alice",
		"assign <@U123ABC> #42", "!assign <@U123ABC|jane doe>", "assign #7 <@!123456789012345678>",
		"!assign <@123456789012345678>", "!assign <@&123>", "!tag billing refund", "tag Billing #42",
		"tag #42 billing vip", "tag billing 42", `!tag "42"`, "!tag café", "!untag vip",
		"!priority high", "p URGENT 42", "!prio low", "!priority hgih", "!pending", "!hold",
		"!close", "close duplicate of #41 #42", "close #42 duplicate of 41", `close "dup of 41" #42`,
		"!reopen", "!note line one\nline two", "note see #41 #42", `!reply Please "restart" the app`,
		"!reply “smart quotes” stay", `!reply it says "error`, "!escalate login fails: error 500",
		"!resolve fixed in 2.3", "!status", "!help", "help tag", "help 42", "!reply-with refund-policy",
		`reply-with "refund policy" #42`, "!reply-with “refund policy”", "!replies", "available on",
		"!available OFF", "!mine", "list", "!clam", "tga billing", "!\"tag\" billing", "!x",
		"claim #0", "claim #1234567890123456789", "note <x #5>", "note a <b #5", "close #5 a <b",
		"!note 日本語のメモ 👀", "!tag ＢＩＬＬＩＮＧ", "!tag \u212a", "!reply \u00a0nbsp\u00a0",
		"note \"a\"b", "assign <@U1|a \"b> #3", "reply-with \"<a b\" #9", "close \xff\xfe #4",
		"!note ` backticks `", "!tag a b c d e f g h i j k l m n o p", "\t!claim\n",
	}
	for i, s := range seeds {
		f.Add(s, i%2 == 0, uint8(i%4))
	}
	p := NewProcessor("!")
	sources := []Source{SourceText, SourceSlash, SourceButton, SourceReaction}

	f.Fuzz(func(t *testing.T, text string, inConversation bool, src uint8) {
		inv := Invocation{Source: sources[int(src)%len(sources)], Platform: "slack", ActorID: "U1",
			Roles: []Role{RoleLead, RoleEngineer}, EventID: "ev"}
		if inConversation {
			inv.ConversationID = 7
		}
		got, err := p.Parse(inv, text)

		// Exactly one of a command and a usage error.
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q): error %T %v is no *UsageError", text, err, err)
			}
			if got.Command != nil || got.Args != nil || got.Ticket != 0 {
				t.Fatalf("Parse(%q): error %v with result %+v", text, err, got)
			}
			if ue.Message == "" {
				t.Fatalf("Parse(%q): empty usage message", text)
			}
		} else if got.Command == nil {
			t.Fatalf("Parse(%q): no command and no error", text)
		}

		// Run survives anything; nothing reaches the executor after a
		// usage error.
		ex := &fakeExecutor{}
		reply := p.Run(context.Background(), ex, inv, text)
		if err != nil && len(ex.Calls()) != 0 {
			t.Fatalf("Run(%q) called the executor after %v", text, err)
		}
		if err != nil && reply.Text == "" {
			t.Fatalf("Run(%q): silent usage error", text)
		}
		if err != nil {
			return
		}

		if msg := violatesSpec(got, inv, text); msg != "" {
			t.Fatalf("Parse(%q) = %s %q #%d: %s", text, got.Command.Name, got.Args, got.Ticket, msg)
		}

		// The canonical rendering parses back the same, as a slash command
		// and as in-thread text.
		canon := got.String()
		for _, again := range []struct {
			src  Source
			text string
		}{{SourceSlash, canon}, {SourceText, p.Prefix + canon}} {
			inv2 := inv
			inv2.Source = again.src
			re, err := p.Parse(inv2, again.text)
			if err != nil {
				t.Fatalf("Parse(%q) = %q, which does not parse: %v", text, again.text, err)
			}
			if re.Command != got.Command || !slices.Equal(re.Args, got.Args) || re.Ticket != got.Ticket {
				t.Fatalf("Parse(%q) = %s %q #%d, rendered %q, parsed again as %s %q #%d",
					text, got.Command.Name, got.Args, got.Ticket, again.text, re.Command.Name, re.Args, re.Ticket)
			}
			if s := re.String(); s != canon {
				t.Fatalf("rendering is not stable: %q then %q", canon, s)
			}
		}
	})
}

var (
	fuzzTagRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	fuzzMentionRE = regexp.MustCompile(`^(<@[UW][A-Z0-9]+(\|[^>]*)?>|<@!?[0-9]+>|@[^\s@<>]+)$`)
)

// violatesSpec says how a parsed command breaks its command's declared
// spec, or "" when it does not. It is written apart from the parser.
func violatesSpec(got Parsed, inv Invocation, input string) string {
	c := got.Command
	required, variadic := 0, false
	for _, prm := range c.Params {
		if !prm.Optional {
			required++
		}
		variadic = variadic || prm.Variadic
	}
	if len(got.Args) < required {
		return "missing arguments"
	}
	if !variadic && len(got.Args) > len(c.Params) {
		return "extra arguments"
	}
	for i, a := range got.Args {
		prm, ok := c.param(i)
		if !ok {
			return "argument without parameter"
		}
		switch prm.Kind {
		case ArgTag:
			if !fuzzTagRE.MatchString(a) {
				return "bad tag " + a
			}
		case ArgChoice:
			if !slices.Contains(prm.Choices, a) {
				return "bad choice " + a
			}
		case ArgUser:
			if !fuzzMentionRE.MatchString(a) {
				return "bad mention " + a
			}
		case ArgWord:
			if a == "" || strings.ContainsAny(a, "\"“”") {
				return "bad word " + a
			}
		case ArgText:
			if a == "" || strings.TrimFunc(a, unicode.IsSpace) != a || !strings.Contains(input, a) {
				return "text is not a trimmed piece of the input"
			}
		}
	}
	needsTicket := c.NeedsConversation && !inv.InConversation()
	if needsTicket != (got.Ticket > 0) || got.Ticket < 0 {
		return "ticket where none belongs, or none where one is needed"
	}
	return ""
}
