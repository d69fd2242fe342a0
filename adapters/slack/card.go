package slack

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
)

// Metadata event types the bridge attaches to its messages, so a message
// can be traced back to the outbox row that posted it.
const (
	metadataCard = "xbridge_card"
	metadataPost = "xbridge_post"
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
	blocks, text := renderCard(card)
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
	}
	if key != "" {
		opts = append(opts, slackapi.MsgOptionMetadata(slackapi.SlackMetadata{
			EventType: metadataCard, EventPayload: map[string]any{"key": key},
		}))
	}
	_, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", deliveryError("post card", err, a.now())
	}
	return ts, nil
}

// UpdateCard re-renders the card in place (chat.update of the root).
func (a *Adapter) UpdateCard(ctx context.Context, channel, threadID string, card bridge.Card) error {
	blocks, text := renderCard(card)
	_, _, _, err := a.api.UpdateMessageContext(ctx, channel, threadID,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
	)
	return deliveryError("update card", err, a.now())
}

// renderCard returns the card's blocks and its notification text.
func renderCard(c bridge.Card) ([]slackapi.Block, string) {
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
	if c.Kind == bridge.KindMention {
		channel = "Public mention"
		if c.SourceURL != "" {
			channel += " · " + link(c.SourceURL, "view tweet")
		}
	}
	fields := []*slackapi.TextBlockObject{
		field("Customer", customer),
		field("Handle", handle),
		field("Followers", humanCount(c.Followers)),
		field("Verified", verified),
		field("Channel", channel),
		field("Status", statusText(c.Status)),
		field("Priority", priorityText(c.Priority)),
		field("Opened", slackDate(c.OpenedAt)),
	}
	if c.Status == bridge.StatusClosed && !c.ClosedAt.IsZero() {
		fields = append(fields, field("Closed", slackDate(c.ClosedAt)))
	}
	if c.PreviousID != 0 {
		fields = append(fields, field("Previous conversation", fmt.Sprintf("#%d", c.PreviousID)))
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, header, false, false)),
		slackapi.NewSectionBlock(nil, fields, nil),
	}
	kind := "direct message"
	if c.Kind == bridge.KindMention {
		kind = "public mention"
	}
	text := fmt.Sprintf("%s · %s", c.Ticket, name)
	if c.Handle != "" && name != "@"+c.Handle {
		text += " (@" + c.Handle + ")"
	}
	text = escape(fmt.Sprintf("%s — %s, %s, %s priority", text, kind, c.Status, c.Priority))
	return blocks, text
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
		return ":large_yellow_circle: Pending (waiting on the customer)"
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

// humanCount shortens a count the way X does: 950, 48.2k, 1.5M.
func humanCount(n int) string {
	if n < 0 {
		n = 0
	}
	if n < 1000 {
		return strconv.Itoa(n)
	}
	units := []string{"k", "M", "B"}
	v := float64(n)
	for i, u := range units {
		v /= 1000
		rounded := math.Round(v*10) / 10
		if rounded < 1000 || i == len(units)-1 {
			s := strconv.FormatFloat(rounded, 'f', 1, 64)
			return strings.TrimSuffix(s, ".0") + u
		}
	}
	return strconv.Itoa(n)
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
