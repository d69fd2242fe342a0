package discord

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Discord's limits on messages, embeds and components.
const (
	maxContent     = 2000
	maxTitle       = 256
	maxFieldValue  = 1024
	maxEmbedTotal  = 6000
	maxThreadName  = 100
	maxCustomID    = 100
	maxButtonLabel = 80
	maxRowButtons  = 5
	maxRows        = 5
)

// archiveAfter is the auto-archive duration of the threads the bridge
// starts, in minutes (a week; Discord allows 60, 1440, 4320 and 10080).
const archiveAfter = 10080

// Embed colours.
const (
	colorOpen    = 0x57F287 // green
	colorPending = 0xFEE75C // yellow
	colorClosed  = 0x99AAB5 // grey
	colorHigh    = 0xE67E22 // orange
	colorUrgent  = 0xED4245 // red
)

// Card actions: custom ids run commands (commands.ButtonAction) and carry
// the ticket after "|", as Discord components have no value of their own:
// "xb_cmd:claim|#42".
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

// PostCard posts a conversation's card and returns its thread's id. In a
// forum channel the card is the starter message of a new post, tagged with
// the forum's tags that match the conversation's; in a text channel it is a
// message with a thread started from it, and Discord gives that thread the
// message's id. Either way the thread id is also the card message's id,
// which is how UpdateCard finds it.
func (a *Adapter) PostCard(ctx context.Context, channel string, card bridge.Card, key string) (string, error) {
	embed, comps := renderCard(card, a.links())
	msg := &discordgo.MessageSend{
		Embeds: []*discordgo.MessageEmbed{embed}, Components: comps,
		AllowedMentions: noMentions(),
	}
	return a.postRoot(ctx, "post card", channel, threadName(card.Ticket, customerName(card.CustomerName, card.Handle)), msg, card.Tags, key)
}

// UpdateCard re-renders the card in place and, in a forum, sets the post's
// tags to the conversation's.
func (a *Adapter) UpdateCard(ctx context.Context, channel, threadID string, card bridge.Card) error {
	embed, comps := renderCard(card, a.links())
	if err := a.updateRoot(ctx, "update card", channel, threadID, "", embed, comps); err != nil {
		return err
	}
	a.applyTags(ctx, channel, threadID, card.Tags)
	return nil
}

// postRoot posts msg as a new root in channel and returns the thread id:
// a forum post, or a message of a text channel and the thread started
// from it. key, the idempotency key, becomes the message's nonce in a text
// channel.
func (a *Adapter) postRoot(ctx context.Context, op, channel, name string, msg *discordgo.MessageSend, tags []string, key string) (string, error) {
	info, err := a.channels.get(ctx, channel)
	if err != nil {
		return "", deliveryError(op, err, a.now())
	}
	switch {
	case info.isForum():
		var applied []string
		if len(tags) > 0 {
			forum, err := a.channels.forumTags(ctx, channel)
			if err != nil {
				return "", deliveryError(op, err, a.now())
			}
			applied = tagIDs(forum, tags)
		}
		th, err := a.session.ForumThreadStartComplex(channel,
			&discordgo.ThreadStart{Name: name, AutoArchiveDuration: archiveAfter, AppliedTags: applied},
			msg, discordgo.WithContext(ctx))
		if err != nil {
			return "", deliveryError(op, err, a.now())
		}
		a.channels.learnThread(th.ID, channel)
		a.tags.put(th.ID, strings.Join(applied, ","))
		return th.ID, nil
	case info.isThread():
		return "", &bridge.DeliveryError{Reason: fmt.Sprintf("Discord channel %s is a thread: configure a text or forum channel", channel)}
	}
	nonce := ""
	if key != "" {
		nonce = nonceOf(key)
	}
	m, err := a.sendMessage(ctx, channel, msg, nonce)
	if err != nil {
		return "", deliveryError(op, err, a.now())
	}
	start := &discordgo.ThreadStart{Name: name, AutoArchiveDuration: archiveAfter}
	th, err := a.session.MessageThreadStartComplex(channel, m.ID, start, discordgo.WithContext(ctx))
	if err != nil && codeOf(err) != codeThreadExists && deliveryError(op, err, a.now()).(*bridge.DeliveryError).Temporary {
		th, err = a.session.MessageThreadStartComplex(channel, m.ID, start, discordgo.WithContext(ctx))
	}
	switch {
	case err != nil && codeOf(err) == codeThreadExists:
		th = &discordgo.Channel{ID: m.ID}
	case err != nil:
		// Without its thread the card is of no use: remove it so that the
		// retry posts one card, not two.
		if derr := a.session.ChannelMessageDelete(channel, m.ID, discordgo.WithContext(context.WithoutCancel(ctx))); derr != nil {
			a.logger.Warn("discord card without a thread left behind", "channel", channel, "message", m.ID, "err", derr)
		}
		return "", deliveryError(op+" thread", err, a.now())
	}
	if th.ID != m.ID {
		// Discord gives a thread started from a message that message's id;
		// UpdateCard relies on it.
		a.logger.Warn("discord thread id differs from its message's", "channel", channel, "message", m.ID, "thread", th.ID)
	}
	a.channels.learnThread(th.ID, channel)
	return th.ID, nil
}

// updateRoot edits the root message of a thread: a forum post's starter
// message lives in the post and has its id; a text channel's card lives
// in the channel and has the thread's id too. An empty content leaves the
// content.
func (a *Adapter) updateRoot(ctx context.Context, op, channel, threadID, content string, embed *discordgo.MessageEmbed, comps []discordgo.MessageComponent) error {
	info, err := a.channels.get(ctx, channel)
	if err != nil {
		return deliveryError(op, err, a.now())
	}
	where := channel
	if info.isForum() {
		where = threadID
	}
	embeds := []*discordgo.MessageEmbed{embed}
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	edit := &discordgo.MessageEdit{ID: threadID, Channel: where, Embeds: &embeds, Components: &comps, AllowedMentions: noMentions()}
	if content != "" {
		edit.Content = &content
	}
	_, err = a.session.ChannelMessageEditComplex(edit, discordgo.WithContext(ctx))
	if codeOf(err) == codeThreadArchived && info.isForum() {
		// A forum post archived for inactivity: open it again to edit its
		// starter message.
		open := false
		if _, uerr := a.session.ChannelEditComplex(threadID, &discordgo.ChannelEdit{Archived: &open}, discordgo.WithContext(ctx)); uerr == nil {
			_, err = a.session.ChannelMessageEditComplex(edit, discordgo.WithContext(ctx))
		}
	}
	return deliveryError(op, err, a.now())
}

// applyTags sets a forum post's applied tags to those of the forum that
// match tags, when they changed. A failure is logged, not returned: the
// card itself is up to date.
func (a *Adapter) applyTags(ctx context.Context, channel, threadID string, tags []string) {
	info, err := a.channels.get(ctx, channel)
	if err != nil || !info.isForum() {
		return
	}
	forum, err := a.channels.forumTags(ctx, channel)
	if err != nil {
		a.logger.Warn("discord forum tags not read", "forum", channel, "err", redact(err, a.cfg.Token))
		return
	}
	ids := tagIDs(forum, tags)
	joined := strings.Join(ids, ",")
	if last, ok := a.tags.get(threadID); ok && last == joined {
		return
	}
	if _, err := a.session.ChannelEditComplex(threadID, &discordgo.ChannelEdit{AppliedTags: &ids}, discordgo.WithContext(ctx)); err != nil {
		a.logger.Warn("discord forum post tags not updated", "thread", threadID, "err", redact(err, a.cfg.Token))
		return
	}
	a.tags.put(threadID, joined)
}

// links builds links to Discord threads.
type links struct{ guild string }

func (a *Adapter) links() links { return links{guild: a.cfg.GuildID} }

// thread links a thread of this platform,
// https://discord.com/channels/<guild>/<channel>/<thread>; "" for one on
// another platform or not posted yet.
func (l links) thread(t bridge.ThreadRef) string {
	if t.Platform != platformName || t.ThreadID == "" || l.guild == "" {
		return ""
	}
	if t.Channel == "" {
		return "https://discord.com/channels/" + l.guild + "/" + t.ThreadID
	}
	return "https://discord.com/channels/" + l.guild + "/" + t.Channel + "/" + t.ThreadID
}

// renderCard returns the card's embed and its buttons and priority select.
func renderCard(c bridge.Card, l links) (*discordgo.MessageEmbed, []discordgo.MessageComponent) {
	name := customerName(c.CustomerName, c.Handle)
	e := &discordgo.MessageEmbed{
		Title:     truncate(c.Ticket+" · "+name, maxTitle),
		URL:       c.ProfileURL,
		Color:     cardColor(c),
		Timestamp: timestampOf(c.OpenedAt),
	}
	if c.AvatarURL != "" {
		e.Thumbnail = &discordgo.MessageEmbedThumbnail{URL: c.AvatarURL}
	}
	handle := "—"
	if c.Handle != "" {
		handle = escapeMarkdown("@" + c.Handle)
		if c.ProfileURL != "" {
			handle = "[" + handle + "](" + c.ProfileURL + ")"
		}
	}
	if c.Verified {
		handle += " ✓"
	}
	channel := "Direct message"
	if c.Account != "" {
		channel += " to " + escapeMarkdown("@"+c.Account)
	}
	if c.Kind == bridge.KindMention {
		channel = "Public mention"
		if c.Account != "" {
			channel += " of " + escapeMarkdown("@"+c.Account)
		}
		if c.SourceURL != "" {
			channel += " · [view tweet](" + c.SourceURL + ")"
		}
	}
	add := func(name, value string, inline bool) {
		if strings.TrimSpace(value) == "" {
			value = "—"
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: name, Value: truncate(value, maxFieldValue), Inline: inline})
	}
	add("Handle", handle, true)
	add("Followers", bridge.HumanCount(c.Followers), true)
	add("Channel", channel, true)
	add("Status", statusText(c.Status), true)
	add("Priority", priorityText(c.Priority), true)
	add("Assignee", assigneeText(c.AssigneeID, c.AssigneeName), true)
	add("Tags", tagsText(c.Tags), true)
	add("Opened", discordDate(c.OpenedAt), true)
	if c.PreviousID != 0 {
		add("Previous conversation", fmt.Sprintf("#%d", c.PreviousID), true)
	}
	if c.Escalation != nil {
		add("Escalation", escalationText(c.Escalation, l), false)
	}
	if c.Status == bridge.StatusClosed {
		add("Closed", closedText(c), false)
		if r := strings.TrimSpace(c.CloseReason); r != "" {
			add("Close reason", escapeMarkdown(truncate(r, 1000)), false)
		}
	}
	if s := slaText(c.SLA); s != "" {
		add("SLA", s, false)
	}
	if tier := c.TierLine(); tier != "" {
		add("Customer", escapeMarkdown(tier), false)
	}
	if h := historyText(c, l); h != "" {
		add("History", h, false)
	}
	fitEmbed(e)
	return e, cardComponents(c)
}

// cardComponents are the card's buttons for its status and the priority
// select; none when the card has no ticket to act on.
func cardComponents(c bridge.Card) []discordgo.MessageComponent {
	ticket := commands.TicketValue(c.ConversationID, c.Ticket)
	if ticket == "" {
		return nil
	}
	var buttons []discordgo.MessageComponent
	add := func(action, label string, style discordgo.ButtonStyle) {
		buttons = append(buttons, discordgo.Button{Label: label, Style: style, CustomID: customID(action, ticket)})
	}
	if c.Status == bridge.StatusClosed {
		add(actionReopen, "Reopen", discordgo.PrimaryButton)
		return []discordgo.MessageComponent{discordgo.ActionsRow{Components: buttons}}
	}
	if c.AssigneeID == "" {
		add(actionClaim, "Claim", discordgo.PrimaryButton)
	} else {
		add(actionUnclaim, "Unclaim", discordgo.SecondaryButton)
	}
	if c.Status != bridge.StatusPending {
		add(actionPending, "Waiting on customer", discordgo.SecondaryButton)
	}
	if c.Escalation == nil || !c.Escalation.Open {
		add(actionEscalate, "Escalate", discordgo.DangerButton)
	}
	add(actionClose, "Close", discordgo.SecondaryButton)
	return []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: buttons},
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{prioritySelect(c.Priority, ticket)}},
	}
}

// prioritySelect is the select of priorities, showing the current one.
func prioritySelect(current bridge.Priority, ticket string) discordgo.SelectMenu {
	opts := make([]discordgo.SelectMenuOption, 0, len(priorities))
	for _, p := range priorities {
		opts = append(opts, discordgo.SelectMenuOption{
			Label: capitalize(string(p)), Value: string(p), Default: p == current,
			Description: "Set the priority to " + string(p),
		})
	}
	one := 1
	return discordgo.SelectMenu{
		MenuType: discordgo.StringSelectMenu, CustomID: customID(actionPriority, ticket),
		Placeholder: "Priority", MinValues: &one, MaxValues: 1, Options: opts,
	}
}

// customID joins an action and its value: "xb_cmd:claim|#42".
func customID(action, value string) string {
	if value == "" {
		return action
	}
	return action + "|" + value
}

// splitCustomID splits a custom id made by customID.
func splitCustomID(id string) (action, value string) {
	i := strings.LastIndex(id, "|")
	if i < 0 {
		return id, ""
	}
	return id[:i], id[i+1:]
}

// threadName names a card's thread or forum post: "#42 · Jane Doe".
func threadName(ticket, name string) string {
	s := strings.TrimSpace(ticket + " · " + name)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || s == "·" {
		s = "conversation"
	}
	return truncate(s, maxThreadName)
}

// customerName is the customer's name, or @handle.
func customerName(name, handle string) string {
	if strings.TrimSpace(name) != "" {
		return name
	}
	if handle != "" {
		return "@" + handle
	}
	return "customer"
}

func cardColor(c bridge.Card) int {
	switch {
	case c.Status == bridge.StatusClosed:
		return colorClosed
	case c.Priority == bridge.PriorityUrgent:
		return colorUrgent
	case c.Priority == bridge.PriorityHigh:
		return colorHigh
	case c.Status == bridge.StatusPending:
		return colorPending
	}
	return colorOpen
}

func statusText(s bridge.Status) string {
	switch s {
	case bridge.StatusOpen:
		return "🟢 Open"
	case bridge.StatusPending:
		return "🟡 Waiting on customer"
	case bridge.StatusClosed:
		return "⚪ Closed"
	}
	return escapeMarkdown(capitalize(string(s)))
}

func priorityText(p bridge.Priority) string {
	switch p {
	case bridge.PriorityUrgent:
		return "🚨 Urgent"
	case bridge.PriorityHigh:
		return "⬆️ High"
	}
	return escapeMarkdown(capitalize(string(p)))
}

// assigneeText mentions the assignee when they are a Discord user (a
// mention in an embed pings no one).
func assigneeText(id, name string) string {
	switch {
	case id == "" && name == "":
		return "Unassigned"
	case isSnowflake(id):
		return "<@" + id + ">"
	case name != "":
		return escapeMarkdown(name)
	}
	return escapeMarkdown(id)
}

func tagsText(tags []string) string {
	if len(tags) == 0 {
		return "—"
	}
	q := make([]string, 0, len(tags))
	for _, t := range tags {
		q = append(q, "`"+strings.ReplaceAll(t, "`", "'")+"`")
	}
	return truncate(strings.Join(q, " "), 1000)
}

// escalationText links the escalation's thread, or says where it is.
func escalationText(e *bridge.CardEscalation, l links) string {
	state := "🚨 Open"
	if !e.Open {
		state = "✅ Resolved"
	}
	switch {
	case e.Thread.Platform != "" && e.Thread.Platform != platformName:
		return state + " · on " + capitalize(e.Thread.Platform)
	case e.Thread.ThreadID == "":
		return state + " · thread not posted yet"
	}
	if u := l.thread(e.Thread); u != "" {
		return state + " · [engineering thread](" + u + ")"
	}
	return state
}

// closedText says when, by whom and after how long the conversation was
// closed.
func closedText(c bridge.Card) string { return c.ClosedLine(discordDate, escapeMarkdown) }

// historyText lists the customer's earlier conversations, linking the last
// few: "🗂️ 3 earlier conversations: #12 (closed), #9 (open), …".
func historyText(c bridge.Card, l links) string {
	return c.HistoryLine("🗂️", func(h bridge.CardHistory) string {
		label := escapeMarkdown(h.Ticket)
		if u := l.thread(h.Thread); u != "" {
			label = "[" + label + "](" + u + ")"
		}
		return label
	})
}

// discordDate is a Discord timestamp, which each reader sees in their own
// time zone; "—" for the zero time.
func discordDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmt.Sprintf("<t:%d:f>", t.Unix())
}

// timestampOf is an embed timestamp, "" for the zero time.
func timestampOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// fitEmbed shortens the longest texts of an embed until it is within
// Discord's 6,000 characters.
func fitEmbed(e *discordgo.MessageEmbed) {
	for range 20 {
		total := runeLen(e.Title) + runeLen(e.Description)
		longest := &e.Description
		for _, f := range e.Fields {
			total += runeLen(f.Name) + runeLen(f.Value)
			if runeLen(f.Value) > runeLen(*longest) {
				longest = &f.Value
			}
		}
		if e.Footer != nil {
			total += runeLen(e.Footer.Text)
		}
		if e.Author != nil {
			total += runeLen(e.Author.Name)
		}
		if total <= maxEmbedTotal {
			return
		}
		*longest = truncate(*longest, max(runeLen(*longest)-(total-maxEmbedTotal), 1))
	}
}

// slaText shows each SLA target: its state, and its due time while live.
func slaText(targets []bridge.CardSLA) string {
	var lines []string
	for _, t := range targets {
		line := fmt.Sprintf("%s %s: %s", t.State.Mark(), t.Metric.Label(), t.State)
		if t.State.Due() && !t.DueAt.IsZero() {
			line += ", due " + discordDate(t.DueAt)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
