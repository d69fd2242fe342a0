package bridge

import (
	"fmt"
	"time"
)

// Kind is how a customer reached the support account on X.
type Kind string

// Conversation kinds.
const (
	KindDM      Kind = "dm"      // a direct-message conversation
	KindMention Kind = "mention" // an @mention and its replies
)

// Status is where a conversation stands in its lifecycle.
type Status string

// Conversation statuses.
const (
	StatusOpen    Status = "open"
	StatusPending Status = "pending" // waiting on the customer
	StatusClosed  Status = "closed"
)

// Priority orders the support queue.
type Priority string

// Priorities, most urgent first.
const (
	PriorityUrgent Priority = "urgent"
	PriorityHigh   Priority = "high"
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// Customer is a person on X who talks to a support account.
type Customer struct {
	ID        int64
	XUserID   string
	Handle    string // X username, without the @
	Name      string
	AvatarURL string
	Followers int
	Verified  bool
	UpdatedAt time.Time
}

// ProfileURL links to the customer's X profile.
func (c *Customer) ProfileURL() string { return "https://x.com/" + c.Handle }

// DisplayName is the customer's name, or their handle when X gave no name.
func (c *Customer) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	return "@" + c.Handle
}

// Conversation is one support case: an X DM conversation or a mention
// thread, worked in one chat thread. Its ID is the ticket number.
type Conversation struct {
	ID         int64
	Kind       Kind
	Account    string // X user id of the support account
	XKey       string // dm_conversation_id, or the mention's conversation_id
	CustomerID int64
	Status     Status
	Priority   Priority
	// ReplyToID is the customer tweet a public reply answers (mentions only).
	ReplyToID string
	// Chat location of the conversation's thread; ChatThreadID is empty
	// until the card has been posted.
	ChatPlatform string
	ChatChannel  string
	ChatThreadID string
	PreviousID   int64 // an earlier conversation with this customer on this key
	// Triage.
	AssigneeID   string // chat user id of the agent working it
	AssigneeName string
	Tags         []string // lowercase, sorted
	EscalationID int64    // the open escalation, if any
	ClosedByName string
	CloseReason  string
	// First tier.
	Language     string    // "en", "zh", … from the first message
	Automation   string    // "faq:<rule>" while an FAQ answer stands; "handed_over" once a human was asked for
	AckedAt      time.Time // the acknowledgement of this cycle was sent
	PriorityHint string    // the suggested priority and why: "high: negative, 48k followers"
	CSATAskedAt  time.Time
	CSATScore    int // 1–5, 0 when not rated
	CSATAt       time.Time
	TypingAt     time.Time // the customer's typing was last shown in the thread
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ClosedAt     time.Time // zero while not closed
}

// Ticket is the conversation's human-facing number, e.g. "#42".
func (c *Conversation) Ticket() string { return fmt.Sprintf("#%d", c.ID) }

// SourceURL links to the conversation on X: the customer's tweet for a
// mention; DMs have no public link.
func (c *Conversation) SourceURL(handle string) string {
	if c.Kind == KindMention && c.ReplyToID != "" {
		return fmt.Sprintf("https://x.com/%s/status/%s", handle, c.ReplyToID)
	}
	return ""
}
