package commands

import (
	"context"

	"github.com/xbridge/xbridge/bridge"
)

// Executor performs commands. The domain implements it; this package only
// consumes it. Each method is one transaction. A refusal is a *bridge.Error
// whose message is safe to show (bridge.Errorf(bridge.EFORBIDDEN, …)); any
// other error is treated as internal, logged, and shown as a generic
// apology. State changes post their own notices in the conversation's
// thread.
//
// inv.ConversationID is set for the methods of commands that need a
// conversation, except when the command was given in a chat thread the
// platform could not map (inv.ThreadID set, ConversationID 0): the executor
// then finds the conversation of that thread, or refuses with ENOTFOUND.
//
// Permission checks that depend on state belong to the executor: the
// processor has already checked the command's declared Roles (see
// Command.Roles), and the executor refuses, with NeedsRole's message, what
// only some holders of that role may do (see Assign and Reopen).
type Executor interface {
	Claim(ctx context.Context, inv Invocation) error
	Unclaim(ctx context.Context, inv Invocation) error
	// Assign makes userRef the assignee. userRef is a mention as the
	// platform wrote it (see ArgUser). Assigning anyone but the actor
	// needs RoleLead: refuse with NeedsRole("assign", RoleLead) unless
	// inv.Has(RoleLead).
	Assign(ctx context.Context, inv Invocation, userRef string) error
	Tag(ctx context.Context, inv Invocation, tags []string) error
	Untag(ctx context.Context, inv Invocation, tags []string) error
	SetPriority(ctx context.Context, inv Invocation, p bridge.Priority) error
	// Pending marks the conversation as waiting on the customer.
	Pending(ctx context.Context, inv Invocation) error
	Close(ctx context.Context, inv Invocation, reason string) error
	// Reopen reopens a closed conversation. After the reopen window has
	// passed it needs RoleLead: refuse with NeedsRole("reopen", RoleLead)
	// (or a message naming the window) unless inv.Has(RoleLead).
	Reopen(ctx context.Context, inv Invocation) error
	// Note records internal text; it never reaches the customer.
	Note(ctx context.Context, inv Invocation, text string) error
	// Reply sends text to the customer (through the send delay).
	Reply(ctx context.Context, inv Invocation, text string) error
	Escalate(ctx context.Context, inv Invocation, summary string) error
	// Resolve marks the escalation of the conversation resolved; text is
	// an optional summary for the agents.
	Resolve(ctx context.Context, inv Invocation, text string) error
	// Status describes the conversation for the caller.
	Status(ctx context.Context, inv Invocation) (string, error)
	// ReplyWith renders the saved reply called name for the conversation
	// as a preview for the caller alone; nothing is sent until SendPreview.
	// It returns nil when the invocation's event was handled before.
	ReplyWith(ctx context.Context, inv Invocation, name string) (*bridge.ReplyPreview, error)
	// SendPreview sends a preview of the caller's to the customer, once:
	// a preview already sent comes back with State bridge.PreviewSent and
	// nothing is sent again.
	SendPreview(ctx context.Context, inv Invocation, id int64) (*bridge.ReplyPreview, error)
	// CancelPreview drops a preview of the caller's; nothing is sent.
	CancelPreview(ctx context.Context, inv Invocation, id int64) (*bridge.ReplyPreview, error)
	// SavedReplies lists the names of the saved replies.
	SavedReplies(ctx context.Context, inv Invocation) ([]string, error)
	// SetAvailable marks the actor as taking new conversations, or not.
	SetAvailable(ctx context.Context, inv Invocation, on bool) error
	// ListMine describes the actor's open conversations ("/xb" alone);
	// empty when there are none.
	ListMine(ctx context.Context, inv Invocation) (string, error)
}
