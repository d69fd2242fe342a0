package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Card is the live root message of a conversation's thread, edited in place
// as the conversation changes. Adapters render it in their platform's idiom.
type Card struct {
	Ticket       string
	Kind         Kind
	Status       Status
	Priority     Priority
	CustomerName string
	Handle       string
	ProfileURL   string
	AvatarURL    string
	Followers    int
	Verified     bool
	SourceURL    string // the tweet, for mentions
	// Account is the @handle of the support account the customer wrote
	// to, when the bridge serves several (empty when it serves one).
	Account    string
	OpenedAt   time.Time
	ClosedAt   time.Time
	PreviousID int64

	ConversationID int64 // the value of the card's buttons
	AssigneeID     string
	AssigneeName   string
	Tags           []string
	Escalation     *CardEscalation // the open or last escalation
	ClosedByName   string
	CloseReason    string
	// HistoryCount is how many earlier conversations the customer had;
	// History holds the last few, newest first.
	HistoryCount int
	History      []CardHistory
	// SLA shows each measured target's state and due time.
	SLA []CardSLA
	// First tier: the customer's language, the suggested priority and why
	// ("high: negative, 48k followers"), what automation did ("faq:returns",
	// "handed_over"), the satisfaction rating (1–5, 0 when none).
	Language     string
	PriorityHint string
	Automation   string
	CSAT         int
}

// TierLine is the card's first-tier line: "Language: zh · Suggested: high
// (negative, 48k followers) · Answered by FAQ returns · CSAT 4/5"; empty
// when there is nothing to show.
func (c Card) TierLine() string {
	var parts []string
	if c.Language != "" {
		parts = append(parts, "Language: "+c.Language)
	}
	if p, why, ok := strings.Cut(c.PriorityHint, ": "); ok {
		parts = append(parts, fmt.Sprintf("Suggested: %s (%s)", p, why))
	}
	switch {
	case strings.HasPrefix(c.Automation, automationFAQ):
		parts = append(parts, "Answered by FAQ "+strings.TrimPrefix(c.Automation, automationFAQ))
	case c.Automation == AutomationHandedOver:
		parts = append(parts, "Handed over from automation")
	}
	if c.CSAT > 0 {
		parts = append(parts, fmt.Sprintf("CSAT %d/5", c.CSAT))
	}
	return strings.Join(parts, " · ")
}

// CardSLA is one SLA target on a card.
type CardSLA struct {
	Metric Metric
	State  TargetState
	DueAt  time.Time
}

// ThreadRef points at a chat thread.
type ThreadRef struct {
	Platform string
	Channel  string
	ThreadID string
}

// CardEscalation is the escalation shown on a card.
type CardEscalation struct {
	Thread ThreadRef
	Open   bool
}

// CardHistory is an earlier conversation shown on a card.
type CardHistory struct {
	Ticket   string
	Status   Status
	OpenedAt time.Time
	Thread   ThreadRef
}

// EscalationCard is the root message of an escalation thread in the
// engineering channel.
type EscalationCard struct {
	Ticket        string
	Summary       string
	OpenedByName  string
	CustomerName  string
	Handle        string
	Followers     int
	Kind          Kind
	Priority      Priority
	Tags          []string
	Recent        []CardMessage // the last few messages, oldest first
	Support       ThreadRef     // the support thread, for a link back
	OnCall        string        // mention of the engineering on-call group, in the platform's markup
	Resolved      bool
	ResolvedBy    string
	Resolution    string
	SupportClosed bool
}

// CardMessage is a message quoted on an escalation card.
type CardMessage struct {
	Direction Direction
	Author    string
	Text      string
}

// PostKind tells an adapter how to present a thread message.
type PostKind string

// Kinds of thread posts.
const (
	PostCustomer PostKind = "customer" // a customer's message, shown as the customer
	PostNotice   PostKind = "notice"   // a status line from the bridge
	PostWarning  PostKind = "warning"  // something an agent must act on
	// PostReply is an agent's reply to the customer posted by the bridge
	// on their behalf (a saved reply, `reply` from outside the thread);
	// it gets the reply's delivery marks.
	PostReply PostKind = "reply"
)

// Button is an action offered on a post.
type Button struct {
	Action string
	Label  string
	Value  string
}

// Post is a message the bridge posts in a conversation's thread.
type Post struct {
	Kind       PostKind
	Text       string
	AuthorName string // PostCustomer: shown as the author
	AvatarURL  string
	Buttons    []Button
	// Mention lists who to notify, in front of the text: user ids, or a
	// mention already in the platform's markup (starting with "<").
	Mention []string
	// Key identifies the post across retries; adapters that can attach
	// metadata store it so a retry after a crash can find an earlier post.
	Key string
}

// Reaction is a delivery mark on an agent's chat message.
type Reaction string

// Delivery marks.
const (
	ReactionWaiting Reaction = "waiting" // ⏳ in the send delay or queued
	ReactionSent    Reaction = "sent"    // ✅ X accepted it
	ReactionFailed  Reaction = "failed"  // ⚠️ it did not go out
)

// ChatPlatform is where agents work: Slack, Discord.
type ChatPlatform interface {
	// PostCard posts a conversation's card as a new root message and
	// returns its id, which becomes the thread id.
	PostCard(ctx context.Context, channel string, card Card, key string) (threadID string, err error)
	UpdateCard(ctx context.Context, channel, threadID string, card Card) error
	Post(ctx context.Context, channel, threadID string, p Post) (messageID string, err error)
	// React marks a message; threadID is the thread it lives in (the
	// conversation's), which some platforms need to address it.
	React(ctx context.Context, channel, threadID, messageID string, r Reaction, add bool) error
	// PostEscalation posts an escalation's card as a new root message in
	// the engineering channel and returns its id, the escalation thread.
	PostEscalation(ctx context.Context, channel string, e EscalationCard, key string) (threadID string, err error)
	UpdateEscalation(ctx context.Context, channel, threadID string, e EscalationCard) error
}

// XPlatform sends to customers on X.
type XPlatform interface {
	// SendDM sends text as a DM from account to the recipient and returns
	// the dm_event_id.
	SendDM(ctx context.Context, account, recipientID, text string) (eventID string, err error)
	// Reply posts text as a public reply to a tweet and returns the new
	// tweet's id.
	Reply(ctx context.Context, account, inReplyToID, text string) (tweetID string, err error)
}

// TextRules split or refuse an agent's reply according to X's limits.
type TextRules interface {
	// Parts returns the messages to send for text, or an EINVALID error
	// that tells the agent why it cannot go out.
	Parts(kind Kind, text string) ([]string, error)
}

// Pager sends SLA breaches to a paging service (PageEvent as JSON).
type Pager interface {
	Page(ctx context.Context, event []byte) error
}

// SentQuery describes a send whose outcome a crash hid.
type SentQuery struct {
	Kind        Kind
	Account     string
	RecipientID string // DMs
	InReplyToID string // replies
	Text        string
	Media       bool      // the message carried files
	After       time.Time // the send was attempted after this time
}

// Reconciler is an optional XPlatform ability: looking on X for a message
// the bridge may have sent before a crash.
type Reconciler interface {
	FindSent(ctx context.Context, q SentQuery) (id string, found bool, err error)
}

// DeliveryError is how adapters report a failed delivery so the dispatcher
// can decide to retry, wait or give up.
type DeliveryError struct {
	Temporary   bool // worth retrying
	RateLimited bool // the platform asked us to wait
	// Unknown: the request may have reached the platform but no answer
	// came back, so the outcome is unknown (a timeout after sending).
	Unknown bool
	RetryAt time.Time // from Retry-After or x-rate-limit-reset; zero if not given
	Reason  string    // short, shown to agents
	Err     error
}

func (e *DeliveryError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return e.Reason
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// AsDeliveryError returns err's *DeliveryError, treating any other error
// (network failures, timeouts) as temporary.
func AsDeliveryError(err error) *DeliveryError {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de
	}
	return &DeliveryError{Temporary: true, Reason: "platform unreachable", Err: err}
}
