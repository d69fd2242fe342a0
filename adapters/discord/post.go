package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// maxMentions bounds the mentions in front of one post.
const maxMentions = 20

// partRetryWait bounds how long a later part of a split post waits for a
// rate limit before it is given up.
const partRetryWait = 5 * time.Second

// Post posts p in the thread threadID (or in channel when threadID is
// empty) and returns the new message's id. Text over Discord's 2,000
// characters is split at word boundaries into several messages; the id is
// the first one's. A customer's message shows their name; a warning's
// buttons go under its last part. Nobody is notified but p.Mention.
func (a *Adapter) Post(ctx context.Context, channel, threadID string, p bridge.Post) (string, error) {
	target := threadID
	if target == "" {
		target = channel
	}
	op := "post " + string(p.Kind)
	var first string
	for i, msg := range renderPost(p) {
		nonce := ""
		if p.Key != "" {
			nonce = nonceOf(fmt.Sprintf("%s#%d", p.Key, i))
		}
		m, err := a.sendMessage(ctx, target, msg, nonce)
		if err != nil && i > 0 {
			m, err = a.retryPart(ctx, op, target, msg, nonce, err)
		}
		if err != nil {
			if i == 0 {
				return "", deliveryError(op, err, a.now())
			}
			// The first part is out; posting it again would repeat it.
			a.logger.Warn("discord post cut short", "channel", target, "first", first, "part", i+1, "err", redact(err, a.cfg.Token))
			return first, nil
		}
		if i == 0 {
			first = m.ID
		}
	}
	return first, nil
}

// retryPart sends a later part of a split post once more, after the wait a
// rate limit asks for when it is short.
func (a *Adapter) retryPart(ctx context.Context, op, target string, msg *discordgo.MessageSend, nonce string, err error) (*discordgo.Message, error) {
	de, _ := deliveryError(op, err, a.now()).(*bridge.DeliveryError)
	if de == nil || !de.Temporary {
		return nil, err
	}
	wait := time.Second
	if !de.RetryAt.IsZero() {
		wait = de.RetryAt.Sub(a.now())
	}
	if wait > partRetryWait {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, err
	case <-time.After(max(wait, 0)):
	}
	return a.sendMessage(ctx, target, msg, nonce)
}

// nonceMessage is a message create body with the nonce discordgo's
// MessageSend lacks.
type nonceMessage struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce"`
	EnforceNonce bool   `json:"enforce_nonce"`
}

// sendMessage posts msg in channel. With a nonce, Discord returns the
// message it already created with that nonce in the last few minutes
// instead of posting it again: a retry after a lost answer does not
// repeat a post.
func (a *Adapter) sendMessage(ctx context.Context, channel string, msg *discordgo.MessageSend, nonce string) (*discordgo.Message, error) {
	if nonce == "" {
		return a.session.ChannelMessageSendComplex(channel, msg, discordgo.WithContext(ctx))
	}
	for _, e := range msg.Embeds {
		if e.Type == "" {
			e.Type = discordgo.EmbedTypeRich
		}
	}
	endpoint := discordgo.EndpointChannelMessages(channel)
	body, err := a.session.RequestWithBucketID(http.MethodPost, endpoint,
		nonceMessage{MessageSend: msg, Nonce: nonce, EnforceNonce: true}, endpoint, discordgo.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	var m discordgo.Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return &m, nil
}

// nonceOf derives a message nonce (at most 25 characters) from an
// idempotency key.
func nonceOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:25]
}

// renderPost returns the messages of a post, in order.
func renderPost(p bridge.Post) []*discordgo.MessageSend {
	prefix, allowed := mentions(p.Mention)
	text := strings.TrimSpace(p.Text)
	if text == "" {
		text = "_(no text)_"
	}
	switch p.Kind {
	case bridge.PostCustomer:
		name := strings.TrimSpace(p.AuthorName)
		if name == "" {
			name = "Customer"
		}
		text = "**" + escapeMarkdown(name) + "**: " + text
	case bridge.PostWarning:
		text = "⚠️ " + text
	}
	parts := splitText(prefix+text, maxContent)
	out := make([]*discordgo.MessageSend, 0, len(parts))
	for i, part := range parts {
		m := &discordgo.MessageSend{Content: part, AllowedMentions: noMentions()}
		if i == 0 {
			m.AllowedMentions = allowed
		}
		out = append(out, m)
	}
	out[len(out)-1].Components = buttonRows(p.Buttons)
	return out
}

// buttonRows lays out a post's buttons, five to a row. A button's custom
// id is its action and value joined by "|" ("xb_resend|17"); one that
// would not fit Discord's 100 characters is left out.
func buttonRows(buttons []bridge.Button) []discordgo.MessageComponent {
	out := make([]discordgo.Button, 0, len(buttons))
	for _, b := range buttons {
		style := discordgo.SecondaryButton
		if _, isCommand := commands.FromButton(b.Action, ""); !isCommand {
			style = discordgo.PrimaryButton
		}
		label := b.Label
		if strings.TrimSpace(label) == "" {
			label = b.Action
		}
		if b.Action != "" {
			out = append(out, discordgo.Button{Label: label, Style: style, CustomID: customID(b.Action, b.Value)})
		}
	}
	return layOut(out)
}

// replyButtons lays out the buttons of a command's reply: each runs its
// command when clicked (custom id commands.ButtonAction's).
func replyButtons(r commands.Reply) []discordgo.MessageComponent {
	out := make([]discordgo.Button, 0, len(r.Buttons))
	for _, b := range r.Buttons {
		style := discordgo.SecondaryButton
		switch b.Style {
		case commands.ButtonPrimary:
			style = discordgo.PrimaryButton
		case commands.ButtonDanger:
			style = discordgo.DangerButton
		}
		out = append(out, discordgo.Button{Label: b.Label, Style: style, CustomID: commands.ButtonAction(b.Command)})
	}
	return layOut(out)
}

// layOut puts buttons in rows of five, at most five rows, leaving out
// those whose custom id is too long for Discord or taken; an empty label
// becomes the custom id.
func layOut(buttons []discordgo.Button) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	var row []discordgo.MessageComponent
	seen := map[string]bool{}
	for _, b := range buttons {
		id := b.CustomID
		if runeLen(id) > maxCustomID || seen[id] {
			continue
		}
		seen[id] = true
		label := strings.TrimSpace(b.Label)
		if label == "" {
			label = id
		}
		row = append(row, discordgo.Button{Label: truncate(label, maxButtonLabel), Style: b.Style, CustomID: id})
		if len(row) == maxRowButtons {
			rows = append(rows, discordgo.ActionsRow{Components: row})
			row = nil
		}
		if len(rows) == maxRows {
			break
		}
	}
	if len(row) > 0 && len(rows) < maxRows {
		rows = append(rows, discordgo.ActionsRow{Components: row})
	}
	return rows
}

// mentions renders the users to notify in front of a post, "<@1> <@&2> ",
// and the allowed_mentions that let exactly them be notified: user ids
// become user mentions, Discord mention markup stays as written, anything
// else is shown as plain @text.
func mentions(ids []string) (string, *discordgo.MessageAllowedMentions) {
	am := noMentions()
	var b strings.Builder
	n := 0
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || n == maxMentions {
			continue
		}
		var m string
		switch sub := markupMention.FindStringSubmatch(id); {
		case isSnowflake(id):
			m = "<@" + id + ">"
			am.Users = appendNew(am.Users, id)
		case sub != nil && sub[0] == id && sub[1] == "&":
			m = "<@&" + sub[2] + ">"
			am.Roles = appendNew(am.Roles, sub[2])
		case sub != nil && sub[0] == id:
			m = "<@" + sub[2] + ">"
			am.Users = appendNew(am.Users, sub[2])
		default:
			m = "@" + escapeMarkdown(strings.TrimPrefix(id, "@"))
		}
		if strings.Contains(b.String(), m+" ") {
			continue
		}
		b.WriteString(m)
		b.WriteByte(' ')
		n++
	}
	return b.String(), am
}

// reactionEmoji maps delivery marks to unicode emoji.
var reactionEmoji = map[bridge.Reaction]string{
	bridge.ReactionWaiting: "⏳",
	bridge.ReactionSent:    "✅",
	bridge.ReactionFailed:  "⚠️",
	bridge.ReactionSeen:    "👀",
}

// DeleteMessage removes a message the bridge posted in a thread (the brief
// "customer is typing" notice); one already gone counts as removed.
func (a *Adapter) DeleteMessage(ctx context.Context, channel, threadID, messageID string) error {
	where := channel
	if threadID != "" {
		where = threadID
	}
	err := a.session.ChannelMessageDelete(where, messageID, discordgo.WithContext(ctx))
	if codeOf(err) == codeUnknownMessage {
		err = nil
	}
	return deliveryError("delete message", err, a.now())
}

// React adds or removes a delivery mark on a message. Discord addresses a
// message by the channel it lives in: the conversation's thread when there
// is one. Adding a mark that is there, or removing one that is not,
// succeeds.
func (a *Adapter) React(ctx context.Context, channel, threadID, messageID string, r bridge.Reaction, add bool) error {
	emoji, ok := reactionEmoji[r]
	if !ok {
		return &bridge.DeliveryError{Reason: fmt.Sprintf("unknown delivery mark %q", r)}
	}
	where := channel
	if threadID != "" {
		where = threadID
	}
	if add {
		err := a.session.MessageReactionAdd(where, messageID, emoji, discordgo.WithContext(ctx))
		return deliveryError("add reaction", err, a.now())
	}
	err := a.session.MessageReactionRemove(where, messageID, emoji, "@me", discordgo.WithContext(ctx))
	if c := codeOf(err); c == codeUnknownMessage || c == codeUnknownEmoji {
		err = nil // nothing to remove
	}
	return deliveryError("remove reaction", err, a.now())
}
