package sentiment

import (
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// chinese scores Chinese text with this package's lexicon, on VADER's
// scale so that both languages share the label thresholds:
//
//   - The text is segmented by greedy longest match over the lexicon, so
//     phrases beat their parts: 不错 (good) is not 不 + 错 (wrong), 不好意思
//     (excuse me) is not 不好, 快递 (courier) is not 快 (fast), and 没人回复
//     (nobody replied) is one complaint. A run of ASCII digits is one
//     token, "#".
//   - Sentiment words weigh like their VADER kin, from about ±0.5 (贵,
//     expensive) to ±3 (垃圾, garbage).
//   - An intensifier (很, 非常, 太, 特别 …) multiplies the next sentiment
//     word in its clause; 好 before a sentiment word is one too (好烦).
//   - A negation (不, 没, 没有, 别 …) within three tokens before a sentiment
//     word, in the same clause, flips it: a positive word by VADER's -0.74
//     (不好用 is bad), a negative one only by -0.3 (我不生气 is calm, not
//     happy; the idioms that do mean good, 不错 and 没问题, are entries of
//     their own). "Soft" negations (不太, 不是很) also scale by 0.8.
//   - A negation right after 还, 一直, 仍 … ("still") that reaches no
//     sentiment word is a complaint of its own, as the English cue "still
//     not": 还没审核, 一直不更新.
//   - A contrast (但是, 可是, 不过 …) halves what comes before it and adds
//     half to what follows, as VADER does for "but".
//   - Exclamation and question marks amplify as in VADER. Courtesy is
//     treated as in English: discarded when the negative part reaches
//     complaintAt or a pressing urgency word (马上) is present, halved in
//     a request (请, 帮我, 麻烦, 能不能); and a message that is not
//     positive is pushed toward negative by a run of "！！"/"？？".
type chinese struct {
	lex    map[string]zhEntry
	maxLen int // the longest entry, in runes
}

// Kinds of lexicon entries.
const (
	zhWord     = iota // a sentiment word or phrase; val is its valence (0: neutral, only there to segment)
	zhIntens          // an intensifier; val multiplies the next sentiment word
	zhNegation        // a negation; val multiplies the negated word (1, or 0.8 for "soft" ones)
	zhContrast        // but
	zhBreak           // punctuation that ends a clause
)

type zhEntry struct {
	kind int
	val  float64
}

// negationWindow is how many tokens a negation or intensifier reaches
// over.
const negationWindow = 3

var sharedChinese = sync.OnceValue(func() *chinese {
	c := &chinese{lex: map[string]zhEntry{}}
	add := func(kind int, m map[string]float64) {
		for w, v := range m {
			c.lex[w] = zhEntry{kind, v}
			c.maxLen = max(c.maxLen, utf8.RuneCountInString(w))
		}
	}
	add(zhWord, zhNeutral)
	add(zhWord, zhNegative)
	add(zhWord, zhPositive)
	add(zhWord, zhGenerated())
	add(zhIntens, zhIntensifiers)
	add(zhNegation, zhNegations)
	for _, w := range []string{"但是", "但", "可是", "不过", "然而", "只是"} {
		c.lex[w] = zhEntry{zhContrast, 0}
	}
	return c
})

// zhNegative are negative words and phrases: anger, disappointment,
// insults, broken products, unresolved problems, disputes.
var zhNegative = map[string]float64{
	// anger, disgust, exasperation
	"生气": -2.2, "愤怒": -2.8, "气死": -3, "气人": -2.5, "火大": -2.5, "恼火": -2.3, "烦": -1.8,
	"烦死": -2.8, "讨厌": -2.0, "恶心": -2.8, "郁闷": -1.8, "崩溃": -2.2, "受够": -2.8,
	"忍无可忍": -3, "无语": -2.0, "服了": -1.5, "醉了": -1.5, "呵呵": -1.5, "离谱": -2.2,
	"过分": -2.2, "太过分": -2.8, "莫名其妙": -2.0, "岂有此理": -3, "可笑": -1.8, "搞笑": -1.2,
	"倒霉": -2.0, "后悔": -2.0, "焦虑": -1.5, "担心": -1.0, "着急": -1.2, "急死": -2.5,
	"心累": -2.0, "头疼": -1.5, "可惜": -1.0, "不爽": -2.0, "不满": -2.0, "不满意": -2.3,
	"不开心": -2.0, "不高兴": -2.0, "不好": -1.5, "不行": -1.5, "不靠谱": -2.0,
	// disappointment, low quality
	"失望": -2.2, "太失望": -2.8, "差": -2.0, "最差": -3, "差劲": -2.5, "差评": -2.5,
	"糟糕": -2.2, "糟透": -3, "垃圾": -3, "破烂": -2.5, "烂": -2.0, "太烂": -2.8, "坑": -2.0,
	"坑人": -3, "坑爹": -3, "废物": -3, "难用": -2.0, "难看": -1.5, "一般": -0.5, "鸡肋": -1.5,
	"贵": -0.8, "慢": -1.2, "乱": -1.2, "麻烦死": -2.5, "敷衍": -2.2, "态度恶劣": -3,
	"不专业": -2.0, "没用": -2.0, "不好用": -2.0, "听不懂": -1.5,
	// deceit, disputes
	"骗": -2.5, "骗子": -3, "骗人": -3, "骗钱": -3, "欺骗": -3, "诈骗": -3, "欺诈": -3,
	"黑心": -3, "无耻": -3, "流氓": -3, "霸王条款": -2.5, "乱扣": -2.5, "乱收费": -2.5,
	"扣了": -0.5, "投诉": -2.0, "退款": -0.9, "要求退款": -2.0, "我要退款": -2.0, "退货": -0.6,
	"赔偿": -1.5, "维权": -2.0, "报警": -2.5, "曝光": -2.0, "消协": -2.0, "起诉": -2.5,
	"律师": -1.5, "盗刷": -2.5, "被盗": -2.0, "12315": -2.0,
	// broken products
	"坏": -1.5, "坏了": -1.8, "故障": -1.2, "闪退": -2.0, "卡顿": -1.5, "卡死": -2.0, "崩了": -2.2,
	"死机": -2.0, "报错": -1.5, "错误": -1.2, "出错": -1.5, "用不了": -2.0, "不能用": -2.0,
	"打不开": -1.8, "登不上": -1.8, "登录不了": -1.8, "无法": -1.2, "破损": -1.8, "破了": -1.5,
	"损坏": -1.8, "湿了": -1.0, "少发": -1.8, "漏发": -1.8, "发错": -1.5, "取消": -0.4,
	// unresolved, ignored, repeated, impatient
	"又": -0.6, "又是这样": -1.5, "到底": -1.0, "究竟": -1.0, "等了": -0.8, "等了很久": -2.0,
	"等了好久": -2.0, "等了半天": -2.0, "好久": -0.5, "很久": -0.5, "拖": -1.2, "拖延": -1.8,
	"一拖再拖": -2.5, "不理": -2.0, "不回": -1.5, "不回复": -2.0, "没人": -1.0, "没有人": -1.0,
	"没人回复": -2.5, "没人理": -2.5, "没人管": -2.5, "没人处理": -2.5, "多次": -1.2,
	"好几次": -1.5, "再也不": -2.5, "再也不买": -3, "不会再买": -2.5, "快点": -0.5,
	"到现在": -1.0, "至今": -1.0, "急": -1.0, "丢件": -1.8, "丢失": -1.5, "丢了": -1.2,
	// emoji VADER would read in English
	"😡": -2.5, "😠": -2.2, "🤬": -3, "😤": -2.0, "😭": -1.5, "😢": -1.2, "👎": -2.0, "💩": -2.0,
}

// zhPositive are positive words and phrases: thanks, satisfaction, praise.
var zhPositive = map[string]float64{
	"谢谢": 2.0, "感谢": 2.2, "多谢": 2.0, "谢啦": 2.0, "谢了": 1.8, "辛苦了": 1.5, "麻烦你了": 1.2,
	"满意": 2.2, "好评": 2.5, "五星": 2.5, "太好了": 2.5, "好": 1.5, "很好": 2.0, "好多了": 1.8,
	"最好的": 2.5, "不错": 2.0, "棒": 2.5, "赞": 2.2, "点赞": 2.2, "优秀": 2.5, "完美": 3,
	"喜欢": 2.2, "爱": 2.0, "可爱": 2.0, "开心": 2.2, "高兴": 2.2, "惊喜": 2.5, "放心": 1.2,
	"快": 1.0, "及时": 1.5, "耐心": 1.5, "专业": 1.5, "热情": 1.5, "贴心": 2.0, "靠谱": 1.5,
	"稳定": 1.2, "推荐": 1.8, "方便": 1.5, "好用": 2.0, "给力": 2.5, "厉害": 1.8, "牛": 1.8,
	"超值": 2.0, "划算": 1.5, "值得": 1.5, "物美价廉": 2.5, "高效": 1.8, "效率高": 1.8,
	"效率很高": 2.2, "解决了": 1.8, "已解决": 1.5, "没问题": 1.5, "没事": 0.5, "没关系": 0.5,
	"回购": 2.0, "还会再买": 2.0, "会再买": 1.8, "还会再来": 1.8, "下次还来": 1.8,
	"还可以": 1.0, "还行": 0.8, "还好": 0.5, "哈哈": 1.0, "顺利": 1.5, "成功": 1.5,
	"👍": 1.5, "🙏": 0.8, "😊": 1.5, "😄": 2.0, "😁": 2.0, "❤": 2.0, "❤️": 2.0, "🎉": 2.0,
}

// zhNeutral are words without mood that would otherwise be misread as
// their parts.
var zhNeutral = map[string]float64{
	"你好": 0, "您好": 0, "好的": 0, "好吧": 0, "好吗": 0, "好不好": 0, "好像": 0, "只好": 0,
	"最好": 0, "好几": 0, "好友": 0, "快递": 0, "尽快": 0, "加快": 0, "快要": 0, "差不多": 0,
	"出差": 0, "差价": 0, "差点": 0, "差额": 0, "不好意思": 0, "不客气": 0, "不知道": 0,
	"不用": 0, "不同": 0, "不一样": 0, "问题": 0, "麻烦": 0, "请问": 0, "想问": 0, "错过": 0,
	"没错": 0, "银行卡": 0, "信用卡": 0, "爱好": 0, "好处": 0, "美好": 1.0, "还是": 0,
	"一下": 0, "能不能": 0, "可不可以": 0, "是不是": 0, "要不要": 0, "有没有": 0, "不然": 0,
	"不少": 0, "不仅": 0, "不但": 0, "不断": 0, "坚持不懈": 0, "更新": 0, "更改": 0, "更换": 0,
}

// zhIntensifiers multiply the next sentiment word in their clause; below
// 1 they soften it.
var zhIntensifiers = map[string]float64{
	"很": 1.3, "非常": 1.5, "太": 1.5, "特别": 1.5, "超": 1.5, "超级": 1.5, "极": 1.6,
	"极其": 1.6, "十分": 1.4, "真": 1.3, "真的": 1.3, "实在": 1.4, "最": 1.6, "挺": 1.15,
	"蛮": 1.15, "比较": 1.1, "更": 1.2, "越来越": 1.3, "根本": 1.4, "完全": 1.4, "一直": 1.2,
	"还": 1.2, "都": 1.1, "这么": 1.3, "那么": 1.3, "简直": 1.5, "彻底": 1.4,
	"有点": 0.7, "有些": 0.7, "稍微": 0.6, "略": 0.7, "一点": 0.8,
}

// zhNegations flip the next sentiment word; the value scales it too.
var zhNegations = map[string]float64{
	"不": 1, "没": 1, "没有": 1, "别": 1, "未": 1, "无": 1, "不是": 1, "并不": 1, "并没有": 1,
	"从不": 1, "从来没": 1, "从来不": 1, "绝不": 1, "不要": 1, "不会": 1, "不能": 1,
	"不太": 0.8, "不是很": 0.8, "不怎么": 0.8, "不是特别": 0.8, "不是太": 0.8, "不那么": 0.8,
	"没那么": 0.8, "没有那么": 0.8,
}

// zhGenerated are the entries built from parts: still-unresolved
// (没发货, 没有收到), repetition (第三次, 两次, #次) and waiting (等了三天,
// 已经一个星期).
func zhGenerated() map[string]float64 {
	m := map[string]float64{}
	for _, v := range []string{"发货", "到", "收到", "动静", "消息", "回复", "回音", "解决", "处理",
		"反应", "退", "到账", "下文", "结果", "修好"} {
		m["没"+v] = -1.5
		m["没有"+v] = -1.5
		m["未"+v] = -1.2
	}
	nums := []string{"一", "两", "二", "三", "四", "五", "六", "七", "八", "九", "十", "几", "好几", "半", "#"}
	for _, n := range nums {
		m["第"+n+"次"] = -1.5
		if n != "一" && n != "半" {
			m[n+"次"] = -0.8
		}
		for _, u := range []string{"天", "周", "个星期", "个礼拜", "个月", "个小时", "小时", "年"} {
			m["已经"+n+u] = -1.0
			m["等了"+n+u] = -1.5
		}
	}
	delete(m, "第一次") // "the first time" is not a repetition
	return m
}

// zhToken is one segment of the text.
type zhToken struct {
	text string
	zhEntry
}

// segment splits text by greedy longest match over the lexicon. A run of
// ASCII digits that is no entry of its own (12315 is) becomes the rune '#';
// punctuation, spaces and symbols that are no entry (emoji are) end
// clauses; anything else not in the lexicon is a token of one rune.
func (c *chinese) segment(text string) []zhToken {
	var rs []rune
	src := []rune(strings.ToLower(text))
	for i := 0; i < len(src); i++ {
		if !isDigit(src[i]) {
			rs = append(rs, src[i])
			continue
		}
		j := i
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		if _, ok := c.lex[string(src[i:j])]; ok {
			rs = append(rs, src[i:j]...)
		} else {
			rs = append(rs, '#')
		}
		i = j - 1
	}
	var toks []zhToken
	for i := 0; i < len(rs); {
		if e, n, ok := c.longest(rs[i:]); ok {
			toks = append(toks, zhToken{string(rs[i : i+n]), e})
			i += n
			continue
		}
		r := rs[i]
		if unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r) {
			toks = append(toks, zhToken{string(r), zhEntry{kind: zhBreak}})
		} else {
			toks = append(toks, zhToken{text: string(r)})
		}
		i++
	}
	return toks
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// longest finds the longest entry that starts rs.
func (c *chinese) longest(rs []rune) (zhEntry, int, bool) {
	for n := min(c.maxLen, len(rs)); n > 0; n-- {
		if e, ok := c.lex[string(rs[:n])]; ok {
			return e, n, true
		}
	}
	return zhEntry{}, 0, false
}

// compound scores text in [-1, 1]; pressing tells that it has a pressing
// urgency keyword.
func (c *chinese) compound(text string, pressing bool) float64 {
	toks := c.segment(text)
	var vals []float64
	contrast := -1 // index in vals of the first contrast
	mult, negScale := 1.0, 0.0
	age := 0       // tokens since the pending negation or intensifier
	still := false // the pending negation follows 还, 一直, 仍 …: "still not"
	// reset drops what is pending; a "still not" that found no sentiment
	// word is a complaint of its own (还没审核, 一直不更新).
	reset := func() {
		if still && negScale != 0 {
			vals = append(vals, stillNot)
		}
		mult, negScale, still = 1, 0, false
	}
	for i, t := range toks {
		switch {
		case t.kind == zhBreak:
			reset()
		case t.kind == zhContrast:
			reset()
			if contrast < 0 {
				contrast = len(vals)
			}
		case t.kind == zhNegation:
			if negScale != 0 {
				negScale, still = 0, false // a double negation cancels
			} else {
				negScale = t.val
				still = i > 0 && stillWords[toks[i-1].text]
			}
			age = 0
		case t.kind == zhIntens:
			mult *= t.val
			age = 0
		case (t.text == "好" || t.text == "好的") && (mult != 1 || i+1 < len(toks) && toks[i+1].kind == zhWord && toks[i+1].val != 0):
			if t.text == "好的" {
				vals = append(vals, c.lex["好"].val*mult) // 挺好的: good, not "OK"
				mult, negScale, still = 1, 0, false
			} else {
				mult *= 1.3 // 好烦, 好失望: "so"
			}
		case t.kind == zhWord && t.val != 0:
			v := t.val * mult
			if negScale != 0 {
				if v > 0 {
					v *= negatePositive * negScale
				} else {
					v *= negateNegative * negScale
				}
			}
			vals = append(vals, v)
			mult, negScale, still = 1, 0, false
		default:
			if age++; age >= negationWindow {
				reset()
			}
		}
	}
	reset()
	var pos, neg float64
	for i, v := range vals {
		if contrast >= 0 {
			if i < contrast {
				v *= 0.5
			} else {
				v *= 1.5
			}
		}
		if v > 0 {
			pos += v
		} else {
			neg += v
		}
	}
	switch {
	case neg <= complaintAt || pressing:
		pos = 0
	case slices.ContainsFunc(zhRequests, func(w string) bool { return strings.Contains(text, w) }):
		pos *= requestWeight
	}
	sum := pos + neg
	sum += math.Copysign(punctuationEmphasis(text), sum) * b2f(sum != 0)
	if sum <= 0 {
		sum += emphasis(text)
	}
	return normalize(sum)
}

// zhRequests mark a message that asks for something.
var zhRequests = []string{"请", "帮我", "帮忙", "麻烦", "能不能", "能否", "可不可以"}

// stillNot is the valence of a "still not" (还没, 一直不, 仍未) that
// reaches no sentiment word, as the English cue "still not".
const stillNot = -1.5

// stillWords before a negation make it a "still not".
var stillWords = map[string]bool{"还": true, "一直": true, "仍": true, "仍然": true, "依然": true,
	"还是": true, "至今": true, "到现在": true, "到现在还": true}

// complaintAt is how negative the negative part of a Chinese message must
// be for it to count as reporting a problem, which discards its courtesy.
const complaintAt = -1.5

// punctuationEmphasis is VADER's amplifier: 0.292 per exclamation mark (up
// to 4), and 0.18 per question mark when there are 2 or 3 (0.96 above).
func punctuationEmphasis(text string) float64 {
	ep := min(strings.Count(text, "!")+strings.Count(text, "！"), 4)
	qm := strings.Count(text, "?") + strings.Count(text, "？")
	e := float64(ep) * 0.292
	switch {
	case qm > 3:
		e += 0.96
	case qm > 1:
		e += float64(qm) * 0.18
	}
	return e
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
