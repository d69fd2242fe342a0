package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

func TestFirstTierEndToEnd(t *testing.T) {
	t.Parallel()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
		c.FirstTier = defaultFirstTier()
		c.FirstTier.FAQ = []FAQConfig{{Name: "returns", Keywords: []string{"return policy"}, Answer: "Returns are free within 30 days."}}
		c.FirstTier.CSAT.Question = map[string]string{"en": "How did we do? Reply 1-5."}
	})
	s := e.s
	dmTo := func(user, text string) func() bool {
		return func() bool {
			for _, d := range s.X.DMsTo(user) {
				if strings.Contains(d.Text, text) {
					return true
				}
			}
			return false
		}
	}

	// An FAQ is answered at once, with the way to a person; HUMAN hands it over.
	s.X.CustomerDM("2002", "What is your return policy?")
	e.eventually("FAQ answer", dmTo("2002", "Returns are free within 30 days."))
	e.eventually("the way to a person", dmTo("2002", "Reply HUMAN"))
	s.X.CustomerDM("2002", "HUMAN")
	e.eventually("hand-over", func() bool { return e.conversation(1).Automation == bridge.AutomationHandedOver })

	// A new conversation is acknowledged; the agent's answer marks the DMs read.
	// Alice (48.2k followers) is angry: the card suggests a higher priority.
	s.X.CustomerDM("2001", "This is the THIRD time my parcel arrives damaged. Absolutely unacceptable!!!")
	e.eventually("acknowledgement", dmTo("2001", "will answer within 15 minutes"))
	var thread string
	e.eventually("thread", func() bool { thread = e.threadOf("alice_w"); return thread != "" })
	e.eventually("suggested priority on the card", func() bool {
		root, _ := s.Slack.Message(demoChannel, thread)
		return strings.Contains(string(root.Blocks), "Suggested: high (very negative, 48.2k followers)")
	})
	reply := s.Slack.PostAsUser(demoAgent, demoChannel, thread, "So sorry! A replacement ships today.")
	e.eventually("the answer", dmTo("2001", "replacement ships today"))
	e.eventually("marked read on X after the answer", func() bool {
		for _, m := range s.X.ReadMarks() {
			if m.Kind == "read" && m.RecipientID == "2001" {
				return true
			}
		}
		return false
	})
	// The customer reads it: 👀 on the agent's message.
	sent := s.X.DMsTo("2001")
	s.X.CustomerReads("2001", sent[len(sent)-1].ID)
	e.eventually("seen mark", func() bool {
		m, _ := s.Slack.Message(demoChannel, reply)
		return strings.Contains(strings.Join(m.Reactions, ","), "eyes")
	})
	// The customer types: a brief notice in the thread.
	s.X.CustomerTypes("2001")
	e.eventually("typing notice", func() bool { return threadSays(s.Slack.Thread(demoChannel, thread), "customer is typing") })

	// Close: the survey; "5" is a rating, stored and thanked, the conversation stays closed.
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, "!close replaced")
	e.eventually("survey", dmTo("2001", "How did we do?"))
	s.X.CustomerDM("2001", "5")
	e.eventually("rating stored", func() bool { return e.conversation(2).CSATScore == 5 })
	e.eventually("thanked", dmTo("2001", "Thank you for your feedback!"))
	time.Sleep(200 * time.Millisecond)
	if c := e.conversation(2); c.Status != bridge.StatusClosed {
		t.Fatalf("a rating reopened the conversation: %s", c.Status)
	}
	e.noViolations()
}
