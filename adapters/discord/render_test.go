package discord

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// componentIDs lists the custom ids of rendered components, row by row.
func componentIDs(comps []discordgo.MessageComponent) []string {
	var out []string
	for _, c := range comps {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, e := range row.Components {
			switch x := e.(type) {
			case discordgo.Button:
				out = append(out, x.CustomID)
			case discordgo.SelectMenu:
				out = append(out, x.CustomID)
			}
		}
	}
	return out
}

func fieldOf(e *discordgo.MessageEmbed, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func TestRenderCardByStatus(t *testing.T) {
	t.Parallel()
	l := links{guild: testGuild}
	open := testCard()
	assigned := testCard()
	assigned.AssigneeID, assigned.AssigneeName = testAgent, "Alice"
	pending := assigned
	pending.Status = bridge.StatusPending
	escalated := assigned
	escalated.Priority = bridge.PriorityUrgent
	escalated.Escalation = &bridge.CardEscalation{Open: true, Thread: bridge.ThreadRef{Platform: "discord", Channel: testEng, ThreadID: "1700000000000000009"}}
	elsewhere := assigned
	elsewhere.Escalation = &bridge.CardEscalation{Open: false, Thread: bridge.ThreadRef{Platform: "slack", Channel: "C1", ThreadID: "1.2"}}
	closed := assigned
	closed.Status, closed.ClosedAt, closed.ClosedByName, closed.CloseReason = bridge.StatusClosed, closed.OpenedAt.Add(26*time.Hour), "Alice", "refunded *twice*"
	mention := testCard()
	mention.Kind, mention.SourceURL, mention.CustomerName = bridge.KindMention, "https://x.com/jane/status/1", ""
	mention.HistoryCount = 5
	toBilling := testCard()
	toBilling.Account = "acme_billing"
	mention.History = []bridge.CardHistory{{Ticket: "#12", Status: bridge.StatusClosed, Thread: bridge.ThreadRef{Platform: "discord", Channel: testText, ThreadID: "1700000000000000012"}}}

	for _, tc := range []struct {
		name    string
		card    bridge.Card
		ids     []string
		fields  map[string]string
		color   int
		titleIs string
	}{
		{"open", open,
			[]string{"xb_cmd:claim|#42", "xb_cmd:pending|#42", "xb_cmd:escalate|#42", "xb_cmd:close|#42", "xb_cmd:priority|#42"},
			map[string]string{"Status": "🟢 Open", "Assignee": "Unassigned", "Tags": "`billing`", "Followers": "48.2k",
				"Handle": "[@jane](https://x.com/jane)", "Channel": "Direct message", "Opened": "<t:1741944360:f>"},
			colorOpen, "#42 · Jane Doe"},
		{"assigned", assigned,
			[]string{"xb_cmd:unclaim|#42", "xb_cmd:pending|#42", "xb_cmd:escalate|#42", "xb_cmd:close|#42", "xb_cmd:priority|#42"},
			map[string]string{"Assignee": "<@" + testAgent + ">"}, colorOpen, ""},
		{"pending", pending,
			[]string{"xb_cmd:unclaim|#42", "xb_cmd:escalate|#42", "xb_cmd:close|#42", "xb_cmd:priority|#42"},
			map[string]string{"Status": "🟡 Waiting on customer"}, colorPending, ""},
		{"escalated", escalated,
			[]string{"xb_cmd:unclaim|#42", "xb_cmd:pending|#42", "xb_cmd:close|#42", "xb_cmd:priority|#42"},
			map[string]string{"Priority": "🚨 Urgent", "Escalation": "🚨 Open · [engineering thread](https://discord.com/channels/" + testGuild + "/" + testEng + "/1700000000000000009)"},
			colorUrgent, ""},
		{"escalated elsewhere", elsewhere,
			[]string{"xb_cmd:unclaim|#42", "xb_cmd:pending|#42", "xb_cmd:escalate|#42", "xb_cmd:close|#42", "xb_cmd:priority|#42"},
			map[string]string{"Escalation": "✅ Resolved · on Slack"}, colorOpen, ""},
		{"closed", closed,
			[]string{"xb_cmd:reopen|#42"},
			map[string]string{"Status": "⚪ Closed", "Closed": "<t:1742037960:f> by Alice · after 1 d 2 h", "Close reason": `refunded \*twice\*`},
			colorClosed, ""},
		{"mention", mention, nil,
			map[string]string{"Channel": "Public mention · [view tweet](https://x.com/jane/status/1)",
				"History": "🗂️ 5 earlier conversations: [\\#12](https://discord.com/channels/" + testGuild + "/" + testText + "/1700000000000000012) (closed), …"},
			colorOpen, "#42 · @jane"},
		{"one of several support accounts", toBilling, nil,
			map[string]string{"Channel": "Direct message to @acme\\_billing"}, colorOpen, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, comps := renderCard(tc.card, l)
			if tc.ids != nil && !slices.Equal(componentIDs(comps), tc.ids) {
				t.Errorf("components %v, want %v", componentIDs(comps), tc.ids)
			}
			for name, want := range tc.fields {
				if got := fieldOf(e, name); got != want {
					t.Errorf("field %s = %q, want %q", name, got, want)
				}
			}
			if e.Color != tc.color {
				t.Errorf("color %#x, want %#x", e.Color, tc.color)
			}
			if tc.titleIs != "" && e.Title != tc.titleIs {
				t.Errorf("title %q, want %q", e.Title, tc.titleIs)
			}
			for _, f := range e.Fields {
				if f.Value == "" || utf8.RuneCountInString(f.Value) > maxFieldValue {
					t.Errorf("field %s has %d characters", f.Name, utf8.RuneCountInString(f.Value))
				}
			}
			for _, id := range componentIDs(comps) {
				if utf8.RuneCountInString(id) > maxCustomID {
					t.Errorf("custom id %q too long", id)
				}
			}
		})
	}

	// The select shows the current priority.
	_, comps := renderCard(escalated, l)
	sel := comps[1].(discordgo.ActionsRow).Components[0].(discordgo.SelectMenu)
	for _, o := range sel.Options {
		if o.Default != (o.Value == "urgent") {
			t.Errorf("option %s default %v", o.Value, o.Default)
		}
	}
	// No ticket, nothing to act on.
	none := testCard()
	none.ConversationID, none.Ticket = 0, "new"
	if _, comps := renderCard(none, l); comps != nil {
		t.Errorf("card without a ticket has components %v", componentIDs(comps))
	}
}

func TestRenderCardFitsDiscordLimits(t *testing.T) {
	t.Parallel()
	c := testCard()
	c.CustomerName = strings.Repeat("N", 400)
	c.Status, c.CloseReason = bridge.StatusClosed, strings.Repeat("reason ", 500)
	for i := range 40 {
		c.Tags = append(c.Tags, strings.Repeat("t", 30)+string(rune('a'+i%26)))
	}
	e, _ := renderCard(c, links{})
	total := runeLen(e.Title)
	for _, f := range e.Fields {
		total += runeLen(f.Name) + runeLen(f.Value)
	}
	if runeLen(e.Title) > maxTitle || total > maxEmbedTotal {
		t.Errorf("title %d characters, embed %d", runeLen(e.Title), total)
	}

	esc := bridge.EscalationCard{Ticket: "#42", Summary: strings.Repeat("s", 5000), CustomerName: "Jane", OnCall: "<@&" + testRole + ">"}
	for range 15 {
		esc.Recent = append(esc.Recent, bridge.CardMessage{Direction: bridge.DirectionIn, Text: strings.Repeat("m", 2000)})
	}
	content, em, comps, am := renderEscalation(esc, links{})
	total = runeLen(em.Title) + runeLen(em.Description)
	for _, f := range em.Fields {
		total += runeLen(f.Name) + runeLen(f.Value)
	}
	if total > maxEmbedTotal || len(em.Fields) > 25 {
		t.Errorf("escalation embed %d characters, %d fields", total, len(em.Fields))
	}
	if !strings.HasPrefix(content, "<@&"+testRole+">") || !slices.Equal(am.Roles, []string{testRole}) || len(am.Users) != 0 {
		t.Errorf("on-call content %q, allowed %+v", content, am)
	}
	if ids := componentIDs(comps); !slices.Equal(ids, []string{"xb_cmd:resolve|#42"}) {
		t.Errorf("escalation components %v", ids)
	}
	esc.Resolved = true
	if _, _, comps, _ := renderEscalation(esc, links{}); comps != nil {
		t.Errorf("resolved escalation keeps %v", componentIDs(comps))
	}
}

func TestCustomIDRoundTrip(t *testing.T) {
	t.Parallel()
	p := commands.NewProcessor("!")
	for _, tc := range []struct {
		action, value string
		text          string
		ticket        int64
	}{
		{commands.ButtonAction("claim"), "#42", "claim", 42},
		{commands.ButtonAction("priority"), "#7", "priority", 7},
		{commands.ButtonAction("reply-with"), "refund-policy", "reply-with refund-policy", 0},
		{commands.ButtonAction("close"), "", "close", 0},
	} {
		id := customID(tc.action, tc.value)
		action, value := splitCustomID(id)
		if action != tc.action || value != tc.value {
			t.Errorf("%q split into %q, %q", id, action, value)
		}
		arg, ticket := value, int64(0)
		if n := commands.ValueTicket(value); n != 0 {
			arg, ticket = "", n
		}
		text, ok := commands.FromButton(action, arg)
		if !ok || text != tc.text || ticket != tc.ticket {
			t.Errorf("%q → %q (%v), ticket %d; want %q, %d", id, text, ok, ticket, tc.text, tc.ticket)
		}
		if _, err := p.Parse(commands.Invocation{Source: commands.SourceButton, ConversationID: 1}, text); err != nil && tc.text != "priority" {
			t.Errorf("%q does not parse: %v", text, err)
		}
	}
	if a, v := splitCustomID("xb_resend|17"); a != bridge.ActionResend || v != "17" {
		t.Errorf("resend split into %q %q", a, v)
	}
}

func TestRenderPostSplitsLongText(t *testing.T) {
	t.Parallel()
	words := strings.Repeat("lorem ipsum dolor sit amet ", 160) // 4,320 characters
	msgs := renderPost(bridge.Post{Kind: bridge.PostCustomer, AuthorName: "Jane *Doe*", Text: words})
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	var rebuilt []string
	for i, m := range msgs {
		if runeLen(m.Content) > maxContent {
			t.Errorf("part %d has %d characters", i, runeLen(m.Content))
		}
		if strings.HasSuffix(m.Content, " ") || strings.HasPrefix(m.Content, " ") {
			t.Errorf("part %d keeps spaces at the cut", i)
		}
		if i < len(msgs)-1 && !strings.HasSuffix(m.Content, "amet") && !strings.HasSuffix(m.Content, "lorem") &&
			!strings.HasSuffix(m.Content, "ipsum") && !strings.HasSuffix(m.Content, "dolor") && !strings.HasSuffix(m.Content, "sit") {
			t.Errorf("part %d cut inside a word: …%q", i, m.Content[len(m.Content)-10:])
		}
		rebuilt = append(rebuilt, m.Content)
	}
	if !strings.HasPrefix(msgs[0].Content, `**Jane \*Doe\***: lorem`) {
		t.Errorf("first part starts %q", msgs[0].Content[:30])
	}
	got := strings.Join(strings.Fields(strings.Join(rebuilt, " ")), " ")
	want := strings.Join(strings.Fields(`**Jane \*Doe\***: `+words), " ")
	if got != want {
		t.Error("the parts do not add up to the text")
	}

	// One long word is cut where it must be.
	parts := splitText(strings.Repeat("x", 4001), maxContent)
	if len(parts) != 3 || runeLen(parts[0]) != 2000 || runeLen(parts[2]) != 1 {
		t.Errorf("a 4,001-character word split into %d parts", len(parts))
	}
	// Multibyte text is counted in characters.
	if parts := splitText(strings.Repeat("é", 2000), maxContent); len(parts) != 1 {
		t.Errorf("2,000 é split into %d parts", len(parts))
	}
	// Paragraphs are preferred to words.
	text := strings.Repeat("a", 1500) + "\n\n" + strings.Repeat("b ", 300)
	if parts := splitText(text, maxContent); len(parts) != 2 || parts[0] != strings.Repeat("a", 1500) {
		t.Errorf("split at %d characters, want at the paragraph", runeLen(parts[0]))
	}
}

func TestRenderPostMentionsAndButtons(t *testing.T) {
	t.Parallel()
	msgs := renderPost(bridge.Post{
		Kind: bridge.PostWarning, Text: "Delivery unknown",
		Mention: []string{testAgent, "<@&" + testRole + ">", "@ops", testAgent},
		Buttons: []bridge.Button{
			{Action: bridge.ActionResend, Label: "Resend", Value: "17"},
			{Action: commands.ButtonAction("claim"), Label: "Claim", Value: "#42"},
		},
	})
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.Content != "<@"+testAgent+"> <@&"+testRole+"> @ops ⚠️ Delivery unknown" {
		t.Errorf("content %q", m.Content)
	}
	if !slices.Equal(m.AllowedMentions.Users, []string{testAgent}) || !slices.Equal(m.AllowedMentions.Roles, []string{testRole}) || len(m.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed mentions %+v", m.AllowedMentions)
	}
	if ids := componentIDs(m.Components); !slices.Equal(ids, []string{"xb_resend|17", "xb_cmd:claim|#42"}) {
		t.Errorf("buttons %v", ids)
	}
	// A notice notifies no one unless asked.
	n := renderPost(bridge.Post{Kind: bridge.PostNotice, Text: "Claimed by @everyone"})[0]
	if n.Content != "Claimed by @everyone" || n.AllowedMentions == nil || n.AllowedMentions.Parse == nil || len(n.AllowedMentions.Parse) != 0 {
		t.Errorf("notice %q, %+v", n.Content, n.AllowedMentions)
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	r := resolver{
		user:    func(id string) string { return map[string]string{testAgent: "Alice"}[id] },
		channel: func(id string) string { return map[string]string{testText: "support"}[id] },
	}
	for in, want := range map[string]string{
		"hi <@" + testAgent + "> and <@!" + testAgent + ">": "hi @Alice and @Alice",
		"ask <@" + testAgent2 + ">":                         "ask @" + testAgent2,
		"see <#" + testText + "> <@&" + testRole + ">":      "see #support @role",
		"nice <:party:1700000000000000001> <a:dance:17>":    "nice :party: :dance:",
		"at <t:1741944360:R>":                               "at Mar 14, 2025 09:26 UTC",
		"use </xb status:123>":                              "use /xb status",
		"docs <https://example.com/a_b>":                    "docs https://example.com/a_b",
		"a < b > c, **bold** and <3":                        "a < b > c, **bold** and <3",
	} {
		if got := plainText(in, r); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlashCommandsFromBuiltins(t *testing.T) {
	t.Parallel()
	p := commands.NewProcessor("!")
	defs, left := slashCommands(p)
	if len(defs) != 1 || defs[0].Name != "xb" || len(left) != 0 {
		t.Fatalf("definitions %d, left out %v", len(defs), left)
	}
	subs := map[string]*discordgo.ApplicationCommandOption{}
	for _, s := range defs[0].Options {
		subs[s.Name] = s
		if s.Type != discordgo.ApplicationCommandOptionSubCommand || s.Description == "" || runeLen(s.Description) > 100 {
			t.Errorf("subcommand %s: type %d, description %q", s.Name, s.Type, s.Description)
		}
		seenOptional := false
		for _, o := range s.Options {
			if !validName(o.Name) || o.Description == "" || runeLen(o.Description) > 100 {
				t.Errorf("/xb %s option %q: description %q", s.Name, o.Name, o.Description)
			}
			if o.Required && seenOptional {
				t.Errorf("/xb %s: required option %s after an optional one", s.Name, o.Name)
			}
			seenOptional = seenOptional || !o.Required
		}
	}
	for _, c := range p.Commands {
		s := subs[c.Name]
		if c.Hidden {
			if s != nil {
				t.Errorf("hidden command %s is a subcommand", c.Name)
			}
			continue
		}
		if s == nil {
			t.Errorf("no subcommand for %s", c.Name)
			continue
		}
		hasTicket := slices.ContainsFunc(s.Options, func(o *discordgo.ApplicationCommandOption) bool { return o.Name == ticketOption })
		if hasTicket != c.NeedsConversation {
			t.Errorf("/xb %s ticket option %v, needs a conversation %v", c.Name, hasTicket, c.NeedsConversation)
		}
	}
	opt := func(sub, name string) *discordgo.ApplicationCommandOption {
		for _, o := range subs[sub].Options {
			if o.Name == name {
				return o
			}
		}
		t.Fatalf("/xb %s has no option %s", sub, name)
		return nil
	}
	if o := opt("assign", "user"); o.Type != discordgo.ApplicationCommandOptionUser || !o.Required {
		t.Errorf("assign's user option %+v", o)
	}
	if o := opt("priority", "priority"); len(o.Choices) != 4 || o.Choices[0].Value != "urgent" {
		t.Errorf("priority's choices %+v", o.Choices)
	}
	if o := opt("available", "on-off"); len(o.Choices) != 2 {
		t.Errorf("available's option %+v", o)
	}
	if o := opt("close", "reason"); o.Required || o.Type != discordgo.ApplicationCommandOptionString {
		t.Errorf("close's reason %+v", o)
	}

	// A command added to the processor appears without Discord code.
	p.Commands = append(p.Commands, &commands.Command{Name: "snooze", Summary: "Snooze.", NeedsConversation: true,
		Params: []commands.Param{{Name: "for", Kind: commands.ArgChoice, Choices: []string{"1h", "1d"}}}})
	defs, _ = slashCommands(p)
	if last := defs[0].Options[len(defs[0].Options)-1]; last.Name != "snooze" || len(last.Options) != 2 {
		t.Errorf("new command rendered as %+v", last)
	}
	// The JSON is what discordsim and Discord accept (checked end to end
	// in TestRegisterCommandsIsIdempotent); it is stable across runs.
	a, _ := json.Marshal(defs)
	b, _ := json.Marshal(func() []*discordgo.ApplicationCommand { d, _ := slashCommands(p); return d }())
	if string(a) != string(b) {
		t.Error("definitions differ between runs")
	}
}

func TestSlashText(t *testing.T) {
	t.Parallel()
	p := commands.NewProcessor("!")
	sub := func(name string, opts ...*discordgo.ApplicationCommandInteractionDataOption) discordgo.ApplicationCommandInteractionData {
		return discordgo.ApplicationCommandInteractionData{Name: "xb", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts},
		}}
	}
	o := func(name string, v any) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Value: v}
	}
	for _, tc := range []struct {
		data   discordgo.ApplicationCommandInteractionData
		text   string
		ticket int64
		err    bool
	}{
		{sub("tag", o("tag", "billing refund")), "tag billing refund", 0, false},
		{sub("status", o("ticket", "#42")), "status", 42, false},
		{sub("status", o("ticket", float64(42))), "status", 42, false},
		{sub("status", o("ticket", "forty")), "", 0, true},
		{sub("assign", o("user", testAgent2), o("ticket", "7")), "assign <@" + testAgent2 + ">", 7, false},
		{sub("close", o("reason", "  refund   issued\nthanks ")), "close   refund   issued\nthanks ", 0, false},
		{sub("reply-with", o("saved-reply", "refund policy")), `reply-with "refund policy"`, 0, false},
		{sub("available", o("on-off", "off")), "available off", 0, false},
		{sub("mine"), "mine", 0, false},
	} {
		text, ticket, err := slashText(p, tc.data)
		if text != tc.text || ticket != tc.ticket || (err != nil) != tc.err {
			t.Errorf("%s: got %q %d %v, want %q %d (error %v)", tc.data.Options[0].Name, text, ticket, err, tc.text, tc.ticket, tc.err)
		}
	}
}

// restError makes the error discordgo returns for an answer.
func restError(status int, body string, header http.Header) error {
	resp := &http.Response{StatusCode: status, Status: http.StatusText(status), Header: header, Body: io.NopCloser(strings.NewReader(body))}
	re := &discordgo.RESTError{Response: resp, ResponseBody: []byte(body)}
	var msg discordgo.APIErrorMessage
	if json.Unmarshal([]byte(body), &msg) == nil {
		re.Message = &msg
	}
	return re
}

func TestDeliveryError(t *testing.T) {
	t.Parallel()
	now := time.Unix(1741944360, 0)
	rl := &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: 2500 * time.Millisecond}}}
	for _, tc := range []struct {
		name      string
		err       error
		temporary bool
		limited   bool
		retryAt   time.Time
		reason    string
	}{
		{"rate limited", rl, true, true, now.Add(2500 * time.Millisecond), "Discord rate limit"},
		{"429 as a REST error", restError(429, `{"message":"You are being rate limited.","retry_after":1.5,"global":false}`, http.Header{}), true, true, now.Add(1500 * time.Millisecond), "Discord rate limit"},
		{"429 with a header only", restError(429, `{}`, http.Header{"Retry-After": []string{"3"}}), true, true, now.Add(3 * time.Second), "Discord rate limit"},
		{"503", restError(503, `{"message":"503: Service Unavailable","code":0}`, nil), true, false, time.Time{}, "Discord is unavailable (HTTP 503)"},
		{"missing permissions", restError(403, `{"message":"Missing Permissions","code":50013}`, nil), false, false, time.Time{}, codeReasons[codeMissingPerms]},
		{"unknown code", restError(400, `{"message":"Something odd","code":12345}`, nil), false, false, time.Time{}, "Discord refused: Something odd"},
		{"invalid form", restError(400, `{"message":"Invalid Form Body","code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}`, nil), false, false, time.Time{}, "Discord refused the request: content: Must be 2000 or fewer in length."},
		{"transport", errors.New("dial tcp: connection refused"), true, false, time.Time{}, "Discord is unreachable"},
	} {
		de, ok := deliveryError("post", tc.err, now).(*bridge.DeliveryError)
		if !ok {
			t.Fatalf("%s: not a DeliveryError", tc.name)
		}
		if de.Temporary != tc.temporary || de.RateLimited != tc.limited || !de.RetryAt.Equal(tc.retryAt) || de.Reason != tc.reason {
			t.Errorf("%s: %+v", tc.name, de)
		}
	}
	if deliveryError("post", nil, now) != nil {
		t.Error("nil error became a DeliveryError")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{Token: "Bot abc", AppID: testBot, GuildID: testGuild}
	if err := good.Validate(); err != nil {
		t.Errorf("good config: %v", err)
	}
	bad := Config{AppID: "app", PublicKey: "xyz", APIURL: "ftp://x", Roles: Roles{Leads: []string{"@leads"}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"XBRIDGE_DISCORD_BOT_TOKEN", "XBRIDGE_DISCORD_APP_ID", "XBRIDGE_DISCORD_GUILD_ID",
		"XBRIDGE_DISCORD_PUBLIC_KEY", "XBRIDGE_DISCORD_API_URL", "discord.roles.leads",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := New(bad, nil); err == nil {
		t.Error("New accepted a bad config")
	}
}

func TestRolesOf(t *testing.T) {
	t.Parallel()
	r := Roles{Agents: []string{testRole}, Engineers: []string{"<@" + testAgent2 + ">"}, Leads: []string{testAgent}}
	if got := r.rolesOf(testAgent, []string{testRole}); !slices.Equal(got, []bridge.Role{bridge.RoleAgent, bridge.RoleLead}) {
		t.Errorf("alice: %v", got)
	}
	if got := r.rolesOf(testAgent2, nil); !slices.Equal(got, []bridge.Role{bridge.RoleEngineer}) {
		t.Errorf("bob: %v", got)
	}
	if got := r.rolesOf("1999999999999999999", []string{"1"}); got == nil || len(got) != 0 {
		t.Errorf("stranger: %#v, want an empty list", got)
	}
	if got := (Roles{}).rolesOf("1", nil); !slices.Equal(got, []bridge.Role{bridge.RoleAgent}) {
		t.Errorf("unconfigured: %v", got)
	}
}
