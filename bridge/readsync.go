package bridge

import (
	"context"
	"fmt"
	"time"
)

// InboundRead is a customer's read receipt for DMs (X's
// direct_message_mark_read_events): they read up to LastReadEventID.
type InboundRead struct {
	Account         string // the support account
	CustomerID      string // the X user who read
	ConversationKey string // dm_conversation_id
	LastReadEventID string
	At              time.Time
}

// InboundTyping says a customer is typing a DM.
type InboundTyping struct {
	Account         string
	CustomerID      string
	ConversationKey string
	At              time.Time
}

// ReadSync is an optional XPlatform ability: marking the customer's DMs
// read, and showing them the support account is typing.
type ReadSync interface {
	MarkRead(ctx context.Context, account, customerID, lastEventID string) error
	ShowTyping(ctx context.Context, account, customerID string) error
}

// MessageDeleter is an optional ChatPlatform ability: removing a message
// the bridge posted (the brief "customer is typing" notice).
type MessageDeleter interface {
	DeleteMessage(ctx context.Context, channel, threadID, messageID string) error
}

// ReactionSeen marks an agent's message the customer has read.
const ReactionSeen Reaction = "seen"

// dmConversation finds a customer's active DM conversation.
func (s *Service) dmConversation(ctx context.Context, tx Tx, account, key, customerID string) (*Conversation, error) {
	cust, err := tx.CustomerByXUserID(ctx, customerID)
	if err != nil {
		return nil, err
	}
	return tx.ActiveConversation(ctx, account, KindDM, key, cust.ID)
}

// HandleRead puts a "seen" mark on the agents' messages the customer has
// now read.
func (s *Service) HandleRead(ctx context.Context, ev InboundRead) error {
	err := s.inTx(ctx, func(tx Tx) error {
		conv, err := s.dmConversation(ctx, tx, ev.Account, ev.ConversationKey, ev.CustomerID)
		if err != nil {
			return err
		}
		recent, err := tx.RecentMessages(ctx, conv.ID, 50)
		if err != nil {
			return err
		}
		now := s.now()
		var items []*OutboxItem
		for _, m := range recent {
			if m.Direction != DirectionOut || m.Delivery != DeliverySent || !m.SeenAt.IsZero() || m.XID == "" ||
				idAfter(m.XID, ev.LastReadEventID) {
				continue
			}
			m.SeenAt = now
			if err := tx.UpdateMessage(ctx, m); err != nil {
				return err
			}
			if m.ChatID != "" {
				items = append(items, s.mark(conv, m, ReactionSeen, true, "seen"))
			}
		}
		return tx.Enqueue(ctx, items...)
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil // a conversation the bridge does not work
	}
	return err
}

// idAfter compares X ids (decimal snowflakes): a comes after b.
func idAfter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

// HandleTyping shows, briefly and at most every TypingEvery, that the
// customer is typing.
func (s *Service) HandleTyping(ctx context.Context, ev InboundTyping) error {
	every := 2 * time.Minute
	if s.Tier != nil && s.Tier.TypingEvery > 0 {
		every = s.Tier.TypingEvery
	}
	err := s.inTx(ctx, func(tx Tx) error {
		conv, err := s.dmConversation(ctx, tx, ev.Account, ev.ConversationKey, ev.CustomerID)
		if err != nil {
			return err
		}
		now := s.now()
		if !conv.TypingAt.IsZero() && now.Sub(conv.TypingAt) < every {
			return nil
		}
		conv.TypingAt = now
		if err := tx.UpdateConversation(ctx, conv); err != nil {
			return err
		}
		post := s.notice(conv, fmt.Sprintf("typing:%d", now.UnixNano()), PostNotice, "✍️ The customer is typing…")
		unpost := s.chatItem(conv, EffectUnpost, post.IdemKey, 0, Payload{Ref: post.IdemKey})
		unpost.NotBefore = now.Add(20 * time.Second)
		return tx.Enqueue(ctx, post, unpost)
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	return err
}

// readPolicy is the configured read policy.
func (s *Service) readPolicy() string {
	if s.Tier == nil || s.Tier.ReadPolicy == "" {
		return ReadOnReply
	}
	return s.Tier.ReadPolicy
}

// readItem marks the customer's DMs read up to their latest message.
func readItem(ctx context.Context, tx Tx, conv *Conversation, key string, now time.Time) (*OutboxItem, error) {
	if conv.Kind != KindDM {
		return nil, nil
	}
	recent, err := tx.RecentMessages(ctx, conv.ID, 20)
	if err != nil {
		return nil, err
	}
	last := ""
	for _, m := range recent {
		if m.Direction == DirectionIn && m.XID != "" {
			last = m.XID
		}
	}
	if last == "" {
		return nil, nil
	}
	return xSyncItem(conv, EffectMarkRead, key, Payload{Text: last}, now), nil
}

// xSyncItem builds a read-receipt or typing effect towards X.
func xSyncItem(conv *Conversation, effect Effect, key string, p Payload, now time.Time) *OutboxItem {
	return &OutboxItem{
		Effect: effect, Lane: "x:" + conv.Account + ":read", SeqKey: fmt.Sprintf("xsync:%d", conv.ID),
		Priority: PriorityMark, IdemKey: fmt.Sprintf("conv:%d:%s:%s", conv.ID, effect, key),
		ConversationID: conv.ID, Payload: p, NotBefore: now, State: OutboxPending, CreatedAt: now,
	}
}

// readSyncNote says once, in the logs, that X refused read receipts or
// typing, and keeps the reason for /readyz.
func (d *Dispatcher) readSyncRefused(reason string) {
	d.readSyncMu.Lock()
	defer d.readSyncMu.Unlock()
	if d.readSyncErr == "" {
		d.Logger.Warn("X refuses read receipts or typing indicators; the bridge goes on without them", "reason", reason)
	}
	d.readSyncErr = reason
}

// ReadSyncStatus is why read receipts or typing do not reach X ("" when
// they do, or were never tried).
func (d *Dispatcher) ReadSyncStatus() string {
	d.readSyncMu.Lock()
	defer d.readSyncMu.Unlock()
	return d.readSyncErr
}

// performReadSync calls X for a read receipt or a typing indicator.
func (d *Dispatcher) performReadSync(ctx context.Context, it *OutboxItem, conv *Conversation, cust *Customer) error {
	rs, ok := d.X.(ReadSync)
	if !ok {
		return nil
	}
	var err error
	if it.Effect == EffectMarkRead {
		err = rs.MarkRead(ctx, conv.Account, cust.XUserID, it.Payload.Text)
	} else {
		err = rs.ShowTyping(ctx, conv.Account, cust.XUserID)
	}
	if de := AsDeliveryError(err); err != nil && !de.Temporary && !de.RateLimited {
		d.readSyncRefused(de.Reason)
		return nil // degrade quietly: nothing for agents to act on
	}
	return err
}

func isReadSync(e Effect) bool { return e == EffectMarkRead || e == EffectTyping }
