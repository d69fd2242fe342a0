package bridge

import "time"

// XUser is a user as X describes them in an event.
type XUser struct {
	ID        string
	Handle    string
	Name      string
	AvatarURL string
	Followers int
	Verified  bool
}

// InboundMessage is a DM or mention received from X, by webhook or poll.
type InboundMessage struct {
	EventID string // DM event id or tweet id; deduplicated
	Account string // the support account's X user id
	Kind    Kind
	// ConversationKey is the dm_conversation_id, or the tweet's
	// conversation_id when known (a webhook tweet replying to an unknown
	// tweet does not carry it).
	ConversationKey string
	InReplyToID     string // mentions: the tweet this one answers
	Sender          XUser
	RecipientID     string // DMs: who it was sent to (the customer, for the support account's own DMs)
	Text            string
	Media           []MediaRef // photos, GIFs, videos it carries
	CreatedAt       time.Time
	Via             string // "webhook" or "poll", for metrics and logs
}

// ChatMessage is a message posted in a chat channel or thread.
type ChatMessage struct {
	Platform  string // "slack", "discord"
	EventID   string // the platform's event id; deduplicated
	Channel   string
	ThreadID  string // the thread root's id; empty outside threads
	MessageID string
	UserID    string
	UserName  string
	Roles     []Role // the author's roles; only agents' plain replies reach the customer
	Text      string
	Files     []MediaRef // files shared with the message
	// InBotThread says the thread's root was posted by the bridge. Such a
	// thread the store does not know yet is one whose card is still being
	// recorded: the event is refused as unavailable so the platform
	// delivers it again, instead of being dropped.
	InBotThread bool
}

// ChatEdit is an edit of a chat message.
type ChatEdit struct {
	Platform  string
	EventID   string
	Channel   string
	MessageID string
	UserID    string
	Text      string
}

// ChatDelete is the deletion of a chat message.
type ChatDelete struct {
	Platform  string
	EventID   string
	Channel   string
	MessageID string
}

// ChatAction is a click on a button the bridge posted.
type ChatAction struct {
	Platform  string
	EventID   string
	Channel   string
	MessageID string // the message that carries the button
	UserID    string
	UserName  string
	Action    string // ActionResend, …
	Value     string
}

// Actions the bridge puts on its buttons.
const (
	// ActionResend sends again a reply whose delivery is unknown; its value
	// is the message id.
	ActionResend = "xb_resend"
)
