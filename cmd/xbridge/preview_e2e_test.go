package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/commands"
)

// slackPreview waits for a preview with buttons among user's ephemerals
// other than those in seen, and returns it.
func (e *env) slackPreview(user string, seen map[string]bool) slacksim.Message {
	e.t.Helper()
	var preview slacksim.Message
	e.eventually("the preview", func() bool {
		var ok bool
		preview, ok = slackPreview(e.s.Slack.Ephemerals(user), seen)
		return ok
	})
	seen[preview.TS] = true
	return preview
}

// ephemeralReads is a condition: the ephemeral message ts shown to user
// starts with prefix.
func (e *env) ephemeralReads(user, ts, prefix string) func() bool {
	return func() bool {
		m, ok := ephemeral(e.s.Slack.Ephemerals(user), ts)
		return ok && strings.HasPrefix(m.Text, prefix)
	}
}

// stillNothingSent checks, for a while, that the customer got no more
// DMs than n.
func (e *env) stillNothingSent(customer string, n int) {
	e.t.Helper()
	time.Sleep(600 * time.Millisecond) // three send delays
	if got := e.s.X.DMsTo(customer); len(got) != n {
		e.t.Fatalf("the customer got %d DMs, want %d: %+v", len(got), n, got)
	}
}

func TestSavedReplyPreviewOnSlack(t *testing.T) {
	t.Parallel()
	for name, dsn := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, thread := startTriage(t, dsn(t))
			s := e.s.Slack
			seen := map[string]bool{}

			// /xb reply-with from anywhere: a preview only Bob sees, and
			// nothing for the customer until Send.
			resp := s.SlashCommand(demoAgent, demoChannel, "/xb", "reply-with tracking #1")
			if len(resp) != 1 || resp[0].ResponseType != "ephemeral" {
				t.Fatalf("/xb reply-with = %+v", resp)
			}
			preview := e.slackPreview(demoAgent, seen)
			want := "Hi Alice Walker, your tracking number for #1 is in your email."
			if got := previewedText(preview.Text); got != want {
				t.Fatalf("previewed %q, want %q", got, want)
			}
			e.stillNothingSent("2001", 0)
			if threadSays(s.Thread(demoChannel, thread), "is sending the customer") {
				t.Fatal("the thread was told of a mere preview")
			}

			// Send, clicked twice at once: one DM, exactly the previewed
			// text; the thread shows it with ✅; the preview reads "Sent".
			send, _ := previewButtons(string(preview.Blocks))
			s.DoubleClickButton(demoAgent, demoChannel, preview.TS, send, "")
			e.eventually("the saved reply sent", func() bool { return len(e.s.X.DMsTo("2001")) == 1 })
			if got := e.s.X.DMsTo("2001")[0].Text; got != want {
				t.Fatalf("the customer got %q, the agent saw %q", got, want)
			}
			e.eventually("the reply in the thread, marked sent", func() bool {
				for _, m := range s.Thread(demoChannel, thread) {
					if strings.Contains(m.Text, "is sending the customer: "+want) {
						return strings.Join(m.Reactions, ",") == "white_check_mark"
					}
				}
				return false
			})
			e.eventually("the preview replaced", e.ephemeralReads(demoAgent, preview.TS, "Sent saved reply `tracking` to #1"))
			e.stillNothingSent("2001", 1)
			if st := e.conversation(1); st.Status != "open" {
				t.Fatalf("status after the reply = %s", st.Status)
			}

			// !reply-with in the thread, then Cancel: nothing goes out.
			s.PostAsUser(demoAgent, demoChannel, thread, "!reply-with tracking")
			preview = e.slackPreview(demoAgent, seen)
			if preview.ThreadTS != thread {
				t.Fatalf("in-thread preview shown at %+v", preview)
			}
			_, cancel := previewButtons(string(preview.Blocks))
			s.ClickButton(demoAgent, demoChannel, preview.TS, cancel, "")
			e.eventually("the preview cancelled", e.ephemeralReads(demoAgent, preview.TS, "Cancelled saved reply `tracking` for #1"))
			e.stillNothingSent("2001", 1)

			// A preview of a conversation closed since: Send is refused.
			s.PostAsUser(demoAgent, demoChannel, thread, "!reply-with tracking")
			preview = e.slackPreview(demoAgent, seen)
			s.ClickButton(demoAgent, demoChannel, thread, commands.ButtonAction("close"), "#1")
			e.eventually("closed", func() bool { return e.conversation(1).Status == "closed" })
			e.eventually("closing message", func() bool { return len(e.s.X.DMsTo("2001")) == 2 })
			send, _ = previewButtons(string(preview.Blocks))
			s.ClickButton(demoAgent, demoChannel, preview.TS, send, "")
			e.eventually("the refusal", func() bool {
				for _, m := range s.Ephemerals(demoAgent) {
					if strings.Contains(m.Text, "was closed after this preview was made; nothing was sent") {
						return true
					}
				}
				return false
			})
			e.stillNothingSent("2001", 2)

			// The audit log has the one saved reply, sent by button.
			if got := strings.Join(e.audit(1), " "); got != "reply-with/button close/button" {
				t.Fatalf("audit = %s", got)
			}
			e.noViolations()
		})
	}
}

func TestSavedReplyPreviewOnDiscord(t *testing.T) {
	t.Parallel()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
		c.SupportPlatform = "discord"
		c.Discord.Channel = discordForum
		c.SavedReplies = map[string]SavedReplyText{"tracking": {"": "Hi {customer}, your tracking number for {ticket} is in your email."}}
	})
	d := e.s.Discord
	e.eventually("Discord connected", func() bool { return e.m.Discord.Connected() && len(d.Commands()) > 0 })
	e.s.X.CustomerDM("2001", "My parcel is lost")
	thread := e.discordThread(discordForum)
	e.eventually("customer message", func() bool { return discordSays(d.Messages(thread), "My parcel is lost") })
	want := "Hi Alice Walker, your tracking number for #1 is in your email."

	// /xb reply-with in the thread: an ephemeral preview with Send.
	res := d.SlashCommand(discordAgent, thread, "xb", []discordsim.CommandOption{
		{Name: "reply-with", Options: []discordsim.CommandOption{{Name: "saved-reply", Value: "tracking"}}},
	})
	send, _ := previewButtons(string(res.Components))
	if !res.Ephemeral || send == "" || previewedText(res.Content) != want {
		t.Fatalf("/xb reply-with = %+v", res)
	}
	e.stillNothingSent("2001", 0)
	// A double click sends once; both clicks are answered "Sent".
	for i, r := range d.DoubleClickButton(discordAgent, thread, res.MessageID, send) {
		if r.Type != discordsim.CallbackUpdateMessage || !strings.HasPrefix(r.Content, "Sent saved reply `tracking` to #1") {
			t.Fatalf("Send click %d = %+v", i+1, r)
		}
	}
	e.eventually("the saved reply sent", func() bool { return len(e.s.X.DMsTo("2001")) == 1 })
	if got := e.s.X.DMsTo("2001")[0].Text; got != want {
		t.Fatalf("the customer got %q, the agent saw %q", got, want)
	}
	e.eventually("the reply in the thread, marked ✅", func() bool {
		for _, m := range d.Messages(thread) {
			if strings.Contains(m.Content, "is sending the customer: "+want) {
				return strings.Join(m.Reactions, "") == "✅"
			}
		}
		return false
	})
	e.stillNothingSent("2001", 1)

	// !reply-with typed in the thread: the preview comes by direct
	// message; Send there sends it.
	d.PostAsUser(discordAgent, thread, "!reply-with tracking")
	var dm string
	var preview discordsim.Message
	e.eventually("the preview by DM", func() bool {
		dm, _ = d.DMChannel(discordAgent)
		for _, m := range d.Messages(dm) {
			if s, _ := previewButtons(string(m.Components)); s != "" {
				preview = m
				return true
			}
		}
		return false
	})
	if previewedText(preview.Content) != want {
		t.Fatalf("DM preview %q", preview.Content)
	}
	send, _ = previewButtons(string(preview.Components))
	if r := d.ClickButton(discordAgent, dm, preview.ID, send); r.Type != discordsim.CallbackUpdateMessage {
		t.Fatalf("Send in the DM = %+v", r)
	}
	e.eventually("the second saved reply", func() bool { return len(e.s.X.DMsTo("2001")) == 2 })
	e.stillNothingSent("2001", 2)
	e.noViolations()
}
