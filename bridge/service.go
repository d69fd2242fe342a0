package bridge

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Service turns each inbound event into one transaction: the state change
// and the outbound effects it causes, written together. It never calls a
// platform; the Dispatcher delivers the effects.
type Service struct {
	Store  Store
	Clock  Clock
	Logger *slog.Logger
	Rules  TextRules // X's limits for agents' replies

	// Where new conversations are worked.
	ChatPlatform string // "slack"
	ChatChannel  string

	SendDelay     time.Duration // an agent's reply waits this long before going out
	NotePrefix    string        // a thread message starting with it stays internal
	CommandPrefix string        // a thread message starting with it is a command, never sent
	ReopenWindow  time.Duration // a customer message inside it reopens a closed conversation

	// Triage.
	Routes         []Route // pick the channel of new conversations; default ChatPlatform/ChatChannel
	AutoAssign     string  // AssignOff, AssignRoundRobin or AssignLeastOpen
	Escalation     Escalations
	ClosingMessage string       // sent to the customer on close, when set
	SavedReplies   []SavedReply // for reply-with
	// Roles and Names, when set, tell a chat user's roles and display
	// name (from the platform's directory).
	Roles func(platform, userID string) []Role
	Names func(platform, userID string) string

	// Tier, when set, answers by itself: acknowledgements, FAQ answers,
	// priority suggestions, the satisfaction survey, read receipts.
	Tier *FirstTier

	// SLA, when set, measures first response, next response and
	// resolution; WakeScheduler tells the scheduler a target now needs a
	// look at t (Scheduler.WakeAt).
	SLA           *SLA
	WakeScheduler func(t time.Time)

	// MediaMaxBytes caps the files agents send (default
	// DefaultMediaMaxBytes).
	MediaMaxBytes int64

	// Wake, when set, is called after a commit that enqueued work.
	Wake func()
	// Handoff, when set, takes the cards of new conversations straight to
	// the dispatcher of this process, claimed as they are written.
	Handoff Handoffer
	// Observe, when set, counts events.
	Observe Observer

	intake group[*inboundCall]
}

// Observer receives counts for metrics. Implementations must be fast and
// safe for concurrent use.
type Observer interface {
	Inbound(platform, kind string)
	Ignored(platform, reason string)
}

// Outcome says what handling an event did.
type Outcome string

// Outcomes of handling an event.
const (
	OutcomeStored    Outcome = "stored"
	OutcomeDuplicate Outcome = "duplicate" // seen before: nothing changed
	OutcomeIgnored   Outcome = "ignored"   // not for the bridge (bot's own, outside a ticket thread)
	OutcomeOwnEcho   Outcome = "own_echo"  // the support account's own message coming back from X
)

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

// inTx runs fn in a transaction, retrying on ECONFLICT (see retrying), and
// wakes the dispatcher after.
func (s *Service) inTx(ctx context.Context, fn func(tx Tx) error) error {
	err := s.retrying(ctx, fn)
	if err == nil && s.Wake != nil {
		s.Wake()
	}
	return err
}

// retrying runs fn in a transaction, again on ECONFLICT (two events racing
// to create the same conversation, a deadlock the database broke).
func (s *Service) retrying(ctx context.Context, fn func(tx Tx) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.Store.InTx(ctx, fn)
		if ErrorCode(err) != ECONFLICT {
			break
		}
	}
	return err
}

func (s *Service) observeIgnored(platform, reason string) {
	if s.Observe != nil {
		s.Observe.Ignored(platform, reason)
	}
}

// HandleInbound records a DM or mention from X. Concurrent calls share
// transactions (see group); each returns once its event is committed.
func (s *Service) HandleInbound(ctx context.Context, ev InboundMessage) (Outcome, error) {
	if ev.EventID == "" || ev.Account == "" || ev.Sender.ID == "" {
		return "", Errorf(EINVALID, "inbound event lacks an id, account or sender")
	}
	c := &inboundCall{ev: ev}
	s.intake.do(c, func(batch []*inboundCall) { s.writeInbound(ctx, batch) }, func(c *inboundCall, p any) {
		c.out, c.err = "", Errorf(EINTERNAL, "inbound event not written: %v", p)
	})
	if c.err != nil {
		return "", fmt.Errorf("inbound x event %s: %w", ev.EventID, c.err)
	}
	if s.Observe != nil {
		if c.out == OutcomeStored {
			s.Observe.Inbound("x", string(ev.Kind))
		} else {
			s.observeIgnored("x", string(c.out))
		}
	}
	return c.out, nil
}

// inbound records one inbound event in tx. pre holds what the batch
// already did for it (nil when it is written on its own).
func (s *Service) inbound(ctx context.Context, tx Tx, ev InboundMessage, pre *prepared, cl *claims) (Outcome, error) {
	if ev.Sender.ID == ev.Account {
		return s.ownEcho(ctx, tx, ev)
	}
	fresh := pre != nil && pre.fresh
	if pre == nil {
		var err error
		if fresh, err = tx.MarkSeen(ctx, "x", ev.EventID); err != nil {
			return "", err
		}
	}
	if !fresh {
		return OutcomeDuplicate, nil
	}
	return OutcomeStored, s.recordInbound(ctx, tx, ev, pre, cl)
}

func (s *Service) recordInbound(ctx context.Context, tx Tx, ev InboundMessage, pre *prepared, cl *claims) error {
	now := s.now()
	var cust Customer
	if pre != nil {
		cust = *pre.customer
	} else {
		cust = sender(ev, now)
		if err := tx.UpsertCustomer(ctx, &cust); err != nil {
			return err
		}
	}
	conv, opened, err := s.conversationFor(ctx, tx, ev, &cust, now, pre)
	if err != nil {
		return err
	}
	if opened == openedRating {
		_, err := s.csatAnswer(ctx, tx, conv, &cust, ev, now)
		return err
	}
	automated := strings.HasPrefix(conv.Automation, automationFAQ)
	answered := opened == openedExisting && conv.Status == StatusPending && !automated
	if answered {
		conv.Status = StatusOpen
	}
	if opened != openedNew { // a new conversation was written complete
		if ev.Kind == KindMention {
			conv.ReplyToID = replyTo(ev)
		}
		conv.UpdatedAt = now
		if err := tx.UpdateConversation(ctx, conv); err != nil {
			return err
		}
	}
	at := ev.CreatedAt
	if at.IsZero() {
		at = now
	}
	msg := Message{
		ConversationID: conv.ID, Direction: DirectionIn, AuthorID: cust.XUserID,
		AuthorName: cust.DisplayName(), Text: inboundText(ev), XID: ev.EventID, CreatedAt: at.UTC(),
	}
	if err := tx.InsertMessage(ctx, &msg); err != nil {
		return err
	}
	files, err := s.recordInboundMedia(ctx, tx, conv, &msg, ev.Media)
	if err != nil {
		return err
	}
	change := map[opening]slaChange{openedNew: slaOpened, openedReopened: slaReopened, openedExisting: slaCustomerWrote}[opened]
	slaChanged, err := s.updateSLA(ctx, tx, conv, change)
	if err != nil {
		return err
	}
	if opened == openedNew {
		// The card comes first in the thread — it makes the thread — and
		// brings the message that opened the conversation with it. It goes
		// out as soon as this commits when a worker is set aside for it.
		card := s.chatItem(conv, EffectCard, "card", msg.ID, Payload{})
		cl.take(card, now)
		if err := tx.Enqueue(ctx, card); err != nil {
			return err
		}
	}
	tierItems, err := s.firstTier(ctx, tx, conv, &cust, &msg, opened)
	if err != nil {
		return err
	}
	if s.Tier != nil {
		conv.UpdatedAt = now
		if err := tx.UpdateConversation(ctx, conv); err != nil {
			return err
		}
	}
	if opened == openedNew {
		items := append(files, tierItems...)
		if agent, err := s.autoAssign(ctx, tx, conv); err != nil {
			return err
		} else if agent != nil {
			if err := tx.UpdateConversation(ctx, conv); err != nil {
				return err
			}
			more, err := s.assignedItems(ctx, tx, conv, agent)
			if err != nil {
				return err
			}
			items = append(items, more...)
		}
		return tx.Enqueue(ctx, items...)
	}
	var items []*OutboxItem
	if slaChanged && !answered && opened != openedReopened {
		items = append(items, s.slaCardItem(conv, fmt.Sprintf("in:%d", msg.ID)))
	}
	if answered {
		items = append(items,
			s.chatItem(conv, EffectCardUpdate, fmt.Sprintf("card:%d", msg.ID), 0, Payload{}),
			s.notice(conv, fmt.Sprintf("answered:%d", msg.ID), PostNotice, "The customer answered: no longer waiting on them.", conv.AssigneeID))
	}
	if opened == openedReopened {
		items = append(items,
			s.chatItem(conv, EffectCardUpdate, fmt.Sprintf("card:%d", msg.ID), 0, Payload{}),
			s.notice(conv, fmt.Sprintf("reopen:%d", msg.ID), PostNotice, "Reopened: the customer wrote again."))
	}
	items = append(items, customerPostItem(conv, msg.ID, s.now()))
	items = append(items, files...)
	return tx.Enqueue(ctx, append(items, tierItems...)...)
}

// replyTo is the tweet a public reply to ev answers.
func replyTo(ev InboundMessage) string {
	if ev.Kind == KindMention {
		return ev.EventID
	}
	return ""
}

type opening int

const (
	openedExisting opening = iota
	openedNew
	openedReopened
	openedRating // a closed conversation's CSAT answer: it stays closed
)

// sender is the customer who sent ev, as of now.
func sender(ev InboundMessage, now time.Time) Customer {
	return Customer{
		XUserID: ev.Sender.ID, Handle: ev.Sender.Handle, Name: ev.Sender.Name,
		AvatarURL: ev.Sender.AvatarURL, Followers: ev.Sender.Followers,
		Verified: ev.Sender.Verified, UpdatedAt: now,
	}
}

// directKey is the key of ev's conversation when it follows from ev alone:
// not for a mention replying to a tweet, whose conversation is that
// tweet's.
func directKey(ev InboundMessage) (string, bool) {
	if ev.Kind == KindMention && ev.InReplyToID != "" {
		return "", false
	}
	return cmp.Or(ev.ConversationKey, ev.InReplyToID, ev.EventID), true
}

// conversationFor finds the conversation an inbound message belongs to,
// reopening or starting one as needed.
func (s *Service) conversationFor(ctx context.Context, tx Tx, ev InboundMessage, cust *Customer, now time.Time, pre *prepared) (*Conversation, opening, error) {
	key := ev.ConversationKey
	if ev.Kind == KindMention && ev.InReplyToID != "" {
		// A reply to a tweet we know belongs to that tweet's conversation.
		if m, err := tx.MessageByXID(ctx, ev.InReplyToID); err == nil {
			c, err := tx.Conversation(ctx, m.ConversationID)
			if err != nil {
				return nil, 0, err
			}
			if c.CustomerID == cust.ID && c.Kind == KindMention {
				key = c.XKey
			}
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, 0, err
		}
	}
	if key == "" {
		key = ev.InReplyToID
	}
	if key == "" {
		key = ev.EventID
	}
	var prev *Conversation
	if k := (ConversationKey{ev.Account, ev.Kind, key, cust.ID}); pre != nil && pre.looked && pre.key == k {
		if pre.created != nil {
			return pre.created, openedNew, nil
		}
		prev = pre.latest
	} else {
		var err error
		prev, err = tx.LatestConversation(ctx, ev.Account, ev.Kind, key, cust.ID)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, 0, err
		}
	}
	c, opened := s.fromLatest(ev, cust, key, prev, now)
	switch opened {
	case openedReopened:
		c.Status = StatusOpen
		c.ClosedAt = time.Time{}
	case openedNew:
		if err := tx.CreateConversation(ctx, c); err != nil {
			return nil, 0, err
		}
	}
	return c, opened, nil
}

// fromLatest decides which conversation an event of key belongs to, given
// the newest conversation of that key and customer (nil when there is
// none): prev itself — rated, still active, or closed recently enough to
// be reopened, which is the caller's to do — or a new one, not created
// yet.
func (s *Service) fromLatest(ev InboundMessage, cust *Customer, key string, prev *Conversation, now time.Time) (*Conversation, opening) {
	if prev != nil {
		if _, ok := s.rating(prev, ev.Text, now); ok {
			return prev, openedRating
		}
		switch {
		case prev.Status != StatusClosed:
			return prev, openedExisting
		case now.Sub(prev.ClosedAt) <= s.ReopenWindow:
			return prev, openedReopened
		}
	}
	platform, channel := s.route(ev)
	c := &Conversation{
		Kind: ev.Kind, Account: ev.Account, XKey: key, CustomerID: cust.ID,
		Status: StatusOpen, Priority: PriorityNormal, ReplyToID: replyTo(ev),
		ChatPlatform: platform, ChatChannel: channel, Language: DetectLanguage(ev.Text),
		CreatedAt: now, UpdatedAt: now,
	}
	if prev != nil {
		c.PreviousID = prev.ID
	}
	return c, openedNew
}

// ownEcho handles a message the support account sent, coming back through
// ingest: a reply the bridge sent is matched to its row; one sent on X
// directly is shown in the thread so agents see the whole exchange.
//
// Unlike a customer's event, an echo marks its id seen only after locking
// the conversation: the dispatcher recording the same send marks that id
// seen under the conversation's lock too, and the two taking their locks
// in opposite orders would deadlock.
func (s *Service) ownEcho(ctx context.Context, tx Tx, ev InboundMessage) (Outcome, error) {
	if _, err := tx.MessageByXID(ctx, ev.EventID); err == nil {
		return OutcomeOwnEcho, nil
	} else if ErrorCode(err) != ENOTFOUND {
		return "", err
	}
	conv, err := s.echoConversation(ctx, tx, ev)
	if ErrorCode(err) == ENOTFOUND {
		if _, err := tx.MarkSeen(ctx, "x", ev.EventID); err != nil {
			return "", err
		}
		return OutcomeIgnored, nil
	} else if err != nil {
		return "", err
	}
	if fresh, err := tx.MarkSeen(ctx, "x", ev.EventID); err != nil {
		return "", err
	} else if !fresh {
		return OutcomeDuplicate, nil
	}
	// The echo can overtake the send's own completion: match a send of the
	// same text to this conversation that is still in flight.
	inflight, err := tx.OutboxForConversation(ctx, conv.ID, OutboxInflight, OutboxUnknown)
	if err != nil {
		return "", err
	}
	for _, it := range inflight {
		if it.Effect.IsX() && it.Payload.Text == ev.Text {
			items, err := completeSend(ctx, tx, s.now(), it, it.State, ev.EventID, it.Attempts, s.Tier != nil && s.readPolicy() == ReadOnReply)
			if err != nil {
				return "", err
			}
			return OutcomeOwnEcho, tx.Enqueue(ctx, items...)
		}
	}
	now := s.now()
	msg := Message{
		ConversationID: conv.ID, Direction: DirectionOut, AuthorID: ev.Account,
		AuthorName: "@" + ev.Sender.Handle, Text: ev.Text, XID: ev.EventID,
		Delivery: DeliverySent, CreatedAt: now, SentAt: now,
	}
	if err := tx.InsertMessage(ctx, &msg); err != nil {
		return "", err
	}
	return OutcomeStored, tx.Enqueue(ctx, s.notice(conv, fmt.Sprintf("direct:%d", msg.ID), PostNotice,
		"Sent directly on X by the support account:\n"+ev.Text))
}

func (s *Service) echoConversation(ctx context.Context, tx Tx, ev InboundMessage) (*Conversation, error) {
	if ev.Kind == KindMention {
		if ev.InReplyToID == "" {
			return nil, Errorf(ENOTFOUND, "not a reply")
		}
		m, err := tx.MessageByXID(ctx, ev.InReplyToID)
		if err != nil {
			return nil, err
		}
		return tx.Conversation(ctx, m.ConversationID)
	}
	if ev.RecipientID == "" {
		return nil, Errorf(ENOTFOUND, "no recipient")
	}
	cust, err := tx.CustomerByXUserID(ctx, ev.RecipientID)
	if err != nil {
		return nil, err
	}
	return tx.ActiveConversation(ctx, ev.Account, KindDM, ev.ConversationKey, cust.ID)
}

// HandleChatMessage records a message an agent posted in a ticket thread:
// a reply for the customer, an internal note, or a command.
func (s *Service) HandleChatMessage(ctx context.Context, m ChatMessage) (Outcome, error) {
	if m.ThreadID == "" || m.ThreadID == m.MessageID {
		s.observeIgnored(m.Platform, "not_in_thread")
		return OutcomeIgnored, nil
	}
	out := OutcomeStored
	err := s.inTx(ctx, func(tx Tx) error {
		if fresh, err := tx.MarkSeen(ctx, m.Platform, m.EventID); err != nil || !fresh {
			out = OutcomeDuplicate
			return err
		}
		conv, err := tx.ConversationByThread(ctx, m.Platform, m.Channel, m.ThreadID)
		if ErrorCode(err) == ENOTFOUND {
			return s.recordEngineerMessage(ctx, tx, m, &out)
		} else if err != nil {
			return err
		}
		return s.recordAgentMessage(ctx, tx, conv, m)
	})
	if err != nil {
		return "", fmt.Errorf("chat message %s: %w", m.MessageID, err)
	}
	if out == OutcomeStored && s.Observe != nil {
		s.Observe.Inbound(m.Platform, "message")
	} else if out != OutcomeStored {
		s.observeIgnored(m.Platform, string(out))
	}
	return out, nil
}

func (s *Service) recordAgentMessage(ctx context.Context, tx Tx, conv *Conversation, m ChatMessage) error {
	text := strings.TrimSpace(m.Text)
	// Only support agents' plain replies reach the customer; engineers and
	// others who join the thread are internal unless they use `reply`.
	internal := (s.NotePrefix != "" && strings.HasPrefix(text, s.NotePrefix)) ||
		(s.CommandPrefix != "" && strings.HasPrefix(text, s.CommandPrefix)) ||
		(m.Roles != nil && !hasRole(m.Roles, RoleAgent))
	if internal {
		msg := Message{ConversationID: conv.ID, Direction: DirectionNote, AuthorID: m.UserID, AuthorName: m.UserName,
			Text: text, ChatID: m.MessageID, CreatedAt: s.now()}
		return tx.InsertMessage(ctx, &msg)
	}
	_, err := s.recordReply(ctx, tx, conv, m)
	return err
}

// recordReply records a reply for the customer and schedules its sends
// after the send delay; one that breaks X's rules is refused in the thread.
func (s *Service) recordReply(ctx context.Context, tx Tx, conv *Conversation, m ChatMessage) (*Message, error) {
	now := s.now()
	text := strings.TrimSpace(m.Text)
	msg := &Message{
		ConversationID: conv.ID, Direction: DirectionOut, AuthorID: m.UserID, AuthorName: m.UserName,
		Text: text, ChatID: m.MessageID, CreatedAt: now,
	}
	parts, err := s.replyParts(conv.Kind, text, m.Files)
	if err != nil {
		msg.Delivery = DeliveryRefused
		msg.DeliveryError = ErrorMessage(err)
		if err := tx.InsertMessage(ctx, msg); err != nil {
			return nil, err
		}
		return msg, tx.Enqueue(ctx,
			s.mark(conv, msg, ReactionFailed, true, "refused"),
			s.notice(conv, fmt.Sprintf("refused:%d", msg.ID), PostWarning, "Not sent to the customer: "+ErrorMessage(err)))
	}
	msg.Delivery = DeliveryScheduled
	if err := tx.InsertMessage(ctx, msg); err != nil {
		return nil, err
	}
	items := s.sendItems(conv, msg, parts, "send", now.Add(s.SendDelay))
	uploads, err := s.recordReplyFiles(ctx, tx, conv, msg, m.Files, items)
	if err != nil {
		return nil, err
	}
	items = append(uploads, items...)
	if s.Tier != nil && s.readPolicy() != ReadNever && conv.Kind == KindDM {
		// The customer sees the support account typing while the reply
		// waits out its send delay.
		items = append(items, xSyncItem(conv, EffectTyping, fmt.Sprintf("typing:%d", msg.ID), Payload{}, now))
	}
	if changed, err := s.updateSLA(ctx, tx, conv, slaAgentReplied); err != nil {
		return nil, err
	} else if changed {
		items = append(items, s.slaCardItem(conv, fmt.Sprintf("reply:%d", msg.ID)))
	}
	if msg.ChatID != "" {
		items = append(items, s.mark(conv, msg, ReactionWaiting, true, "send"))
	}
	return msg, tx.Enqueue(ctx, items...)
}

// recordEngineerMessage mirrors a message in an escalation thread into the
// support thread as an internal note.
func (s *Service) recordEngineerMessage(ctx context.Context, tx Tx, m ChatMessage, out *Outcome) error {
	esc, err := tx.EscalationByThread(ctx, m.Platform, m.Channel, m.ThreadID)
	if ErrorCode(err) == ENOTFOUND {
		if m.InBotThread {
			return Errorf(EUNAVAILABLE, "the thread %s is not recorded yet; deliver the message again", m.ThreadID)
		}
		*out = OutcomeIgnored
		return nil
	} else if err != nil {
		return err
	}
	text := strings.TrimSpace(m.Text)
	if s.CommandPrefix != "" && strings.HasPrefix(text, s.CommandPrefix) {
		*out = OutcomeIgnored // a command, handled by the command processor
		return nil
	}
	conv, err := tx.Conversation(ctx, esc.ConversationID)
	if err != nil {
		return err
	}
	name := nameOr(m.UserName, m.UserID)
	msg := Message{ConversationID: conv.ID, Direction: DirectionNote, AuthorID: m.UserID, AuthorName: name,
		Text: text, CreatedAt: s.now()}
	if err := tx.InsertMessage(ctx, &msg); err != nil {
		return err
	}
	return tx.Enqueue(ctx, s.notice(conv, fmt.Sprintf("eng:%d", msg.ID), PostNotice,
		fmt.Sprintf("Engineering · %s: %s", name, text)))
}

// HandleChatEdit applies an agent's edit: inside the send delay it changes
// what goes out; after, the thread is told the customer saw the original.
func (s *Service) HandleChatEdit(ctx context.Context, e ChatEdit) error {
	return s.inTx(ctx, func(tx Tx) error {
		if fresh, err := tx.MarkSeen(ctx, e.Platform, e.EventID); err != nil || !fresh {
			return err
		}
		msg, conv, err := s.chatMessage(ctx, tx, e.Platform, e.Channel, e.MessageID)
		if err != nil || msg == nil {
			return err
		}
		text := strings.TrimSpace(e.Text)
		if msg.Direction != DirectionOut {
			msg.Text = text
			return tx.UpdateMessage(ctx, msg)
		}
		if msg.Delivery != DeliveryScheduled {
			return s.tooLate(ctx, tx, conv, msg, "edit", "Already sent: the customer keeps the original text; the edit was not sent.")
		}
		items, err := tx.OutboxForMessage(ctx, msg.ID)
		if err != nil {
			return err
		}
		if !allPending(items) {
			return s.tooLate(ctx, tx, conv, msg, "edit", "Already on its way: the customer gets the original text; the edit was not sent.")
		}
		if err := cancelItems(ctx, tx, items); err != nil {
			return err
		}
		msg.Text = text
		media := carriesMedia(items)
		parts, err := s.textParts(conv.Kind, text, media)
		if err != nil {
			msg.Delivery = DeliveryRefused
			msg.DeliveryError = ErrorMessage(err)
			if err := tx.UpdateMessage(ctx, msg); err != nil {
				return err
			}
			return tx.Enqueue(ctx,
				s.mark(conv, msg, ReactionWaiting, false, "edit:"+e.EventID),
				s.mark(conv, msg, ReactionFailed, true, "edit:"+e.EventID),
				s.notice(conv, "refused-edit:"+e.EventID, PostWarning, "Edit not sent to the customer: "+ErrorMessage(err)))
		}
		if err := tx.UpdateMessage(ctx, msg); err != nil {
			return err
		}
		notBefore := firstSend(items).NotBefore
		sends := s.sendItems(conv, msg, parts, "edit:"+e.EventID, notBefore)
		if media {
			markMedia(sends)
		}
		return tx.Enqueue(ctx, sends...)
	})
}

// HandleChatDelete cancels a reply still inside its send delay.
func (s *Service) HandleChatDelete(ctx context.Context, d ChatDelete) error {
	return s.inTx(ctx, func(tx Tx) error {
		if fresh, err := tx.MarkSeen(ctx, d.Platform, d.EventID); err != nil || !fresh {
			return err
		}
		msg, conv, err := s.chatMessage(ctx, tx, d.Platform, d.Channel, d.MessageID)
		if err != nil || msg == nil || msg.Direction != DirectionOut {
			return err
		}
		if msg.Delivery != DeliveryScheduled {
			if msg.Delivery == DeliverySent {
				return s.tooLate(ctx, tx, conv, msg, "delete", "A deleted reply had already reached the customer:\n> "+msg.Text)
			}
			return nil
		}
		items, err := tx.OutboxForMessage(ctx, msg.ID)
		if err != nil {
			return err
		}
		if !allPending(items) {
			return s.tooLate(ctx, tx, conv, msg, "delete", "A deleted reply was already on its way to the customer:\n> "+msg.Text)
		}
		if err := cancelItems(ctx, tx, items); err != nil {
			return err
		}
		msg.Delivery = DeliveryCancelled
		if err := tx.UpdateMessage(ctx, msg); err != nil {
			return err
		}
		return tx.Enqueue(ctx, s.notice(conv, fmt.Sprintf("cancelled:%d", msg.ID), PostNotice,
			"Send cancelled: the reply was deleted before it went out."))
	})
}

// HandleChatAction performs a button click.
func (s *Service) HandleChatAction(ctx context.Context, a ChatAction) error {
	switch a.Action {
	case ActionResend:
		return s.resend(ctx, a)
	}
	return Errorf(EINVALID, "Unknown action %q.", a.Action)
}

func (s *Service) resend(ctx context.Context, a ChatAction) error {
	var id int64
	if _, err := fmt.Sscan(a.Value, &id); err != nil {
		return Errorf(EINVALID, "Bad message reference %q.", a.Value)
	}
	return s.inTx(ctx, func(tx Tx) error {
		if fresh, err := tx.MarkSeen(ctx, a.Platform, a.EventID); err != nil || !fresh {
			return err
		}
		msg, err := tx.Message(ctx, id)
		if err != nil {
			return err
		}
		if msg.Delivery != DeliveryUnknown && msg.Delivery != DeliveryFailed {
			return Errorf(ECONFLICT, "That reply is %s; nothing to resend.", msg.Delivery)
		}
		conv, err := tx.Conversation(ctx, msg.ConversationID)
		if err != nil {
			return err
		}
		prev, err := tx.OutboxForMessage(ctx, msg.ID)
		if err != nil {
			return err
		}
		media := carriesMedia(prev)
		parts, err := s.textParts(conv.Kind, msg.Text, media)
		if err != nil {
			return err
		}
		msg.Delivery = DeliveryScheduled
		msg.DeliveryError = ""
		if err := tx.UpdateMessage(ctx, msg); err != nil {
			return err
		}
		key := "resend:" + a.EventID
		// Parts X already accepted are not sent again.
		done := latestParts(prev)
		var items []*OutboxItem
		if media {
			// Files X no longer holds go up again first.
			if items, err = reuploadItems(ctx, tx, conv, msg.ID, key, s.now()); err != nil {
				return err
			}
		}
		sends := s.sendItems(conv, msg, parts, key, s.now())
		if media {
			markMedia(sends)
		}
		for _, it := range sends {
			if d, ok := done[it.Payload.Part]; !ok || d.State != OutboxDone {
				items = append(items, it)
			}
		}
		items = append(items,
			s.mark(conv, msg, ReactionFailed, false, key),
			s.mark(conv, msg, ReactionWaiting, true, key),
			s.notice(conv, key, PostNotice, fmt.Sprintf("Resending at the request of %s.", nameOr(a.UserName, a.UserID))))
		return tx.Enqueue(ctx, items...)
	})
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// chatMessage finds a message by its chat id with its conversation; nil
// when the message is not one the bridge knows.
func (s *Service) chatMessage(ctx context.Context, tx Tx, platform, channel, chatID string) (*Message, *Conversation, error) {
	msg, err := tx.MessageByChatID(ctx, platform, channel, chatID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	conv, err := tx.Conversation(ctx, msg.ConversationID)
	if err != nil {
		return nil, nil, err
	}
	return msg, conv, nil
}

func (s *Service) tooLate(ctx context.Context, tx Tx, conv *Conversation, msg *Message, what, text string) error {
	return tx.Enqueue(ctx, s.notice(conv, fmt.Sprintf("late-%s:%d:%d", what, msg.ID, s.now().UnixNano()), PostWarning, text))
}

func allPending(items []*OutboxItem) bool {
	live := 0
	for _, it := range items {
		if !it.Effect.IsX() {
			continue
		}
		switch it.State {
		case OutboxPending:
			live++
		case OutboxCancelled:
		default:
			return false
		}
	}
	return live > 0
}

func cancelItems(ctx context.Context, tx Tx, items []*OutboxItem) error {
	for _, it := range items {
		if !it.Effect.IsX() || it.State != OutboxPending {
			continue
		}
		it.State = OutboxCancelled
		if err := tx.UpdateOutbox(ctx, it, OutboxPending, it.Attempts); err != nil {
			return err
		}
	}
	return nil
}

// sendItems builds the X sends of a reply's parts.
func (s *Service) sendItems(conv *Conversation, msg *Message, parts []string, key string, notBefore time.Time) []*OutboxItem {
	effect, lane := EffectDM, "x:"+conv.Account+":dm"
	if conv.Kind == KindMention {
		effect, lane = EffectReply, "x:"+conv.Account+":tweet"
	}
	items := make([]*OutboxItem, 0, len(parts))
	for i, p := range parts {
		items = append(items, &OutboxItem{
			Effect: effect, Lane: lane, SeqKey: fmt.Sprintf("x:%d", conv.ID),
			Priority: PriorityCustomerReply, IdemKey: fmt.Sprintf("msg:%d:%s:%d", msg.ID, key, i),
			ConversationID: conv.ID, MessageID: msg.ID,
			Payload: Payload{Text: p, Part: i, Parts: len(parts)}, NotBefore: notBefore,
			State: OutboxPending, CreatedAt: s.now(),
		})
	}
	return items
}

// chatItem builds an effect in the conversation's thread.
func chatItem(conv *Conversation, effect Effect, key string, msgID int64, p Payload, now time.Time) *OutboxItem {
	prio := PriorityThread
	if effect == EffectReact || effect == EffectUnreact {
		prio = PriorityMark
	}
	return &OutboxItem{
		Effect: effect, Lane: chatLane(conv, effect),
		SeqKey: fmt.Sprintf("chat:%d", conv.ID), Priority: prio,
		IdemKey:        fmt.Sprintf("conv:%d:%s:%s", conv.ID, effect, key),
		ConversationID: conv.ID, MessageID: msgID, Payload: p, NotBefore: now,
		State: OutboxPending, CreatedAt: now,
	}
}

// customerPostItem posts a customer's message in the thread.
func customerPostItem(conv *Conversation, msgID int64, now time.Time) *OutboxItem {
	return chatItem(conv, EffectPost, fmt.Sprintf("in:%d", msgID), msgID, Payload{Kind: PostCustomer}, now)
}

// noticeItem builds a post by the bridge in the conversation's thread.
func noticeItem(conv *Conversation, key string, kind PostKind, text string, now time.Time, buttons ...Button) *OutboxItem {
	return chatItem(conv, EffectPost, key, 0, Payload{Kind: kind, Text: text, Buttons: buttons}, now)
}

// markItem builds the addition or removal of a delivery mark on an agent's
// message.
func markItem(conv *Conversation, msg *Message, r Reaction, add bool, key string, now time.Time) *OutboxItem {
	effect := EffectReact
	if !add {
		effect = EffectUnreact
	}
	return chatItem(conv, effect, fmt.Sprintf("%d:%s:%s", msg.ID, r, key), msg.ID, Payload{Reaction: r}, now)
}

func (s *Service) chatItem(conv *Conversation, effect Effect, key string, msgID int64, p Payload) *OutboxItem {
	return chatItem(conv, effect, key, msgID, p, s.now())
}

func (s *Service) notice(conv *Conversation, key string, kind PostKind, text string, mention ...string) *OutboxItem {
	it := noticeItem(conv, key, kind, text, s.now())
	for _, m := range mention {
		if m != "" {
			it.Payload.Mention = append(it.Payload.Mention, m)
		}
	}
	return it
}

func (s *Service) mark(conv *Conversation, msg *Message, r Reaction, add bool, key string) *OutboxItem {
	return markItem(conv, msg, r, add, key, s.now())
}

// Cursor returns a named ingest cursor ("" when unset).
func (s *Service) Cursor(ctx context.Context, name string) (string, error) {
	var v string
	err := s.Store.InTx(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Cursor(ctx, name)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return "", nil
	}
	return v, err
}

// SetCursor stores a named ingest cursor.
func (s *Service) SetCursor(ctx context.Context, name, value string) error {
	return s.Store.InTx(ctx, func(tx Tx) error { return tx.SetCursor(ctx, name, value) })
}
