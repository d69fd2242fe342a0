package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

// mineCommand is what "/xb" alone runs.
const mineCommand = "mine"

// Who may run what. Leads hold the agent role implicitly.
var (
	agents             = []Role{RoleAgent}
	agentsAndEngineers = []Role{RoleAgent, RoleEngineer}
	engineers          = []Role{RoleEngineer}
)

var priorities = []string{
	string(bridge.PriorityUrgent), string(bridge.PriorityHigh),
	string(bridge.PriorityNormal), string(bridge.PriorityLow),
}

// builtins returns the built-in commands; help needs the processor.
func builtins(p *Processor) []*Command {
	return []*Command{
		{
			Name: "claim", Summary: "Take the conversation: you become its assignee.",
			Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				return confirm(inv, ex.Claim(ctx, inv), "Claimed %s.")
			},
		},
		{
			Name: "unclaim", Summary: "Give the conversation back to the queue.",
			Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				return confirm(inv, ex.Unclaim(ctx, inv), "Unclaimed %s.")
			},
		},
		{
			Name: "assign", Params: []Param{{Name: "user", Kind: ArgUser}},
			Summary: "Make someone the assignee.",
			Help:    "Assigning anyone but yourself needs the lead role.",
			Example: "@alice", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Assign(ctx, inv, args[0]), "Assigned %s.")
			},
		},
		{
			Name: "tag", Params: []Param{{Name: "tag", Kind: ArgTag, Variadic: true, KnownTag: true}},
			Summary: "Add tags to the conversation.",
			Example: "billing", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Tag(ctx, inv, args), "Tagged %s: %s.", strings.Join(args, ", "))
			},
		},
		{
			Name: "untag", Params: []Param{{Name: "tag", Kind: ArgTag, Variadic: true}},
			Summary: "Remove tags from the conversation.",
			Example: "billing", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Untag(ctx, inv, args), "Untagged %s: %s.", strings.Join(args, ", "))
			},
		},
		{
			Name: "priority", Aliases: []string{"p", "prio"},
			Params:  []Param{{Name: "priority", Kind: ArgChoice, Choices: priorities}},
			Summary: "Set the conversation's priority.",
			Example: "high", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.SetPriority(ctx, inv, bridge.Priority(args[0])), "Priority of %s set to %s.", args[0])
			},
		},
		{
			Name: "pending", Aliases: []string{"hold"},
			Summary: "Wait on the customer: SLA timers pause until they write.",
			Roles:   agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				return confirm(inv, ex.Pending(ctx, inv), "Marked %s as waiting on the customer.")
			},
		},
		{
			Name: "close", Params: []Param{{Name: "reason", Kind: ArgText, Optional: true}},
			Summary: "Close the conversation.",
			Example: "refund issued", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Close(ctx, inv, optional(args)), "Closed %s.")
			},
		},
		{
			Name: "reopen", Summary: "Reopen a closed conversation.",
			Help:  "After the reopen window has passed, reopening needs the lead role.",
			Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				return confirm(inv, ex.Reopen(ctx, inv), "Reopened %s.")
			},
		},
		{
			Name: "note", Params: []Param{{Name: "text", Kind: ArgText}},
			Summary: "Add an internal note; the customer never sees it.",
			Example: "customer was refunded in March", Roles: agentsAndEngineers, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Note(ctx, inv, args[0]), "Note added to %s.")
			},
		},
		{
			Name: "reply", Params: []Param{{Name: "text", Kind: ArgText}},
			Summary: "Send text to the customer.",
			Help:    "The reply waits a few seconds before it goes out; delete your message to cancel it.",
			Example: "Thanks, that's fixed now!", Roles: agentsAndEngineers, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Reply(ctx, inv, args[0]), "Reply to %s queued.")
			},
		},
		{
			Name: "escalate", Params: []Param{{Name: "summary", Kind: ArgText, Optional: true}},
			Summary: "Ask engineering for help: opens an escalation thread.",
			Example: "login fails with error 500", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Escalate(ctx, inv, optional(args)), "Escalated %s.")
			},
		},
		{
			Name: "resolve", Params: []Param{{Name: "text", Kind: ArgText, Optional: true}},
			Summary: "Mark the escalation resolved (in its escalation thread).",
			Example: "fixed in release 2.3", Roles: agentsAndEngineers, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				return confirm(inv, ex.Resolve(ctx, inv, optional(args)), "Escalation of %s resolved.")
			},
		},
		{
			Name: "status", Summary: "Show the conversation's status, assignee, tags and SLA timers.",
			Roles: agentsAndEngineers, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				s, err := ex.Status(ctx, inv)
				return ephemeral(s), err
			},
		},
		{
			Name: "help", Params: []Param{{Name: "command", Kind: ArgWord, Optional: true}},
			Summary: "List the commands, or explain one.",
			Example: "tag",
			Run: func(_ context.Context, _ Executor, inv Invocation, args []string) (Reply, error) {
				return ephemeral(p.Help(optional(args), inv.Roles)), nil
			},
		},
		{
			Name: "reply-with", Params: []Param{{Name: "saved-reply", Kind: ArgWord}},
			Summary: "Send a saved reply to the customer, after a preview.",
			Help: "You see the reply as the customer will, with Send and Cancel buttons; nothing goes out until you click Send. " +
				"`replies` lists the saved replies. Quote a name with spaces.",
			Example: "refund-policy", Roles: agents, NeedsConversation: true,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				pv, err := ex.ReplyWith(ctx, inv, args[0])
				if err != nil || pv == nil {
					return Reply{}, err
				}
				return previewReply(pv), nil
			},
		},
		previewCommand(previewSend, "Send a saved reply's preview (its Send button).",
			Executor.SendPreview, "Sent saved reply `%s` to %s; its delivery shows in the thread."),
		previewCommand(previewCancel, "Drop a saved reply's preview (its Cancel button).",
			Executor.CancelPreview, "Cancelled saved reply `%s` for %s: nothing was sent."),
		{
			Name: "replies", Summary: "List the saved replies.",
			Roles: agents,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				names, err := ex.SavedReplies(ctx, inv)
				if err != nil {
					return Reply{}, err
				}
				if len(names) == 0 {
					return ephemeral("There are no saved replies yet."), nil
				}
				return ephemeral(fmt.Sprintf("Saved replies: %s.\nSend one with `%sreply-with <name>`.",
					codeList(names), p.prefixFor(inv.Source))), nil
			},
		},
		{
			Name: "available", Params: []Param{{Name: "on|off", Kind: ArgChoice, Choices: []string{"on", "off"}}},
			Summary: "Take new conversations, or stop taking them.",
			Example: "off", Roles: agents,
			Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
				on := args[0] == "on"
				if err := ex.SetAvailable(ctx, inv, on); err != nil {
					return Reply{}, err
				}
				if on {
					return ephemeral("You're available: new conversations can be assigned to you."), nil
				}
				return ephemeral("You're away: no new conversations will be assigned to you."), nil
			},
		},
		{
			Name: mineCommand, Aliases: []string{"list"},
			Summary: "List your open conversations (also the slash command alone).",
			Roles:   agents,
			Run: func(ctx context.Context, ex Executor, inv Invocation, _ []string) (Reply, error) {
				s, err := ex.ListMine(ctx, inv)
				if err != nil {
					return Reply{}, err
				}
				if s == "" {
					s = "You have no open conversations."
				}
				return ephemeral(s), nil
			},
		},
	}
}

// confirm answers a state change. The executor posts a notice in the
// conversation's thread, which is all the feedback a command given in a
// thread needs. A slash command (which needs an answer on Discord and may
// come from anywhere on Slack) and a command given outside any thread (a
// button on an SLA alert, "!claim #42" in the channel) get a short
// ephemeral confirmation. format's first verb is the ticket, args the rest.
func confirm(inv Invocation, err error, format string, args ...any) (Reply, error) {
	if err != nil {
		return Reply{}, err
	}
	if inv.Source != SourceSlash && inv.ThreadID != "" {
		return Reply{}, nil
	}
	return ephemeral(fmt.Sprintf(format, append([]any{ticketLabel(inv)}, args...)...)), nil
}

// ticketLabel names the invocation's conversation.
func ticketLabel(inv Invocation) string {
	if inv.ConversationID == 0 {
		return "the conversation"
	}
	return fmt.Sprintf("#%d", inv.ConversationID)
}

// optional is the first argument, or "" when an optional one was left out.
func optional(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// blockquote quotes text line by line.
func blockquote(text string) string {
	return "> " + strings.ReplaceAll(text, "\n", "\n> ")
}
