package slack

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
)

// Post posts p in the thread threadID and returns the new message's ts.
func (a *Adapter) Post(ctx context.Context, channel, threadID string, p bridge.Post) (string, error) {
	blocks, text := renderPost(p)
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
	}
	if threadID != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadID))
	}
	if p.Kind == bridge.PostCustomer {
		if p.AuthorName != "" {
			opts = append(opts, slackapi.MsgOptionUsername(p.AuthorName))
		}
		if p.AvatarURL != "" {
			opts = append(opts, slackapi.MsgOptionIconURL(p.AvatarURL))
		}
	}
	if p.Key != "" {
		opts = append(opts, slackapi.MsgOptionMetadata(slackapi.SlackMetadata{
			EventType: metadataPost, EventPayload: map[string]any{"key": p.Key},
		}))
	}
	_, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", deliveryError("post "+string(p.Kind), err, a.now())
	}
	return ts, nil
}

// reactionEmoji maps delivery marks to Slack emoji names.
var reactionEmoji = map[bridge.Reaction]string{
	bridge.ReactionWaiting: "hourglass_flowing_sand",
	bridge.ReactionSent:    "white_check_mark",
	bridge.ReactionFailed:  "warning",
	bridge.ReactionSeen:    "eyes",
}

// DeleteMessage removes a message the bridge posted (the brief "customer is
// typing" notice); one already gone counts as removed.
func (a *Adapter) DeleteMessage(ctx context.Context, channel, _, messageID string) error {
	_, _, err := a.api.DeleteMessageContext(ctx, channel, messageID)
	if slackErrorCode(err) == "message_not_found" {
		err = nil
	}
	return deliveryError("delete message", err, a.now())
}

// React adds or removes a delivery mark on a message. Adding a mark that is
// there, or removing one that is not, succeeds.
func (a *Adapter) React(ctx context.Context, channel, _, messageID string, r bridge.Reaction, add bool) error {
	name, ok := reactionEmoji[r]
	if !ok {
		return &bridge.DeliveryError{Reason: fmt.Sprintf("unknown delivery mark %q", r)}
	}
	ref := slackapi.NewRefToMessage(channel, messageID)
	var err error
	if add {
		err = a.api.AddReactionContext(ctx, name, ref)
		if slackErrorCode(err) == "already_reacted" {
			err = nil
		}
	} else {
		err = a.api.RemoveReactionContext(ctx, name, ref)
		if slackErrorCode(err) == "no_reaction" {
			err = nil
		}
	}
	op := "add reaction"
	if !add {
		op = "remove reaction"
	}
	return deliveryError(op, err, a.now())
}

// renderPost returns a post's blocks and its notification text. Text from
// the bridge is plain: it is escaped so that nothing in it (a customer's
// "<!channel>", say) is read as Slack markup.
func renderPost(p bridge.Post) ([]slackapi.Block, string) {
	mention := mentions(p.Mention)
	room := maxSectionChars - len(mention) // mentions are ASCII
	var blocks []slackapi.Block
	switch p.Kind {
	case bridge.PostNotice:
		for i, part := range splitEscaped(p.Text, room, maxBlocks) {
			if i == 0 {
				part = mention + part
			}
			blocks = append(blocks, slackapi.NewContextBlock("",
				slackapi.NewTextBlockObject(slackapi.MarkdownType, part, false, false)))
		}
	case bridge.PostWarning:
		parts := splitEscaped(":warning: "+p.Text, room, maxBlocks-1)
		for i, part := range parts {
			if i == 0 {
				part = mention + part
			}
			blocks = append(blocks, section(part))
		}
		if len(p.Buttons) > 0 {
			var elems []slackapi.BlockElement
			for i, b := range p.Buttons {
				if i == 25 { // Slack's limit of elements in an actions block
					break
				}
				elems = append(elems, button(b.Action, b.Value, b.Label, slackapi.StyleDefault))
			}
			blocks = append(blocks, slackapi.NewActionBlock("", elems...))
		}
	default: // bridge.PostCustomer and anything new: the text as it is
		for i, part := range splitEscaped(p.Text, room, maxBlocks) {
			if i == 0 {
				part = mention + part
			}
			blocks = append(blocks, section(part))
		}
	}
	text := escape(preview(p.Text, maxPreviewChars))
	if p.Kind == bridge.PostWarning {
		text = ":warning: " + text
	}
	if p.Kind == bridge.PostCustomer && p.AuthorName != "" {
		text = escape(p.AuthorName) + ": " + text
	}
	return blocks, mention + text
}

// maxMentions bounds the mentions in front of one post.
const maxMentions = 20

// mentions renders the users to notify as "<@U1> <@U2> ": user ids as
// user mentions, user group ids (S…) as group mentions, text already in
// Slack markup as it is; anything else is shown as plain @text.
func mentions(ids []string) string {
	var b strings.Builder
	n := 0
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || n == maxMentions {
			continue
		}
		var m string
		switch {
		case isUserID(id):
			m = "<@" + id + ">"
		case len(id) > 1 && id[0] == 'S' && isSlackID(id):
			m = "<!subteam^" + id + ">"
		case len(id) > 2 && id[0] == '<' && id[len(id)-1] == '>' && !strings.ContainsAny(id[1:len(id)-1], "<>"):
			m = id
		default:
			m = escape("@" + strings.TrimPrefix(id, "@"))
		}
		if strings.Contains(b.String(), m+" ") {
			continue
		}
		b.WriteString(m)
		b.WriteByte(' ')
		n++
	}
	return b.String()
}

// section is a mrkdwn section block taken verbatim: Slack does not turn
// bare URLs, channel names or mentions in it into links.
func section(text string) slackapi.Block {
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true), nil, nil)
}

// escaper escapes &, < and > as Slack requires of message text; built
// once, it is safe for concurrent use.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape escapes &, < and > as Slack requires of message text.
func escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return escaper.Replace(s)
}

// escapedLen is how many characters r takes once escaped.
func escapedLen(r rune) int {
	switch r {
	case '&':
		return 5
	case '<', '>':
		return 4
	}
	return 1
}

// preview is the start of s on one line, at most n characters.
func preview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, n)
}

// splitEscaped escapes plain text and splits it into at most maxParts parts
// of at most max characters each, cutting between paragraphs, else lines,
// else words, and only as a last resort inside a word. An empty text gives
// one part saying so (Slack refuses empty text). Text beyond
// maxParts parts is cut, and the last part says so.
func splitEscaped(s string, max, maxParts int) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{"_(no text)_"}
	}
	var parts []string
	for s != "" {
		if len(parts) == maxParts-1 && len(escapedPrefix(s, max)) < len(s) {
			last := strings.TrimRightFunc(s[:cutPoint(s, max-60)], unicode.IsSpace)
			rest := utf8.RuneCountInString(s) - utf8.RuneCountInString(last)
			parts = append(parts, escape(last)+fmt.Sprintf("\n_… (%d more characters not shown)_", rest))
			break
		}
		head := cutPoint(s, max)
		parts = append(parts, escape(strings.TrimRightFunc(s[:head], unicode.IsSpace)))
		s = strings.TrimLeftFunc(s[head:], unicode.IsSpace)
	}
	return parts
}

// escapedPrefix returns the longest prefix of s whose escaped form fits in
// max characters.
func escapedPrefix(s string, max int) string {
	n := 0
	for i, r := range s {
		n += escapedLen(r)
		if n > max {
			return s[:i]
		}
	}
	return s
}

// cutPoint returns the byte offset at which to end the next part of s so
// that its escaped form fits in max characters, preferring a paragraph
// break, then a line break, then a space in the second half of the part.
func cutPoint(s string, max int) int {
	fit := len(escapedPrefix(s, max))
	if fit == len(s) {
		return fit
	}
	if fit == 0 { // cannot happen with max ≥ 5; make progress anyway
		_, n := utf8.DecodeRuneInString(s)
		return n
	}
	window := s[:fit]
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(window, sep); i > fit/2 {
			return i
		}
	}
	return fit
}
