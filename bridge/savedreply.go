package bridge

import (
	"context"
	"strings"
	"time"
)

// Saved replies: named templates an agent sends with reply-with. The
// template is rendered for the conversation and shown to the agent alone as
// a preview; nothing reaches the customer until they click Send, and then
// exactly the text they saw goes out, as a reply they typed would.

// SavedReply is a named reply template. Its text may use {customer},
// {handle}, {ticket}, {agent} and {due} (when the conversation's next SLA
// target is due, in the calendar's zone).
type SavedReply struct {
	Name string
	Text string
	// ByLanguage holds translations by language code; the conversation's
	// language picks one, else Text is sent, else the English one.
	ByLanguage map[string]string
}

// textFor picks the template for a conversation's language.
func (r *SavedReply) textFor(lang string) string {
	if t, ok := r.ByLanguage[lang]; ok && t != "" {
		return t
	}
	if r.Text != "" {
		return r.Text
	}
	return r.ByLanguage["en"]
}

// PreviewState is where a reply preview stands.
type PreviewState string

// Preview states.
const (
	PreviewPending   PreviewState = "pending"   // shown, waiting for Send or Cancel
	PreviewSent      PreviewState = "sent"      // Send recorded the reply
	PreviewCancelled PreviewState = "cancelled" // Cancel: nothing was sent
)

// PreviewTTL is how long a preview can be sent (an hour, as the refusal
// says): after it, the agent asks for a fresh one, whose {due} is current.
const PreviewTTL = time.Hour

// ReplyPreview is a saved reply rendered for one conversation and shown to
// the agent who asked for it, until they send or cancel it.
type ReplyPreview struct {
	ID             int64
	ConversationID int64
	Name           string // the saved reply
	Text           string // exactly what Send sends
	Platform       string // the agent who asked: only they may send it
	ActorID        string
	State          PreviewState
	MessageID      int64 // the reply Send recorded
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// What the agent should know before sending; not stored.
	Public bool // a public reply tweet, not a DM
	Parts  int  // how many messages X gets (long DMs are split)
	Closed bool // the conversation is closed; sending does not reopen it
}

// Ticket is the previewed conversation's ticket, e.g. "#42".
func (p *ReplyPreview) Ticket() string { return (&Conversation{ID: p.ConversationID}).Ticket() }

// SavedReplyNames lists the saved replies.
func (s *Service) SavedReplyNames() []string {
	names := make([]string, 0, len(s.SavedReplies))
	for _, r := range s.SavedReplies {
		names = append(names, r.Name)
	}
	return names
}

// savedReply finds a saved reply by name, ignoring case.
func (s *Service) savedReply(name string) (*SavedReply, error) {
	for i := range s.SavedReplies {
		if strings.EqualFold(s.SavedReplies[i].Name, name) {
			return &s.SavedReplies[i], nil
		}
	}
	return nil, Errorf(EINVALID, "There is no saved reply `%s` (saved replies: %s).", name, orNone(strings.Join(s.SavedReplyNames(), ", ")))
}

// PreviewSavedReply renders the saved reply called name for the action's
// conversation and records it as a preview of the actor's: nothing is sent
// and the thread is not told. A reply X would refuse (too long for a
// tweet) is refused here, before anyone clicks Send. It returns nil when
// the action's event was handled before.
func (s *Service) PreviewSavedReply(ctx context.Context, a Action, name string) (*ReplyPreview, error) {
	tmpl, err := s.savedReply(name)
	if err != nil {
		return nil, err
	}
	var p *ReplyPreview
	err = s.act(ctx, a, func(tx Tx, conv *Conversation, _ *Escalation) error {
		text, err := s.render(ctx, tx, conv, a, tmpl)
		if err != nil {
			return err
		}
		parts, err := s.Rules.Parts(conv.Kind, text)
		if err != nil {
			return Errorf(EINVALID, "Saved reply `%s` cannot be sent to %s: %s", tmpl.Name, conv.Ticket(), ErrorMessage(err))
		}
		now := s.now()
		p = &ReplyPreview{
			ConversationID: conv.ID, Name: tmpl.Name, Text: text, Platform: a.Platform, ActorID: a.ID,
			State: PreviewPending, CreatedAt: now, UpdatedAt: now,
			Public: conv.Kind == KindMention, Parts: len(parts), Closed: conv.Status == StatusClosed,
		}
		return tx.InsertPreview(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// render fills a template's variables for a conversation.
func (s *Service) render(ctx context.Context, tx Tx, conv *Conversation, a Action, tmpl *SavedReply) (string, error) {
	cust, err := tx.Customer(ctx, conv.CustomerID)
	if err != nil {
		return "", err
	}
	due, err := s.nextDue(ctx, tx, conv)
	if err != nil {
		return "", err
	}
	return strings.NewReplacer("{customer}", cust.DisplayName(), "{handle}", "@"+cust.Handle,
		"{ticket}", conv.Ticket(), "{agent}", a.Label(), "{due}", due).Replace(tmpl.textFor(conv.Language)), nil
}

// SendPreview sends a preview's text to the customer as the actor's reply:
// through the send delay, posted in the thread with its delivery marks,
// satisfying the SLA's response targets, and audited. Only the agent who
// asked for the preview may send it, once: sending it again returns it
// (State PreviewSent) without sending anything. A cancelled or expired
// preview, or one whose conversation was closed after it was made, is
// refused and nothing is sent.
func (s *Service) SendPreview(ctx context.Context, a Action, id int64) (*ReplyPreview, error) {
	return s.settlePreview(ctx, a, id, PreviewSent, func(tx Tx, p *ReplyPreview, conv *Conversation) error {
		if conv.Status == StatusClosed && conv.ClosedAt.After(p.CreatedAt) {
			return Errorf(ECONFLICT, "%s was closed after this preview was made; nothing was sent. Reopen it and use `reply-with` again.", conv.Ticket())
		}
		if s.now().Sub(p.CreatedAt) > PreviewTTL {
			return Errorf(ECONFLICT, "This preview is more than an hour old; nothing was sent. Use `reply-with` again for a fresh one.")
		}
		a.MessageID = "" // a click carries no message of the agent's
		msg, err := s.reply(ctx, tx, conv, a, p.Text)
		if err != nil {
			return err
		}
		p.MessageID = msg.ID
		return s.audit(ctx, tx, conv.ID, a, "reply-with", "", p.Name)
	})
}

// CancelPreview drops a preview: nothing is sent. Cancelling it again
// returns it (State PreviewCancelled); a preview already sent is refused.
func (s *Service) CancelPreview(ctx context.Context, a Action, id int64) (*ReplyPreview, error) {
	return s.settlePreview(ctx, a, id, PreviewCancelled, func(Tx, *ReplyPreview, *Conversation) error { return nil })
}

// settlePreview moves a pending preview of the actor's to state, after fn
// did what that state means, in one transaction. A preview already in
// state is returned as it is; one in the other final state is refused.
func (s *Service) settlePreview(ctx context.Context, a Action, id int64, state PreviewState, fn func(Tx, *ReplyPreview, *Conversation) error) (*ReplyPreview, error) {
	var out *ReplyPreview
	err := s.inTx(ctx, func(tx Tx) error {
		p, err := tx.Preview(ctx, id)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "This preview is gone; use `reply-with` again.")
		} else if err != nil {
			return err
		}
		if p.Platform != a.Platform || p.ActorID != a.ID {
			return Errorf(EFORBIDDEN, "This preview is someone else's: only the agent who asked for it can send or cancel it.")
		}
		// The conversation is locked first, as everywhere: two clicks at
		// once meet there, and the second reads the preview as the first
		// left it (the guarded update below backs this up).
		conv, err := tx.Conversation(ctx, p.ConversationID)
		if err != nil {
			return err
		}
		if p, err = tx.Preview(ctx, id); err != nil {
			return err
		}
		switch {
		case p.State == state:
			out = p
			return nil
		case p.State == PreviewSent:
			return Errorf(ECONFLICT, "This saved reply was already sent to %s.", p.Ticket())
		case p.State == PreviewCancelled:
			return Errorf(ECONFLICT, "This preview was cancelled; nothing was sent. Use `reply-with` again.")
		}
		if err := fn(tx, p, conv); err != nil {
			return err
		}
		p.State, p.UpdatedAt = state, s.now()
		if err := tx.UpdatePreview(ctx, p, PreviewPending); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// nextDue says when the conversation's soonest live SLA target is due, the
// way a customer reads it: "14:30 CET" today, "Monday 09:15 CET" later;
// "soon" when nothing is running.
func (s *Service) nextDue(ctx context.Context, tx Tx, conv *Conversation) (string, error) {
	soon := map[bool]string{false: "soon", true: "尽快"}[conv.Language == "zh"]
	if s.SLA == nil {
		return soon, nil
	}
	targets, err := tx.Targets(ctx, conv.ID)
	if err != nil {
		return "", err
	}
	var due time.Time
	for _, t := range targets {
		if t.State.Due() && !t.DueAt.IsZero() && (due.IsZero() || t.DueAt.Before(due)) {
			due = t.DueAt
		}
	}
	if due.IsZero() {
		return soon, nil
	}
	loc := time.UTC
	if s.SLA.Calendar != nil && s.SLA.Calendar.Location != nil {
		loc = s.SLA.Calendar.Location
	}
	due, now := due.In(loc), s.now().In(loc)
	if y, m, d := due.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return due.Format("15:04 MST"), nil
	}
	return due.Format("Monday 15:04 MST"), nil
}
