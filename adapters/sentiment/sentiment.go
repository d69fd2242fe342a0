// Package sentiment rates a customer's message for negative mood and
// urgency, so the bridge can suggest a priority ("negative, 48k followers").
//
// English, and any text in Latin script, is scored with VADER
// (github.com/jonreiter/govader) plus a few documented support-desk
// adjustments (see english.go). Chinese is scored with a lexicon of this
// package's own, segmented by greedy longest match (see chinese.go).
// Japanese and Korean are not rated for mood: they come back neutral, with
// urgency still detected from the keyword lists. Both languages end on the
// same scale: VADER's compound score in [-1, 1], of which Negative is the
// part below zero.
package sentiment

import (
	"math"
	"unicode"

	"github.com/xbridge/xbridge/bridge"
)

// Labels, from most to least negative.
const (
	LabelVeryNegative = "very negative"
	LabelNegative     = "negative"
	LabelNeutral      = "neutral"
	LabelPositive     = "positive"
)

// Label thresholds on the shared scale: Negative at or above VeryNegativeAt
// is "very negative", at or above NegativeAt "negative"; a compound score
// at or above PositiveAt is "positive" (clearly positive, not merely polite).
const (
	VeryNegativeAt = 0.6
	NegativeAt     = 0.25
	PositiveAt     = 0.3
)

// Score is a message's mood: the same fields as bridge.Sentiment.
type Score struct {
	Negative float64 // 0 (not negative) … 1 (furious)
	Urgent   bool    // urgency words ("asap", "chargeback", "紧急", …)
	Label    string  // "very negative", "negative", "neutral", "positive"
}

// Analyzer scores messages. It is safe for concurrent use; the VADER
// lexicon behind it is loaded once per process and shared by all
// Analyzers.
type Analyzer struct {
	en *english
	zh *chinese
}

// New returns an Analyzer. The first call loads VADER's lexicon (a few
// milliseconds); later calls share it.
func New() *Analyzer {
	return &Analyzer{en: sharedEnglish(), zh: sharedChinese()}
}

// Analyze rates text written in lang ("en", "zh", "ja", "ko" as
// bridge.DetectLanguage tells; empty means detect it). Chinese text goes to
// the Chinese lexicon, text mostly in Latin script to VADER, and anything
// else is neutral. Urgency is looked for in both languages' keywords.
func (a *Analyzer) Analyze(text, lang string) Score {
	if lang == "" {
		lang = bridge.DetectLanguage(text)
	}
	urgent, pressing := urgency(text)
	var compound float64
	switch {
	case lang == "zh" && hasHan(text):
		compound = a.zh.compound(text, pressing)
	case lang == "en" || mostlyLatin(text):
		compound = a.en.compound(text, pressing)
	}
	return Score{
		Negative: math.Max(0, -compound),
		Urgent:   urgent,
		Label:    label(compound),
	}
}

// Score rates text as the bridge's SentimentScorer.
func (a *Analyzer) Score(text, lang string) bridge.Sentiment {
	s := a.Analyze(text, lang)
	return bridge.Sentiment{Negative: s.Negative, Urgent: s.Urgent, Label: s.Label}
}

var _ bridge.SentimentScorer = (*Analyzer)(nil)

// label names a compound score.
func label(compound float64) string {
	switch neg := -compound; {
	case neg >= VeryNegativeAt:
		return LabelVeryNegative
	case neg >= NegativeAt:
		return LabelNegative
	case compound >= PositiveAt:
		return LabelPositive
	}
	return LabelNeutral
}

// alpha is VADER's normalisation constant: a valence sum s maps to the
// compound s/√(s²+alpha).
const alpha = 15

// normalize maps a valence sum to a compound score in (-1, 1), as VADER
// does.
func normalize(sum float64) float64 {
	return sum / math.Sqrt(sum*sum+alpha)
}

// denormalize recovers the valence sum behind a VADER compound score, so
// that adjustments can be added in VADER's own units.
func denormalize(compound float64) float64 {
	c := math.Max(-0.9999, math.Min(0.9999, compound))
	return c * math.Sqrt(alpha/(1-c*c))
}

// Scalars of negation: a negated positive word is flipped by VADER's
// -0.74 (not good is bad), a negated negative one only by -0.3 (not angry
// is calm, not happy).
const (
	negatePositive = -0.74
	negateNegative = -0.3
)

// Weights of the mood pushes shared by both languages, in VADER valence
// units (a lexicon word weighs about ±1 to ±3).
const (
	// emphaticPush, per mark in the longest run of two to four "!" or
	// "?" (or the full-width ！？), is added to a message that is not
	// positive: on a support desk "where is my order??" is impatience and
	// "where is my order!!!" annoyance (-1.35, negative on its own).
	emphaticPush = -0.45
	// shoutPush is added to a message that is not positive when most of
	// its words are in capitals (English only).
	shoutPush = -1.2
	// requestWeight scales what is positive in a message that asks for
	// something: "could you resend it? thanks" is politeness.
	requestWeight = 0.5
)

// emphasis is the push of a message's longest run of two or more
// exclamation or question marks (counted up to four); 0 when there is none.
func emphasis(text string) float64 {
	run, longest := 0, 0
	for _, r := range text {
		switch r {
		case '!', '?', '！', '？':
			run++
			longest = max(longest, run)
		default:
			run = 0
		}
	}
	if longest < 2 {
		return 0
	}
	return float64(min(longest, 4)) * emphaticPush
}

// hasHan reports whether text has any Han character.
func hasHan(text string) bool {
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// mostlyLatin reports whether most of text's letters are Latin.
func mostlyLatin(text string) bool {
	var latin, other int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Latin, r):
			latin++
		case unicode.IsLetter(r):
			other++
		}
	}
	return latin > 0 && latin >= other
}
