package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
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

func TestRenderCard(t *testing.T) {
	t.Parallel()
	opened := time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC)
	tests := []struct {
		name      string
		card      bridge.Card
		header    string
		fields    []string // each must appear in some field
		notFields []string
		textHas   []string
	}{
		{
			name: "dm",
			card: bridge.Card{
				Ticket: "#42", Kind: bridge.KindDM, Status: bridge.StatusOpen, Priority: bridge.PriorityNormal,
				CustomerName: "Jane <Doe> & Co", Handle: "jane_doe", ProfileURL: "https://x.com/jane_doe",
				Followers: 48213, Verified: true, OpenedAt: opened,
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
			},
			notFields: []string{"Previous conversation", "Closed"},
			textHas:   []string{"#42 · Jane &lt;Doe&gt; &amp; Co (@jane_doe)", "direct message", "open"},
		},
		{
			name: "mention, closed, with a previous conversation",
			card: bridge.Card{
				Ticket: "#7", Kind: bridge.KindMention, Status: bridge.StatusClosed, Priority: bridge.PriorityUrgent,
				CustomerName: "Bob", Handle: "bob", ProfileURL: "https://x.com/bob",
				Followers: 950, SourceURL: "https://x.com/bob/status/123", OpenedAt: opened,
				ClosedAt: opened.Add(time.Hour), PreviousID: 3,
			},
			header: "#7 · Bob",
			fields: []string{
				"*Followers*\n950",
				"*Verified*\nNo",
				"*Channel*\nPublic mention · <https://x.com/bob/status/123|view tweet>",
				"*Status*\n:white_circle: Closed",
				"*Priority*\n:rotating_light: Urgent",
				"*Closed*\n<!date^1741947960^",
				"*Previous conversation*\n#3",
			},
			textHas: []string{"public mention", "urgent priority"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			blocks, fallback := renderCard(tt.card)
			got := render(t, blocks)
			if len(got) != 2 || got[0]["type"] != "header" || got[1]["type"] != "section" {
				t.Fatalf("blocks = %v, want header and section", got)
			}
			if h := text(got[0], "text"); h != tt.header {
				t.Errorf("header = %q, want %q", h, tt.header)
			}
			fields := fieldTexts(got[1])
			if len(fields) > 10 {
				t.Errorf("%d fields; Slack allows 10", len(fields))
			}
			all := strings.Join(fields, "\n---\n")
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
			for _, want := range tt.textHas {
				if !strings.Contains(fallback, want) {
					t.Errorf("text %q lacks %q", fallback, want)
				}
			}
		})
	}
}

func TestHumanCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1k"}, {1049, "1k"}, {1050, "1.1k"}, {48213, "48.2k"},
		{999949, "999.9k"}, {999999, "1M"}, {1500000, "1.5M"}, {2_000_000_000, "2B"}, {-5, "0"},
	}
	for _, tt := range tests {
		if got := humanCount(tt.n); got != tt.want {
			t.Errorf("humanCount(%d) = %q, want %q", tt.n, got, tt.want)
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
