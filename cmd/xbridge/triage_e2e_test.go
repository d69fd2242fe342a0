package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

const (
	engChannel = "C0ENG"
	agentAnn   = "U0ANN"
	engineer   = "U0EVE"
	lead       = "U0LEA"
)

func slackEngineer() slacksim.User {
	return slacksim.User{ID: engineer, Name: "eve", RealName: "Eve (Eng)"}
}

// startTriage runs the bridge with roles, an engineering channel and a
// closing message, and opens one DM conversation.
func startTriage(t *testing.T, dsn string) (*env, string) {
	t.Helper()
	e := startBridge(t, dsn, func(c *Config) {
		c.Roles = RolesConfig{Agents: []string{demoAgent, agentAnn}, Engineers: []string{engineer}, Leads: []string{lead}}
		c.Escalation = EscalationConfig{Channel: engChannel, OnCall: "<!subteam^S0ENG>"}
		c.ClosingMessage = "Thanks for contacting Acme!"
		c.SavedReplies = map[string]SavedReplyText{"tracking": {"": "Hi {customer}, your tracking number for {ticket} is in your email."}}
	})
	s := e.s.Slack
	s.AddChannel(engChannel, "engineering")
	s.AddUser(slacksim.User{ID: agentAnn, Name: "ann", RealName: "Ann"})
	s.AddUser(slacksim.User{ID: engineer, Name: "eve", RealName: "Eve (Eng)"})
	s.AddUser(slacksim.User{ID: lead, Name: "lea", RealName: "Lea (Lead)"})
	e.eventually("Socket Mode", e.m.Slack.Connected)
	e.s.X.CustomerDM("2001", "My parcel is lost")
	var thread string
	e.eventually("thread", func() bool {
		thread = e.threadOf("alice_w")
		return thread != "" && len(s.Thread(demoChannel, thread)) == 1
	})
	return e, thread
}

func (e *env) conversation(id int64) *bridge.Conversation {
	e.t.Helper()
	var c *bridge.Conversation
	read := func(tx bridge.Tx) error {
		var err error
		c, err = tx.Conversation(e.ctx, id)
		return err
	}
	err := e.m.Store.InTx(e.ctx, read)
	for try := 0; try < 3 && bridge.ErrorCode(err) == bridge.ECONFLICT; try++ {
		// Reading locks the row; Postgres may pick this reader as a
		// deadlock's victim, as it may any of the bridge's transactions,
		// and the bridge retries them the same way.
		err = e.m.Store.InTx(e.ctx, read)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// audit lists a conversation's audit entries as action/source.
func (e *env) audit(id int64) []string {
	e.t.Helper()
	var entries []*bridge.AuditEntry
	err := e.m.Store.InTx(e.ctx, func(tx bridge.Tx) error {
		var err error
		entries, err = tx.Audit(e.ctx, id, 0)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range entries {
		out = append(out, a.Action+"/"+a.Source)
	}
	return out
}

func (e *env) notice(thread, text string) func() bool {
	return func() bool { return threadSays(e.s.Slack.Thread(demoChannel, thread), text) }
}

func TestTriageThroughEveryInputPath(t *testing.T) {
	t.Parallel()
	for name, dsn := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, thread := startTriage(t, dsn(t))
			s := e.s.Slack

			// Button: Claim on the card.
			s.ClickButton(demoAgent, demoChannel, thread, commands.ButtonAction("claim"), "#1")
			e.eventually("claimed", func() bool { return e.conversation(1).AssigneeID == demoAgent })
			e.eventually("claim notice", e.notice(thread, "claimed this"))
			e.eventually("card shows the assignee", func() bool {
				root, _ := s.Message(demoChannel, thread)
				return strings.Contains(string(root.Blocks), "@"+demoAgent)
			})

			// In-thread text: !tag, never sent to the customer.
			s.PostAsUser(demoAgent, demoChannel, thread, "!tag shipping lost-parcel")
			e.eventually("tagged", func() bool { return strings.Join(e.conversation(1).Tags, ",") == "lost-parcel,shipping" })

			// Select: priority.
			s.SelectOption(demoAgent, demoChannel, thread, commands.ButtonAction("priority"), "high")
			e.eventually("priority", func() bool { return e.conversation(1).Priority == bridge.PriorityHigh })

			// Reaction: ⏸️ on the card → waiting on the customer.
			s.React(demoAgent, demoChannel, thread, "double_vertical_bar")
			e.eventually("pending", func() bool { return e.conversation(1).Status == bridge.StatusPending })

			// Slash command from anywhere, answered ephemerally.
			resp := s.SlashCommand(demoAgent, demoChannel, "/xb", "status #1")
			if len(resp) == 0 || !strings.Contains(resp[0].Text, "#1") || !strings.Contains(resp[0].Text, "shipping") {
				t.Fatalf("/xb status = %+v", resp)
			}

			// A malformed command gets a usage message only the caller sees, and changes nothing.
			s.PostAsUser(demoAgent, demoChannel, thread, "!priority whenever")
			e.eventually("usage ephemeral", func() bool {
				for _, m := range s.Ephemerals(demoAgent) {
					if strings.Contains(m.Text, "Usage") || strings.Contains(m.Text, "priority") {
						return true
					}
				}
				return false
			})
			if p := e.conversation(1).Priority; p != bridge.PriorityHigh {
				t.Fatalf("priority changed by a malformed command: %s", p)
			}

			// Permissions: an agent cannot assign someone else; a lead can.
			s.PostAsUser(agentAnn, demoChannel, thread, "!assign <@"+agentAnn+">")
			e.eventually("Ann assigned herself? no: Bob has it", func() bool {
				for _, m := range s.Ephemerals(agentAnn) {
					if strings.Contains(m.Text, "a lead can reassign") || strings.Contains(m.Text, "lead") {
						return true
					}
				}
				return e.conversation(1).AssigneeID == agentAnn
			})
			resp = s.SlashCommand(lead, demoChannel, "/xb", "assign <@"+agentAnn+"> #1")
			e.eventually("lead assigned Ann", func() bool { return e.conversation(1).AssigneeID == agentAnn })
			_ = resp

			// Escalation round trip.
			s.PostAsUser(agentAnn, demoChannel, thread, "!escalate courier says delivered, customer says not")
			var eng string
			e.eventually("escalation thread", func() bool {
				roots := s.Roots(engChannel)
				if len(roots) == 1 {
					eng = roots[0].TS
				}
				return eng != ""
			})
			root, _ := s.Message(engChannel, eng)
			for _, want := range []string{"subteam^S0ENG", "courier says delivered", "My parcel is lost", "@alice_w"} {
				if !strings.Contains(root.Text+string(root.Blocks), want) {
					t.Errorf("escalation card lacks %q", want)
				}
			}
			s.PostAsUser(engineer, engChannel, eng, "The courier scanned it at the wrong depot; re-routing.")

			e.eventually("engineer's answer mirrored", e.notice(thread, ": The courier scanned it at the wrong depot"))
			s.PostAsUser(engineer, engChannel, eng, "!resolve re-routed")
			e.eventually("resolved", e.notice(thread, "Engineering resolved the escalation"))
			if e.conversation(1).EscalationID != 0 {
				t.Fatal("escalation flag not cleared")
			}
			// An engineer's plain message in the support thread stays internal.
			s.PostAsUser(engineer, demoChannel, thread, "fyi it was our depot's fault")

			// Saved reply, previewed then sent, then close from the card:
			// the customer gets the closing message.
			s.PostAsUser(agentAnn, demoChannel, thread, "!reply-with tracking")
			preview := e.slackPreview(agentAnn, map[string]bool{})
			send, _ := previewButtons(string(preview.Blocks))
			s.ClickButton(agentAnn, demoChannel, preview.TS, send, "")
			e.eventually("saved reply sent", func() bool { return len(e.s.X.DMsTo("2001")) == 1 })
			if got := e.s.X.DMsTo("2001")[0].Text; got != "Hi Alice Walker, your tracking number for #1 is in your email." {
				t.Fatalf("saved reply = %q", got)
			}
			s.ClickButton(agentAnn, demoChannel, thread, commands.ButtonAction("close"), "#1")
			e.eventually("closed", func() bool { return e.conversation(1).Status == bridge.StatusClosed })
			e.eventually("closing message", func() bool { return len(e.s.X.DMsTo("2001")) == 2 })
			if n := len(e.s.X.DMsTo("2001")); n != 2 {
				t.Fatalf("the engineer's note reached the customer: %d DMs", n)
			}

			// Audit: every action, with its input path.
			want := "claim/button tag/text priority/button pending/reaction assign/slash escalate/text resolve/text reply-with/button close/button"
			if got := strings.Join(e.audit(1), " "); got != want {
				t.Fatalf("audit = %s\nwant   %s", got, want)
			}
			time.Sleep(100 * time.Millisecond)
			e.noViolations()
		})
	}
}

func TestAuditCommandPrintsTheLog(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	e, thread := startTriage(t, dsn)
	e.s.Slack.ClickButton(demoAgent, demoChannel, thread, commands.ButtonAction("claim"), "#1")
	e.eventually("claimed", func() bool { return e.conversation(1).AssigneeID == demoAgent })
	var out strings.Builder
	err := run(e.ctx, []string{"audit", "#1"}, &out, &out, func(k string) string {
		if k == "XBRIDGE_DATABASE_URL" {
			return dsn
		}
		return ""
	})
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "claim") || !strings.Contains(out.String(), "button") || !strings.Contains(strings.ToLower(out.String()), "bob") {
		t.Fatalf("audit output:\n%s", out.String())
	}
}
