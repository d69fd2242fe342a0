package slack

import (
	"context"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Limits of the escalation card: how many recent messages it quotes and
// how much of each.
const (
	maxQuoted      = 10
	maxQuotedChars = 600
)

// PostEscalation posts an escalation's card as a new root message in the
// engineering channel; its ts is the escalation thread.
func (a *Adapter) PostEscalation(ctx context.Context, channel string, e bridge.EscalationCard, key string) (string, error) {
	blocks, text := renderEscalation(e, a.links(ctx))
	return a.postRoot(ctx, "post escalation", channel, blocks, text, metadataEscalation, key)
}

// UpdateEscalation re-renders the escalation card in place.
func (a *Adapter) UpdateEscalation(ctx context.Context, channel, threadID string, e bridge.EscalationCard) error {
	blocks, text := renderEscalation(e, a.links(ctx))
	return a.updateRoot(ctx, "update escalation", channel, threadID, blocks, text)
}

// renderEscalation returns an escalation card's blocks and its
// notification text, which starts with the on-call mention so that the
// group is notified.
func renderEscalation(e bridge.EscalationCard, l links) ([]slackapi.Block, string) {
	name := e.CustomerName
	if name == "" && e.Handle != "" {
		name = "@" + e.Handle
	}
	title := "Escalation · " + e.Ticket + " · " + name
	var blocks []slackapi.Block
	if onCall := strings.TrimSpace(e.OnCall); onCall != "" {
		// Already Slack markup (<!subteam^S123>): not escaped.
		blocks = append(blocks, section(truncate(onCall, 500)+" — engineering, a support conversation needs you."))
	}
	blocks = append(blocks, slackapi.NewHeaderBlock(
		slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(title, maxHeaderChars), false, false)))

	switch {
	case e.Resolved:
		s := ":white_check_mark: *Resolved*"
		if e.ResolvedBy != "" {
			s += " by " + escape(e.ResolvedBy)
		}
		if r := strings.TrimSpace(e.Resolution); r != "" {
			s += ": " + escape(truncate(r, 2000))
		}
		blocks = append(blocks, section(s))
	case e.SupportClosed:
		blocks = append(blocks, section(":lock: The support conversation is closed; resolve this escalation when engineering is done."))
	}

	summary := strings.TrimSpace(e.Summary)
	if summary == "" {
		summary = "_No summary given._"
	} else {
		summary = escape(truncate(summary, maxSectionChars-100))
	}
	blocks = append(blocks, section("*Summary*\n"+summary))
	if e.OpenedByName != "" {
		blocks = append(blocks, slackapi.NewContextBlock("",
			slackapi.NewTextBlockObject(slackapi.MarkdownType, "Escalated by "+escape(e.OpenedByName), false, false)))
	}

	channel := "Direct message"
	if e.Kind == bridge.KindMention {
		channel = "Public mention"
	}
	handle := "—"
	if e.Handle != "" {
		handle = escape("@" + e.Handle)
	}
	blocks = append(blocks, slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{
		field("Customer", escape(name)),
		field("Handle", handle),
		field("Followers", bridge.HumanCount(e.Followers)),
		field("Channel", channel),
		field("Priority", priorityText(e.Priority)),
		field("Tags", tagsText(e.Tags)),
	}, nil))

	recent := e.Recent
	if len(recent) > maxQuoted {
		recent = recent[len(recent)-maxQuoted:]
	}
	if len(recent) > 0 {
		blocks = append(blocks, section("*Last messages*"))
		for _, m := range recent {
			blocks = append(blocks, section(quoteMessage(m, e.Handle)))
		}
	}

	blocks = append(blocks, slackapi.NewContextBlock("",
		slackapi.NewTextBlockObject(slackapi.MarkdownType, supportText(e, l), false, false)))
	if ticket := commands.TicketValue(0, e.Ticket); ticket != "" && !e.Resolved {
		btn := slackapi.NewButtonBlockElement(actionResolve, ticket,
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Resolve", true, false))
		btn.Style = slackapi.StylePrimary
		blocks = append(blocks, slackapi.NewActionBlock("xb_escalation "+ticket, btn))
	}

	text := escape(title)
	if summary := strings.TrimSpace(e.Summary); summary != "" {
		text += ": " + escape(preview(summary, maxPreviewChars))
	}
	if e.Resolved {
		text += " (resolved)"
	}
	if onCall := strings.TrimSpace(e.OnCall); onCall != "" {
		text = truncate(onCall, 500) + " " + text
	}
	return blocks, text
}

// quoteMessage quotes one message of the conversation, saying who wrote
// it: the customer, an agent's reply or an internal note.
func quoteMessage(m bridge.CardMessage, handle string) string {
	var who string
	switch m.Direction {
	case bridge.DirectionIn:
		who = "*Customer*"
		if handle != "" {
			who += " " + escape("@"+handle)
		}
	case bridge.DirectionOut:
		who = "*Agent*"
		if m.Author != "" {
			who += " " + escape(m.Author)
		}
	default:
		who = "*Note*"
		if m.Author != "" {
			who += " by " + escape(m.Author)
		}
	}
	text := strings.TrimSpace(m.Text)
	if text == "" {
		return who + "\n> _(no text)_"
	}
	return who + "\n> " + strings.ReplaceAll(escape(truncate(text, maxQuotedChars)), "\n", "\n> ")
}

// supportText links the support thread, or says where it is.
func supportText(e bridge.EscalationCard, l links) string {
	if u := l.thread(e.Support); u != "" {
		return fmt.Sprintf(":speech_balloon: <%s|Support thread of %s>", u, strings.ReplaceAll(escape(e.Ticket), "|", "¦"))
	}
	switch {
	case e.Support.Platform != "" && e.Support.Platform != platformName:
		return fmt.Sprintf(":speech_balloon: The support thread of %s is on %s.", escape(e.Ticket), escape(capitalize(e.Support.Platform)))
	case e.Support.Channel != "":
		return fmt.Sprintf(":speech_balloon: The support thread of %s is in %s.", escape(e.Ticket), channelRef(e.Support.Channel))
	}
	return ":speech_balloon: Support conversation " + escape(e.Ticket) + "."
}

// channelRef mentions a channel by id, <#C123>; anything else is shown as
// text.
func channelRef(id string) string {
	if isSlackID(id) {
		return "<#" + id + ">"
	}
	return escape(id)
}
