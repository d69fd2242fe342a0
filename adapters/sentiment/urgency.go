package sentiment

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Urgency keywords come in two kinds. Pressing ones are about time
// ("asap", 马上): a denial before them cancels them ("not urgent", 不急),
// and they make a thank-you a thank-you in advance, which is not praise.
// The others name what makes a message urgent for support (a refund, a
// lawyer, a scam): "not a scam" is still about a scam, and "谢谢！已经收到
// 退款了" is still thanks. English keywords match whole words,
// case-insensitively ("scam" is not "scampi"); Chinese ones match anywhere,
// longer ones first (不着急 is one match, not 不 + 着急 + 急).
var (
	pressingEN = cues(1,
		"urgent", "urgently", "asap", "a s a p", "immediately", "emergency", "right away",
		"right now", "as soon as possible", "time sensitive", "time-sensitive", "critical",
	)
	otherUrgentEN = cues(1,
		"still waiting", "still no reply", "still no response", "still no answer",
		"still haven't heard", "still not heard",
		"lawyer", "lawyers", "attorney", "legal action", "sue you", "suing", "small claims",
		"chargeback", "charge back", "dispute the charge",
		"scam", "scams", "scammed", "scammer", "scammers", "fraud", "fraudulent",
		"cancel my account", "cancel my subscription", "close my account", "delete my account",
		"hacked", "unauthorized charge", "unauthorised charge", "unauthorized charges",
		"unauthorised charges",
	)
	pressingZH = []string{"紧急", "马上", "立刻", "立即", "立马", "赶紧", "赶快", "尽快", "急需", "着急", "急",
		"十万火急", "等不及"}
	otherUrgentZH = []string{"还在等", "一直在等",
		"投诉", "骗子", "诈骗", "骗人", "骗钱", "退款", "报警", "律师", "起诉", "消协", "消费者协会",
		"12315", "曝光", "盗刷", "被盗", "注销账号", "注销账户", "销户"}
	// urgentZH lists all Chinese keywords, longest first.
	urgentZH = byLength(slices.Concat(pressingZH, otherUrgentZH))
)

// Words before a pressing keyword that deny it: "not urgent", "no
// emergency", "non-urgent", "not an emergency"; 不急, 不用着急, 没那么紧急.
var (
	deniedEN = map[string]bool{"not": true, "no": true, "non": true, "isn't": true, "never": true, "nothing": true}
	fillers  = map[string]bool{"a": true, "an": true, "that": true, "very": true, "so": true, "super": true, "really": true}
	deniedZH = []string{"不", "不用", "别", "没", "没那么", "没有", "不必", "无需", "并不", "不是很", "不太", "不那么"}
)

func byLength(words []string) []string {
	slices.SortStableFunc(words, func(a, b string) int {
		return utf8.RuneCountInString(b) - utf8.RuneCountInString(a)
	})
	return words
}

// urgency reports whether text has urgency keywords of either language,
// and whether any of them is a pressing one.
func urgency(text string) (urgent, pressing bool) {
	u1, p1 := urgencyEN(text)
	u2, p2 := urgencyZH(text)
	return u1 || u2, p1 || p2
}

// urgencyEN looks for English urgency keywords.
func urgencyEN(text string) (urgent, pressing bool) {
	toks := wordsEN(strings.ToLower(strings.NewReplacer("’", "'", ".", " ").Replace(text)))
	for i := range toks {
		for _, c := range pressingEN {
			if matchAt(toks, i, c.words) && !(i > 0 && deniedEN[toks[i-1]] || i > 1 && deniedEN[toks[i-2]] && fillers[toks[i-1]]) {
				return true, true
			}
		}
		if !urgent {
			for _, c := range otherUrgentEN {
				if matchAt(toks, i, c.words) {
					urgent = true
					break
				}
			}
		}
	}
	return urgent, false
}

// urgencyZH looks for Chinese urgency keywords.
func urgencyZH(text string) (urgent, pressing bool) {
	taken := make([]bool, len(text)) // bytes already inside a longer match
	for _, w := range urgentZH {
		isPressing := slices.Contains(pressingZH, w)
		for off := 0; ; {
			i := strings.Index(text[off:], w)
			if i < 0 {
				break
			}
			start, end := off+i, off+i+len(w)
			off = end
			if slices.Contains(taken[start:end], true) {
				continue
			}
			for k := start; k < end; k++ {
				taken[k] = true
			}
			if !isPressing {
				urgent = true
				continue
			}
			if !slices.ContainsFunc(deniedZH, func(d string) bool { return strings.HasSuffix(text[:start], d) }) {
				return true, true
			}
		}
	}
	return urgent, false
}
