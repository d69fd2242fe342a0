package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/xbridge/xbridge/bridge"
	"gopkg.in/yaml.v3"
)

// FirstTierConfig configures what the bridge answers by itself.
type FirstTierConfig struct {
	Enabled       bool   `yaml:"enabled" env:"XBRIDGE_FIRST_TIER" help:"acknowledge new conversations, answer FAQs, suggest priorities, survey satisfaction"`
	AutoPriority  bool   `yaml:"auto_priority" env:"XBRIDGE_AUTO_PRIORITY" help:"set the suggested priority when it is more urgent (otherwise the card only shows it)"`
	Sentiment     bool   `yaml:"sentiment" env:"XBRIDGE_SENTIMENT" help:"rate customers' messages for negative sentiment to suggest a priority"`
	ReadPolicy    string `yaml:"read_policy" env:"XBRIDGE_READ_POLICY" help:"when the customer's DMs are marked read on X: on_reply, on_claim or never"`
	QueuePerAgent int    `yaml:"queue_per_agent" env:"XBRIDGE_QUEUE_PER_AGENT" help:"waiting customers one available agent answers within a first-response target; a longer queue stretches the acknowledgement's promise"`
	// YAML only: templates per language, FAQ rules, the survey.
	Ack        map[string]AckConfig `yaml:"ack"`
	FAQ        []FAQConfig          `yaml:"faq"`
	HumanHint  map[string]string    `yaml:"human_hint"`
	HumanWords []string             `yaml:"human_words"`
	CSAT       CSATConfig           `yaml:"csat"`
}

// AckConfig is one language's acknowledgement.
type AckConfig struct {
	Open   string `yaml:"open"`   // inside business hours; may use {wait}
	Closed string `yaml:"closed"` // outside them; may use {opens_at}
}

// FAQConfig is one FAQ rule.
type FAQConfig struct {
	Name     string   `yaml:"name"`
	Language string   `yaml:"language"`
	Keywords []string `yaml:"keywords"`
	Pattern  string   `yaml:"pattern"`
	Answer   string   `yaml:"answer"`
}

// CSATConfig is the satisfaction survey; no question means no survey.
type CSATConfig struct {
	Question map[string]string `yaml:"question"`
	Thanks   map[string]string `yaml:"thanks"`
	Window   time.Duration     `yaml:"window"`
}

// defaultFirstTier is what a team gets without configuring anything: an
// acknowledgement in English and Chinese, the way to a human, sentiment
// suggestions; no FAQ, no survey.
func defaultFirstTier() FirstTierConfig {
	return FirstTierConfig{
		Enabled: true, Sentiment: true, ReadPolicy: bridge.ReadOnReply, QueuePerAgent: 5,
		Ack: map[string]AckConfig{
			"en": {Open: "Thanks for reaching out! A member of our team will answer within {wait}.",
				Closed: "Thanks for reaching out! We're away right now and back {opens_at}; we'll answer then."},
			"zh": {Open: "感谢您的留言！我们的客服会在 {wait} 内回复您。",
				Closed: "感谢您的留言！我们现在不在线，将于 {opens_at} 回复您。"},
		},
		HumanHint:  map[string]string{"en": "Not what you needed? Reply HUMAN to talk to a person.", "zh": "没有解决您的问题？回复“人工”联系客服。"},
		HumanWords: []string{"human", "agent", "person", "someone", "representative", "人工", "客服", "真人"},
		CSAT: CSATConfig{
			Thanks: map[string]string{"en": "Thank you for your feedback!", "zh": "感谢您的评价！"},
			Window: 7 * 24 * time.Hour,
		},
	}
}

// build turns the configuration into the domain's, naming every problem.
func (c FirstTierConfig) build() (*bridge.FirstTier, []string) {
	if !c.Enabled {
		return nil, nil
	}
	var problems []string
	t := &bridge.FirstTier{Ack: map[string]bridge.AckTemplates{}, HumanHint: c.HumanHint, HumanWords: c.HumanWords,
		AutoPriority: c.AutoPriority, ReadPolicy: c.ReadPolicy, QueuePerAgent: c.QueuePerAgent,
		CSAT: bridge.CSAT{Question: c.CSAT.Question, Thanks: c.CSAT.Thanks, Window: c.CSAT.Window}}
	switch c.ReadPolicy {
	case "", bridge.ReadOnReply, bridge.ReadOnClaim, bridge.ReadNever:
	default:
		problems = append(problems, "first_tier.read_policy (XBRIDGE_READ_POLICY): must be on_reply, on_claim or never")
	}
	if c.QueuePerAgent < 0 {
		problems = append(problems, "first_tier.queue_per_agent (XBRIDGE_QUEUE_PER_AGENT): must be a positive number of customers, e.g. 5")
	}
	for lang, a := range c.Ack {
		if a.Open == "" || a.Closed == "" {
			problems = append(problems, fmt.Sprintf("first_tier.ack.%s (YAML only): give both open and closed templates", lang))
		}
		t.Ack[lang] = bridge.AckTemplates{Open: a.Open, Closed: a.Closed}
	}
	for i, f := range c.FAQ {
		key := fmt.Sprintf("first_tier.faq[%d]", i)
		rule := bridge.FAQRule{Name: f.Name, Language: f.Language, Keywords: f.Keywords, Answer: f.Answer}
		if f.Name == "" || f.Answer == "" {
			problems = append(problems, key+" (YAML only): a rule needs a name and an answer")
		}
		if f.Pattern != "" {
			re, err := regexp.Compile(f.Pattern)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s.pattern (YAML only): %v", key, err))
			}
			rule.Pattern = re
		}
		if len(f.Keywords) == 0 && f.Pattern == "" {
			problems = append(problems, key+" (YAML only): give keywords or a pattern to match")
		}
		t.FAQ = append(t.FAQ, rule)
	}
	return t, problems
}

// SavedReplyText is a saved reply's text: one string for every language,
// or a map from language code to text ("en", "zh"); the string form is
// kept under "".
type SavedReplyText map[string]string

// UnmarshalYAML accepts both forms.
func (t *SavedReplyText) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = SavedReplyText{"": n.Value}
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return fmt.Errorf("a saved reply is a text or a map of language to text: %w", err)
	}
	*t = m
	return nil
}

// empty reports whether no language has any text.
func (t SavedReplyText) empty() bool {
	for _, v := range t {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
