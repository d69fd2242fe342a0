package bridge

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Triage: the actions agents, engineers and leads take on a conversation.
// Each is one transaction that changes the conversation, records who did
// what in the audit log, says so once in the thread, and edits the card.

// Escalations configures where escalations go.
type Escalations struct {
	Platform string // chat platform of the engineering channel
	Channel  string
	OnCall   string // mention of the engineering on-call group, in that platform's markup
}

// act runs fn on the conversation an action names, inside one transaction,
// after deduplicating the action's event.
func (s *Service) act(ctx context.Context, a Action, fn func(tx Tx, conv *Conversation, esc *Escalation) error) error {
	return s.inTx(ctx, func(tx Tx) error {
		if a.EventID != "" {
			fresh, err := tx.MarkSeen(ctx, a.Platform, "action:"+a.EventID)
			if err != nil || !fresh {
				return err
			}
		}
		conv, esc, err := s.target(ctx, tx, a)
		if err != nil {
			return err
		}
		return fn(tx, conv, esc)
	})
}

// target finds the conversation of an action: by ticket, by its ticket
// thread, or by one of its escalation threads (then esc is that escalation).
func (s *Service) target(ctx context.Context, tx Tx, a Action) (*Conversation, *Escalation, error) {
	if a.ConversationID != 0 {
		conv, err := tx.Conversation(ctx, a.ConversationID)
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, Errorf(ENOTFOUND, "There is no conversation #%d.", a.ConversationID)
		}
		return conv, nil, err
	}
	if a.ThreadID != "" {
		conv, err := tx.ConversationByThread(ctx, a.Platform, a.Channel, a.ThreadID)
		if err == nil {
			return conv, nil, nil
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, nil, err
		}
		esc, err := tx.EscalationByThread(ctx, a.Platform, a.Channel, a.ThreadID)
		if err == nil {
			conv, err := tx.Conversation(ctx, esc.ConversationID)
			return conv, esc, err
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, nil, err
		}
	}
	return nil, nil, Errorf(ENOTFOUND, "This is not a conversation's thread: add its ticket number, e.g. #42.")
}

// changed writes conv back, audits the change, tells the thread and edits
// the card.
func (s *Service) changed(ctx context.Context, tx Tx, conv *Conversation, a Action, action, before, after, notice string, mention ...string) error {
	now := s.now()
	conv.UpdatedAt = now
	if err := tx.UpdateConversation(ctx, conv); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, conv.ID, a, action, before, after); err != nil {
		return err
	}
	key := fmt.Sprintf("%s:%s:%d", action, a.EventID, now.UnixNano())
	items := []*OutboxItem{s.chatItem(conv, EffectCardUpdate, key, 0, Payload{})}
	if notice != "" {
		items = append(items, s.notice(conv, key, PostNotice, notice, mention...))
	}
	return tx.Enqueue(ctx, items...)
}

func (s *Service) audit(ctx context.Context, tx Tx, convID int64, a Action, action, before, after string) error {
	return tx.InsertAudit(ctx, &AuditEntry{
		ConversationID: convID, ActorID: a.ID, ActorName: a.Label(), Action: action,
		Before: before, After: after, Source: a.Source, At: s.now(),
	})
}

// Claim makes the actor the conversation's assignee.
func (s *Service) Claim(ctx context.Context, a Action) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		switch {
		case conv.AssigneeID == a.ID:
			return Errorf(ECONFLICT, "%s is already yours.", conv.Ticket())
		case conv.AssigneeID != "" && !a.Has(RoleLead):
			return Errorf(EFORBIDDEN, "%s is %s's; a lead can reassign it.", conv.Ticket(), nameOr(conv.AssigneeName, conv.AssigneeID))
		}
		before := conv.AssigneeName
		conv.AssigneeID, conv.AssigneeName = a.ID, a.Label()
		if s.readPolicy() == ReadOnClaim {
			read, err := readItem(ctx, tx, conv, "claim:"+a.EventID, s.now())
			if err != nil {
				return err
			}
			if read != nil {
				if err := tx.Enqueue(ctx, read); err != nil {
					return err
				}
			}
		}
		return s.changed(ctx, tx, conv, a, "claim", before, conv.AssigneeName, a.Label()+" claimed this.")
	})
}

// Unclaim gives the conversation back to the queue.
func (s *Service) Unclaim(ctx context.Context, a Action) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		switch {
		case conv.AssigneeID == "":
			return Errorf(ECONFLICT, "%s is not assigned to anyone.", conv.Ticket())
		case conv.AssigneeID != a.ID && !a.Has(RoleLead):
			return Errorf(EFORBIDDEN, "%s is %s's; only they or a lead can unclaim it.", conv.Ticket(), nameOr(conv.AssigneeName, conv.AssigneeID))
		}
		before := conv.AssigneeName
		conv.AssigneeID, conv.AssigneeName = "", ""
		return s.changed(ctx, tx, conv, a, "unclaim", before, "", a.Label()+" put this back in the queue.")
	})
}

// mentionRE matches a platform mention: Slack <@U123> or <@U123|name>,
// Discord <@123> or <@!123>.
var mentionRE = regexp.MustCompile(`^<@!?([A-Za-z0-9]+)(?:\|([^>]*))?>$`)

// Assign makes the mentioned user the assignee. Assigning anyone but
// oneself needs a lead; the assignee must be a support agent.
func (s *Service) Assign(ctx context.Context, a Action, userRef string) error {
	m := mentionRE.FindStringSubmatch(strings.TrimSpace(userRef))
	if m == nil {
		return Errorf(EINVALID, "Unknown user %s: mention them with @ so the bridge knows who they are.", userRef)
	}
	id, name := m[1], m[2]
	if id != a.ID && !a.Has(RoleLead) {
		return Errorf(EFORBIDDEN, "`assign` to someone else needs the lead role.")
	}
	if s.Roles != nil && !hasRole(s.Roles(a.Platform, id), RoleAgent) {
		return Errorf(EINVALID, "%s is not a support agent.", userRef)
	}
	if name == "" && s.Names != nil {
		name = s.Names(a.Platform, id)
	}
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		switch {
		case conv.AssigneeID == id:
			return Errorf(ECONFLICT, "%s is already assigned to them.", conv.Ticket())
		case conv.AssigneeID != "" && conv.AssigneeID != a.ID && !a.Has(RoleLead):
			return Errorf(EFORBIDDEN, "%s is %s's; a lead can reassign it.", conv.Ticket(), nameOr(conv.AssigneeName, conv.AssigneeID))
		}
		before := conv.AssigneeName
		conv.AssigneeID, conv.AssigneeName = id, nameOr(name, id)
		return s.changed(ctx, tx, conv, a, "assign", before, conv.AssigneeName,
			fmt.Sprintf("%s assigned this to", a.Label()), id)
	})
}

func hasRole(roles []Role, r Role) bool { return Actor{Roles: roles}.Has(r) }

// Tag adds tags.
func (s *Service) Tag(ctx context.Context, a Action, tags []string) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		before := strings.Join(conv.Tags, " ")
		conv.Tags = normalizeTags(append(slices.Clone(conv.Tags), tags...))
		after := strings.Join(conv.Tags, " ")
		if after == before {
			return Errorf(ECONFLICT, "%s already has %s.", conv.Ticket(), strings.Join(normalizeTags(tags), ", "))
		}
		if _, err := s.updateSLA(ctx, tx, conv, slaPolicyChanged); err != nil {
			return err
		}
		return s.changed(ctx, tx, conv, a, "tag", before, after,
			fmt.Sprintf("%s tagged this %s.", a.Label(), strings.Join(normalizeTags(tags), ", ")))
	})
}

// Untag removes tags; a tag the conversation lacks is refused.
func (s *Service) Untag(ctx context.Context, a Action, tags []string) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		drop := normalizeTags(tags)
		for _, t := range drop {
			if !slices.Contains(conv.Tags, t) {
				return Errorf(EINVALID, "%s has no tag `%s` (tags: %s).", conv.Ticket(), t, orNone(strings.Join(conv.Tags, ", ")))
			}
		}
		before := strings.Join(conv.Tags, " ")
		conv.Tags = slices.DeleteFunc(slices.Clone(conv.Tags), func(t string) bool { return slices.Contains(drop, t) })
		if _, err := s.updateSLA(ctx, tx, conv, slaPolicyChanged); err != nil {
			return err
		}
		return s.changed(ctx, tx, conv, a, "untag", before, strings.Join(conv.Tags, " "),
			fmt.Sprintf("%s removed the tag %s.", a.Label(), strings.Join(drop, ", ")))
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// SetPriority changes the priority.
func (s *Service) SetPriority(ctx context.Context, a Action, p Priority) error {
	switch p {
	case PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow:
	default:
		return Errorf(EINVALID, "Priority must be urgent, high, normal or low.")
	}
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		if conv.Priority == p {
			return Errorf(ECONFLICT, "%s is already %s priority.", conv.Ticket(), p)
		}
		before := conv.Priority
		conv.Priority = p
		if _, err := s.updateSLA(ctx, tx, conv, slaPolicyChanged); err != nil {
			return err
		}
		return s.changed(ctx, tx, conv, a, "priority", string(before), string(p),
			fmt.Sprintf("%s set the priority to %s.", a.Label(), p))
	})
}

// Pending marks the conversation as waiting on the customer; the
// customer's next message opens it again.
func (s *Service) Pending(ctx context.Context, a Action) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		switch conv.Status {
		case StatusPending:
			return Errorf(ECONFLICT, "%s is already waiting on the customer.", conv.Ticket())
		case StatusClosed:
			return Errorf(ECONFLICT, "%s is closed; reopen it first.", conv.Ticket())
		}
		before := conv.Status
		conv.Status = StatusPending
		if _, err := s.updateSLA(ctx, tx, conv, slaPending); err != nil {
			return err
		}
		return s.changed(ctx, tx, conv, a, "pending", string(before), string(StatusPending),
			a.Label()+" marked this as waiting on the customer.")
	})
}

// Close closes the conversation, sends the closing message if one is
// configured, and tells an open escalation's thread.
func (s *Service) Close(ctx context.Context, a Action, reason string) error {
	reason = strings.TrimSpace(reason)
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		if conv.Status == StatusClosed {
			return Errorf(ECONFLICT, "%s is already closed.", conv.Ticket())
		}
		before := conv.Status
		now := s.now()
		conv.Status, conv.ClosedAt, conv.ClosedByName, conv.CloseReason = StatusClosed, now, a.Label(), reason
		if _, err := s.updateSLA(ctx, tx, conv, slaClosed); err != nil {
			return err
		}
		notice := a.Label() + " closed this."
		if reason != "" {
			notice = fmt.Sprintf("%s closed this: %s", a.Label(), reason)
		}
		if err := s.changed(ctx, tx, conv, a, "close", string(before), string(StatusClosed)+suffix(reason), notice); err != nil {
			return err
		}
		if conv.EscalationID != 0 {
			esc, err := tx.Escalation(ctx, conv.EscalationID)
			if err != nil {
				return err
			}
			key := fmt.Sprintf("closed:%d", now.UnixNano())
			if err := tx.Enqueue(ctx,
				s.escItem(conv, esc, EffectEscUpdate, key, Payload{}),
				s.escItem(conv, esc, EffectPost, key, Payload{Kind: PostNotice,
					Text: fmt.Sprintf("Support closed %s (%s).", conv.Ticket(), orNone(reason))})); err != nil {
				return err
			}
		}
		if s.ClosingMessage != "" {
			if err := s.sendFromBridge(ctx, tx, conv, a, s.ClosingMessage, "closing"); err != nil {
				return err
			}
		}
		if err := s.askCSAT(ctx, tx, conv, a); err != nil {
			return err
		}
		return tx.UpdateConversation(ctx, conv)
	})
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// Reopen opens a closed conversation again. After the reopen window it
// needs a lead.
func (s *Service) Reopen(ctx context.Context, a Action) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		if conv.Status != StatusClosed {
			return Errorf(ECONFLICT, "%s is not closed.", conv.Ticket())
		}
		if s.now().Sub(conv.ClosedAt) > s.ReopenWindow && !a.Has(RoleLead) {
			return Errorf(EFORBIDDEN, "%s was closed more than %s ago: `reopen` needs the lead role.", conv.Ticket(), roundWait(s.ReopenWindow))
		}
		conv.Status, conv.ClosedAt, conv.ClosedByName, conv.CloseReason = StatusOpen, time.Time{}, "", ""
		if _, err := s.updateSLA(ctx, tx, conv, slaRestarted); err != nil {
			return err
		}
		err := s.changed(ctx, tx, conv, a, "reopen", string(StatusClosed), string(StatusOpen), a.Label()+" reopened this.")
		if ErrorCode(err) == ECONFLICT {
			return Errorf(ECONFLICT, "The customer has a newer open conversation; work it there.")
		}
		return err
	})
}

// Note records internal text. Given outside the thread (slash command,
// button), it is also posted in the thread.
func (s *Service) Note(ctx context.Context, a Action, text string) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		msg := Message{ConversationID: conv.ID, Direction: DirectionNote, AuthorID: a.ID, AuthorName: a.Label(),
			Text: text, ChatID: a.MessageID, CreatedAt: s.now()}
		if err := tx.InsertMessage(ctx, &msg); err != nil {
			return err
		}
		if a.MessageID != "" && a.ThreadID == conv.ChatThreadID {
			return nil // the note is already in the thread
		}
		return tx.Enqueue(ctx, s.notice(conv, fmt.Sprintf("note:%d", msg.ID), PostNotice,
			fmt.Sprintf("Note from %s: %s", a.Label(), text)))
	})
}

// Reply sends text to the customer, whoever the actor is: the explicit way
// for engineers, and for channels where plain messages stay internal.
func (s *Service) Reply(ctx context.Context, a Action, text string) error {
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		_, err := s.reply(ctx, tx, conv, a, text)
		return err
	})
}

// reply records an outbound message and schedules it after the send
// delay. When the action was typed in the thread, its chat message gets
// the delivery marks; otherwise the bridge posts what is being sent in the
// thread (PostReply), and that post gets them.
func (s *Service) reply(ctx context.Context, tx Tx, conv *Conversation, a Action, text string) (*Message, error) {
	inThread := a.MessageID != "" && a.ThreadID == conv.ChatThreadID
	m := ChatMessage{Platform: a.Platform, Channel: conv.ChatChannel, ThreadID: conv.ChatThreadID,
		UserID: a.ID, UserName: a.Label(), Text: text}
	if inThread {
		m.MessageID = a.MessageID
	}
	msg, err := s.recordReply(ctx, tx, conv, m)
	if err != nil || inThread || msg.Delivery != DeliveryScheduled {
		return msg, err
	}
	// The ⏳ follows the post in the thread's delivery order, so it finds
	// the post's chat id; so do the marks of the send.
	post := s.chatItem(conv, EffectPost, fmt.Sprintf("reply:%d", msg.ID), msg.ID,
		Payload{Kind: PostReply, Text: fmt.Sprintf("%s is sending the customer: %s", a.Label(), text)})
	return msg, tx.Enqueue(ctx, post, s.mark(conv, msg, ReactionWaiting, true, "send"))
}

// sendFromBridge sends text to the customer on the bridge's behalf (a
// closing message), with no send delay.
func (s *Service) sendFromBridge(ctx context.Context, tx Tx, conv *Conversation, a Action, text, what string) error {
	parts, err := s.Rules.Parts(conv.Kind, text)
	if err != nil {
		return Errorf(EINVALID, "The %s message cannot be sent: %s", what, ErrorMessage(err))
	}
	now := s.now()
	msg := Message{ConversationID: conv.ID, Direction: DirectionOut, AuthorID: a.ID, AuthorName: "xbridge (" + what + ")",
		Text: text, Delivery: DeliveryScheduled, CreatedAt: now}
	if err := tx.InsertMessage(ctx, &msg); err != nil {
		return err
	}
	items := s.sendItems(conv, &msg, parts, what, now)
	items = append(items, s.notice(conv, fmt.Sprintf("%s:%d", what, msg.ID), PostNotice, "Sent to the customer: "+text))
	return tx.Enqueue(ctx, items...)
}

// Escalate opens a thread in the engineering channel.
func (s *Service) Escalate(ctx context.Context, a Action, summary string) error {
	if s.Escalation.Channel == "" {
		return Errorf(EUNAVAILABLE, "No engineering channel is configured (escalation.channel).")
	}
	summary = strings.TrimSpace(summary)
	return s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		if conv.EscalationID != 0 {
			return Errorf(ECONFLICT, "%s is already escalated; `resolve` it in the engineering thread first.", conv.Ticket())
		}
		now := s.now()
		esc := &Escalation{ConversationID: conv.ID, Platform: s.Escalation.Platform, Channel: s.Escalation.Channel,
			Summary: summary, OpenedByID: a.ID, OpenedByName: a.Label(), OpenedAt: now}
		if err := tx.InsertEscalation(ctx, esc); err != nil {
			return err
		}
		conv.EscalationID = esc.ID
		notice := a.Label() + " escalated this to engineering."
		if summary != "" {
			notice = fmt.Sprintf("%s escalated this to engineering: %s", a.Label(), summary)
		}
		if err := s.changed(ctx, tx, conv, a, "escalate", "", fmt.Sprintf("escalation %d%s", esc.ID, suffix(summary)), notice); err != nil {
			return err
		}
		return tx.Enqueue(ctx, s.escItem(conv, esc, EffectEscalate, "card", Payload{}))
	})
}

// Resolve closes the open escalation, from its engineering thread or the
// support thread.
func (s *Service) Resolve(ctx context.Context, a Action, text string) error {
	text = strings.TrimSpace(text)
	return s.act(ctx, a, func(tx Tx, conv *Conversation, esc *Escalation) error {
		if esc == nil && conv.EscalationID != 0 {
			var err error
			if esc, err = tx.Escalation(ctx, conv.EscalationID); err != nil {
				return err
			}
		}
		if esc == nil || !esc.Open() {
			return Errorf(ECONFLICT, "%s has no open escalation.", conv.Ticket())
		}
		now := s.now()
		esc.ResolvedAt, esc.ResolvedByName, esc.Resolution = now, a.Label(), text
		if err := tx.UpdateEscalation(ctx, esc); err != nil {
			return err
		}
		if conv.EscalationID == esc.ID {
			conv.EscalationID = 0
		}
		notice := fmt.Sprintf("Engineering resolved the escalation (%s).", a.Label())
		if text != "" {
			notice = fmt.Sprintf("Engineering resolved the escalation (%s): %s", a.Label(), text)
		}
		if err := s.changed(ctx, tx, conv, a, "resolve", fmt.Sprintf("escalation %d", esc.ID), "resolved"+suffix(text), notice, conv.AssigneeID); err != nil {
			return err
		}
		key := fmt.Sprintf("resolved:%d", now.UnixNano())
		return tx.Enqueue(ctx, s.escItem(conv, esc, EffectEscUpdate, key, Payload{}),
			s.escItem(conv, esc, EffectPost, key, Payload{Kind: PostNotice, Text: "Resolved by " + a.Label() + suffix(text)}))
	})
}

// Status describes a conversation and its last few actions.
func (s *Service) Status(ctx context.Context, a Action) (string, error) {
	var out strings.Builder
	err := s.Store.InTx(ctx, func(tx Tx) error {
		conv, _, err := s.target(ctx, tx, a)
		if err != nil {
			return err
		}
		cust, err := tx.Customer(ctx, conv.CustomerID)
		if err != nil {
			return err
		}
		fmt.Fprintf(&out, "%s · %s (@%s) · %s · %s priority · %s", conv.Ticket(), cust.DisplayName(), cust.Handle,
			conv.Status, conv.Priority, assigneeText(conv))
		if len(conv.Tags) > 0 {
			fmt.Fprintf(&out, " · tags: %s", strings.Join(conv.Tags, ", "))
		}
		if conv.EscalationID != 0 {
			out.WriteString(" · escalated")
		}
		fmt.Fprintf(&out, " · open for %s", roundWait(s.now().Sub(conv.CreatedAt)))
		entries, err := tx.Audit(ctx, conv.ID, 5)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			out.WriteString("\nLast actions:")
			for _, e := range entries {
				fmt.Fprintf(&out, "\n• %s %s %s%s (%s)", e.At.Format("Jan 2 15:04"), e.ActorName, e.Action, changeText(e), e.Source)
			}
		}
		return nil
	})
	return out.String(), err
}

func assigneeText(c *Conversation) string {
	if c.AssigneeID == "" {
		return "unassigned"
	}
	return "assigned to " + nameOr(c.AssigneeName, c.AssigneeID)
}

func changeText(e *AuditEntry) string {
	switch {
	case e.Before == "" && e.After == "":
		return ""
	case e.Before == "":
		return ": " + e.After
	}
	return fmt.Sprintf(": %s → %s", e.Before, orNone(e.After))
}

// Mine lists the actor's open conversations.
func (s *Service) Mine(ctx context.Context, a Action) (string, error) {
	var out strings.Builder
	err := s.Store.InTx(ctx, func(tx Tx) error {
		convs, err := tx.ConversationsAssigned(ctx, a.Platform, a.ID)
		if err != nil {
			return err
		}
		for _, c := range convs {
			fmt.Fprintf(&out, "%s · %s · %s priority · open %s\n", c.Ticket(), c.Status, c.Priority, roundWait(s.now().Sub(c.CreatedAt)))
		}
		return nil
	})
	return strings.TrimSpace(out.String()), err
}

// SetAvailable records whether the actor takes new conversations.
func (s *Service) SetAvailable(ctx context.Context, a Action, on bool) error {
	return s.Store.InTx(ctx, func(tx Tx) error {
		agents, err := tx.Agents(ctx, a.Platform)
		if err != nil {
			return err
		}
		ag := &Agent{Platform: a.Platform, UserID: a.ID}
		for _, x := range agents {
			if x.UserID == a.ID {
				ag = x
			}
		}
		ag.Name, ag.Available = a.Label(), on
		return tx.UpsertAgent(ctx, ag)
	})
}

// escItem builds an effect in an escalation's thread.
func (s *Service) escItem(conv *Conversation, esc *Escalation, effect Effect, key string, p Payload) *OutboxItem {
	p.EscalationID = esc.ID
	eng := &Conversation{ID: conv.ID, ChatPlatform: esc.Platform, ChatChannel: esc.Channel}
	it := chatItem(eng, effect, fmt.Sprintf("esc:%d:%s", esc.ID, key), 0, p, s.now())
	it.SeqKey = fmt.Sprintf("esc:%d", esc.ID)
	return it
}
