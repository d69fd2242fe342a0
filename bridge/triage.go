package bridge

import (
	"slices"
	"strings"
	"time"
)

// Role is what a person may do in the bridge.
type Role string

// Roles. A lead may do everything an agent may.
const (
	RoleAgent    Role = "agent"
	RoleEngineer Role = "engineer"
	RoleLead     Role = "lead"
)

// Actor is a person acting in chat.
type Actor struct {
	Platform string
	ID       string
	Name     string
	Roles    []Role
}

// Has reports whether the actor holds r; leads hold RoleAgent too.
func (a Actor) Has(r Role) bool {
	if slices.Contains(a.Roles, r) {
		return true
	}
	return r == RoleAgent && slices.Contains(a.Roles, RoleLead)
}

// Label is how notices name the actor.
func (a Actor) Label() string { return nameOr(a.Name, a.ID) }

// Action is one triage action: who, on which conversation, from where.
type Action struct {
	Actor
	// ConversationID is the ticket, when given; otherwise the
	// conversation of the chat thread Channel/ThreadID (a ticket thread
	// or one of its escalation threads).
	ConversationID int64
	Channel        string
	ThreadID       string
	Source         string // "text", "slash", "button", "reaction"
	EventID        string // deduplicates redelivered actions
	// MessageID is the chat message that carried the action when it was
	// typed in a thread (`!reply …` gets the delivery marks).
	MessageID string
}

// Escalation links a conversation to a thread in the engineering channel.
type Escalation struct {
	ID             int64
	ConversationID int64
	Platform       string
	Channel        string
	ThreadID       string // empty until its card is posted
	Summary        string
	OpenedByID     string
	OpenedByName   string
	OpenedAt       time.Time
	ResolvedAt     time.Time // zero while open
	ResolvedByName string
	Resolution     string
}

// Open reports whether the escalation is unresolved.
func (e *Escalation) Open() bool { return e.ResolvedAt.IsZero() }

// AuditEntry records one action on a conversation.
type AuditEntry struct {
	ID             int64
	ConversationID int64
	ActorID        string
	ActorName      string
	Action         string // "claim", "tag", "close", …
	Before         string
	After          string
	Source         string // input path: "text", "slash", "button", "reaction", "customer", "system"
	At             time.Time
}

// Agent is a support agent's availability for automatic assignment.
type Agent struct {
	Platform       string
	UserID         string
	Name           string
	Available      bool
	LastAssignedAt time.Time
}

// normalizeTags lowercases, dedupes and sorts tags.
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
