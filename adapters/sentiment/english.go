package sentiment

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/jonreiter/govader"
)

// english scores Latin-script text: VADER's compound, then the support-desk
// adjustments below, all in VADER's valence units.
//
//  1. Lexicon overrides (supportLexicon): on a support desk "please" and
//     "help" are how requests are made, not praise, "support" and "gift"
//     are things, and "urgent" is urgency (its own flag), not mood, so they
//     carry no valence; words of broken products and disputes VADER lacks
//     ("crashing", "chargeback", "scammed") get weights like their VADER
//     kin. Being in the lexicon, they take part in VADER's negation and
//     boosting as usual.
//  2. Denied complaints are calm, not happy: VADER flips a negated word by
//     -0.74, so "I'm not angry" scores as praise; a negated negative word
//     is brought to -0.3 of its valence, as in Chinese. "Not bad" and "no
//     problem" stay on the positive side, only less so.
//  3. Complaint cues (strongCues, weakCues): phrases that report an
//     unresolved problem without a sentiment word ("still not", "doesn't
//     work", "nobody replied", "for the third time", "on hold", "again",
//     "been 3 days"), and a few sarcastic openers ("oh great", "thanks for
//     nothing").
//  4. Courtesy: when a strong cue or a pressing urgency word ("asap") is
//     present, what is
//     positive is discarded: "Thanks, but it's still not fixed" and "Great
//     service, 3 hours on hold" report a problem, politely or
//     sarcastically. In a request ("please", "can you") it is halved: a
//     thank-you in advance is politeness, not a happy customer.
//  5. Shouting and "!!": a message that is not positive is pushed toward
//     negative when most of its words are in capitals (shoutPush) or it
//     has a run of "!!"/"??" (emphaticPush per mark; "!!!" alone makes a
//     neutral message negative). VADER only amplifies a mood already
//     there, so it misses "WHERE IS MY ORDER??".
type english struct {
	vader *govader.SentimentIntensityAnalyzer
}

// sharedEnglish builds the VADER analyzer once per process. Its lexicon is
// a set of maps that PolarityScores only reads, so after construction it
// is safe for concurrent use without a lock.
var sharedEnglish = sync.OnceValue(func() *english {
	v := govader.NewSentimentIntensityAnalyzer()
	for w, val := range supportLexicon {
		if val == 0 {
			delete(v.Lexicon, w)
		} else {
			v.Lexicon[w] = val
		}
	}
	return &english{vader: v}
})

// supportLexicon overrides VADER's lexicon for support conversations; 0
// removes a word. Weights follow VADER's kin: "crashing" as "crash"
// (-1.7), "scammed" as "scam" (-2.7).
var supportLexicon = map[string]float64{
	// requests, the desk itself, products and urgency, not mood
	"please": 0, "help": 0, "support": 0, "urgent": 0, "gift": 0, "free": 0,
	// "no" mostly states a fact here ("got no email"); the complaints it
	// makes are cues ("no reply")
	"no": -0.5,
	// a complaint's "this is a joke", not humour
	"joke": -1.5,
	// broken products
	"crashes": -1.7, "crashing": -1.7, "crashed": -1.7,
	"buggy": -1.5, "glitchy": -1.5, "laggy": -1.2, "unusable": -2.0,
	"outage": -1.0,
	// disputes and bad service
	"refund": -0.8, "chargeback": -1.5, "lawyer": -1.5, "attorney": -1.5,
	"scammed": -2.7, "scammers": -2.7, "ripoff": -2.0, "rip-off": -2.0,
	"overcharged": -2.0, "unresponsive": -1.5, "ghosted": -1.8, "unhelpful": -1.8,
	"absurd": -1.5, "garbage": -2.0, "trash": -1.5, "rubbish": -1.8, "creepy": -1.8,
}

// A cue is a phrase of lower-case words; in a pattern "#" stands for a
// number ("3", "three"), "#th" for an ordinal ("third", "3rd"), "neg" for a
// negation ("not", "no", "never", "nothing", "…n't"), and "be" for a form of
// "to be".
type cue struct {
	words  []string
	weight float64
}

func cues(weight float64, phrases ...string) []cue {
	out := make([]cue, len(phrases))
	for i, p := range phrases {
		out[i] = cue{strings.Fields(p), weight}
	}
	return out
}

// strongCues report an unresolved problem; any of them discards courtesy.
var strongCues = concat(
	cues(-1.5,
		"still neg", "still waiting", "still broken",
		"not working", "neg working", "neg work", "stopped working", "nothing works",
		"not fixed", "neg been fixed", "neg arrived", "neg received", "neg receive",
		"neg heard back", "never got",
		"no one", "nobody", "no reply", "no response", "no answer", "anyone there", "anybody there",
		"on hold", "be down", "went down", "locked out",
		"charged twice", "charged me twice", "double charged",
		"for the #th time",
		// disputed charges
		"never signed up", "never ordered", "didn't order", "never authorized", "didn't authorize",
		// sarcasm: praise that introduces a complaint
		"thanks for nothing", "thank you for nothing", "oh great", "just great", "oh wonderful",
		"oh perfect", "just perfect", "love that for me", "yeah right"),
	cues(-1.0, "done with you", "done with this"),
)

// weakCues hint at frustration but are common in calm messages too ("my
// second time ordering"); they add little and leave courtesy alone.
var weakCues = concat(
	cues(-0.8, "again", "# times", "twice", "#th time", "keeps", "keep getting", "sent # messages", "sent # emails"),
	cues(-1.0, "actual human", "real human", "actual person", "real person"),
	waits(-0.8, "minutes", "hours", "days", "weeks", "months", "hour", "day", "week", "month"),
)

// waits are cues of time spent waiting: "been 3 days", "for a week",
// "after two weeks", "day 4 of".
func waits(weight float64, units ...string) []cue {
	var out []cue
	for _, u := range units {
		out = append(out, cues(weight, "be # "+u, "for # "+u, "after # "+u, "over # "+u, u+" # of")...)
	}
	return out
}

func concat(lists ...[]cue) []cue {
	var out []cue
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// compound scores text in [-1, 1]; pressing tells that it has a pressing
// urgency keyword.
func (e *english) compound(text string, pressing bool) float64 {
	clean := cleanEN(text)
	raw := denormalize(e.vader.PolarityScores(clean).Compound) + e.deniedComplaints(clean)
	toks := wordsEN(strings.ToLower(clean))
	strong := cueSum(toks, strongCues)
	weak := cueSum(toks, weakCues)
	if raw > 0 {
		switch {
		case strong < 0 || pressing:
			raw = 0
		case cueSum(toks, requestCues) != 0:
			raw *= requestWeight
		}
	}
	sum := raw + strong + weak
	if sum <= 0 {
		sum += emphasis(text)
		if shouting(clean) {
			sum += shoutPush
		}
	}
	return normalize(sum)
}

// requestCues mark a message that asks for something.
var requestCues = cues(1, "please", "pls", "plz", "can you", "could you", "would you", "can someone",
	"could someone", "kindly")

// deniedComplaints is the correction that brings VADER's reading of each
// negated negative word ("not angry", "no problem") from -0.74 to
// negateNegative times its valence. It follows VADER's rules for what
// negates: a negation word or "…n't" up to three words before (each not a
// lexicon word itself), or "no" up to two words before.
func (e *english) deniedComplaints(clean string) float64 {
	lex, negs := e.vader.Lexicon, e.vader.Constants.NegateList
	raw := strings.Split(clean, " ")
	toks := make([]string, len(raw))
	for i, w := range raw {
		if t := strings.Trim(w, vaderPunct); len(t) >= 3 {
			w = t
		}
		toks[i] = strings.ToLower(w)
	}
	negates := func(w string) bool { return slices.Contains(negs, w) || strings.Contains(w, "n't") }
	fix := 0.0
	for i, w := range toks {
		v, ok := lex[w]
		if !ok || v >= 0 {
			continue
		}
		flips := 0
		if i > 0 && toks[i-1] == "no" || i > 1 && toks[i-2] == "no" {
			flips++
		}
		for k := 1; k <= 3 && i-k >= 0; k++ {
			if _, isLex := lex[toks[i-k]]; !isLex && negates(toks[i-k]) {
				flips++
			}
		}
		if flips%2 == 1 {
			fix += (negateNegative - negatePositive) * v // v < 0: less positive
		}
	}
	return fix
}

// vaderPunct is the punctuation VADER trims from words.
const vaderPunct = `"!#$%&'()*+,-./:;<=>?@[\]^_` + "`{|}~"

// cleanEN prepares text for VADER, which splits words on single spaces
// only and keeps the punctuation of words shorter than three letters: it
// folds whitespace to single spaces, curly apostrophes to straight ones
// (so "don’t" negates), and drops the trailing ",.;:" of short words (so
// "ok," is "ok"). It also reads the request "I'd like to" as "I want to",
// not as liking.
func cleanEN(text string) string {
	text = strings.NewReplacer("’", "'", "‘", "'").Replace(text)
	text = wouldLike.ReplaceAllString(text, "${1} want")
	f := strings.Fields(text)
	for i, w := range f {
		if len(w) <= 4 && unicode.IsLetter(rune(w[0])) {
			f[i] = strings.TrimRight(w, ",.;:")
		}
	}
	return strings.Join(f, " ")
}

var wouldLike = regexp.MustCompile(`(?i)\b(would|'d) like\b`)

// wordsEN splits lower-case text into words: runs of letters, digits,
// apostrophes and inner hyphens.
func wordsEN(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '-'
	})
}

// cueSum adds the weights of the cues found in toks; a cue found more than
// once counts once.
func cueSum(toks []string, list []cue) float64 {
	sum := 0.0
	for _, c := range list {
		for i := range toks {
			if matchAt(toks, i, c.words) {
				sum += c.weight
				break
			}
		}
	}
	return sum
}

// matchAt reports whether pattern matches toks from i on.
func matchAt(toks []string, i int, pattern []string) bool {
	if i+len(pattern) > len(toks) {
		return false
	}
	for j, p := range pattern {
		if !matchWord(toks[i+j], p) {
			return false
		}
	}
	if pattern[0] == "again" && i > 0 && (toks[i-1] == "thanks" || toks[i-1] == "you") {
		return false // "thanks again", "thank you again"
	}
	return true
}

func matchWord(w, p string) bool {
	switch p {
	case "#":
		return isNumber(w)
	case "#th":
		return isOrdinal(w)
	case "neg":
		return isNegation(w)
	case "be":
		return toBe[w]
	}
	return w == p
}

var toBe = map[string]bool{
	"be": true, "been": true, "is": true, "are": true, "was": true, "were": true,
	"it's": true, "i've": true, "we've": true, "i'm": true, "we're": true, "they're": true,
}

var numberWords = map[string]bool{
	"a": true, "an": true, "two": true, "three": true, "four": true, "five": true, "six": true,
	"seven": true, "eight": true, "nine": true, "ten": true, "twelve": true, "fifteen": true,
	"twenty": true, "thirty": true, "forty": true, "forty-five": true, "fifty": true,
	"several": true, "many": true, "multiple": true,
}

func isNumber(w string) bool {
	if numberWords[w] {
		return true
	}
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return w != ""
}

var ordinalWords = map[string]bool{
	"second": true, "third": true, "fourth": true, "fifth": true, "sixth": true,
	"seventh": true, "eighth": true, "ninth": true, "tenth": true, "nth": true, "umpteenth": true,
}

func isOrdinal(w string) bool {
	if ordinalWords[w] {
		return true
	}
	n := strings.TrimRightFunc(w, unicode.IsLetter)
	suffix := w[len(n):]
	return n != "" && isNumber(n) && (suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th")
}

func isNegation(w string) bool {
	switch w {
	case "not", "no", "never", "nothing", "none", "cannot", "cant", "dont", "doesnt", "didnt",
		"hasnt", "havent", "isnt", "wont", "wasnt":
		return true
	}
	return strings.HasSuffix(w, "n't")
}

// shouting reports whether most words of text are in capitals: at least
// three words of two letters or more, and at least half of them all caps.
func shouting(text string) bool {
	var words, caps int
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) < 2 {
			continue
		}
		words++
		if strings.ToUpper(w) == w && strings.ToLower(w) != w {
			caps++
		}
	}
	return caps >= 3 && caps*2 >= words
}
