package commands

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xbridge/xbridge/bridge"
)

func TestRunCallsExecutor(t *testing.T) {
	t.Parallel()
	lead := with(slashAnywhere, roles(RoleLead))
	engineer := with(inThread, roles(RoleEngineer))
	tests := []struct {
		inv    Invocation
		text   string
		method string
		args   []string
		conv   int64
		reply  string
	}{
		{inThread, "!claim", "Claim", nil, 7, ""},
		{slashAnywhere, "claim #42", "Claim", nil, 42, "Claimed #42."},
		{slashAnywhere, "unclaim 42", "Unclaim", nil, 42, "Unclaimed #42."},
		{inThread, "!assign <@U9>", "Assign", []string{"<@U9>"}, 7, ""},
		{lead, "assign <@U9|bo> #42", "Assign", []string{"<@U9|bo>"}, 42, "Assigned #42."},
		{slashAnywhere, "assign @a%sb #42", "Assign", []string{"@a%sb"}, 42, "Assigned #42."},
		{inThread, "!tag Billing vip", "Tag", []string{"billing", "vip"}, 7, ""},
		{slashAnywhere, "tag billing vip #42", "Tag", []string{"billing", "vip"}, 42, "Tagged #42: billing, vip."},
		{slashAnywhere, "untag #42 billing", "Untag", []string{"billing"}, 42, "Untagged #42: billing."},
		{inThread, "!p urgent", "SetPriority", []string{"urgent"}, 7, ""},
		{slashAnywhere, "prio low #42", "SetPriority", []string{"low"}, 42, "Priority of #42 set to low."},
		{inThread, "!hold", "Pending", nil, 7, ""},
		{slashAnywhere, "pending #42", "Pending", nil, 42, "Marked #42 as waiting on the customer."},
		{inThread, "!close", "Close", []string{""}, 7, ""},
		{slashAnywhere, "close refund issued #42", "Close", []string{"refund issued"}, 42, "Closed #42."},
		{inThread, "!reopen", "Reopen", nil, 7, ""},
		{inThread, "!note call back\ntomorrow", "Note", []string{"call back\ntomorrow"}, 7, ""},
		{engineer, "!note looking into it", "Note", []string{"looking into it"}, 7, ""},
		{slashAnywhere, "note seen #42", "Note", []string{"seen"}, 42, "Note added to #42."},
		{engineer, "!reply Fixed, sorry!", "Reply", []string{"Fixed, sorry!"}, 7, ""},
		{slashAnywhere, "reply hi #42", "Reply", []string{"hi"}, 42, "Reply to #42 queued."},
		{inThread, "!escalate", "Escalate", []string{""}, 7, ""},
		{slashAnywhere, "escalate 500s on login #42", "Escalate", []string{"500s on login"}, 42, "Escalated #42."},
		{engineer, "!resolve deployed fix", "Resolve", []string{"deployed fix"}, 7, ""},
		{with(slashAnywhere, roles(RoleEngineer)), "resolve #42", "Resolve", []string{""}, 42, "Escalation of #42 resolved."},
		{inThread, "!status", "Status", nil, 7, "#7 open, yours"},
		{engineer, "!status", "Status", nil, 7, "#7 open, yours"},
		{inThread, "!replies", "SavedReplies", nil, 7, "Saved replies: `greeting`, `refund policy`.\nSend one with `!reply-with <name>`."},
		{slashAnywhere, "available off", "SetAvailable", []string{"off"}, 0, "You're away: no new conversations will be assigned to you."},
		{slashAnywhere, "available ON", "SetAvailable", []string{"on"}, 0, "You're available: new conversations can be assigned to you."},
		{slashAnywhere, "", "ListMine", nil, 0, "#3, #9"},
		{inThread, "!mine", "ListMine", nil, 7, "#3, #9"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.ex.StatusText = "#7 open, yours"
			b.ex.Preview = "Hello!\nRefunds take 5 days."
			b.ex.Names = []string{"greeting", "refund policy"}
			b.ex.Mine = "#3, #9"
			got := b.proc.Run(context.Background(), b.ex, tt.inv, tt.text)
			want := Reply{Text: tt.reply, Ephemeral: tt.reply != ""}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Run(%q) = %+v, want %+v", tt.text, got, want)
			}
			calls := b.ex.Calls()
			if len(calls) != 1 {
				t.Fatalf("Run(%q) made %d executor calls, want 1: %+v", tt.text, len(calls), calls)
			}
			c := calls[0]
			if c.Method != tt.method || !slices.Equal(c.Args, tt.args) || c.Inv.ConversationID != tt.conv {
				t.Errorf("Run(%q) called %s(%q) on #%d, want %s(%q) on #%d",
					tt.text, c.Method, c.Args, c.Inv.ConversationID, tt.method, tt.args, tt.conv)
			}
			// Everything else about the invocation reaches the executor unchanged.
			wantInv := tt.inv
			wantInv.ConversationID = tt.conv
			if !slices.Equal(c.Inv.Roles, wantInv.Roles) || c.Inv.ActorID != wantInv.ActorID ||
				c.Inv.EventID != wantInv.EventID || c.Inv.Source != wantInv.Source || c.Inv.ThreadID != wantInv.ThreadID {
				t.Errorf("Run(%q) invocation = %+v, want %+v", tt.text, c.Inv, wantInv)
			}
		})
	}
}

func TestRunEmptyAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.ex.Mine = ""
	if got := b.proc.Run(context.Background(), b.ex, slashAnywhere, ""); got.Text != "You have no open conversations." {
		t.Errorf("empty ListMine: %q", got.Text)
	}
	if got := b.proc.Run(context.Background(), b.ex, inThread, "!replies"); got.Text != "There are no saved replies yet." {
		t.Errorf("no saved replies: %q", got.Text)
	}
}

func TestRunRefusesByRole(t *testing.T) {
	t.Parallel()
	nobody := with(inThread, roles())
	stranger := with(inThread, roles("customer-success"))
	engineer := with(inThread, roles(RoleEngineer))
	tests := []struct {
		inv  Invocation
		text string
		want string
	}{
		{engineer, "!claim", "`claim` needs the agent role."},
		{engineer, "!assign @bob", "`assign` needs the agent role."},
		{engineer, "!assign", "`assign` needs the agent role."}, // refusal before usage
		{engineer, "!tag nope nope!", "`tag` needs the agent role."},
		{engineer, "!close", "`close` needs the agent role."},
		{engineer, "!reply-with x", "`reply-with` needs the agent role."},
		{engineer, "!available on", "`available` needs the agent role."},
		{nobody, "!resolve done", "`resolve` needs the agent or engineer role."},
		{nobody, "!note hi", "`note` needs the agent or engineer role."},
		{nobody, "!status", "`status` needs the agent or engineer role."},
		{stranger, "!claim", "`claim` needs the agent role."},
		{with(slashAnywhere, roles(RoleEngineer)), "claim", "`claim` needs the agent role."}, // before "which conversation?"
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			got := b.proc.Run(context.Background(), b.ex, tt.inv, tt.text)
			if !reflect.DeepEqual(got, Reply{Text: tt.want, Ephemeral: true}) {
				t.Errorf("Run(%q) as %v = %+v, want %q", tt.text, tt.inv.Roles, got, tt.want)
			}
			if calls := b.ex.Calls(); len(calls) != 0 {
				t.Errorf("executor was called: %+v", calls)
			}
		})
	}
}

func TestRunAllowsByRole(t *testing.T) {
	t.Parallel()
	lead := with(inThread, roles(RoleLead))
	both := with(inThread, roles(RoleEngineer, RoleAgent))
	for _, tt := range []struct {
		inv  Invocation
		text string
	}{
		{lead, "!claim"}, {lead, "!assign @bob"}, {lead, "!reopen"}, {lead, "!note x"},
		{both, "!resolve"}, {both, "!claim"},
	} {
		b := setup(t)
		b.proc.Run(context.Background(), b.ex, tt.inv, tt.text)
		if len(b.ex.Calls()) != 1 {
			t.Errorf("Run(%q) as %v did not reach the executor", tt.text, tt.inv.Roles)
		}
	}
	// help is for everyone, and the bare slash command shows it to those
	// without a queue.
	b := setup(t)
	got := b.proc.Run(context.Background(), b.ex, with(inThread, roles()), "!help")
	if !strings.Contains(got.Text, "`help [command]`") || strings.Contains(got.Text, "claim") {
		t.Errorf("help for nobody:\n%s", got.Text)
	}
	got = b.proc.Run(context.Background(), b.ex, with(slashAnywhere, roles(RoleEngineer)), "")
	if !strings.Contains(got.Text, "`resolve [text…]`") || !got.Ephemeral {
		t.Errorf("bare slash for an engineer:\n%+v", got)
	}
	if len(b.ex.Calls()) != 0 {
		t.Errorf("executor called: %+v", b.ex.Calls())
	}
}

func TestRunUsageErrorsAreEphemeral(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := b.proc.Run(context.Background(), b.ex, slashAnywhere, "tag billing")
	want := Reply{Text: "Which conversation? Add its ticket number, e.g. `/xb tag billing #42`.\nUsage: /xb tag <tag> [tag…] #ticket", Ephemeral: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got = b.proc.Run(context.Background(), b.ex, inThread, "!clam")
	if got.Text != "Unknown command `clam`. Did you mean `claim`? Try `!help`." || !got.Ephemeral {
		t.Errorf("got %+v", got)
	}
	if len(b.ex.Calls()) != 0 {
		t.Errorf("executor called: %+v", b.ex.Calls())
	}
}

func TestRunMapsExecutorErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		want    string
		logged  bool
		command string
	}{
		{"forbidden", bridge.Errorf(bridge.EFORBIDDEN, "Reopening after 7 days needs the lead role."), "Reopening after 7 days needs the lead role.", false, "!reopen"},
		{"needs role", NeedsRole("assign", RoleLead), "`assign` needs the lead role.", false, "!assign @bob"},
		{"not found", bridge.Errorf(bridge.ENOTFOUND, "No conversation #7."), "No conversation #7.", false, "!claim"},
		{"conflict wrapped", fmt.Errorf("claim conversation 7: %w", bridge.Errorf(bridge.ECONFLICT, "Bob claimed it first.")), "Bob claimed it first.", false, "!claim"},
		{"invalid", bridge.Errorf(bridge.EINVALID, "Saved reply `x` does not exist."), "Saved reply `x` does not exist.", false, "!reply-with x"},
		{"unavailable", bridge.Errorf(bridge.EUNAVAILABLE, "X is rate limiting us; try in a minute."), "X is rate limiting us; try in a minute.", false, "!status"},
		{"empty message", &bridge.Error{Code: bridge.ENOTFOUND}, "Not found.", false, "!claim"},
		{"plain error", errors.New("database is locked"), "Something went wrong; it was logged.", true, "!tag billing"},
		{"internal code", &bridge.Error{Code: bridge.EINTERNAL, Message: "secret details", Err: errors.New("disk full")}, "Something went wrong; it was logged.", true, "!status"},
		{"list", errors.New("boom"), "Something went wrong; it was logged.", true, "!replies"},
		{"mine", errors.New("boom"), "Something went wrong; it was logged.", true, "!mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.ex.Err = tt.err
			got := b.proc.Run(context.Background(), b.ex, with(inThread, roles(RoleAgent)), tt.command)
			// The refusal's code travels with the reply: adapters stay
			// silent on a reaction outside a ticket thread (ENOTFOUND).
			if want := (Reply{Text: tt.want, Ephemeral: true, Refused: bridge.ErrorCode(tt.err)}); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			logs := b.logs.String()
			if tt.logged != strings.Contains(logs, "level=ERROR") {
				t.Errorf("logged = %v, want %v:\n%s", !tt.logged, tt.logged, logs)
			}
			if tt.logged && (!strings.Contains(logs, "event_id=Ev1") || !strings.Contains(logs, "conversation=7")) {
				t.Errorf("log lacks context:\n%s", logs)
			}
		})
	}
}

func TestRunKnownTags(t *testing.T) {
	t.Parallel()
	known := func(context.Context) ([]string, error) { return []string{"billing", "refund", "vip"}, nil }
	tests := []struct {
		text   string
		want   string
		called bool
	}{
		{"!tag billing VIP", "", true},
		{"!tag billing biling", "Unknown tag `biling`. Did you mean `billing`? Known tags: `billing`, `refund`, `vip`.", false},
		{"!tag outage", "Unknown tag `outage`. Known tags: `billing`, `refund`, `vip`.", false},
		{"!untag outage", "", true}, // a retired tag can still be removed
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.proc.KnownTags = known
			got := b.proc.Run(context.Background(), b.ex, inThread, tt.text)
			if got.Text != tt.want {
				t.Errorf("got %q, want %q", got.Text, tt.want)
			}
			if called := len(b.ex.Calls()) == 1; called != tt.called {
				t.Errorf("executor called = %v, want %v", called, tt.called)
			}
		})
	}

	b := setup(t)
	b.proc.KnownTags = func(context.Context) ([]string, error) { return nil, errors.New("store down") }
	if got := b.proc.Run(context.Background(), b.ex, inThread, "!tag billing"); got.Text != internalMessage {
		t.Errorf("KnownTags failure: %q", got.Text)
	}
	if !strings.Contains(b.logs.String(), "store down") || len(b.ex.Calls()) != 0 {
		t.Errorf("KnownTags failure not logged or executor called:\n%s", b.logs.String())
	}
	b = setup(t)
	b.proc.KnownTags = func(context.Context) ([]string, error) { return nil, nil }
	if got := b.proc.Run(context.Background(), b.ex, inThread, "!tag billing"); got.Text != "Unknown tag `billing`: no tags are configured." {
		t.Errorf("no known tags: %q", got.Text)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	agent := p.Help("", []Role{RoleAgent})
	for _, want := range []string{
		"Commands you can use: in a conversation's thread start them with `!`; anywhere, use `/xb <command> #ticket`.",
		"\n• `claim` — Take the conversation: you become its assignee.",
		"\n• `tag <tag> [tag…]` — Add tags to the conversation.",
		"\n• `priority urgent|high|normal|low` — ",
		"\n• `close [reason…]` — ",
		"\n• `assign @user` — ",
		"\n• `available on|off` — ",
		"\n`!help <command>` explains one.",
	} {
		if !strings.Contains(agent, want) {
			t.Errorf("agent help lacks %q:\n%s", want, agent)
		}
	}
	if !strings.Contains(agent, "`resolve") {
		t.Errorf("agent help lacks resolve (agents may resolve an escalation too):\n%s", agent)
	}
	if lead := p.Help("", []Role{RoleLead}); lead != agent {
		t.Errorf("lead help differs from agent help:\n%s", lead)
	}

	engineer := p.Help("", []Role{RoleEngineer})
	var listed []string
	for _, line := range strings.Split(engineer, "\n") {
		if name, ok := strings.CutPrefix(line, "• `"); ok {
			listed = append(listed, strings.Fields(strings.SplitN(name, "`", 2)[0])[0])
		}
	}
	if want := []string{"note", "reply", "resolve", "status", "help"}; !slices.Equal(listed, want) {
		t.Errorf("engineer help lists %q, want %q", listed, want)
	}

	want := "`priority urgent|high|normal|low` — Set the conversation's priority.\n" +
		"Aliases: `p`, `prio`\n" +
		"Example: `!priority high` in the conversation's thread, `/xb priority high #42` anywhere.\n" +
		"Who: agent, lead"
	for _, name := range []string{"priority", "PRIO", "!p"} {
		if got := p.Help(name, []Role{RoleAgent}); got != want {
			t.Errorf("Help(%q):\n%s\nwant:\n%s", name, got, want)
		}
	}
	got := p.Help("assign", []Role{RoleEngineer})
	for _, w := range []string{"Assigning anyone but yourself needs the lead role.", "You can't run it: `assign` needs the agent role."} {
		if !strings.Contains(got, w) {
			t.Errorf("Help(assign) for an engineer lacks %q:\n%s", w, got)
		}
	}
	if got := p.Help("available", nil); !strings.Contains(got, "Example: `!available off` or `/xb available off`.") {
		t.Errorf("Help(available):\n%s", got)
	}
	if got := p.Help("help", nil); !strings.Contains(got, "Who: everyone") || strings.Contains(got, "can't") {
		t.Errorf("Help(help):\n%s", got)
	}
	if got := p.Help("clam", nil); got != "Unknown command `clam`. Did you mean `claim`? Try `!help`." {
		t.Errorf("Help(clam) = %q", got)
	}

	// Through the command.
	b := setup(t)
	r := b.proc.Run(context.Background(), b.ex, inThread, "!help p")
	if r.Text != want || !r.Ephemeral {
		t.Errorf("!help p = %+v", r)
	}
}
