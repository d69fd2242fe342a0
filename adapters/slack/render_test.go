package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// block is a rendered block as Slack receives it.
type block = map[string]any

// render marshals blocks the way slack-go sends them.
func render(t *testing.T, blocks []slackapi.Block) []block {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// text returns the text of a text object (b[key]).
func text(b block, key string) string {
	obj, _ := b[key].(map[string]any)
	s, _ := obj["text"].(string)
	return s
}

// fieldTexts returns the texts of a section's fields.
func fieldTexts(b block) []string {
	var out []string
	fs, _ := b["fields"].([]any)
	for _, f := range fs {
		m, _ := f.(map[string]any)
		s, _ := m["text"].(string)
		out = append(out, s)
	}
	return out
}

// sections returns the fields of every section block, joined.
func allFields(blocks []block) []string {
	var out []string
	for _, b := range blocks {
		if b["type"] == "section" {
			out = append(out, fieldTexts(b)...)
		}
	}
	return out
}

// blockTexts returns every text of the blocks, as one string.
func blockTexts(t *testing.T, blocks []slackapi.Block) string {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v any, out *[]string)
	walk = func(v any, out *[]string) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				*out = append(*out, s)
			}
			for _, k := range []string{"text", "fields", "elements", "options", "initial_option", "accessory"} {
				if k == "text" {
					if m, ok := x[k].(map[string]any); ok {
						walk(m, out)
					}
					continue
				}
				walk(x[k], out)
			}
		case []any:
			for _, it := range x {
				walk(it, out)
			}
		}
	}
	var v any
	_ = json.Unmarshal(b, &v)
	var out []string
	walk(v, &out)
	return strings.Join(out, "\n")
}

// checkLimits fails the test when blocks break Block Kit's limits.
func checkLimits(t *testing.T, blocks []block) {
	t.Helper()
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks; Slack allows %d", len(blocks), maxBlocks)
	}
	for i, b := range blocks {
		switch b["type"] {
		case "header":
			if n := utf8.RuneCountInString(text(b, "text")); n > maxHeaderChars {
				t.Errorf("block %d: header of %d characters", i, n)
			}
		case "section":
			if n := utf8.RuneCountInString(text(b, "text")); n > maxSectionChars {
				t.Errorf("block %d: section text of %d characters", i, n)
			}
			fs := fieldTexts(b)
			if len(fs) > 10 {
				t.Errorf("block %d: %d fields; Slack allows 10", i, len(fs))
			}
			for _, f := range fs {
				if n := utf8.RuneCountInString(f); n > 2000 {
					t.Errorf("block %d: field of %d characters", i, n)
				}
			}
			if text(b, "text") == "" && len(fs) == 0 {
				t.Errorf("block %d: empty section", i)
			}
		case "actions":
			elems, _ := b["elements"].([]any)
			if len(elems) == 0 || len(elems) > maxActionElements {
				t.Errorf("block %d: %d elements in an actions block", i, len(elems))
			}
			seen := map[string]bool{}
			for _, e := range elems {
				m := e.(map[string]any)
				id, _ := m["action_id"].(string)
				if seen[id] || id == "" || len(id) > 255 {
					t.Errorf("block %d: action_id %q missing, too long or repeated", i, id)
				}
				seen[id] = true
			}
		}
	}
}

// actionsOf returns the elements of the blocks' actions block by action id.
func actionsOf(blocks []block) (ids []string, elems map[string]map[string]any) {
	elems = map[string]map[string]any{}
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		list, _ := b["elements"].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			id, _ := m["action_id"].(string)
			ids = append(ids, id)
			elems[id] = m
		}
	}
	return ids, elems
}

var testLinks = links{workspace: "https://acme.slack.com"}

func TestRenderCard(t *testing.T) {
	t.Parallel()
	opened := time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC)
	tests := []struct {
		name      string
		card      bridge.Card
		header    string
		fields    []string // each must appear in some field
		notFields []string
		has       []string // each must appear in some block's text
		hasNot    []string
		textHas   []string
	}{
		{
			name: "dm",
			card: bridge.Card{
				Ticket: "#42", Kind: bridge.KindDM, Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
				CustomerName: "Jane <Doe> & Co", Handle: "jane_doe", ProfileURL: "https://x.com/jane_doe",
				Followers: 48213, Verified: true, OpenedAt: opened, ConversationID: 42,
			},
			header: "#42 · Jane <Doe> & Co",
			fields: []string{
				"*Customer*\n<https://x.com/jane_doe|Jane &lt;Doe&gt; &amp; Co>",
				"*Handle*\n@jane_doe",
				"*Followers*\n48.2k",
				"*Verified*\nYes",
				"*Channel*\nDirect message",
				"*Status*\n:large_green_circle: Open",
				"*Priority*\nNormal",
				"*Opened*\n<!date^1741944360^{date_short_pretty} {time}|Mar 14, 2025 09:26 UTC>",
				"*Assignee*\nUnassigned",
				"*Tags*\n—",
			},
			notFields: []string{"Previous conversation", "Closed", "Escalation"},
			hasNot:    []string{"earlier conversation"},
			textHas:   []string{"#42 · Jane &lt;Doe&gt; &amp; Co (@jane_doe)", "direct message", "open"},
		},
		{
			name: "assigned, tagged, escalated, waiting on the customer, with history",
			card: bridge.Card{
				Ticket: "#42", Kind: bridge.KindDM, Status: bridge.StatusPending, Priority: bridge.PriorityHigh,
				CustomerName: "Jane", Handle: "jane", OpenedAt: opened, ConversationID: 42,
				AssigneeID: "UAGENT1", AssigneeName: "alice", Tags: []string{"billing", "refund"},
				Escalation: &bridge.CardEscalation{Open: true,
					Thread: bridge.ThreadRef{Platform: "slack", Channel: "C0ENG", ThreadID: "1741944999.000300"}},
				HistoryCount: 5,
				History: []bridge.CardHistory{
					{Ticket: "#12", Status: bridge.StatusClosed, Thread: bridge.ThreadRef{Platform: "slack", Channel: "C0SUPPORT", ThreadID: "1741000000.000100"}},
					{Ticket: "#9", Status: bridge.StatusPending, Thread: bridge.ThreadRef{Platform: "slack", Channel: "C0SUPPORT", ThreadID: "1740000000.000200"}},
					{Ticket: "#7", Status: bridge.StatusClosed, Thread: bridge.ThreadRef{Platform: "discord", Channel: "123", ThreadID: "456"}},
				},
			},
			header: "#42 · Jane",
			fields: []string{
				"*Status*\n:large_yellow_circle: Waiting on customer",
				"*Priority*\n:arrow_up: High",
				"*Assignee*\n<@UAGENT1>",
				"*Tags*\n`billing` `refund`",
				"*Escalation*\n:rotating_light: Open · <https://acme.slack.com/archives/C0ENG/p1741944999000300|engineering thread>",
			},
			has: []string{
				"5 earlier conversations: <https://acme.slack.com/archives/C0SUPPORT/p1741000000000100|#12> (closed), " +
					"<https://acme.slack.com/archives/C0SUPPORT/p1740000000000200|#9> (waiting on customer), #7 (closed), …",
			},
			textHas: []string{"waiting on customer", "high priority", "assigned to alice"},
		},
		{
			name: "mention, closed, with a previous conversation",
			card: bridge.Card{
				Ticket: "#7", Kind: bridge.KindMention, Status: bridge.StatusClosed, Priority: bridge.PriorityUrgent,
				CustomerName: "Bob", Handle: "bob", ProfileURL: "https://x.com/bob",
				Followers: 950, SourceURL: "https://x.com/bob/status/123", OpenedAt: opened,
				ClosedAt: opened.Add(3*time.Hour + 12*time.Minute), PreviousID: 3, ConversationID: 7,
				ClosedByName: "Ann <A>", CloseReason: "refund issued & confirmed",
				Escalation:   &bridge.CardEscalation{Open: false, Thread: bridge.ThreadRef{Platform: "discord", Channel: "1", ThreadID: "2"}},
				HistoryCount: 1,
				History:      []bridge.CardHistory{{Ticket: "#3", Status: bridge.StatusClosed, Thread: bridge.ThreadRef{Platform: "slack", Channel: "C0SUPPORT", ThreadID: "1.2"}}},
			},
			header: "#7 · Bob",
			fields: []string{
				"*Followers*\n950",
				"*Verified*\nNo",
				"*Channel*\nPublic mention · <https://x.com/bob/status/123|view tweet>",
				"*Status*\n:white_circle: Closed",
				"*Priority*\n:rotating_light: Urgent",
				"*Closed*\n<!date^1741955880^{date_short_pretty} {time}|Mar 14, 2025 12:38 UTC> by Ann &lt;A&gt; · after 3 h 12 min",
				"*Previous conversation*\n#3",
				"*Escalation*\n:white_check_mark: Resolved · on Discord",
			},
			has:     []string{"*Close reason*\nrefund issued &amp; confirmed", "1 earlier conversation: <https://acme.slack.com/archives/C0SUPPORT/p12|#3> (closed)"},
			textHas: []string{"public mention", "urgent priority", "closed"},
		},
		{
			name: "one of several support accounts",
			card: bridge.Card{
				Ticket: "#8", Kind: bridge.KindMention, Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
				CustomerName: "Bob", Handle: "bob", SourceURL: "https://x.com/bob/status/9", Account: "acme_billing",
				OpenedAt: opened, ConversationID: 8,
			},
			header: "#8 · Bob",
			fields: []string{"*Channel*\nPublic mention of @acme_billing · <https://x.com/bob/status/9|view tweet>"},
		},
		{
			name: "dm to one of several support accounts",
			card: bridge.Card{
				Ticket: "#9", Kind: bridge.KindDM, Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
				CustomerName: "Bob", Handle: "bob", Account: "acme_help", OpenedAt: opened, ConversationID: 9,
			},
			header: "#9 · Bob",
			fields: []string{"*Channel*\nDirect message to @acme_help"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			blocks, fallback := renderCard(tt.card, testLinks)
			got := render(t, blocks)
			checkLimits(t, got)
			if got[0]["type"] != "header" {
				t.Fatalf("blocks = %v, want a header first", got)
			}
			if h := text(got[0], "text"); h != tt.header {
				t.Errorf("header = %q, want %q", h, tt.header)
			}
			all := strings.Join(allFields(got), "\n---\n")
			for _, want := range tt.fields {
				if !strings.Contains(all, want) {
					t.Errorf("no field contains %q; fields:\n%s", want, all)
				}
			}
			for _, bad := range tt.notFields {
				if strings.Contains(all, bad) {
					t.Errorf("fields contain %q; fields:\n%s", bad, all)
				}
			}
			texts := blockTexts(t, blocks)
			for _, want := range tt.has {
				if !strings.Contains(texts, want) {
					t.Errorf("blocks lack %q:\n%s", want, texts)
				}
			}
			for _, bad := range tt.hasNot {
				if strings.Contains(texts, bad) {
					t.Errorf("blocks contain %q:\n%s", bad, texts)
				}
			}
			for _, want := range tt.textHas {
				if !strings.Contains(fallback, want) {
					t.Errorf("text %q lacks %q", fallback, want)
				}
			}
		})
	}
}

func TestCardActions(t *testing.T) {
	t.Parallel()
	open := &bridge.CardEscalation{Open: true, Thread: bridge.ThreadRef{Platform: "slack", Channel: "C0ENG", ThreadID: "1.1"}}
	tests := []struct {
		name     string
		card     bridge.Card
		want     []string // action ids in order
		priority string   // the select's initial option; "" when there is no select
	}{
		{"open, unassigned", bridge.Card{Status: bridge.StatusOpen, Priority: bridge.PriorityNormal},
			[]string{"xb_cmd:claim", "xb_cmd:pending", "xb_cmd:escalate", "xb_cmd:close", "xb_cmd:priority"}, "normal"},
		{"open, assigned", bridge.Card{Status: bridge.StatusOpen, Priority: bridge.PriorityUrgent, AssigneeID: "U1"},
			[]string{"xb_cmd:unclaim", "xb_cmd:pending", "xb_cmd:escalate", "xb_cmd:close", "xb_cmd:priority"}, "urgent"},
		{"waiting on the customer, escalated", bridge.Card{Status: bridge.StatusPending, Priority: bridge.PriorityLow, AssigneeID: "U1", Escalation: open},
			[]string{"xb_cmd:unclaim", "xb_cmd:close", "xb_cmd:priority"}, "low"},
		{"escalation resolved", bridge.Card{Status: bridge.StatusOpen, Priority: bridge.PriorityHigh, Escalation: &bridge.CardEscalation{}},
			[]string{"xb_cmd:claim", "xb_cmd:pending", "xb_cmd:escalate", "xb_cmd:close", "xb_cmd:priority"}, "high"},
		{"closed", bridge.Card{Status: bridge.StatusClosed, Priority: bridge.PriorityHigh, AssigneeID: "U1"},
			[]string{"xb_cmd:reopen"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.card.Ticket, tt.card.ConversationID = "#42", 42
			blocks := render(t, mustBlocks(renderCard(tt.card, links{})))
			checkLimits(t, blocks)
			ids, elems := actionsOf(blocks)
			if strings.Join(ids, " ") != strings.Join(tt.want, " ") {
				t.Errorf("actions %v, want %v", ids, tt.want)
			}
			for id, e := range elems {
				if e["type"] == "button" && e["value"] != "#42" {
					t.Errorf("%s: value %v, want #42", id, e["value"])
				}
			}
			for _, id := range ids {
				if _, ok := commands.FromButton(id, ""); !ok {
					t.Errorf("%s is not a command action", id)
				}
			}
			sel, ok := elems["xb_cmd:priority"]
			if tt.priority == "" {
				if ok {
					t.Errorf("a closed card has a priority select")
				}
				return
			}
			if sel["type"] != "static_select" {
				t.Fatalf("priority element %v", sel)
			}
			var values []string
			for _, o := range sel["options"].([]any) {
				values = append(values, o.(map[string]any)["value"].(string))
			}
			if strings.Join(values, " ") != "urgent high normal low" {
				t.Errorf("options %v", values)
			}
			init, _ := sel["initial_option"].(map[string]any)
			if init["value"] != tt.priority {
				t.Errorf("initial option %v, want %s", init, tt.priority)
			}
		})
	}

	// Without a ticket there is nothing to act on.
	blocks := render(t, mustBlocks(renderCard(bridge.Card{Ticket: "draft", Status: bridge.StatusOpen}, links{})))
	if ids, _ := actionsOf(blocks); len(ids) != 0 {
		t.Errorf("a card without a ticket has actions %v", ids)
	}
}

func mustBlocks(blocks []slackapi.Block, _ string) []slackapi.Block { return blocks }

func TestRenderEscalation(t *testing.T) {
	t.Parallel()
	base := bridge.EscalationCard{
		Ticket: "#42", Summary: "Refund API returns 500 <again> & again", OpenedByName: "alice",
		CustomerName: "Jane Doe", Handle: "jane", Followers: 48213, Kind: bridge.KindDM,
		Priority: bridge.PriorityUrgent, Tags: []string{"billing"},
		Recent: []bridge.CardMessage{
			{Direction: bridge.DirectionIn, Author: "Jane Doe", Text: "My refund failed\ntwice"},
			{Direction: bridge.DirectionOut, Author: "alice", Text: "Looking into it"},
			{Direction: bridge.DirectionNote, Author: "bob", Text: "500 from /refunds"},
		},
		Support: bridge.ThreadRef{Platform: "slack", Channel: "C0SUPPORT", ThreadID: "1741944360.000100"},
		OnCall:  "<!subteam^S0ENG>",
	}
	tests := []struct {
		name    string
		edit    func(*bridge.EscalationCard)
		links   links
		has     []string
		hasNot  []string
		resolve bool
	}{
		{
			name:  "open",
			links: testLinks,
			has: []string{
				"<!subteam^S0ENG>", "Escalation · #42 · Jane Doe", "*Summary*\nRefund API returns 500 &lt;again&gt; &amp; again",
				"Escalated by alice", "*Handle*\n@jane", "*Followers*\n48.2k", "*Channel*\nDirect message",
				"*Priority*\n:rotating_light: Urgent", "*Tags*\n`billing`",
				"*Customer* @jane\n> My refund failed\n> twice", "*Agent* alice\n> Looking into it", "*Note* by bob\n> 500 from /refunds",
				"<https://acme.slack.com/archives/C0SUPPORT/p1741944360000100|Support thread of #42>",
			},
			hasNot:  []string{"Resolved", "closed"},
			resolve: true,
		},
		{
			name: "support on another platform, no workspace URL",
			edit: func(e *bridge.EscalationCard) {
				e.Support = bridge.ThreadRef{Platform: "discord", Channel: "1", ThreadID: "2"}
			},
			has:     []string{"The support thread of #42 is on Discord."},
			hasNot:  []string{"archives"},
			resolve: true,
		},
		{
			name:    "support conversation closed",
			edit:    func(e *bridge.EscalationCard) { e.SupportClosed = true },
			links:   testLinks,
			has:     []string{"The support conversation is closed"},
			resolve: true,
		},
		{
			name: "resolved",
			edit: func(e *bridge.EscalationCard) {
				e.Resolved, e.ResolvedBy, e.Resolution = true, "eve", "deployed fix <v2>"
			},
			links: testLinks,
			has:   []string{":white_check_mark: *Resolved* by eve: deployed fix &lt;v2&gt;"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := base
			if tt.edit != nil {
				tt.edit(&e)
			}
			blocks, fallback := renderEscalation(e, tt.links)
			got := render(t, blocks)
			checkLimits(t, got)
			if text(got[0], "text") != "<!subteam^S0ENG> — engineering, a support conversation needs you." {
				t.Errorf("first block %v, want the on-call mention", got[0])
			}
			texts := blockTexts(t, blocks)
			for _, want := range tt.has {
				if !strings.Contains(texts, want) {
					t.Errorf("blocks lack %q:\n%s", want, texts)
				}
			}
			for _, bad := range tt.hasNot {
				if strings.Contains(texts, bad) {
					t.Errorf("blocks contain %q:\n%s", bad, texts)
				}
			}
			ids, elems := actionsOf(got)
			if tt.resolve {
				if len(ids) != 1 || ids[0] != commands.ButtonAction("resolve") || elems[ids[0]]["value"] != "#42" {
					t.Errorf("actions %v, want the Resolve button", elems)
				}
			} else if len(ids) != 0 {
				t.Errorf("a resolved escalation has actions %v", ids)
			}
			if !strings.HasPrefix(fallback, "<!subteam^S0ENG> Escalation · #42 · Jane Doe: Refund API") {
				t.Errorf("text %q", fallback)
			}
		})
	}

	// Many long messages stay within the limits.
	e := base
	e.Summary = strings.Repeat("s", 5000)
	for range 30 {
		e.Recent = append(e.Recent, bridge.CardMessage{Direction: bridge.DirectionIn, Text: strings.Repeat("<&> ", 1000)})
	}
	blocks, _ := renderEscalation(e, testLinks)
	checkLimits(t, render(t, blocks))
}

func TestMentions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ids  []string
		want string
	}{
		{nil, ""},
		{[]string{"U123"}, "<@U123> "},
		{[]string{"U1", "W2", "U1", ""}, "<@U1> <@W2> "},
		{[]string{"S0ENG"}, "<!subteam^S0ENG> "},
		{[]string{"<!here>"}, "<!here> "},
		{[]string{"alice<"}, "@alice&lt; "},
	}
	for _, tt := range tests {
		if got := mentions(tt.ids); got != tt.want {
			t.Errorf("mentions(%q) = %q, want %q", tt.ids, got, tt.want)
		}
	}
}

func TestRenderPost(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(strings.Repeat("word ", 99)+"end.\n\n", 20) // 10,020 characters
	tests := []struct {
		name  string
		post  bridge.Post
		check func(t *testing.T, blocks []block, text string)
	}{
		{
			name: "customer text is escaped",
			post: bridge.Post{Kind: bridge.PostCustomer, AuthorName: "Jane", Text: "Hi <!channel> & <@U1> a>b"},
			check: func(t *testing.T, blocks []block, fallback string) {
				if len(blocks) != 1 || blocks[0]["type"] != "section" {
					t.Fatalf("blocks = %v", blocks)
				}
				want := "Hi &lt;!channel&gt; &amp; &lt;@U1&gt; a&gt;b"
				if got := text(blocks[0], "text"); got != want {
					t.Errorf("text = %q, want %q", got, want)
				}
				if fallback != "Jane: "+want {
					t.Errorf("fallback = %q", fallback)
				}
			},
		},
		{
			name: "a 10,000-character DM is one message of several sections",
			post: bridge.Post{Kind: bridge.PostCustomer, Text: long},
			check: func(t *testing.T, blocks []block, fallback string) {
				if len(blocks) != 4 {
					t.Fatalf("%d blocks, want 4", len(blocks))
				}
				var parts []string
				for i, b := range blocks {
					s := text(b, "text")
					if n := utf8.RuneCountInString(s); n > 3000 {
						t.Errorf("block %d has %d characters", i, n)
					}
					if !strings.HasSuffix(s, "end.") {
						t.Errorf("block %d not cut at a paragraph: ends %q", i, s[len(s)-10:])
					}
					parts = append(parts, s)
				}
				if got, want := strings.Join(parts, "\n\n"), strings.TrimSpace(long); got != want {
					t.Error("the parts do not add up to the text")
				}
				if n := utf8.RuneCountInString(fallback); n > 150 {
					t.Errorf("fallback has %d characters", n)
				}
			},
		},
		{
			name: "warning with a Resend button",
			post: bridge.Post{Kind: bridge.PostWarning, Text: "Delivery unknown", Buttons: []bridge.Button{
				{Action: bridge.ActionResend, Label: "Resend", Value: "17"},
			}},
			check: func(t *testing.T, blocks []block, fallback string) {
				if len(blocks) != 2 || blocks[0]["type"] != "section" || blocks[1]["type"] != "actions" {
					t.Fatalf("blocks = %v", blocks)
				}
				if got := text(blocks[0], "text"); got != ":warning: Delivery unknown" {
					t.Errorf("text = %q", got)
				}
				elems, _ := blocks[1]["elements"].([]any)
				if len(elems) != 1 {
					t.Fatalf("elements = %v", elems)
				}
				btn := elems[0].(map[string]any)
				if btn["type"] != "button" || btn["action_id"] != bridge.ActionResend || btn["value"] != "17" || text(btn, "text") != "Resend" {
					t.Errorf("button = %v", btn)
				}
			},
		},
		{
			name: "notice is a context block",
			post: bridge.Post{Kind: bridge.PostNotice, Text: "Claimed by <Ann>"},
			check: func(t *testing.T, blocks []block, fallback string) {
				if len(blocks) != 1 || blocks[0]["type"] != "context" {
					t.Fatalf("blocks = %v", blocks)
				}
				elems, _ := blocks[0]["elements"].([]any)
				if len(elems) != 1 || elems[0].(map[string]any)["text"] != "Claimed by &lt;Ann&gt;" {
					t.Errorf("elements = %v", elems)
				}
			},
		},
		{
			name: "a notice that mentions the assignee",
			post: bridge.Post{Kind: bridge.PostNotice, Text: "Engineering resolved the escalation <x>.", Mention: []string{"UAGENT1"}},
			check: func(t *testing.T, blocks []block, fallback string) {
				elems, _ := blocks[0]["elements"].([]any)
				if got := elems[0].(map[string]any)["text"]; got != "<@UAGENT1> Engineering resolved the escalation &lt;x&gt;." {
					t.Errorf("text = %q", got)
				}
				if !strings.HasPrefix(fallback, "<@UAGENT1> Engineering") {
					t.Errorf("fallback = %q", fallback)
				}
			},
		},
		{
			name: "a long warning with mentions stays within the section limit",
			post: bridge.Post{Kind: bridge.PostWarning, Text: strings.Repeat("x", 5000), Mention: []string{"U1", "U2"}},
			check: func(t *testing.T, blocks []block, fallback string) {
				if got := text(blocks[0], "text"); !strings.HasPrefix(got, "<@U1> <@U2> :warning: xxx") {
					t.Errorf("text starts %q", got[:30])
				}
				for i, b := range blocks {
					if n := utf8.RuneCountInString(text(b, "text")); n > maxSectionChars {
						t.Errorf("block %d has %d characters", i, n)
					}
				}
			},
		},
		{
			name: "empty text still renders",
			post: bridge.Post{Kind: bridge.PostCustomer, Text: "  "},
			check: func(t *testing.T, blocks []block, fallback string) {
				if len(blocks) != 1 || strings.TrimSpace(text(blocks[0], "text")) == "" {
					t.Errorf("blocks = %v", blocks)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			blocks, fallback := renderPost(tt.post)
			tt.check(t, render(t, blocks), fallback)
		})
	}
}

func TestSplitEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		max      int
		maxParts int
		want     []string
	}{
		{"fits", "a & b", 20, 5, []string{"a &amp; b"}},
		{"line break preferred", "aaaa bbbb\ncccc dddd", 14, 5, []string{"aaaa bbbb", "cccc dddd"}},
		{"word break", "aaaa bbbb cccc", 10, 5, []string{"aaaa bbbb", "cccc"}},
		{"no space: hard cut", "abcdefghij", 4, 5, []string{"abcd", "efgh", "ij"}},
		{"escapes count", "<<<<", 8, 5, []string{"&lt;&lt;", "&lt;&lt;"}},
	}
	for _, tt := range tests {
		got := splitEscaped(tt.in, tt.max, tt.maxParts)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: splitEscaped(%q, %d) = %q, want %q", tt.name, tt.in, tt.max, got, tt.want)
		}
	}

	// Beyond the block limit the text is cut, and the last part says so.
	got := splitEscaped(strings.Repeat("x ", 200_000), maxSectionChars, maxBlocks)
	if len(got) != maxBlocks {
		t.Fatalf("%d parts, want %d", len(got), maxBlocks)
	}
	last := got[len(got)-1]
	if !strings.Contains(last, "more characters not shown") || utf8.RuneCountInString(last) > maxSectionChars {
		t.Errorf("last part (%d characters) ends %q", utf8.RuneCountInString(last), last[len(last)-60:])
	}
}

func TestCardShowsSLATargets(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	got := slaText([]bridge.CardSLA{
		{Metric: bridge.MetricFirstResponse, State: bridge.TargetImminent, DueAt: due},
		{Metric: bridge.MetricResolution, State: bridge.TargetPaused, DueAt: due},
	})
	for _, want := range []string{"First response: imminent, due <!date^" + fmt.Sprint(due.Unix()), "Resolution: paused"} {
		if !strings.Contains(got, want) {
			t.Errorf("slaText lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "paused, due") {
		t.Errorf("a paused target shows a due time: %s", got)
	}
}
