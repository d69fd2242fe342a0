package bridge

import "time"

// Effect names an outbound effect the dispatcher performs.
type Effect string

// Effects.
const (
	EffectCard       Effect = "chat.card"        // post the conversation's card
	EffectCardUpdate Effect = "chat.card_update" // edit the card in place
	EffectPost       Effect = "chat.post"        // post in the thread
	EffectReact      Effect = "chat.react"       // add a delivery mark
	EffectUnreact    Effect = "chat.unreact"     // remove a delivery mark
	EffectEscalate   Effect = "chat.escalate"    // post an escalation card in the engineering channel
	EffectEscUpdate  Effect = "chat.esc_update"  // edit the escalation card
	EffectPage       Effect = "pager.page"       // send an SLA breach to the paging webhook
	EffectUnpost     Effect = "chat.unpost"      // remove an earlier post (Payload.Ref names it)
	EffectMarkRead   Effect = "x.mark_read"      // mark the customer's DMs read on X
	EffectTyping     Effect = "x.typing"         // show the customer the support account is typing
	EffectDM         Effect = "x.dm"             // send a DM to the customer
	EffectReply      Effect = "x.reply"          // post a reply tweet
)

// IsX reports whether the effect reaches the customer on X.
func (e Effect) IsX() bool { return e == EffectDM || e == EffectReply }

// OutboxState is where an outbox item stands.
type OutboxState string

// Outbox states.
const (
	OutboxPending   OutboxState = "pending"
	OutboxInflight  OutboxState = "inflight"
	OutboxDone      OutboxState = "done"
	OutboxFailed    OutboxState = "failed"
	OutboxCancelled OutboxState = "cancelled"
	OutboxUnknown   OutboxState = "unknown" // crashed mid-send; see Reconciler
)

// Outbox priorities: lower goes first.
const (
	PriorityCustomerReply = 10 // an agent's words to a customer
	PriorityThread        = 20 // cards and customer messages in threads
	PriorityMark          = 30 // reactions and notices
)

// OutboxItem is one outbound effect, written in the same transaction as the
// state change that caused it and delivered by the Dispatcher.
type OutboxItem struct {
	ID     int64
	Effect Effect
	// Lane is the rate-limit lane: "slack:C123", "x:1000:dm".
	Lane string
	// SeqKey orders delivery: items with the same key go out in id order,
	// one at a time.
	SeqKey         string
	Priority       int
	IdemKey        string // unique; enqueueing the same key twice is a no-op
	ConversationID int64
	MessageID      int64
	Payload        Payload
	State          OutboxState
	Attempts       int
	NotBefore      time.Time
	LeaseUntil     time.Time
	ResultID       string // the platform's id of what was created
	LastError      string
	Notified       bool // the thread was told this item waits on a rate limit
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// OutboxUpdate is an item to write back if it is still in FromState after
// FromAttempts attempts (see Tx.UpdateOutboxes).
type OutboxUpdate struct {
	Item         *OutboxItem
	FromState    OutboxState
	FromAttempts int
}

// Payload is the effect-specific part of an outbox item.
type Payload struct {
	Text     string   `json:"text,omitempty"`
	Kind     PostKind `json:"kind,omitempty"`
	Reaction Reaction `json:"reaction,omitempty"`
	Part     int      `json:"part,omitempty"`  // which part of a split message
	Parts    int      `json:"parts,omitempty"` // how many parts
	Buttons  []Button `json:"buttons,omitempty"`
	Mention  []string `json:"mention,omitempty"`
	// EscalationID sends a post (or the escalation effects) to that
	// escalation's thread instead of the conversation's.
	EscalationID int64 `json:"escalation_id,omitempty"`
	// ToChannel posts in the conversation's channel rather than its thread.
	ToChannel bool `json:"to_channel,omitempty"`
	// Ref is the idempotency key of the item an EffectUnpost removes.
	Ref string `json:"ref,omitempty"`
	// Attachment is the file an EffectChatFile or EffectMediaUpload moves.
	Attachment int64 `json:"attachment,omitempty"`
	// Media: this X send carries its message's files.
	Media bool `json:"media,omitempty"`
}
