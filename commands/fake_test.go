package commands

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/xbridge/xbridge/bridge"
)

// call is one recorded Executor call.
type call struct {
	Method string
	Inv    Invocation
	Args   []string
}

// fakeExecutor records every call and answers with Err (for every method)
// and the canned values below.
type fakeExecutor struct {
	mu    sync.Mutex
	calls []call

	Err        error
	StatusText string
	Preview    string
	Names      []string
	Mine       string
}

func (f *fakeExecutor) record(method string, inv Invocation, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Method: method, Inv: inv, Args: args})
	return f.Err
}

func (f *fakeExecutor) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeExecutor) Claim(_ context.Context, inv Invocation) error {
	return f.record("Claim", inv)
}
func (f *fakeExecutor) Unclaim(_ context.Context, inv Invocation) error {
	return f.record("Unclaim", inv)
}
func (f *fakeExecutor) Assign(_ context.Context, inv Invocation, user string) error {
	return f.record("Assign", inv, user)
}
func (f *fakeExecutor) Tag(_ context.Context, inv Invocation, tags []string) error {
	return f.record("Tag", inv, tags...)
}
func (f *fakeExecutor) Untag(_ context.Context, inv Invocation, tags []string) error {
	return f.record("Untag", inv, tags...)
}
func (f *fakeExecutor) SetPriority(_ context.Context, inv Invocation, p bridge.Priority) error {
	return f.record("SetPriority", inv, string(p))
}
func (f *fakeExecutor) Pending(_ context.Context, inv Invocation) error {
	return f.record("Pending", inv)
}
func (f *fakeExecutor) Close(_ context.Context, inv Invocation, reason string) error {
	return f.record("Close", inv, reason)
}
func (f *fakeExecutor) Reopen(_ context.Context, inv Invocation) error {
	return f.record("Reopen", inv)
}
func (f *fakeExecutor) Note(_ context.Context, inv Invocation, text string) error {
	return f.record("Note", inv, text)
}
func (f *fakeExecutor) Reply(_ context.Context, inv Invocation, text string) error {
	return f.record("Reply", inv, text)
}
func (f *fakeExecutor) Escalate(_ context.Context, inv Invocation, summary string) error {
	return f.record("Escalate", inv, summary)
}
func (f *fakeExecutor) Resolve(_ context.Context, inv Invocation, text string) error {
	return f.record("Resolve", inv, text)
}
func (f *fakeExecutor) Status(_ context.Context, inv Invocation) (string, error) {
	return f.StatusText, f.record("Status", inv)
}
func (f *fakeExecutor) ReplyWith(_ context.Context, inv Invocation, name string) (*bridge.ReplyPreview, error) {
	if err := f.record("ReplyWith", inv, name); err != nil {
		return nil, err
	}
	return &bridge.ReplyPreview{ID: 17, ConversationID: inv.ConversationID, Name: name, Text: f.Preview,
		State: bridge.PreviewPending, Parts: 1}, nil
}
func (f *fakeExecutor) SendPreview(_ context.Context, inv Invocation, id int64) (*bridge.ReplyPreview, error) {
	return f.settled("SendPreview", inv, id, bridge.PreviewSent)
}
func (f *fakeExecutor) CancelPreview(_ context.Context, inv Invocation, id int64) (*bridge.ReplyPreview, error) {
	return f.settled("CancelPreview", inv, id, bridge.PreviewCancelled)
}

// settled records a preview button's call and answers with preview id of
// conversation #7 in state.
func (f *fakeExecutor) settled(method string, inv Invocation, id int64, state bridge.PreviewState) (*bridge.ReplyPreview, error) {
	if err := f.record(method, inv, strconv.FormatInt(id, 10)); err != nil {
		return nil, err
	}
	return &bridge.ReplyPreview{ID: id, ConversationID: 7, Name: "refund policy", Text: f.Preview, State: state}, nil
}
func (f *fakeExecutor) SavedReplies(_ context.Context, inv Invocation) ([]string, error) {
	return f.Names, f.record("SavedReplies", inv)
}
func (f *fakeExecutor) SetAvailable(_ context.Context, inv Invocation, on bool) error {
	if on {
		return f.record("SetAvailable", inv, "on")
	}
	return f.record("SetAvailable", inv, "off")
}
func (f *fakeExecutor) ListMine(_ context.Context, inv Invocation) (string, error) {
	return f.Mine, f.record("ListMine", inv)
}

// bundle is what setup gives a test.
type bundle struct {
	proc *Processor
	ex   *fakeExecutor
	logs *syncBuffer
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T) *bundle {
	t.Helper()
	logs := &syncBuffer{}
	p := NewProcessor("!")
	p.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return &bundle{proc: p, ex: &fakeExecutor{}, logs: logs}
}

// Invocations used across tests.
var (
	inThread = Invocation{Source: SourceText, Platform: "slack", ConversationID: 7, Channel: "C1", ThreadID: "1700000000.000100",
		ActorID: "U1", ActorName: "ann", Roles: []Role{RoleAgent}, EventID: "Ev1"}
	slashAnywhere = Invocation{Source: SourceSlash, Platform: "slack", Channel: "C1",
		ActorID: "U1", ActorName: "ann", Roles: []Role{RoleAgent}, EventID: "Ev2"}
)

func with(inv Invocation, f func(*Invocation)) Invocation {
	f(&inv)
	return inv
}

func roles(rs ...Role) func(*Invocation) {
	return func(inv *Invocation) { inv.Roles = rs }
}
