package bridge

import (
	"context"
	"time"
)

// Store is the durable state of the bridge. Everything that happens is one
// transaction through InTx; the dispatcher's queue operations are their own
// short transactions.
type Store interface {
	// InTx runs fn in one transaction, committing if it returns nil.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// InTxRelaxed is InTx for writes a database crash may lose because
	// they are written again durably later: it does not wait for the
	// commit to reach the disk (Postgres synchronous_commit off).
	InTxRelaxed(ctx context.Context, fn func(tx Tx) error) error
	// RecordThreads records the threads of conversations whose cards were
	// just posted (conversation id → thread), at once and on their own
	// (one statement, committed); a conversation that already has a
	// thread keeps it.
	RecordThreads(ctx context.Context, threads map[int64]string) error

	// ClaimOutbox marks up to limit due pending items inflight with a lease
	// and an incremented attempt count, never two items of one SeqKey, and
	// never an item while an earlier item of its SeqKey is pending or
	// inflight. Items come in priority, then id, order. Safe across
	// processes sharing a database.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*OutboxItem, error)
	// Snapshot reads conversations (with their customers) and messages by
	// id, outside a transaction: what a batch of claimed items needs.
	Snapshot(ctx context.Context, conversationIDs, messageIDs []int64) (*Snapshot, error)
	// ExpiredLeases returns inflight items whose lease ended before now:
	// their worker died.
	ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]*OutboxItem, error)
	// NextDue returns the earliest NotBefore of pending items.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
	// OutboxStats counts pending and inflight items and the age of the
	// oldest one.
	OutboxStats(ctx context.Context, now time.Time) (OutboxStats, error)

	// DueTargets returns live SLA targets whose NextCheck has come, oldest
	// first, through an index on it.
	DueTargets(ctx context.Context, now time.Time, limit int) ([]*SLATarget, error)
	// NextCheck returns the earliest NextCheck of live targets.
	NextCheck(ctx context.Context) (t time.Time, ok bool, err error)
	// TryLead takes the leadership of a singleton (the SLA scheduler, the
	// X poller) if no other process holds it; nil when one does.
	TryLead(ctx context.Context, name string) (Lease, error)

	// TierStats measures the first tier over conversations created since.
	TierStats(ctx context.Context, since time.Time) (TierStats, error)

	// Prune deletes finished outbox items (done, cancelled, failed) last
	// updated before outboxBefore, reply previews made before it, and
	// inbound event ids seen before seenBefore, returning how many rows
	// went.
	Prune(ctx context.Context, outboxBefore, seenBefore time.Time) (int64, error)

	Ping(ctx context.Context) error
	Close() error
}

// Lease is held leadership.
type Lease interface {
	// Alive reports whether the lease still holds (its connection lives).
	Alive(ctx context.Context) bool
	Release()
}

// Snapshot is a read of the rows a batch of deliveries needs, by id.
type Snapshot struct {
	Conversations map[int64]*Conversation
	Customers     map[int64]*Customer // by customer id
	Messages      map[int64]*Message
	// Extras are what a conversation's card shows beyond the conversation.
	Extras map[int64]*CardExtras // by conversation id
}

// CardExtras are the rows a card shows beyond its conversation.
type CardExtras struct {
	Escalation *Escalation     // the open or last escalation, if any
	Targets    []*SLATarget    // in id order
	Earlier    []*Conversation // the customer's earlier conversations, newest first
}

// OutboxStats describes the outbox backlog.
type OutboxStats struct {
	Depth     int
	OldestAge time.Duration
}

// ConversationKey names the conversations of one X thread with one
// customer: a DM conversation or a mention's thread, on one support account.
type ConversationKey struct {
	Account    string
	Kind       Kind
	Key        string
	CustomerID int64
}

// Tx is one transaction. Lookups that find nothing return an ENOTFOUND
// *Error; unique-constraint violations return ECONFLICT.
type Tx interface {
	// WriteBehind lets the store hold back the rows the transaction inserts
	// for conversations it creates itself — their messages, SLA targets and
	// outbox items — and send them together, at the transaction's next
	// other statement or at its commit, instead of one statement each.
	// Their IDs are set at once, as always. A conflict among them (an
	// outbox key already taken) then fails the whole transaction with
	// ECONFLICT instead of being reported by the call; only a caller that
	// can write its work again without write-behind should turn it on. A
	// store whose statements cost little may ignore it.
	WriteBehind()

	// MarkSeen records an inbound event id once; fresh is false when it
	// was already recorded.
	MarkSeen(ctx context.Context, source, eventID string) (fresh bool, err error)
	// MarkSeenAll is MarkSeen for several ids at once: fresh[i] tells
	// whether ids[i] was recorded now. An id listed twice is fresh at its
	// first place only.
	MarkSeenAll(ctx context.Context, source string, ids []string) (fresh []bool, err error)

	// UpsertCustomer inserts or refreshes a customer by XUserID, setting ID.
	UpsertCustomer(ctx context.Context, c *Customer) error
	// UpsertCustomers is UpsertCustomer for several customers at once.
	// Of customers with the same XUserID the last is written; all get its
	// ID.
	UpsertCustomers(ctx context.Context, cs ...*Customer) error
	Customer(ctx context.Context, id int64) (*Customer, error)
	CustomerByXUserID(ctx context.Context, xUserID string) (*Customer, error)

	Conversation(ctx context.Context, id int64) (*Conversation, error)
	// ActiveConversation finds the conversation not closed for this key and
	// customer.
	ActiveConversation(ctx context.Context, account string, kind Kind, key string, customerID int64) (*Conversation, error)
	// LatestConversation finds and locks the newest conversation for this
	// key and customer, closed or not. Only the newest can be active.
	LatestConversation(ctx context.Context, account string, kind Kind, key string, customerID int64) (*Conversation, error)
	// LatestConversations is LatestConversation for several keys at once,
	// locking in id order; a key with no conversation is absent.
	LatestConversations(ctx context.Context, keys []ConversationKey) (map[ConversationKey]*Conversation, error)
	// LockConversations locks conversations until the transaction ends;
	// ids come in ascending order.
	LockConversations(ctx context.Context, ids ...int64) error
	ConversationByThread(ctx context.Context, platform, channel, threadID string) (*Conversation, error)
	// CreateConversation inserts c and sets its ID; ECONFLICT when an
	// active conversation exists for the same key and customer.
	CreateConversation(ctx context.Context, c *Conversation) error
	// CreateConversations is CreateConversation for several conversations
	// of distinct keys at once. On ECONFLICT some may have been created:
	// the transaction must not commit.
	CreateConversations(ctx context.Context, cs []*Conversation) error
	UpdateConversation(ctx context.Context, c *Conversation) error
	// SetThreads records the threads of conversations (id → thread); a
	// conversation that already has a thread keeps it.
	SetThreads(ctx context.Context, threads map[int64]string) error

	InsertMessage(ctx context.Context, m *Message) error
	UpdateMessage(ctx context.Context, m *Message) error
	// SetMessageChatIDs records where messages were posted in their chat
	// threads (message id → chat id); ENOTFOUND names a message that does
	// not exist.
	SetMessageChatIDs(ctx context.Context, chatIDs map[int64]string) error
	Message(ctx context.Context, id int64) (*Message, error)
	// MessageByXID finds a message by the X id it was received or sent as.
	MessageByXID(ctx context.Context, xid string) (*Message, error)
	MessageByChatID(ctx context.Context, platform, channel, chatID string) (*Message, error)

	// Enqueue inserts outbox items, setting their IDs; an item whose
	// IdemKey exists is skipped (ID stays 0).
	Enqueue(ctx context.Context, items ...*OutboxItem) error
	OutboxForMessage(ctx context.Context, messageID int64) ([]*OutboxItem, error)
	// OutboxByKey finds an item by its idempotency key.
	OutboxByKey(ctx context.Context, idemKey string) (*OutboxItem, error)
	// OutboxForConversation lists a conversation's items in the given
	// states, oldest first.
	OutboxForConversation(ctx context.Context, conversationID int64, states ...OutboxState) ([]*OutboxItem, error)
	// UpdateOutbox writes it back if it is still in fromState with
	// fromAttempts attempts, else returns ECONFLICT: another worker or a
	// recovery has moved it on.
	UpdateOutbox(ctx context.Context, it *OutboxItem, fromState OutboxState, fromAttempts int) error
	// UpdateOutboxes is UpdateOutbox for several items at once. It returns
	// the ids of the items it left alone because they had moved on, each
	// of which UpdateOutbox would have answered with ECONFLICT, and next:
	// whether an item it wrote done has a later pending item of its
	// SeqKey, which that item held back (a store may answer true when it
	// cannot tell).
	UpdateOutboxes(ctx context.Context, updates []OutboxUpdate) (stale map[int64]bool, next bool, err error)

	// Triage.

	// ConversationsAssigned lists the conversations not closed assigned to
	// a chat user, oldest first.
	ConversationsAssigned(ctx context.Context, platform, assigneeID string) ([]*Conversation, error)
	// CustomerConversations lists a customer's conversations older than
	// beforeID, newest first, at most limit.
	CustomerConversations(ctx context.Context, customerID, beforeID int64, limit int) ([]*Conversation, error)
	// RecentMessages returns the last limit messages of a conversation,
	// oldest first.
	RecentMessages(ctx context.Context, conversationID int64, limit int) ([]*Message, error)
	InsertEscalation(ctx context.Context, e *Escalation) error
	UpdateEscalation(ctx context.Context, e *Escalation) error
	Escalation(ctx context.Context, id int64) (*Escalation, error)
	EscalationByThread(ctx context.Context, platform, channel, threadID string) (*Escalation, error)
	InsertAudit(ctx context.Context, e *AuditEntry) error
	// Audit returns a conversation's last limit entries (all when limit is
	// 0), oldest first.
	Audit(ctx context.Context, conversationID int64, limit int) ([]*AuditEntry, error)
	UpsertAgent(ctx context.Context, a *Agent) error
	Agents(ctx context.Context, platform string) ([]*Agent, error)
	// OpenCounts counts conversations not closed per assignee.
	OpenCounts(ctx context.Context, platform string) (map[string]int, error)

	// SLA.

	// Targets lists a conversation's SLA targets in id order.
	Targets(ctx context.Context, conversationID int64) ([]*SLATarget, error)
	// InsertTargets inserts targets and sets their IDs; ECONFLICT when a
	// conversation already has one's metric cycle.
	InsertTargets(ctx context.Context, ts ...*SLATarget) error
	UpdateTarget(ctx context.Context, t *SLATarget) error
	// LockTarget reads a target and locks it until the transaction ends.
	LockTarget(ctx context.Context, id int64) (*SLATarget, error)
	// InsertAlert records an alert once; fresh is false when that
	// (conversation, metric, cycle, level, seq) already fired.
	InsertAlert(ctx context.Context, a *SLAAlert) (fresh bool, err error)
	// WaitingCustomers counts the conversations other than exceptID whose
	// customer waits for an agent's answer (a first- or next-response
	// target is live), stopping at limit.
	WaitingCustomers(ctx context.Context, exceptID int64, limit int) (int, error)
	// TargetsSince lists targets started at or after since, for reports.
	TargetsSince(ctx context.Context, since time.Time) ([]*SLATarget, error)

	// Saved replies.

	// InsertPreview inserts p and sets its ID.
	InsertPreview(ctx context.Context, p *ReplyPreview) error
	Preview(ctx context.Context, id int64) (*ReplyPreview, error)
	// UpdatePreview writes p back if it is still in fromState, else
	// returns ECONFLICT.
	UpdatePreview(ctx context.Context, p *ReplyPreview, fromState PreviewState) error

	// Media.

	// InsertAttachment inserts a and sets its ID.
	InsertAttachment(ctx context.Context, a *Attachment) error
	UpdateAttachment(ctx context.Context, a *Attachment) error
	Attachment(ctx context.Context, id int64) (*Attachment, error)
	// Attachments lists a message's files in id order.
	Attachments(ctx context.Context, messageID int64) ([]*Attachment, error)

	Cursor(ctx context.Context, name string) (string, error)
	SetCursor(ctx context.Context, name, value string) error
}
