package commands

import (
	"context"
	"reflect"
	"testing"
)

func TestFromReaction(t *testing.T) {
	t.Parallel()
	p := NewProcessor("!")
	tests := []struct {
		emoji, want string
		ok          bool
	}{
		{"eyes", "claim", true},
		{":eyes:", "claim", true},
		{"👀", "claim", true},
		{"double_vertical_bar", "pending", true},
		{"pause_button", "pending", true},
		{"⏸️", "pending", true},
		{"⏸", "pending", true}, // without the variation selector
		{"rotating_light", "escalate", true},
		{"🚨", "escalate", true},
		{"white_check_mark", "close", true},
		{"✅", "close", true},
		{" White_Check_Mark ", "close", true},
		{"eyes::skin-tone-3", "claim", true},
		{"+1", "", false},
		{"heavy_check_mark", "", false},
		{"", "", false},
		{"::", "", false},
	}
	for _, tt := range tests {
		got, ok := p.FromReaction(tt.emoji)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FromReaction(%q) = %q, %v; want %q, %v", tt.emoji, got, ok, tt.want, tt.ok)
		}
	}

	p.Reactions = map[string]string{"fire": "priority urgent", "🔥": "priority urgent"}
	if got, ok := p.FromReaction(":fire:"); !ok || got != "priority urgent" {
		t.Errorf("custom reaction = %q, %v", got, ok)
	}
	if _, ok := p.FromReaction("eyes"); ok {
		t.Error("a replaced map still maps eyes")
	}
}

func TestReactionRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inv := inThread.withSource(SourceReaction)
	text, ok := b.proc.FromReaction("✅")
	if !ok {
		t.Fatal("✅ not mapped")
	}
	if got := b.proc.Run(context.Background(), b.ex, inv, text); !reflect.DeepEqual(got, Reply{}) {
		t.Errorf("reaction in a thread answered %+v; the thread notice is the answer", got)
	}
	calls := b.ex.Calls()
	if len(calls) != 1 || calls[0].Method != "Close" || calls[0].Inv.ConversationID != 7 || calls[0].Inv.Source != SourceReaction {
		t.Errorf("calls = %+v", calls)
	}
}

func TestButtons(t *testing.T) {
	t.Parallel()
	if got := ButtonAction("priority high"); got != "xb_cmd:priority high" {
		t.Errorf("ButtonAction = %q", got)
	}
	tests := []struct {
		action, value, want string
		ok                  bool
	}{
		{"xb_cmd:claim", "", "claim", true},
		{"xb_cmd:claim", "#42", "claim #42", true},
		{"xb_cmd:priority high", " 42 ", "priority high 42", true},
		{"xb_cmd:", "", "", false},
		{"xb_cmd: ", " ", "", false},
		{"xb_resend", "123", "", false},
		{"claim", "", "", false},
	}
	for _, tt := range tests {
		got, ok := FromButton(tt.action, tt.value)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FromButton(%q, %q) = %q, %v; want %q, %v", tt.action, tt.value, got, ok, tt.want, tt.ok)
		}
	}

	// A button on an SLA alert, outside the thread: the value names the
	// ticket and the caller gets a confirmation.
	b := setup(t)
	parsed, err := b.proc.Parse(inThread, "!P High")
	if err != nil {
		t.Fatal(err)
	}
	text, ok := FromButton(ButtonAction(parsed.String()), "#42")
	if !ok {
		t.Fatal("FromButton refused ButtonAction's id")
	}
	inv := Invocation{Source: SourceButton, Platform: "slack", Channel: "C_ALERTS", ActorID: "U1", Roles: []Role{RoleAgent}, EventID: "a1"}
	if got := b.proc.Run(context.Background(), b.ex, inv, text); !reflect.DeepEqual(got, Reply{Text: "Priority of #42 set to high.", Ephemeral: true}) {
		t.Errorf("alert button answered %+v", got)
	}
	calls := b.ex.Calls()
	if len(calls) != 1 || calls[0].Method != "SetPriority" || calls[0].Args[0] != "high" || calls[0].Inv.ConversationID != 42 {
		t.Errorf("calls = %+v", calls)
	}
}
