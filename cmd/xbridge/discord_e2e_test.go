package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// discordThread waits for the conversation's thread under a support
// channel and returns its id.
func (e *env) discordThread(parent string) string {
	e.t.Helper()
	var thread string
	e.eventually("the Discord thread", func() bool {
		if ts := e.s.Discord.Threads(parent); len(ts) > 0 {
			thread = ts[len(ts)-1].ID
		}
		return thread != ""
	})
	return thread
}

func discordSays(msgs []discordsim.Message, text string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Content, text) || strings.Contains(string(m.Embeds), text) {
			return true
		}
	}
	return false
}

func TestDiscordSupportEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, channel string }{{"forum", discordForum}, {"text channel", discordText}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
				c.SupportPlatform = "discord"
				c.Discord.Channel = tc.channel
			})
			d := e.s.Discord
			e.eventually("Discord connected", func() bool { return e.m.Discord.Connected() && len(d.Commands()) > 0 })

			// A DM becomes a post (forum) or a thread (text channel) with the card and the message.
			e.s.X.CustomerDM("2001", "My parcel never arrived")
			thread := e.discordThread(tc.channel)
			e.eventually("customer message", func() bool { return discordSays(d.Messages(thread), "My parcel never arrived") })

			// The agent answers in the thread: the DM reaches the customer, marked ✅.
			reply := d.PostAsUser(discordAgent, thread, "Sorry! It is on its way, tracking ACME-1.")
			e.eventually("DM to the customer", func() bool { return len(e.s.X.DMsTo("2001")) == 1 })
			e.eventually("✅", func() bool {
				m, _ := d.Message(thread, reply)
				return strings.Join(m.Reactions, "") == "✅"
			})

			// Commands: !tag in the thread, Claim on the card, /xb in the thread.
			d.PostAsUser(discordAgent, thread, "!tag shipping")
			e.eventually("tagged", func() bool { return strings.Join(e.conversation(1).Tags, ",") == "shipping" })
			card := thread // a forum post's starter, or the message the thread started from, has the thread's id
			res := d.ClickButton(discordAgent, cardChannel(tc.channel, thread), card, commands.ButtonAction("claim")+"|#1")
			if res.Failed {
				t.Fatalf("Claim: the interaction failed: %+v", res)
			}
			e.eventually("claimed", func() bool { return e.conversation(1).AssigneeID == discordAgent })
			res = d.SlashCommand(discordAgent, thread, "xb", []discordsim.CommandOption{{Name: "status"}})
			if !res.Ephemeral || !strings.Contains(res.Content, "#1") {
				t.Fatalf("/xb status = %+v", res)
			}
			// A gateway drop mid-conversation loses nothing.
			d.DropGatewayConnections()
			d.PostAsUser(discordAgent, thread, "One more thing: your refund is approved.")
			e.eventually("DM after the drop", func() bool { return len(e.s.X.DMsTo("2001")) == 2 })

			// A mention becomes a second thread; the agent's answer is a reply tweet.
			tw := e.s.X.CustomerMention("2002", "@acme_help app crashes on start", "")
			var thread2 string
			e.eventually("mention thread", func() bool {
				for _, th := range d.Threads(tc.channel) {
					if th.ID != thread && discordSays(d.Messages(th.ID), "app crashes on start") {
						thread2 = th.ID
					}
				}
				return thread2 != ""
			})
			d.PostAsUser(discordAgent, thread2, "Fixed in 4.2.1, out today.")
			e.eventually("reply tweet", func() bool { return len(e.s.X.RepliesTo(tw.ID)) == 1 })
			if got := e.s.X.RepliesTo(tw.ID)[0].Text; !strings.Contains(got, "Fixed in 4.2.1, out today.") {
				t.Errorf("reply tweet = %q", got)
			}
			e.noViolations()
		})
	}
}

// cardChannel is where a card message lives: the post itself in a forum,
// the parent channel for a thread started from a message.
func cardChannel(parent, thread string) string {
	if parent == discordForum {
		return thread
	}
	return parent
}

func TestEscalationAcrossPlatforms(t *testing.T) {
	t.Parallel()
	t.Run("support in Slack, engineering in Discord", func(t *testing.T) {
		t.Parallel()
		e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
			c.Escalation = EscalationConfig{Platform: "discord", Channel: discordEng, OnCall: "<@&1500000000000000009>"}
		})
		e.eventually("both connected", func() bool { return e.m.Slack.Connected() && e.m.Discord.Connected() })
		e.s.X.CustomerDM("2001", "The app crashes on start")
		var thread string
		e.eventually("Slack thread", func() bool {
			thread = e.threadOf("alice_w")
			return thread != "" && len(e.s.Slack.Thread(demoChannel, thread)) == 1
		})
		e.s.Slack.PostAsUser(demoAgent, demoChannel, thread, "!escalate crash on start in 4.2.0")
		eng := e.discordThread(discordEng)
		e.eventually("escalation card on Discord", func() bool {
			return discordSays(e.s.Discord.Messages(discordEng), "crash on start in 4.2.0")
		})
		e.s.Discord.PostAsUser(discordEngUser, eng, "Known issue, fixed in 4.2.1.")
		e.eventually("the engineer's answer in the Slack thread", func() bool {
			return threadSays(e.s.Slack.Thread(demoChannel, thread), "Known issue, fixed in 4.2.1.")
		})
		e.s.Discord.PostAsUser(discordEngUser, eng, "!resolve shipped 4.2.1")
		e.eventually("resolved in Slack", func() bool {
			return threadSays(e.s.Slack.Thread(demoChannel, thread), "resolved the escalation")
		})
		if len(e.s.X.DMsTo("2001")) != 0 {
			t.Fatal("an engineer's answer reached the customer")
		}
		e.noViolations()
	})
	t.Run("support in Discord, engineering in Slack", func(t *testing.T) {
		t.Parallel()
		e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
			c.SupportPlatform = "discord"
			c.Escalation = EscalationConfig{Platform: "slack", Channel: engChannel, OnCall: "<!subteam^S0ENG>"}
		})
		e.s.Slack.AddChannel(engChannel, "engineering")
		e.s.Slack.AddUser(slackEngineer())
		e.eventually("both connected", func() bool { return e.m.Slack.Connected() && e.m.Discord.Connected() })
		e.s.X.CustomerDM("2001", "Refund never arrived")
		thread := e.discordThread(discordForum)
		e.eventually("customer message", func() bool { return discordSays(e.s.Discord.Messages(thread), "Refund never arrived") })
		e.s.Discord.PostAsUser(discordAgent, thread, "!escalate payment provider shows it pending")
		var eng string
		e.eventually("escalation card in Slack", func() bool {
			if roots := e.s.Slack.Roots(engChannel); len(roots) == 1 {
				eng = roots[0].TS
			}
			return eng != ""
		})
		e.s.Slack.PostAsUser(engineer, engChannel, eng, "Provider outage; retried the payout.")
		e.eventually("the engineer's answer in the Discord thread", func() bool {
			return discordSays(e.s.Discord.Messages(thread), "Provider outage; retried the payout.")
		})
		if c := e.conversation(1); c.EscalationID == 0 || c.ChatPlatform != "discord" {
			t.Fatalf("conversation = %+v", c)
		}
		e.s.Slack.PostAsUser(engineer, engChannel, eng, "!resolve payout retried")
		e.eventually("resolved", func() bool { return e.conversation(1).EscalationID == 0 })
		_ = bridge.RoleAgent
		e.noViolations()
	})
}
