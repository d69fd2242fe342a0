package slack

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Metadata event types the bridge attaches to its messages, so a message
// can be traced back to the outbox row that posted it.
const (
	metadataCard       = "xbridge_card"
	metadataPost       = "xbridge_post"
	metadataEscalation = "xbridge_escalation"
)

// Slack's Block Kit limits.
const (
	maxHeaderChars  = 150
	maxSectionChars = 3000
	maxBlocks       = 50
	maxPreviewChars = 150 // our own: the notification text of long messages
)

// PostCard posts a conversation's card as a new root message; its ts is
// the thread id.
func (a *Adapter) PostCard(ctx context.Context, channel string, card bridge.Card, key string) (string, error) {
	blocks, text := renderCard(card, a.links(ctx))
	return a.postRoot(ctx, "post card", channel, blocks, text, metadataCard, key)
}

// UpdateCard re-renders the card in place (chat.update of the root).
func (a *Adapter) UpdateCard(ctx context.Context, channel, threadID string, card bridge.Card) error {
	blocks, text := renderCard(card, a.links(ctx))
	return a.updateRoot(ctx, "update card", channel, threadID, blocks, text)
}

// postRoot posts a new root message carrying the idempotency key in its
// metadata.
func (a *Adapter) postRoot(ctx context.Context, op, channel string, blocks []slackapi.Block, text, eventType, key string) (string, error) {
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
	}
	if key != "" {
		opts = append(opts, slackapi.MsgOptionMetadata(slackapi.SlackMetadata{
			EventType: eventType, EventPayload: map[string]any{"key": key},
		}))
	}
	_, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", deliveryError(op, err, a.now())
	}
	return ts, nil
}

// updateRoot replaces a root message's text and blocks.
func (a *Adapter) updateRoot(ctx context.Context, op, channel, ts string, blocks []slackapi.Block, text string) error {
	_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
	)
	return deliveryError(op, err, a.now())
}

// links builds permalinks to Slack messages.
type links struct {
	// workspace is the workspace URL auth.test gives,
	// "https://acme.slack.com", without a trailing slash; empty when not
	// known, and then nothing is linked.
	workspace string
}

// links returns the permalink builder, asking auth.test for the workspace
// URL if Check has not learnt it yet.
func (a *Adapter) links(ctx context.Context) links {
	if w := a.workspace.Load().(string); w != "" {
		return links{workspace: w}
	}
	res, err := a.api.AuthTestContext(ctx)
	if err != nil {
		a.logger.Warn("slack auth.test failed; cards go out without links", "err", err)
		return links{}
	}
	w := strings.TrimSuffix(res.URL, "/")
	a.workspace.Store(w)
	return links{workspace: w}
}

// message is the permalink of a message,
// https://acme.slack.com/archives/C123/p1741944360000100; "" when it cannot
// be built.
func (l links) message(channel, ts string) string {
	if l.workspace == "" || channel == "" || ts == "" {
		return ""
	}
	return l.workspace + "/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", "")
}

// thread is the permalink of a thread's root on Slack; "" for a thread on
// another platform or not posted yet.
func (l links) thread(t bridge.ThreadRef) string {
	if t.Platform != platformName {
		return ""
	}
	return l.message(t.Channel, t.ThreadID)
}

// renderCard returns the card's blocks and its notification text.
func renderCard(c bridge.Card, l links) ([]slackapi.Block, string) {
	name := c.CustomerName
	if name == "" && c.Handle != "" {
		name = "@" + c.Handle
	}
	header := truncate(c.Ticket+" · "+name, maxHeaderChars)

	customer := escape(name)
	if c.ProfileURL != "" {
		customer = link(c.ProfileURL, name)
	}
	handle := "—"
	if c.Handle != "" {
		handle = escape("@" + c.Handle)
	}
	verified := "No"
	if c.Verified {
		verified = "Yes ✓"
	}
	channel := "Direct message"
	if c.Account != "" {
		channel += " to " + escape("@"+c.Account)
	}
	if c.Kind == bridge.KindMention {
		channel = "Public mention"
		if c.Account != "" {
			channel += " of " + escape("@"+c.Account)
		}
		if c.SourceURL != "" {
			channel += " · " + link(c.SourceURL, "view tweet")
		}
	}
	about := []*slackapi.TextBlockObject{
		field("Customer", customer),
		field("Handle", handle),
		field("Followers", bridge.HumanCount(c.Followers)),
		field("Verified", verified),
		field("Channel", channel),
		field("Opened", slackDate(c.OpenedAt)),
	}
	if c.PreviousID != 0 {
		about = append(about, field("Previous conversation", fmt.Sprintf("#%d", c.PreviousID)))
	}
	triage := []*slackapi.TextBlockObject{
		field("Status", statusText(c.Status)),
		field("Priority", priorityText(c.Priority)),
		field("Assignee", assigneeText(c.AssigneeID, c.AssigneeName)),
		field("Tags", tagsText(c.Tags)),
	}
	if c.Escalation != nil {
		triage = append(triage, field("Escalation", escalationText(c.Escalation, l)))
	}
	if c.Status == bridge.StatusClosed {
		triage = append(triage, field("Closed", closedText(c)))
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, header, false, false)),
		slackapi.NewSectionBlock(nil, about, nil),
		slackapi.NewSectionBlock(nil, triage, nil),
	}
	if c.Status == bridge.StatusClosed && strings.TrimSpace(c.CloseReason) != "" {
		reason := "*Close reason*\n" + escape(truncate(strings.TrimSpace(c.CloseReason), maxSectionChars-200))
		blocks = append(blocks, section(reason))
	}
	if tier := c.TierLine(); tier != "" {
		blocks = append(blocks, slackapi.NewContextBlock("",
			slackapi.NewTextBlockObject(slackapi.MarkdownType, escape(tier), false, false)))
	}
	if sla := slaText(c.SLA); sla != "" {
		blocks = append(blocks, slackapi.NewContextBlock("",
			slackapi.NewTextBlockObject(slackapi.MarkdownType, sla, false, false)))
	}
	if h := historyText(c, l); h != "" {
		blocks = append(blocks, slackapi.NewContextBlock("",
			slackapi.NewTextBlockObject(slackapi.MarkdownType, h, false, false)))
	}
	if acts := cardActions(c); acts != nil {
		blocks = append(blocks, acts)
	}

	kind := "direct message"
	if c.Kind == bridge.KindMention {
		kind = "public mention"
	}
	text := fmt.Sprintf("%s · %s", c.Ticket, name)
	if c.Handle != "" && name != "@"+c.Handle {
		text += " (@" + c.Handle + ")"
	}
	text = fmt.Sprintf("%s — %s, %s, %s priority", text, kind, c.Status.Words(), c.Priority)
	if c.AssigneeID != "" || c.AssigneeName != "" {
		text += ", assigned to " + nameOr(c.AssigneeName, c.AssigneeID)
	}
	return blocks, escape(text)
}

// Card actions. Their action ids run commands (commands.ButtonAction);
// every element's value is the ticket, "#42".
var (
	actionClaim    = commands.ButtonAction("claim")
	actionUnclaim  = commands.ButtonAction("unclaim")
	actionPending  = commands.ButtonAction("pending")
	actionEscalate = commands.ButtonAction("escalate")
	actionClose    = commands.ButtonAction("close")
	actionReopen   = commands.ButtonAction("reopen")
	actionPriority = commands.ButtonAction("priority")
	actionResolve  = commands.ButtonAction("resolve")
)

// priorities are the priority select's options, most urgent first.
var priorities = []bridge.Priority{bridge.PriorityUrgent, bridge.PriorityHigh, bridge.PriorityNormal, bridge.PriorityLow}

// maxActionElements is Slack's limit of elements in an actions block.
const maxActionElements = 25

// cardBlockPrefix starts the block_id of a card's actions. The block_id
// carries the ticket (the select has no value of its own) and the priority:
// a new block_id makes Slack clients show the new initial_option.
const cardBlockPrefix = "xb_card"

// cardActions returns the card's buttons and priority select for its
// status, or nil when the card has no ticket to act on.
func cardActions(c bridge.Card) slackapi.Block {
	ticket := commands.TicketValue(c.ConversationID, c.Ticket)
	if ticket == "" {
		return nil
	}
	var elems []slackapi.BlockElement
	add := func(actionID, label string, style slackapi.Style) {
		b := slackapi.NewButtonBlockElement(actionID, ticket,
			slackapi.NewTextBlockObject(slackapi.PlainTextType, label, true, false))
		b.Style = style
		elems = append(elems, b)
	}
	if c.Status == bridge.StatusClosed {
		add(actionReopen, "Reopen", slackapi.StylePrimary)
	} else {
		if c.AssigneeID == "" {
			add(actionClaim, "Claim", slackapi.StylePrimary)
		} else {
			add(actionUnclaim, "Unclaim", slackapi.StyleDefault)
		}
		if c.Status != bridge.StatusPending {
			add(actionPending, "Waiting on customer", slackapi.StyleDefault)
		}
		if c.Escalation == nil || !c.Escalation.Open {
			add(actionEscalate, "Escalate", slackapi.StyleDanger)
		}
		add(actionClose, "Close", slackapi.StyleDefault)
		elems = append(elems, prioritySelect(c.Priority))
	}
	blockID := fmt.Sprintf("%s %s %s", cardBlockPrefix, ticket, c.Priority)
	return slackapi.NewActionBlock(blockID, elems[:min(len(elems), maxActionElements)]...)
}

// prioritySelect is the static_select of priorities, showing the current
// one.
func prioritySelect(current bridge.Priority) *slackapi.SelectBlockElement {
	var opts []*slackapi.OptionBlockObject
	var initial *slackapi.OptionBlockObject
	for _, p := range priorities {
		o := slackapi.NewOptionBlockObject(string(p),
			slackapi.NewTextBlockObject(slackapi.PlainTextType, capitalize(string(p)), false, false), nil)
		opts = append(opts, o)
		if p == current {
			initial = o
		}
	}
	sel := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic,
		slackapi.NewTextBlockObject(slackapi.PlainTextType, "Priority", false, false), actionPriority, opts...)
	sel.InitialOption = initial
	return sel
}

// assigneeText mentions the assignee when it is a Slack user.
func assigneeText(id, name string) string {
	switch {
	case id == "" && name == "":
		return "Unassigned"
	case isUserID(id):
		return "<@" + id + ">"
	}
	return escape(nameOr(name, id))
}

// isUserID reports whether s is a Slack user id, U… or W….
func isUserID(s string) bool {
	return len(s) > 1 && (s[0] == 'U' || s[0] == 'W') && isSlackID(s)
}

func tagsText(tags []string) string {
	if len(tags) == 0 {
		return "—"
	}
	q := make([]string, 0, len(tags))
	for _, t := range tags {
		q = append(q, "`"+escape(strings.ReplaceAll(t, "`", "'"))+"`")
	}
	return truncate(strings.Join(q, " "), 1900)
}

// escalationText links the escalation's thread, or says where it is.
func escalationText(e *bridge.CardEscalation, l links) string {
	state := ":rotating_light: Open"
	if !e.Open {
		state = ":white_check_mark: Resolved"
	}
	switch {
	case e.Thread.Platform != "" && e.Thread.Platform != platformName:
		return state + " · on " + escape(capitalize(e.Thread.Platform))
	case e.Thread.ThreadID == "":
		return state + " · thread not posted yet"
	}
	if u := l.thread(e.Thread); u != "" {
		return state + " · <" + u + "|engineering thread>"
	}
	return state + " · in " + channelRef(e.Thread.Channel)
}

// closedText says when, by whom and after how long the conversation was
// closed.
func closedText(c bridge.Card) string { return c.ClosedLine(slackDate, escape) }

// historyText lists the customer's earlier conversations, linking the last
// few: ":card_index: 3 earlier conversations: #12 (closed), #9 (open), …".
func historyText(c bridge.Card, l links) string {
	return c.HistoryLine(":card_index:", func(h bridge.CardHistory) string {
		label := escape(h.Ticket)
		if u := l.thread(h.Thread); u != "" {
			label = "<" + u + "|" + strings.ReplaceAll(label, "|", "¦") + ">"
		}
		return label
	})
}

// nameOr is name, or fallback when name is empty.
func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}

// field is one "*Label*\nvalue" field of the card; value is mrkdwn.
func field(label, value string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, "*"+label+"*\n"+value, false, false)
}

func statusText(s bridge.Status) string {
	switch s {
	case bridge.StatusOpen:
		return ":large_green_circle: Open"
	case bridge.StatusPending:
		return ":large_yellow_circle: Waiting on customer"
	case bridge.StatusClosed:
		return ":white_circle: Closed"
	}
	return escape(capitalize(string(s)))
}

func priorityText(p bridge.Priority) string {
	switch p {
	case bridge.PriorityUrgent:
		return ":rotating_light: Urgent"
	case bridge.PriorityHigh:
		return ":arrow_up: High"
	}
	return escape(capitalize(string(p)))
}

// slackDate formats t for Slack's date formatting, which shows it in each
// reader's time zone; the fallback is UTC.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	fallback := t.UTC().Format("Jan 2, 2006 15:04 UTC")
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), fallback)
}

// link renders a mrkdwn link with a safely escaped label.
func link(url, label string) string {
	return "<" + escape(url) + "|" + strings.ReplaceAll(escape(label), "|", "¦") + ">"
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// truncate shortens s to at most n characters, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// slaText shows each SLA target: its state, and its due time while live.
func slaText(targets []bridge.CardSLA) string {
	if len(targets) == 0 {
		return ""
	}
	parts := make([]string, 0, len(targets))
	for _, t := range targets {
		part := fmt.Sprintf("%s %s: %s", t.State.Mark(), t.Metric.Label(), t.State)
		if t.State.Due() && !t.DueAt.IsZero() {
			part += ", due " + slackDate(t.DueAt)
		}
		parts = append(parts, part)
	}
	return "*SLA* · " + strings.Join(parts, " · ")
}
