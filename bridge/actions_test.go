package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

var actionSeq atomic.Int64

// as builds an action by a user in conversation #1's thread.
func (h *harness) as(id, name string, roles ...bridge.Role) bridge.Action {
	return bridge.Action{
		Actor:   bridge.Actor{Platform: "slack", ID: id, Name: name, Roles: roles},
		Channel: "C1", ThreadID: h.thread(1), Source: "button",
		EventID: fmt.Sprintf("act-%d", actionSeq.Add(1)),
	}
}

func (h *harness) conv(id int64) *bridge.Conversation {
	h.t.Helper()
	var c *bridge.Conversation
	err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		var err error
		c, err = tx.Conversation(context.Background(), id)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) audit(id int64) []string {
	h.t.Helper()
	var out []string
	h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		es, err := tx.Audit(context.Background(), id, 0)
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s %s %s→%s %s", e.ActorName, e.Action, e.Before, e.After, e.Source))
		}
		return err
	})
	return out
}

func (h *harness) lastCard() bridge.Card {
	h.t.Helper()
	h.chat.mu.Lock()
	defer h.chat.mu.Unlock()
	if len(h.chat.updates) == 0 {
		h.t.Fatal("the card was never updated")
	}
	return h.chat.updates[len(h.chat.updates)-1]
}

func lastNotice(h *harness) string {
	n := h.chat.noticesIn(h.thread(1))
	if len(n) == 0 {
		return ""
	}
	return n[len(n)-1]
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if bridge.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestClaimUnclaimAndAssign(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.svc.Roles = func(_, id string) []bridge.Role {
		if id == "U9" {
			return []bridge.Role{bridge.RoleEngineer}
		}
		return []bridge.Role{bridge.RoleAgent}
	}
	h.dm("2001", "help")
	alice := h.as("U1", "Alice", bridge.RoleAgent)
	bob := h.as("U2", "Bob", bridge.RoleAgent)
	lead := h.as("U3", "Lena", bridge.RoleLead)

	if err := h.svc.Claim(h.ctx, alice); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if c := h.lastCard(); c.AssigneeID != "U1" || c.AssigneeName != "Alice" {
		t.Fatalf("card assignee = %q %q", c.AssigneeID, c.AssigneeName)
	}
	if n := lastNotice(h); n != "Alice claimed this." {
		t.Fatalf("notice = %q", n)
	}
	alice.EventID = "again"
	wantCode(t, h.svc.Claim(h.ctx, alice), bridge.ECONFLICT)
	wantCode(t, h.svc.Claim(h.ctx, bob), bridge.EFORBIDDEN)
	wantCode(t, h.svc.Unclaim(h.ctx, h.as("U2", "Bob", bridge.RoleAgent)), bridge.EFORBIDDEN)
	// Assigning oneself what someone else works is a takeover: a lead's call.
	wantCode(t, h.svc.Assign(h.ctx, h.as("U2", "Bob", bridge.RoleAgent), "<@U2>"), bridge.EFORBIDDEN)

	// Assigning someone else needs a lead, a real mention and an agent.
	wantCode(t, h.svc.Assign(h.ctx, h.as("U2", "Bob", bridge.RoleAgent), "<@U4>"), bridge.EFORBIDDEN)
	wantCode(t, h.svc.Assign(h.ctx, lead, "@dana"), bridge.EINVALID)
	wantCode(t, h.svc.Assign(h.ctx, lead, "<@U9>"), bridge.EINVALID)
	if err := h.svc.Assign(h.ctx, lead, "<@U4|dana>"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	posts := h.chat.thread(h.thread(1))
	if last := posts[len(posts)-1]; last.Text != "Lena assigned this to" || len(last.Mention) != 1 || last.Mention[0] != "U4" {
		t.Fatalf("assign notice = %+v", last)
	}
	if c := h.conv(1); c.AssigneeID != "U4" || c.AssigneeName != "dana" {
		t.Fatalf("assignee = %q %q", c.AssigneeID, c.AssigneeName)
	}
	if err := h.svc.Unclaim(h.ctx, h.as("U3", "Lena", bridge.RoleLead)); err != nil {
		t.Fatal(err)
	}
	want := []string{"Alice claim →Alice button", "Lena assign Alice→dana button", "Lena unclaim dana→ button"}
	if got := h.audit(1); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit = %q\nwant %q", got, want)
	}
}

func TestTagsPriorityAndPending(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "help")
	agent := func() bridge.Action { return h.as("U1", "Alice", bridge.RoleAgent) }
	if err := h.svc.Tag(h.ctx, agent(), []string{"Billing", "refund", "billing"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, h.svc.Tag(h.ctx, agent(), []string{"refund"}), bridge.ECONFLICT)
	wantCode(t, h.svc.Untag(h.ctx, agent(), []string{"shipping"}), bridge.EINVALID)
	if err := h.svc.Untag(h.ctx, agent(), []string{"refund"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetPriority(h.ctx, agent(), bridge.PriorityHigh); err != nil {
		t.Fatal(err)
	}
	wantCode(t, h.svc.SetPriority(h.ctx, agent(), "whenever"), bridge.EINVALID)
	if err := h.svc.Pending(h.ctx, agent()); err != nil {
		t.Fatal(err)
	}
	h.drain()
	c := h.lastCard()
	if strings.Join(c.Tags, ",") != "billing" || c.Priority != bridge.PriorityHigh || c.Status != bridge.StatusPending {
		t.Fatalf("card = tags %v priority %s status %s", c.Tags, c.Priority, c.Status)
	}
	// The customer's answer ends the wait.
	h.dm("2001", "here is my order number: 48213")
	if got := h.conv(1).Status; got != bridge.StatusOpen {
		t.Fatalf("status after the customer answered = %s", got)
	}
	if n := lastNotice(h); !strings.Contains(n, "customer answered") {
		t.Fatalf("notice = %q", n)
	}
	if got := len(h.audit(1)); got != 4 {
		t.Fatalf("audit has %d entries, want 4 (refusals change nothing)", got)
	}
}

func TestCloseReopenAndClosingMessage(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.svc.ClosingMessage = "Thanks for reaching out! Reply here any time."
	h.dm("2001", "help")
	if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "refund issued"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	c := h.lastCard()
	if c.Status != bridge.StatusClosed || c.ClosedByName != "Alice" || c.CloseReason != "refund issued" || c.ClosedAt.IsZero() {
		t.Fatalf("card = %+v", c)
	}
	if dms := h.x.sentDMs(); len(dms) != 1 || dms[0].text != "Thanks for reaching out! Reply here any time." {
		t.Fatalf("closing message = %+v", dms)
	}
	wantCode(t, h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), ""), bridge.ECONFLICT)

	h.clock.Advance(time.Hour)
	if err := h.svc.Reopen(h.ctx, h.as("U1", "Alice", bridge.RoleAgent)); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), ""); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(8 * 24 * time.Hour)
	err := h.svc.Reopen(h.ctx, h.as("U1", "Alice", bridge.RoleAgent))
	wantCode(t, err, bridge.EFORBIDDEN)
	if !strings.Contains(bridge.ErrorMessage(err), "lead") {
		t.Fatalf("refusal should name the role: %v", err)
	}
	if err := h.svc.Reopen(h.ctx, h.as("U3", "Lena", bridge.RoleLead)); err != nil {
		t.Fatal(err)
	}
	if got := h.conv(1).Status; got != bridge.StatusOpen {
		t.Fatalf("status = %s", got)
	}
}

func TestNotesRepliesAndEngineers(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "help")
	// A note given by slash command is shown in the thread.
	slash := h.as("U1", "Alice", bridge.RoleAgent)
	slash.Source, slash.ThreadID, slash.ConversationID = "slash", "", 1
	if err := h.svc.Note(h.ctx, slash, "customer is a VIP"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if n := lastNotice(h); n != "Note from Alice: customer is a VIP" {
		t.Fatalf("notice = %q", n)
	}
	// An engineer's plain message in the thread stays internal…
	out, err := h.svc.HandleChatMessage(h.ctx, bridge.ChatMessage{Platform: "slack", EventID: "e-eng", Channel: "C1",
		ThreadID: h.thread(1), MessageID: "M-eng", UserID: "U9", UserName: "Eve", Roles: []bridge.Role{bridge.RoleEngineer},
		Text: "looks like the cache again"})
	if err != nil || out != bridge.OutcomeStored {
		t.Fatal(out, err)
	}
	h.advance(time.Minute)
	if n := len(h.x.sentDMs()); n != 0 {
		t.Fatalf("an engineer's plain message reached the customer")
	}
	// …unless they use reply, typed in the thread: their message gets the marks.
	eng := h.as("U9", "Eve", bridge.RoleEngineer)
	eng.Source, eng.MessageID = "text", "M-reply"
	if err := h.svc.Reply(h.ctx, eng, "Fixed on our side, please retry."); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	if dms := h.x.sentDMs(); len(dms) != 1 || dms[0].text != "Fixed on our side, please retry." {
		t.Fatalf("dms = %+v", dms)
	}
	if m := h.chat.marks("M-reply"); len(m) != 1 || m[0] != bridge.ReactionSent {
		t.Fatalf("marks = %v", m)
	}
}

func TestEscalationRoundTrip(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.svc.Escalation = bridge.Escalations{Platform: "slack", Channel: "CENG", OnCall: "<!subteam^S1>"}
	h.disp.EngOnCall = "<!subteam^S1>"
	h.dm("2001", "the app crashes on start")
	agent := h.as("U1", "Alice", bridge.RoleAgent)
	if err := h.svc.Escalate(h.ctx, agent, "crash on start, 4.2.0"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if len(h.chat.escalations) != 1 {
		t.Fatalf("escalations posted = %d", len(h.chat.escalations))
	}
	e := h.chat.escalations[0]
	if e.channel != "CENG" || e.card.Summary != "crash on start, 4.2.0" || e.card.OnCall != "<!subteam^S1>" ||
		e.card.Support.ThreadID != h.thread(1) || len(e.card.Recent) == 0 || e.card.Recent[0].Text != "the app crashes on start" {
		t.Fatalf("escalation card = %+v", e)
	}
	if c := h.lastCard(); c.Escalation == nil || !c.Escalation.Open || c.Escalation.Thread.ThreadID != e.id {
		t.Fatalf("card escalation = %+v", c.Escalation)
	}
	wantCode(t, h.svc.Escalate(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "again"), bridge.ECONFLICT)

	// An engineer answers in the escalation thread: an internal note in the support thread.
	out, err := h.svc.HandleChatMessage(h.ctx, bridge.ChatMessage{Platform: "slack", EventID: "e1", Channel: "CENG",
		ThreadID: e.id, MessageID: "E-1", UserID: "U9", UserName: "Eve", Text: "Known bug, fix in 4.2.1"})
	if err != nil || out != bridge.OutcomeStored {
		t.Fatal(out, err)
	}
	h.drain()
	if n := lastNotice(h); n != "Engineering · Eve: Known bug, fix in 4.2.1" {
		t.Fatalf("mirrored note = %q", n)
	}
	if len(h.x.sentDMs()) != 0 {
		t.Fatal("an engineer's answer reached the customer")
	}
	// resolve, typed in the escalation thread.
	res := bridge.Action{Actor: bridge.Actor{Platform: "slack", ID: "U9", Name: "Eve", Roles: []bridge.Role{bridge.RoleEngineer}},
		Channel: "CENG", ThreadID: e.id, Source: "text", EventID: "res-1"}
	if err := h.svc.Resolve(h.ctx, res, "fixed in 4.2.1"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if n := lastNotice(h); n != "Engineering resolved the escalation (Eve): fixed in 4.2.1" {
		t.Fatalf("resolve notice = %q", n)
	}
	if !h.chat.escalations[0].card.Resolved || h.conv(1).EscalationID != 0 {
		t.Fatalf("escalation not resolved: card %+v, conversation %d", h.chat.escalations[0].card, h.conv(1).EscalationID)
	}
	res.EventID = "res-2"
	wantCode(t, h.svc.Resolve(h.ctx, res, ""), bridge.ECONFLICT)

	// A second escalation, then closing the support conversation updates it.
	if err := h.svc.Escalate(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "still crashing"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "fixed"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	second := h.chat.escalations[1]
	if !second.card.SupportClosed {
		t.Fatalf("second escalation card not updated on close: %+v", second.card)
	}
	if p := h.chat.thread(second.id); len(p) == 0 || !strings.Contains(p[len(p)-1].Text, "Support closed #1 (fixed)") {
		t.Fatalf("escalation thread = %+v", p)
	}
}

func TestStatusMineAndDuplicateActions(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.dm("2001", "help")
	claim := h.as("U1", "Alice", bridge.RoleAgent)
	if err := h.svc.Claim(h.ctx, claim); err != nil {
		t.Fatal(err)
	}
	// The same event delivered twice acts once.
	if err := h.svc.Claim(h.ctx, claim); err != nil {
		t.Fatalf("redelivered action = %v, want a quiet no-op", err)
	}
	h.svc.Tag(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), []string{"billing"})
	st, err := h.svc.Status(h.ctx, h.as("U1", "Alice", bridge.RoleAgent))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#1", "Customer 2001", "assigned to Alice", "tags: billing", "Alice claim", "Alice tag"} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	mine, err := h.svc.Mine(h.ctx, bridge.Action{Actor: bridge.Actor{Platform: "slack", ID: "U1"}})
	if err != nil || !strings.HasPrefix(mine, "#1 · open") {
		t.Fatalf("mine = %q, %v", mine, err)
	}
	outside := bridge.Action{Actor: bridge.Actor{Platform: "slack", ID: "U1", Roles: []bridge.Role{bridge.RoleAgent}},
		Channel: "C1", Source: "slash"}
	wantCode(t, h.svc.Claim(h.ctx, outside), bridge.ENOTFOUND)
}
