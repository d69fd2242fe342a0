package commands

import "strings"

// DefaultReactions maps the default emoji, by Slack short name and by
// unicode, to command text:
// 👀 eyes → claim, ⏸️ double_vertical_bar / pause_button → pending,
// 🚨 rotating_light → escalate, ✅ white_check_mark → close.
func DefaultReactions() map[string]string {
	return map[string]string{
		"eyes": "claim", "👀": "claim",
		"double_vertical_bar": "pending", "pause_button": "pending", "⏸️": "pending",
		"rotating_light": "escalate", "🚨": "escalate",
		"white_check_mark": "close", "✅": "close",
	}
}

// FromReaction returns the command text an emoji reaction stands for. emoji
// is a Slack short name, with or without colons and skin tone (":eyes:",
// "+1::skin-tone-2"), or a unicode emoji as Discord sends it, with or
// without variation selector. Run the text with Source SourceReaction.
func (p *Processor) FromReaction(emoji string) (string, bool) {
	if cmd, ok := p.Reactions[emoji]; ok {
		return cmd, true
	}
	want := normalizeEmoji(emoji)
	if want == "" {
		return "", false
	}
	for k, cmd := range p.Reactions {
		if normalizeEmoji(k) == want {
			return cmd, true
		}
	}
	return "", false
}

// normalizeEmoji strips what varies between spellings of one emoji: colons,
// Slack skin tones, case, and variation selectors.
func normalizeEmoji(e string) string {
	e = strings.TrimSpace(e)
	if i := strings.Index(e, "::skin-tone-"); i >= 0 {
		e = e[:i]
	}
	e = strings.Trim(e, ":")
	e = strings.NewReplacer("\uFE0F", "", "\uFE0E", "").Replace(e)
	return strings.ToLower(e)
}

// buttonPrefix starts the action id of a button that runs a command.
const buttonPrefix = "xb_cmd:"

// ButtonAction is the action id of a button that runs the command text cmd
// ("claim", "priority high"); Parsed.String gives canonical text. Slack
// limits action ids to 255 characters.
func ButtonAction(cmd string) string { return buttonPrefix + cmd }

// FromButton returns the command text of a button click, and false when the
// action id is not ButtonAction's. A non-empty value is appended as one
// more token: put the ticket there ("#42") on buttons posted outside the
// conversation's thread, such as SLA alerts. Run the text with Source
// SourceButton.
func FromButton(actionID, value string) (string, bool) {
	text, ok := strings.CutPrefix(actionID, buttonPrefix)
	if !ok {
		return "", false
	}
	text = strings.TrimSpace(text)
	if v := strings.TrimSpace(value); v != "" {
		text = strings.TrimSpace(text + " " + v)
	}
	if text == "" {
		return "", false
	}
	return text, true
}
