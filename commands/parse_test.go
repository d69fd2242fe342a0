package commands

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	discordThread := Invocation{Source: SourceSlash, Platform: "discord", ThreadID: "1234567890", Roles: []Role{RoleAgent}}
	button := Invocation{Source: SourceButton, Platform: "slack", Roles: []Role{RoleAgent}}

	type want struct {
		cmd    string
		args   []string
		ticket int64
	}
	tests := []struct {
		name string
		inv  Invocation
		text string
		want want
		err  string // the whole UsageError text when parsing must fail
	}{
		// Every command, in a thread.
		{"claim", inThread, "!claim", want{cmd: "claim"}, ""},
		{"claim extra", inThread, "!claim now", want{}, "`claim` takes no arguments; unexpected `now`.\nUsage: !claim"},
		{"unclaim", inThread, "!unclaim", want{cmd: "unclaim"}, ""},
		{"assign plain", inThread, "!assign @alice", want{"assign", []string{"@alice"}, 0}, ""},
		{"assign slack", inThread, "!assign <@U123ABC>", want{"assign", []string{"<@U123ABC>"}, 0}, ""},
		{"assign slack named", inThread, "!assign <@U123ABC|jane doe>", want{"assign", []string{"<@U123ABC|jane doe>"}, 0}, ""},
		{"assign slack enterprise", inThread, "!assign <@W0123ABC>", want{"assign", []string{"<@W0123ABC>"}, 0}, ""},
		{"assign discord", inThread, "!assign <@123456789012345678>", want{"assign", []string{"<@123456789012345678>"}, 0}, ""},
		{"assign discord nick", inThread, "!assign <@!123456789012345678>", want{"assign", []string{"<@!123456789012345678>"}, 0}, ""},
		{"assign missing", inThread, "!assign", want{}, "`assign` needs a mention, e.g. `@alice`.\nUsage: !assign @user"},
		{"assign extra", inThread, "!assign @alice @bob", want{}, "Too many arguments for `assign`: unexpected `@bob`.\nUsage: !assign @user"},
		{"assign not a mention", inThread, "!assign bob", want{}, "`bob` is not a mention: mention someone, e.g. `@alice`.\nUsage: !assign @user"},
		{"assign discord role", inThread, "!assign <@&123>", want{}, "`<@&123>` is not a mention: mention someone, e.g. `@alice`.\nUsage: !assign @user"},
		{"assign slack channel", inThread, "!assign <#C123|general>", want{}, "`<#C123|general>` is not a mention: mention someone, e.g. `@alice`.\nUsage: !assign @user"},
		{"tag", inThread, "!tag billing", want{"tag", []string{"billing"}, 0}, ""},
		{"tags lowercased", inThread, "!tag Billing REFUND vip_2 a-b", want{"tag", []string{"billing", "refund", "vip_2", "a-b"}, 0}, ""},
		{"tag quoted", inThread, `!tag "billing"`, want{"tag", []string{"billing"}, 0}, ""},
		{"tag missing", inThread, "!tag", want{}, "`tag` needs at least one tag.\nUsage: !tag <tag> [tag…]"},
		{"tag bad start", inThread, "!tag -vip", want{}, "`-vip` is not a tag: tags are up to 32 letters a-z, digits, `-` or `_`, starting with a letter or digit.\nUsage: !tag <tag> [tag…]"},
		{"tag too long", inThread, "!tag " + strings.Repeat("a", 33), want{}, "is not a tag"},
		{"tag 32", inThread, "!tag " + strings.Repeat("a", 32), want{"tag", []string{strings.Repeat("a", 32)}, 0}, ""},
		{"tag unicode", inThread, "!tag café", want{}, "`café` is not a tag"},
		{"tag with space", inThread, `!tag "two words"`, want{}, "`two words` is not a tag"},
		{"tag punctuation", inThread, "!tag billing,refund", want{}, "`billing,refund` is not a tag"},
		{"untag", inThread, "!untag Billing vip", want{"untag", []string{"billing", "vip"}, 0}, ""},
		{"untag missing", inThread, "!untag", want{}, "`untag` needs at least one tag.\nUsage: !untag <tag> [tag…]"},
		{"priority", inThread, "!priority high", want{"priority", []string{"high"}, 0}, ""},
		{"priority alias p", inThread, "!p URGENT", want{"priority", []string{"urgent"}, 0}, ""},
		{"priority alias prio", inThread, "!PRIO Low", want{"priority", []string{"low"}, 0}, ""},
		{"priority missing", inThread, "!priority", want{}, "`priority` needs one of urgent, high, normal, low.\nUsage: !priority urgent|high|normal|low"},
		{"priority typo", inThread, "!priority hgih", want{}, "`hgih` is not one of urgent, high, normal, low. Did you mean `high`?\nUsage: !priority urgent|high|normal|low"},
		{"priority extra", inThread, "!priority high low", want{}, "Too many arguments for `priority`: unexpected `low`."},
		{"pending", inThread, "!pending", want{cmd: "pending"}, ""},
		{"pending alias", inThread, "!Hold", want{cmd: "pending"}, ""},
		{"pending extra", inThread, "!pending now please", want{}, "`pending` takes no arguments; unexpected `now please`.\nUsage: !pending"},
		{"close", inThread, "!close", want{cmd: "close", args: []string{}}, ""},
		{"close reason keeps #41 in a thread", inThread, "!close   duplicate of #41", want{"close", []string{"duplicate of #41"}, 0}, ""},
		{"reopen", inThread, "!reopen", want{cmd: "reopen"}, ""},
		{"note multi-line", inThread, "!note  line one\n\nline  two  ", want{"note", []string{"line one\n\nline  two"}, 0}, ""},
		{"note missing", inThread, "!note", want{}, "`note` needs some text.\nUsage: !note <text…>"},
		{"note keeps mentions", inThread, "!note ask <@U777> about it", want{"note", []string{"ask <@U777> about it"}, 0}, ""},
		{"reply verbatim quotes", inThread, `!reply Please "restart" the app`, want{"reply", []string{`Please "restart" the app`}, 0}, ""},
		{"reply curly quotes", inThread, "!reply “smart quotes” stay", want{"reply", []string{"“smart quotes” stay"}, 0}, ""},
		{"reply unclosed quote", inThread, `!reply it says "error`, want{"reply", []string{`it says "error`}, 0}, ""},
		{"reply missing", inThread, "!reply", want{}, "`reply` needs some text.\nUsage: !reply <text…>"},
		{"escalate", inThread, "!escalate", want{cmd: "escalate", args: []string{}}, ""},
		{"escalate summary", inThread, "!escalate login fails: error 500", want{"escalate", []string{"login fails: error 500"}, 0}, ""},
		{"resolve", inThread, "!resolve fixed in 2.3", want{"resolve", []string{"fixed in 2.3"}, 0}, ""},
		{"status", inThread, "!status", want{cmd: "status"}, ""},
		{"help", inThread, "!help", want{cmd: "help", args: []string{}}, ""},
		{"help command", inThread, "!help Tag", want{"help", []string{"Tag"}, 0}, ""},
		{"help extra", inThread, "!help tag untag", want{}, "Too many arguments for `help`: unexpected `untag`.\nUsage: !help [command]"},
		{"reply-with", inThread, "!reply-with refund-policy", want{"reply-with", []string{"refund-policy"}, 0}, ""},
		{"reply-with quoted", inThread, `!reply-with "refund policy"`, want{"reply-with", []string{"refund policy"}, 0}, ""},
		{"reply-with curly", inThread, "!reply-with “refund policy”", want{"reply-with", []string{"refund policy"}, 0}, ""},
		{"reply-with missing", inThread, "!reply-with", want{}, "`reply-with` needs a saved-reply.\nUsage: !reply-with <saved-reply>"},
		{"reply-with extra", inThread, "!reply-with refund policy", want{}, "Too many arguments for `reply-with`: unexpected `policy`."},
		{"reply-with empty", inThread, `!reply-with ""`, want{}, "`` is not a valid saved-reply."},
		{"replies", inThread, "!replies", want{cmd: "replies"}, ""},
		{"available", inThread, "!available on", want{"available", []string{"on"}, 0}, ""},
		{"available case", inThread, "!available OFF", want{"available", []string{"off"}, 0}, ""},
		{"available bad", inThread, "!available maybe", want{}, "`maybe` is not one of on, off.\nUsage: !available on|off"},
		{"mine", inThread, "!mine", want{cmd: "mine"}, ""},
		{"mine alias", inThread, "!list", want{cmd: "mine"}, ""},
		{"spaces around", inThread, "  \t!CLAIM \n", want{cmd: "claim"}, ""},
		{"space after prefix", inThread, "! claim", want{cmd: "claim"}, ""},

		// Unknown commands and input that is no command.
		{"unknown close", inThread, "!clam", want{}, "Unknown command `clam`. Did you mean `claim`? Try `!help`."},
		{"unknown transposed", inThread, "!hepl", want{}, "Unknown command `hepl`. Did you mean `help`? Try `!help`."},
		{"unknown alias typo", inThread, "!prioo high", want{}, "Unknown command `prioo`. Did you mean `priority`? Try `!help`."},
		{"unknown far", inThread, "!frobnicate", want{}, "Unknown command `frobnicate`. Try `!help`."},
		{"unknown short", inThread, "!x", want{}, "Unknown command `x`. Try `!help`."},
		{"unknown slash", slashAnywhere, "tga billing #4", want{}, "Unknown command `tga`. Did you mean `tag`? Try `/xb help`."},
		{"no prefix", inThread, "claim", want{}, "Commands start with `!`, e.g. `!help`."},
		{"prefix alone", inThread, "!", want{}, "Which command? Try `!help`."},

		// Tickets where the conversation is not known.
		{"ticket last", slashAnywhere, "tag billing #42", want{"tag", []string{"billing"}, 42}, ""},
		{"ticket first", slashAnywhere, "tag #42 billing vip", want{"tag", []string{"billing", "vip"}, 42}, ""},
		{"bare ticket last", slashAnywhere, "tag billing 42", want{"tag", []string{"billing"}, 42}, ""},
		{"bare ticket first", slashAnywhere, "priority 42 high", want{"priority", []string{"high"}, 42}, ""},
		{"ticket only", slashAnywhere, "Claim #42", want{"claim", nil, 42}, ""},
		{"hash ticket preferred", slashAnywhere, "close #42 duplicate of 41", want{"close", []string{"duplicate of 41"}, 42}, ""},
		{"last ticket preferred", slashAnywhere, "note see #41 #42", want{"note", []string{"see #41"}, 42}, ""},
		{"quoted is no ticket", slashAnywhere, `close "duplicate of 41" #42`, want{"close", []string{`"duplicate of 41"`}, 42}, ""},
		{"assign ticket last", slashAnywhere, "assign <@U1> #42", want{"assign", []string{"<@U1>"}, 42}, ""},
		{"assign ticket first", slashAnywhere, "assign #42 <@!99>", want{"assign", []string{"<@!99>"}, 42}, ""},
		{"two tickets", slashAnywhere, "claim #42 #43", want{}, "`claim` takes no arguments; unexpected `#42`.\nUsage: /xb claim #ticket"},
		{"no ticket", slashAnywhere, "claim", want{}, "Which conversation? Add its ticket number, e.g. `/xb claim #42`.\nUsage: /xb claim #ticket"},
		{"no ticket tag", slashAnywhere, "tag billing", want{}, "Which conversation? Add its ticket number, e.g. `/xb tag billing #42`.\nUsage: /xb tag <tag> [tag…] #ticket"},
		{"quoted number is no ticket", slashAnywhere, `claim "42"`, want{}, "Which conversation?"},
		{"ticket zero", slashAnywhere, "claim #0", want{}, "Which conversation?"},
		{"ticket too long", slashAnywhere, "claim #1234567890123456789", want{}, "Which conversation?"},
		{"text outside a thread", inThread.withConversation(0).withThread(""), "!tag billing", want{}, "Which conversation? Add its ticket number, e.g. `!tag billing #42`.\nUsage: !tag <tag> [tag…] #ticket"},
		{"text outside a thread with ticket", inThread.withConversation(0).withThread(""), "!tag billing #42", want{"tag", []string{"billing"}, 42}, ""},
		{"no ticket needed", slashAnywhere, "available off", want{"available", []string{"off"}, 0}, ""},
		{"help number is no ticket", slashAnywhere, "help 42", want{"help", []string{"42"}, 0}, ""},
		{"ticket where none is needed", slashAnywhere, "available on #42", want{}, "Too many arguments for `available`: unexpected `#42`."},
		{"empty slash lists mine", slashAnywhere, "", want{cmd: "mine"}, ""},
		{"blank slash lists mine", slashAnywhere, " \n ", want{cmd: "mine"}, ""},
		{"discord thread knows it", discordThread, "note about #42", want{"note", []string{"about #42"}, 0}, ""},
		{"discord thread claim", discordThread, "claim", want{cmd: "claim"}, ""},
		{"button", button, "priority high #42", want{"priority", []string{"high"}, 42}, ""},
		{"button empty", button, "", want{}, "Which command? Try `/xb help`."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Parse(tt.inv, tt.text)
			if tt.err != "" {
				var ue *UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("Parse(%q) = %+v, %v; want a *UsageError", tt.text, got, err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) error:\n%s\nwant it to contain:\n%s", tt.text, err, tt.err)
				}
				if got.Command != nil {
					t.Fatalf("Parse(%q) returned a command with its error", tt.text)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if got.Command == nil || got.Command.Name != tt.want.cmd {
				t.Fatalf("Parse(%q) command = %v, want %s", tt.text, got.Command, tt.want.cmd)
			}
			if len(got.Args) != 0 || len(tt.want.args) != 0 {
				if !slices.Equal(got.Args, tt.want.args) {
					t.Errorf("Parse(%q) args = %q, want %q", tt.text, got.Args, tt.want.args)
				}
			}
			if got.Ticket != tt.want.ticket {
				t.Errorf("Parse(%q) ticket = %d, want %d", tt.text, got.Ticket, tt.want.ticket)
			}
		})
	}
}

func (inv Invocation) withConversation(id int64) Invocation { inv.ConversationID = id; return inv }
func (inv Invocation) withThread(ts string) Invocation      { inv.ThreadID = ts; return inv }

func TestUsageErrorFields(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	_, err := p.Parse(inThread, "!tag")
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	if ue.Command != "tag" || ue.Usage != "Usage: !tag <tag> [tag…]" || ue.Message != "`tag` needs at least one tag." {
		t.Errorf("UsageError = %+v", ue)
	}
	_, err = p.Parse(inThread, "!nope")
	if !errors.As(err, &ue) || ue.Command != "" || ue.Usage != "" {
		t.Errorf("unknown command: UsageError = %+v", ue)
	}
}

func TestCanonicalString(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	tests := []struct {
		inv        Invocation
		text, want string
	}{
		{slashAnywhere, "TAG #42 Billing", "tag billing #42"},
		{slashAnywhere, "p high 42", "priority high #42"},
		{inThread, `!reply-with “refund policy”`, `reply-with "refund policy"`},
		{inThread, `!tag "42"`, `tag "42"`},
		{inThread, "!assign <@U1|Jane Doe>", "assign <@U1|Jane Doe>"},
		{inThread, "!note  keep   “this”\nverbatim ", "note keep   “this”\nverbatim"},
		{slashAnywhere, "close #7 dup of 6", "close dup of 6 #7"},
		{slashAnywhere, "", "mine"},
	}
	for _, tt := range tests {
		got, err := p.Parse(tt.inv, tt.text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.text, err)
		}
		if s := got.String(); s != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.text, s, tt.want)
		}
	}
}

func TestIsCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, prefix string
		want         bool
	}{
		{"!claim", "!", true},
		{"  !Tag billing", "!", true},
		{"!é", "!", true},
		{"!!! urgent", "!", false},
		{"! claim", "!", false},
		{"!", "!", false},
		{"!42", "!", false},
		{"claim", "!", false},
		{"thanks! we're on it", "!", false},
		{"", "!", false},
		{"/claim", "", false},
		{"xb:claim", "xb:", true},
	}
	for _, tt := range tests {
		if got := IsCommand(tt.text, tt.prefix); got != tt.want {
			t.Errorf("IsCommand(%q, %q) = %v, want %v", tt.text, tt.prefix, got, tt.want)
		}
	}
}

func TestBuiltinSpecs(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	seen := map[string]bool{}
	for _, c := range p.Commands {
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			if seen[n] || n != strings.ToLower(n) {
				t.Errorf("command name %q is duplicate or not lowercase", n)
			}
			seen[n] = true
		}
		if c.Run == nil || c.Summary == "" {
			t.Errorf("%s: missing Run or Summary", c.Name)
		}
		optional := false
		for i, prm := range c.Params {
			last := i == len(c.Params)-1
			if (prm.Variadic || prm.Kind == ArgText) && !last {
				t.Errorf("%s: %s must be the last parameter", c.Name, prm.Name)
			}
			if optional && !prm.Optional {
				t.Errorf("%s: required %s after an optional parameter", c.Name, prm.Name)
			}
			optional = optional || prm.Optional
		}
		// The example parses.
		ex := p.example(c, SourceSlash, false)
		if _, err := p.Parse(inThread.withSource(SourceSlash), strings.TrimPrefix(ex, "/xb ")); err != nil {
			t.Errorf("%s: example %q does not parse: %v", c.Name, ex, err)
		}
	}
}

func (inv Invocation) withSource(s Source) Invocation { inv.Source = s; return inv }

// Long messages full of unpaired quotes and angle brackets parse in linear
// time (a note may be tens of thousands of characters).
func TestParseLongInput(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	body := strings.Repeat(`<a "b `, 20000)
	got, err := p.Parse(inThread, "!note "+body)
	if err != nil || got.Args[0] != strings.TrimSpace(body) {
		t.Fatalf("Parse(long note) = %v, %v", got.Command, err)
	}
	if _, err := p.Parse(slashAnywhere, "tag "+strings.Repeat("x ", 50000)+"#42"); err != nil {
		t.Fatalf("Parse(many tags): %v", err)
	}
}
