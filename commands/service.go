package commands

import (
	"context"

	"github.com/xbridge/xbridge/bridge"
)

// Service executes commands against the domain: each method turns the
// invocation into a bridge.Action and calls the bridge.Service, which runs
// one transaction.
type Service struct {
	Bridge *bridge.Service
}

var _ Executor = Service{}

func action(inv Invocation) bridge.Action {
	return bridge.Action{
		Actor:          bridge.Actor{Platform: inv.Platform, ID: inv.ActorID, Name: inv.ActorName, Roles: inv.Roles},
		ConversationID: inv.ConversationID, Channel: inv.Channel, ThreadID: inv.ThreadID,
		Source: string(inv.Source), EventID: inv.EventID, MessageID: inv.MessageID,
	}
}

// Claim implements Executor.
func (s Service) Claim(ctx context.Context, inv Invocation) error {
	return s.Bridge.Claim(ctx, action(inv))
}

// Unclaim implements Executor.
func (s Service) Unclaim(ctx context.Context, inv Invocation) error {
	return s.Bridge.Unclaim(ctx, action(inv))
}

// Assign implements Executor.
func (s Service) Assign(ctx context.Context, inv Invocation, userRef string) error {
	return s.Bridge.Assign(ctx, action(inv), userRef)
}

// Tag implements Executor.
func (s Service) Tag(ctx context.Context, inv Invocation, tags []string) error {
	return s.Bridge.Tag(ctx, action(inv), tags)
}

// Untag implements Executor.
func (s Service) Untag(ctx context.Context, inv Invocation, tags []string) error {
	return s.Bridge.Untag(ctx, action(inv), tags)
}

// SetPriority implements Executor.
func (s Service) SetPriority(ctx context.Context, inv Invocation, p bridge.Priority) error {
	return s.Bridge.SetPriority(ctx, action(inv), p)
}

// Pending implements Executor.
func (s Service) Pending(ctx context.Context, inv Invocation) error {
	return s.Bridge.Pending(ctx, action(inv))
}

// Close implements Executor.
func (s Service) Close(ctx context.Context, inv Invocation, reason string) error {
	return s.Bridge.Close(ctx, action(inv), reason)
}

// Reopen implements Executor.
func (s Service) Reopen(ctx context.Context, inv Invocation) error {
	return s.Bridge.Reopen(ctx, action(inv))
}

// Note implements Executor.
func (s Service) Note(ctx context.Context, inv Invocation, text string) error {
	return s.Bridge.Note(ctx, action(inv), text)
}

// Reply implements Executor.
func (s Service) Reply(ctx context.Context, inv Invocation, text string) error {
	return s.Bridge.Reply(ctx, action(inv), text)
}

// Escalate implements Executor.
func (s Service) Escalate(ctx context.Context, inv Invocation, summary string) error {
	return s.Bridge.Escalate(ctx, action(inv), summary)
}

// Resolve implements Executor.
func (s Service) Resolve(ctx context.Context, inv Invocation, text string) error {
	return s.Bridge.Resolve(ctx, action(inv), text)
}

// Status implements Executor.
func (s Service) Status(ctx context.Context, inv Invocation) (string, error) {
	return s.Bridge.Status(ctx, action(inv))
}

// ReplyWith implements Executor.
func (s Service) ReplyWith(ctx context.Context, inv Invocation, name string) (*bridge.ReplyPreview, error) {
	return s.Bridge.PreviewSavedReply(ctx, action(inv), name)
}

// SendPreview implements Executor.
func (s Service) SendPreview(ctx context.Context, inv Invocation, id int64) (*bridge.ReplyPreview, error) {
	return s.Bridge.SendPreview(ctx, action(inv), id)
}

// CancelPreview implements Executor.
func (s Service) CancelPreview(ctx context.Context, inv Invocation, id int64) (*bridge.ReplyPreview, error) {
	return s.Bridge.CancelPreview(ctx, action(inv), id)
}

// SavedReplies implements Executor.
func (s Service) SavedReplies(context.Context, Invocation) ([]string, error) {
	return s.Bridge.SavedReplyNames(), nil
}

// SetAvailable implements Executor.
func (s Service) SetAvailable(ctx context.Context, inv Invocation, on bool) error {
	return s.Bridge.SetAvailable(ctx, action(inv), on)
}

// ListMine implements Executor.
func (s Service) ListMine(ctx context.Context, inv Invocation) (string, error) {
	return s.Bridge.Mine(ctx, action(inv))
}
