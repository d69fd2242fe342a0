package x

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xbridge/xbridge/bridge"
)

func TestWeightedLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want int
	}{
		{"ascii", "Thanks for reaching out! Your order #4521 shipped today.", 56},
		{"latin accents", "Merci, à bientôt !", 18},
		{"curly quotes and dashes weigh 1", "“Shipped” — it’s on its way", 27},
		{"ellipsis weighs 2", "One moment…", 12},
		{"chinese", "您好，您的订单已发货。", 22},
		{"japanese", "ご注文ありがとうございます", 26},
		{"korean", "감사합니다", 10},
		{"emoji", "Done 😀", 7},
		{"emoji with skin tone", "👍🏽", 2},
		{"zwj family", "👨‍👩‍👧‍👦", 2},
		{"flag", "🇯🇵", 2},
		{"two flags", "🇯🇵🇺🇸", 4},
		{"heart with variation selector", "❤️", 2},
		{"keycap", "1️⃣", 2},
		{"url counts 23", "See https://help.acme.com/orders/4521/track?utm_source=x for details", 4 + 23 + 12},
		{"short url counts 23", "http://a.co", 23},
		{"bare domain counts 23", "Visit acme.com/help.", 6 + 23 + 1},
		{"email is not a link", "mail help@acme", 14},
		{"mixed", "Hi 张伟 👋 see https://acme.com", 3 + 4 + 1 + 2 + 5 + 23},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := WeightedLength(tt.text); got != tt.want {
				t.Errorf("WeightedLength(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestRulesReplies(t *testing.T) {
	t.Parallel()
	sentence := "We're sorry your parcel is late; a courier will call you tomorrow. "
	tests := []struct {
		name    string
		text    string
		wantErr string // "" when the text goes out as one tweet
	}{
		{"short english", "Hi Dana, your refund went out this morning. It takes 3–5 business days.", ""},
		{"exactly 280", strings.Repeat("a", 280), ""},
		{"281 english", strings.Repeat("a", 281), "reply is 281 characters; X allows 280 in a public reply. Shorten it, or answer by DM."},
		{"long english", strings.Repeat(sentence, 5), "reply is 335 characters"},
		{"140 chinese fit", strings.Repeat("谢", 140), ""},
		{"141 chinese do not", strings.Repeat("谢", 141), "reply is 282 characters"},
		{"140 emoji fit", strings.Repeat("🙏", 140), ""},
		{"emoji over", strings.Repeat("🙏🏻", 141), "reply is 282 characters"},
		{"urls are short", "Track it here: " + strings.Repeat("https://acme.com/track/123456789012345 ", 10), ""},
		{"empty", "", "reply is empty"},
		{"blank", "  \n\t ", "reply is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts, err := Rules{}.Parts(bridge.KindMention, tt.text)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parts: %v", err)
				}
				if len(parts) != 1 || parts[0] != tt.text {
					t.Fatalf("Parts = %q, want the text unchanged", parts)
				}
				return
			}
			if bridge.ErrorCode(err) != bridge.EINVALID {
				t.Fatalf("Parts error = %v, want EINVALID", err)
			}
			if msg := bridge.ErrorMessage(err); !strings.HasPrefix(msg, tt.wantErr) {
				t.Errorf("message %q, want prefix %q", msg, tt.wantErr)
			}
		})
	}
}

func TestRulesDMs(t *testing.T) {
	t.Parallel()
	para := "Thanks for your patience while we looked into this. " +
		"Our warehouse confirmed the parcel left on Monday and the courier has it now. "
	zh := "感谢您的耐心等待。我们已经确认包裹于周一发出，目前由快递公司配送。"
	tests := []struct {
		name  string
		text  string
		parts int
		check func(t *testing.T, parts []string)
	}{
		{name: "short", text: "Your order shipped.", parts: 1},
		{name: "exactly the limit", text: strings.Repeat("x", MaxDMLength), parts: 1},
		{
			name:  "paragraphs",
			text:  strings.Repeat(strings.Repeat(para, 10)+"\n\n", 8),
			parts: 2,
			check: func(t *testing.T, parts []string) {
				for _, p := range parts {
					if !strings.HasSuffix(p, "now.") {
						t.Errorf("part does not end at a paragraph: …%q", p[len(p)-20:])
					}
				}
			},
		},
		{
			name:  "sentences",
			text:  strings.Repeat(para, 100),
			parts: 2,
			check: func(t *testing.T, parts []string) {
				if !strings.HasSuffix(parts[0], ".") {
					t.Errorf("first part does not end at a sentence: …%q", parts[0][len(parts[0])-20:])
				}
			},
		},
		{
			name:  "words",
			text:  strings.Repeat("word ", 2500),
			parts: 2,
			check: func(t *testing.T, parts []string) {
				if !strings.HasSuffix(parts[0], "word") || !strings.HasPrefix(parts[1], "word") {
					t.Errorf("cut inside a word")
				}
			},
		},
		{
			name:  "chinese sentences",
			text:  strings.Repeat(zh, 400),
			parts: 2,
			check: func(t *testing.T, parts []string) {
				if !strings.HasSuffix(parts[0], "。") {
					t.Errorf("first part does not end at a full stop: …%q", string([]rune(parts[0])[utf8.RuneCountInString(parts[0])-5:]))
				}
			},
		},
		{
			name:  "no boundary at all",
			text:  strings.Repeat("a", 25000),
			parts: 3,
		},
		{
			name:  "emoji sequences are not cut",
			text:  strings.Repeat("👍🏽", 6000),
			parts: 2,
			check: func(t *testing.T, parts []string) {
				if r, _ := utf8.DecodeRuneInString(parts[1]); r != '👍' {
					t.Errorf("second part starts with %U, want the thumbs up", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts, err := Rules{}.Parts(bridge.KindDM, tt.text)
			if err != nil {
				t.Fatalf("Parts: %v", err)
			}
			if len(parts) != tt.parts {
				t.Fatalf("%d parts, want %d", len(parts), tt.parts)
			}
			for i, p := range parts {
				if n := utf8.RuneCountInString(p); n > MaxDMLength || n == 0 {
					t.Errorf("part %d has %d characters", i, n)
				}
			}
			if got, want := strings.Join(strings.Fields(strings.Join(parts, "")), ""),
				strings.Join(strings.Fields(tt.text), ""); got != want {
				t.Errorf("the parts do not add up to the text (%d vs %d bytes without blanks)", len(got), len(want))
			}
			if tt.check != nil {
				tt.check(t, parts)
			}
		})
	}
}

func TestRulesRefuseEmptyDMAndUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := (Rules{}).Parts(bridge.KindDM, " "); bridge.ErrorCode(err) != bridge.EINVALID {
		t.Errorf("empty DM: %v, want EINVALID", err)
	}
	if _, err := (Rules{}).Parts("fax", "hello"); bridge.ErrorCode(err) != bridge.EINVALID {
		t.Errorf("unknown kind: %v, want EINVALID", err)
	}
}
