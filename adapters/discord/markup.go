package discord

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// noMentions lets a message notify no one: the bridge quotes customers and
// agents, and a quoted "@everyone" must stay text.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// markdownChars are the characters Discord markdown gives a meaning.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, "`", "\\`", `~`, `\~`, `|`, `\|`,
	`>`, `\>`, `[`, `\[`, `]`, `\]`, `#`, `\#`, `<`, `\<`,
)

// escapeMarkdown makes s show as typed in a field or message.
func escapeMarkdown(s string) string { return markdownEscaper.Replace(s) }

// truncate shortens s to at most n characters, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// runeLen counts characters as Discord does.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// appendNew appends v unless list has it.
func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// splitText splits s into parts of at most max characters, cutting
// between paragraphs, else lines, else words, in the second half of a
// part, and only inside a word when a part has no white space there.
// White space at the cuts is dropped.
func splitText(s string, max int) []string {
	var parts []string
	for runeLen(s) > max {
		cut := cutPoint(s, max)
		head := strings.TrimRightFunc(s[:cut], unicode.IsSpace)
		if head == "" { // cannot happen with a cut after max/2 characters
			head = s[:cut]
		}
		parts = append(parts, head)
		s = strings.TrimLeftFunc(s[cut:], unicode.IsSpace)
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}

// cutPoint returns the byte offset at which the next part of s ends: the
// last paragraph break, line break or space within max characters and
// after half of them, else max characters.
func cutPoint(s string, max int) int {
	fit := len(s)
	n := 0
	for i := range s {
		if n == max {
			fit = i
			break
		}
		n++
	}
	window := s[:fit]
	half := len(string([]rune(window)[:max/2]))
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(window, sep); i > half {
			return i
		}
	}
	if i := strings.LastIndexFunc(window, unicode.IsSpace); i > half {
		return i
	}
	return fit
}

// markup matches Discord's <…> markup: mentions, channels, custom emoji,
// timestamps, command mentions and links kept from embedding.
var markup = regexp.MustCompile(`<(@&|@!?|#|a?:[A-Za-z0-9_~]+:|t:|/[^:<>]+:)?([^<>\s]*)>`)

// resolver names what markup refers to; nil functions leave ids.
type resolver struct {
	user    func(id string) string
	channel func(id string) string
}

// plainText turns Discord message content into what a reader sees, the
// text that goes to the customer: user mentions become @name, channel
// mentions #name, role mentions @role, custom emoji :name:, timestamps a
// UTC date, command mentions /name and <https://…> the URL. Markdown is
// kept: it is what the agent typed.
func plainText(s string, r resolver) string {
	return markup.ReplaceAllStringFunc(s, func(m string) string {
		sub := markup.FindStringSubmatch(m)
		kind, rest := sub[1], sub[2]
		switch {
		case kind == "@" || kind == "@!":
			if !isSnowflake(rest) {
				return m
			}
			if r.user != nil {
				if name := r.user(rest); name != "" {
					return "@" + name
				}
			}
			return "@" + rest
		case kind == "@&":
			return "@role"
		case kind == "#":
			if r.channel != nil && isSnowflake(rest) {
				if name := r.channel(rest); name != "" {
					return "#" + name
				}
			}
			return "#channel"
		case strings.HasPrefix(kind, ":") || strings.HasPrefix(kind, "a:"):
			name := strings.Split(strings.TrimPrefix(kind, "a"), ":")[1]
			return ":" + name + ":"
		case kind == "t:":
			unix, _, _ := strings.Cut(rest, ":")
			if n, err := strconv.ParseInt(unix, 10, 64); err == nil {
				return time.Unix(n, 0).UTC().Format("Jan 2, 2006 15:04 UTC")
			}
			return m
		case strings.HasPrefix(kind, "/"):
			return strings.TrimSuffix(kind, ":")
		case kind == "" && (strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://")):
			return rest
		}
		return m
	})
}
