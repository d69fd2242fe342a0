package sentiment

import (
	"fmt"
	"sync"
	"testing"

	"github.com/xbridge/xbridge/bridge"
)

// TestCases pins specific behaviours: what VADER misreads on a support
// desk, Chinese negation, shouting and "!!!".
func TestCases(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		text, lang string
		want       string // label class: negative, neutral, positive
	}{
		// courtesy and VADER's negation of negatives
		{"no problem", "en", "neutral"},
		{"No problem at all, thanks!", "en", "positive"},
		{"not bad", "en", "neutral"}, // calm, and above all not negative
		{"Not bad at all, works fine now", "en", "positive"},
		{"thanks", "en", "positive"},
		{"I'm not angry, just confused", "en", "neutral"},
		{"no worries", "en", "neutral"},
		{"Can you help me with my order?", "en", "neutral"},
		{"Could you resend the invoice? Thanks", "en", "neutral"},
		{"Please send it asap, thanks!", "en", "neutral"},
		{"My second time ordering and I love it", "en", "positive"},
		// complaints without sentiment words
		{"still not fixed", "en", "negative"},
		{"It doesn't work", "en", "negative"},
		{"Nobody has replied to my email", "en", "negative"},
		{"Writing for the third time about my order", "en", "negative"},
		{"Thanks, but it's still not fixed", "en", "negative"},
		{"Thanks for nothing.", "en", "negative"},
		// shouting and "!!!"
		{"where is my order", "en", "neutral"},
		{"WHERE IS MY ORDER", "en", "negative"},
		{"where is my order!!!", "en", "negative"},
		{"THANK YOU SO MUCH!!!", "en", "positive"},
		{"I love the new update!!!", "en", "positive"},
		// Chinese negation, intensifiers, segmentation
		{"满意", "zh", "positive"},
		{"不满意", "zh", "negative"},
		{"不太满意", "zh", "negative"},
		{"好用", "zh", "positive"},
		{"不好用", "zh", "negative"},
		{"我不生气", "zh", "neutral"},
		{"不错", "zh", "positive"},
		{"没问题", "zh", "positive"},
		{"不好意思，请问怎么改地址？", "zh", "neutral"},
		{"快递到了吗？", "zh", "neutral"},
		{"很失望", "zh", "negative"},
		{"还没审核", "zh", "negative"},
		{"挺好的", "zh", "positive"},
		{"谢谢你的帮助", "zh", "positive"},
		{"请尽快处理，谢谢", "zh", "neutral"},
		{"谢谢！已经收到退款了", "zh", "positive"},
		{"好的", "zh", "neutral"},
		{"为什么还不发货？？", "zh", "negative"},
		// languages that are not scored, and detection
		{"最悪です", "ja", "neutral"},
		{"This is the worst", "ja", "negative"}, // Latin script: VADER
		{"太差了", "", "negative"},                 // detected as zh
		{"this is terrible", "", "negative"},
		{"", "en", "neutral"},
		{"", "zh", "neutral"},
		{"😡😡😡", "zh", "neutral"}, // no Han: not Chinese, not Latin
	} {
		got := a.Analyze(tc.text, tc.lang)
		if class(got.Label) != tc.want {
			t.Errorf("Analyze(%q, %q) = %+v, want %s", tc.text, tc.lang, got, tc.want)
		}
	}
}

// TestIntensity checks that intensifiers, shouting and exclamation marks
// make a message more negative, and negation less.
func TestIntensity(t *testing.T) {
	a := New()
	for _, tc := range []struct{ lang, weaker, stronger string }{
		{"zh", "失望", "非常失望"},
		{"zh", "有点失望", "失望"},
		{"zh", "太差了", "太差了！！！"},
		{"zh", "不好", "很不好"},
		{"en", "this is bad", "this is bad!!!"},
		{"en", "this is bad", "THIS IS BAD"},
		{"en", "my order is late", "my order is late again"},
		{"en", "not happy", "very unhappy"},
	} {
		w, s := a.Analyze(tc.weaker, tc.lang), a.Analyze(tc.stronger, tc.lang)
		if !(s.Negative > w.Negative) {
			t.Errorf("%q scores %.2f, not more negative than %q (%.2f)", tc.stronger, s.Negative, tc.weaker, w.Negative)
		}
	}
}

// TestLabels checks the thresholds.
func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		compound float64
		want     string
	}{
		{-0.9, LabelVeryNegative}, {-0.6, LabelVeryNegative}, {-0.59, LabelNegative},
		{-0.25, LabelNegative}, {-0.24, LabelNeutral}, {0, LabelNeutral},
		{0.29, LabelNeutral}, {0.3, LabelPositive}, {1, LabelPositive},
	} {
		if got := label(tc.compound); got != tc.want {
			t.Errorf("label(%v) = %q, want %q", tc.compound, got, tc.want)
		}
	}
	for _, s := range []float64{-5, -1.2, 0, 0.3, 2.7, 9} {
		if got := denormalize(normalize(s)); fmt.Sprintf("%.6f", got) != fmt.Sprintf("%.6f", s) {
			t.Errorf("denormalize(normalize(%v)) = %v", s, got)
		}
	}
}

func TestUrgent(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Please fix this ASAP", true},
		{"need it a.s.a.p.", true},
		{"URGENT: site down", true},
		{"This is urgent!", true},
		{"Not urgent, whenever you can", false},
		{"non-urgent question about invoices", false},
		{"it's not an emergency", false},
		{"Still waiting for my refund", true},
		{"I'm calling my lawyer", true},
		{"filing a chargeback", true},
		{"this is a SCAM", true},
		{"fraud alert on my card", true},
		{"I want to cancel my account", true},
		{"Sue from your team was great", false},
		{"I ordered the scampi", false},
		{"the fraudster got my details", false},
		{"how do I cancel my order?", false},
		{"紧急！", true},
		{"请马上处理", true},
		{"我要投诉", true},
		{"你们是骗子", true},
		{"申请退款", true},
		{"不急，慢慢来", false},
		{"不用着急", false},
		{"没那么紧急", false},
		{"我很着急", true},
		{"请问发票怎么开", false},
	} {
		if got := a.Analyze(tc.text, "").Urgent; got != tc.want {
			t.Errorf("Analyze(%q).Urgent = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestSegment checks the greedy longest match.
func TestSegment(t *testing.T) {
	zh := sharedChinese()
	for _, tc := range []struct{ text, want string }{
		{"不错", "不错"},
		{"不好意思", "不好意思"},
		{"没人回复", "没人回复"},
		{"等了3天", "等了#天"},
		{"打12315", "打|12315"},
		{"很不好用！", "很|不好用|！"},
		{"快递很快", "快递|很|快"},
	} {
		var got string
		for i, tok := range zh.segment(tc.text) {
			if i > 0 {
				got += "|"
			}
			got += tok.text
		}
		if got != tc.want {
			t.Errorf("segment(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
}

// TestBridge checks the bridge adapter.
func TestBridge(t *testing.T) {
	var s bridge.SentimentScorer = New()
	got := s.Score("This is a scam!!! Worst company ever", "en")
	if got.Label != LabelVeryNegative || !got.Urgent || got.Negative < 0.6 || got.Negative > 1 {
		t.Errorf("Score = %+v", got)
	}
	if p, why := bridge.SuggestPriority(got, 48_200, false); p != bridge.PriorityUrgent || why != "very negative, urgent, 48.2k followers" {
		t.Errorf("SuggestPriority = %v, %q", p, why)
	}
}

// TestConcurrent scores from many goroutines at once, for the race
// detector: the shared VADER analyzer and lexicons must only be read.
func TestConcurrent(t *testing.T) {
	set := loadLabelled(t)
	want := make([]Score, len(set))
	a := New()
	for i, ex := range set {
		want[i] = a.Analyze(ex.text, ex.lang)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			b := New()
			for i := range set {
				j := (i + g*7) % len(set)
				if got := b.Analyze(set[j].text, set[j].lang); got != want[j] {
					t.Errorf("concurrent Analyze(%q) = %+v, want %+v", set[j].text, got, want[j])
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkAnalyze(b *testing.B) {
	a := New()
	for _, bc := range []struct{ name, text, lang string }{
		{"en", "This is the third time I'm contacting you about this. Nobody replies. Worst service ever!!!", "en"},
		{"zh", "我的订单已经等了两个星期还没发货，客服一直没人回复，太差了！", "zh"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				a.Analyze(bc.text, bc.lang)
			}
		})
	}
}
