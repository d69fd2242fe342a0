package discord

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Limits of the escalation card: how many recent messages it quotes and
// how much of each (an embed holds 6,000 characters in all).
const (
	maxQuoted      = 10
	maxQuotedChars = 350
	maxSummary     = 1500
)

// PostEscalation posts an escalation's card in the engineering channel, a
// forum post or a message with a thread as for PostCard, and returns the
// escalation thread's id. The on-call mention (e.OnCall, Discord markup
// such as <@&role>) is in the content so that it notifies.
func (a *Adapter) PostEscalation(ctx context.Context, channel string, e bridge.EscalationCard, key string) (string, error) {
	content, embed, comps, mentions := renderEscalation(e, a.links())
	msg := &discordgo.MessageSend{
		Content: content, Embeds: []*discordgo.MessageEmbed{embed}, Components: comps,
		AllowedMentions: mentions,
	}
	name := threadName("Escalation "+e.Ticket, customerName(e.CustomerName, e.Handle))
	return a.postRoot(ctx, "post escalation", channel, name, msg, nil, key)
}

// UpdateEscalation re-renders the escalation card in place.
func (a *Adapter) UpdateEscalation(ctx context.Context, channel, threadID string, e bridge.EscalationCard) error {
	content, embed, comps, _ := renderEscalation(e, a.links())
	return a.updateRoot(ctx, "update escalation", channel, threadID, content, embed, comps)
}

// markupMention matches Discord mentions: users <@1> <@!1>, roles <@&1>.
var markupMention = regexp.MustCompile(`<@([!&]?)([0-9]{1,20})>`)

// onCallMentions returns who e.OnCall may notify: the users and roles it
// mentions, and @everyone/@here when written.
func onCallMentions(onCall string) *discordgo.MessageAllowedMentions {
	am := noMentions()
	for _, m := range markupMention.FindAllStringSubmatch(onCall, -1) {
		if m[1] == "&" {
			am.Roles = appendNew(am.Roles, m[2])
		} else {
			am.Users = appendNew(am.Users, m[2])
		}
	}
	if strings.Contains(onCall, "@everyone") || strings.Contains(onCall, "@here") {
		am.Parse = append(am.Parse, discordgo.AllowedMentionTypeEveryone)
	}
	return am
}

// renderEscalation returns an escalation card's content (the on-call
// mention), embed, Resolve button and the mentions it may notify.
func renderEscalation(e bridge.EscalationCard, l links) (string, *discordgo.MessageEmbed, []discordgo.MessageComponent, *discordgo.MessageAllowedMentions) {
	name := customerName(e.CustomerName, e.Handle)
	content := ""
	if onCall := strings.TrimSpace(e.OnCall); onCall != "" {
		content = truncate(onCall, 500) + " — engineering, a support conversation needs you."
	}
	summary := strings.TrimSpace(e.Summary)
	if summary == "" {
		summary = "_No summary given._"
	} else {
		summary = escapeMarkdown(truncate(summary, maxSummary))
	}
	em := &discordgo.MessageEmbed{
		Title:       truncate("Escalation · "+e.Ticket+" · "+name, maxTitle),
		Description: "**Summary**\n" + summary,
		Color:       colorUrgent,
	}
	add := func(name, value string, inline bool) {
		if strings.TrimSpace(value) == "" {
			value = "—"
		}
		em.Fields = append(em.Fields, &discordgo.MessageEmbedField{Name: truncate(name, 256), Value: truncate(value, maxFieldValue), Inline: inline})
	}
	switch {
	case e.Resolved:
		em.Color = colorOpen
		s := "✅ Resolved"
		if e.ResolvedBy != "" {
			s += " by " + escapeMarkdown(e.ResolvedBy)
		}
		if r := strings.TrimSpace(e.Resolution); r != "" {
			s += ": " + escapeMarkdown(truncate(r, 800))
		}
		add("Status", s, false)
	case e.SupportClosed:
		add("Status", "🔒 The support conversation is closed; resolve this escalation when engineering is done.", false)
	default:
		add("Status", "🚨 Open", false)
	}
	handle := "—"
	if e.Handle != "" {
		handle = escapeMarkdown("@" + e.Handle)
	}
	channel := "Direct message"
	if e.Kind == bridge.KindMention {
		channel = "Public mention"
	}
	add("Customer", escapeMarkdown(name), true)
	add("Handle", handle, true)
	add("Followers", bridge.HumanCount(e.Followers), true)
	add("Channel", channel, true)
	add("Priority", priorityText(e.Priority), true)
	add("Tags", tagsText(e.Tags), true)
	if e.OpenedByName != "" {
		add("Escalated by", escapeMarkdown(e.OpenedByName), true)
	}
	recent := e.Recent
	if len(recent) > maxQuoted {
		recent = recent[len(recent)-maxQuoted:]
	}
	for _, m := range recent {
		who, text := quoteMessage(m, e.Handle)
		add(who, text, false)
	}
	add("Support thread", supportText(e, l), false)
	fitEmbed(em)

	var comps []discordgo.MessageComponent
	if ticket := commands.TicketValue(0, e.Ticket); ticket != "" && !e.Resolved {
		comps = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Resolve", Style: discordgo.SuccessButton, CustomID: customID(actionResolve, ticket)},
		}}}
	}
	return content, em, comps, onCallMentions(content)
}

// quoteMessage names who wrote a quoted message (the customer, an agent's
// reply or an internal note) and quotes it.
func quoteMessage(m bridge.CardMessage, handle string) (who, text string) {
	switch m.Direction {
	case bridge.DirectionIn:
		who = "Customer"
		if handle != "" {
			who += " @" + handle
		}
	case bridge.DirectionOut:
		who = "Agent"
		if m.Author != "" {
			who += " " + m.Author
		}
	default:
		who = "Note"
		if m.Author != "" {
			who += " by " + m.Author
		}
	}
	t := strings.TrimSpace(m.Text)
	if t == "" {
		return who, "> _(no text)_"
	}
	return who, "> " + strings.ReplaceAll(escapeMarkdown(truncate(t, maxQuotedChars)), "\n", "\n> ")
}

// supportText links the support thread, or says where it is.
func supportText(e bridge.EscalationCard, l links) string {
	if u := l.thread(e.Support); u != "" {
		return fmt.Sprintf("💬 [Support thread of %s](%s)", escapeMarkdown(e.Ticket), u)
	}
	switch {
	case e.Support.Platform != "" && e.Support.Platform != platformName:
		return fmt.Sprintf("💬 The support thread of %s is on %s.", escapeMarkdown(e.Ticket), capitalize(e.Support.Platform))
	case e.Support.Channel != "" && isSnowflake(e.Support.Channel):
		return fmt.Sprintf("💬 The support thread of %s is in <#%s>.", escapeMarkdown(e.Ticket), e.Support.Channel)
	}
	return "💬 Support conversation " + escapeMarkdown(e.Ticket) + "."
}
