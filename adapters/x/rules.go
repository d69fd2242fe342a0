package x

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xbridge/xbridge/bridge"
)

// X's limits on what the bridge sends.
const (
	// MaxDMLength is the most characters (code points) X accepts in a DM.
	MaxDMLength = 10000
	// MaxTweetLength is the most a tweet may weigh (see WeightedLength).
	MaxTweetLength = 280
	// urlWeight is what every URL weighs: X shortens it to a t.co link.
	urlWeight = 23
)

// Rules applies X's text limits to agents' replies. It implements
// bridge.TextRules.
type Rules struct{}

var _ bridge.TextRules = Rules{}

// Parts returns the messages to send for text: a DM over MaxDMLength
// characters is split at paragraph, sentence or word boundaries; a public
// reply over MaxTweetLength (X's weighted count) is refused with an EINVALID
// error that tells the agent the count.
func (Rules) Parts(kind bridge.Kind, text string) ([]string, error) {
	if strings.TrimSpace(text) == "" {
		return nil, bridge.Errorf(bridge.EINVALID, "reply is empty: there is nothing to send.")
	}
	switch kind {
	case bridge.KindDM:
		return splitText(text, MaxDMLength), nil
	case bridge.KindMention:
		if n := WeightedLength(text); n > MaxTweetLength {
			return nil, bridge.Errorf(bridge.EINVALID,
				"reply is %d characters; X allows 280 in a public reply. Shorten it, or answer by DM.", n)
		}
		return []string{text}, nil
	}
	return nil, bridge.Errorf(bridge.EINVALID, "cannot send to a conversation of kind %q", kind)
}

// splitText cuts text into parts of at most limit code points, preferring
// to cut between paragraphs, then lines, then sentences, then words. No part
// is cut shorter than half the limit for the sake of a nicer boundary.
func splitText(text string, limit int) []string {
	if utf8.RuneCountInString(text) <= limit {
		return []string{text}
	}
	var parts []string
	rest := strings.TrimSpace(text)
	for utf8.RuneCountInString(rest) > limit {
		end := runeOffset(rest, limit)
		cut := bestCut(rest, end, runeOffset(rest, limit/2))
		part := strings.TrimRightFunc(rest[:cut], unicode.IsSpace)
		if part == "" { // only blanks before the cut: keep them rather than loop
			part = rest[:cut]
		}
		parts = append(parts, part)
		rest = strings.TrimLeftFunc(rest[cut:], unicode.IsSpace)
	}
	if rest != "" {
		parts = append(parts, rest)
	}
	return parts
}

// runeOffset returns the byte offset of the n-th rune of s (len(s) if s is
// shorter).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// sentenceEndRE finds the end of a sentence: a terminator (with closing
// quotes or brackets) followed by a space, or a CJK full stop.
var sentenceEndRE = regexp.MustCompile(`[.!?…]+["'”’)\]]*\s|[。！？]+[」』”’）]*`)

// bestCut returns the byte offset in s at which to end a part that may
// reach up to end: the last paragraph break, line break, sentence end or
// space at or after minCut, else end itself, moved back so as not to cut
// through a character sequence (an emoji with modifiers, a letter with
// combining marks).
func bestCut(s string, end, minCut int) int {
	window := s[:end]
	minCut = max(minCut, 1)
	for _, sep := range []string{"\n\n", "\n"} {
		if i := strings.LastIndex(window, sep); i >= minCut {
			return i
		}
	}
	if locs := sentenceEndRE.FindAllStringIndex(window, -1); len(locs) > 0 {
		if e := locs[len(locs)-1][1]; e >= minCut {
			return e
		}
	}
	if i := strings.LastIndexFunc(window, unicode.IsSpace); i >= minCut {
		return i
	}
	cut := end
	for cut > minCut {
		next, _ := utf8.DecodeRuneInString(s[cut:])
		prev, size := utf8.DecodeLastRuneInString(s[:cut])
		if !joinsPrevious(next) && prev != 0x200D {
			return cut
		}
		cut -= size
	}
	return end
}

// joinsPrevious reports whether r belongs to the character before it.
func joinsPrevious(r rune) bool {
	return r == 0x200D || isVariationSelector(r) || isSkinTone(r) || isTag(r) || r == 0x20E3 ||
		unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)
}

// tweetURLRE finds what X turns into t.co links: URLs with a scheme, and
// bare domains with a common top-level domain.
var tweetURLRE = regexp.MustCompile(`(?i)https?://[^\s<>"]+|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+` +
	`(?:com|org|net|edu|gov|io|co|ai|app|dev|me|info|biz|us|uk|de|fr|es|it|nl|jp|cn|in|ly|gl|gg|tv|xyz|shop|help|support|link|news|blog)` +
	`\b(?:/[^\s<>"]*)?`)

// WeightedLength is the length of a tweet as X counts it (twitter-text v3):
// a code point in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F or
// U+2032–U+2037 weighs 1, any other (CJK, emoji, …) 2; an emoji sequence
// (modifiers, ZWJ, flags, keycaps) weighs 2 as a whole; every URL weighs
// 23. Unlike twitter-text, it does not NFC-normalise the text first.
func WeightedLength(text string) int {
	n, last := 0, 0
	for _, loc := range tweetURLRE.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		if start < last {
			continue
		}
		if !strings.Contains(text[start:end], "://") && start > 0 {
			// A bare domain right after "@" or a word character is part of
			// an e-mail address or a longer word, not a link.
			if prev, _ := utf8.DecodeLastRuneInString(text[:start]); prev == '@' || prev == '.' || prev == '_' ||
				unicode.IsLetter(prev) || unicode.IsDigit(prev) {
				continue
			}
		}
		end = start + len(strings.TrimRight(text[start:end], `.,;:!?'")]}`))
		n += weighRunes(text[last:start]) + urlWeight
		last = end
	}
	return n + weighRunes(text[last:])
}

// weighRunes weighs text without URLs.
func weighRunes(s string) int {
	n := 0
	prev := rune(-1)
	inEmoji := false // prev is (part of) an emoji sequence
	joining := false // after a ZWJ inside an emoji sequence
	flagHalf := false
	for _, r := range s {
		switch {
		case joining && (isEmoji(r) || isRegionalIndicator(r)):
			joining = false
			prev = r
			continue
		case r == 0x200D && inEmoji:
			joining = true
			continue
		case inEmoji && (isSkinTone(r) || isTag(r) || r == 0xFE0E):
			continue
		case r == 0xFE0F || r == 0x20E3:
			// Emoji presentation or keycap: the character before becomes
			// an emoji weighing 2.
			if !inEmoji && prev >= 0 {
				n += 2 - charWeight(prev)
				inEmoji = true
			}
			continue
		case isRegionalIndicator(r):
			joining = false
			if flagHalf { // the second letter of a flag
				flagHalf = false
				continue
			}
			flagHalf, inEmoji, prev = true, true, r
			n += 2
			continue
		}
		joining, flagHalf = false, false
		n += charWeight(r)
		inEmoji = isEmoji(r)
		prev = r
	}
	return n
}

// charWeight is the weight of one code point in twitter-text v3.
func charWeight(r rune) int {
	switch {
	case r <= 0x10FF, r >= 0x2000 && r <= 0x200D, r >= 0x2010 && r <= 0x201F, r >= 0x2032 && r <= 0x2037:
		return 1
	}
	return 2
}

// isEmoji reports whether r is a pictographic emoji that may carry
// modifiers or be joined to others.
func isEmoji(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF, r >= 0x2300 && r <= 0x23FF,
		r >= 0x2B00 && r <= 0x2BFF, r >= 0x2190 && r <= 0x21FF:
		return !isRegionalIndicator(r) && !isSkinTone(r)
	case r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139,
		r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
		return true
	}
	return false
}

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool          { return r >= 0x1F3FB && r <= 0x1F3FF }
func isTag(r rune) bool               { return r >= 0xE0020 && r <= 0xE007F }
func isVariationSelector(r rune) bool { return r >= 0xFE00 && r <= 0xFE0F }
