package slacksim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is a member of the simulated workspace.
type User struct {
	ID       string // "U..."
	Name     string // handle, e.g. "alice"
	RealName string
	ImageURL string // served as profile.image_72 (and the other sizes)
	IsBot    bool
}

// File is a file shared into a conversation: uploaded by the app through
// the external upload flow, or shared by a person (PostFileAsUser).
type File struct {
	ID       string
	Name     string
	Title    string
	Size     int
	Mimetype string // sniffed from the bytes for uploads
	SHA256   string // hex SHA-256 of the bytes
	AltText  string
	User     string // who shared it
}

// Message is a snapshot of a message as the simulator holds it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the root's ts for replies; empty for roots
	User     string // author; the bot user for messages posted through the Web API
	BotID    string // set for messages posted by the bot
	Text     string
	Username string // username override given to chat.postMessage
	IconURL  string // icon_url override given to chat.postMessage
	Blocks   json.RawMessage
	Metadata json.RawMessage // {"event_type":...,"event_payload":...}
	// Reactions lists reaction names in the order they were first added.
	Reactions []string
	Files     []File
	Edited    bool
	Deleted   bool
}

// Call describes one Web API call, as passed to OnCall observers.
type Call struct {
	Method string
	Params url.Values // the parameters sent, without the token
	OK     bool
	Error  string // the "error" of an ok:false answer
	Status int    // HTTP status sent; 0 when the connection was dropped
}

// reaction is one emoji on a message and who added it.
type reaction struct {
	name  string
	users []string
}

// message is the simulator's record of a message.
type message struct {
	Message
	team        string
	clientMsgID string
	iconEmoji   string
	editedBy    string
	editedTS    string
	reactions   []*reaction
	replies     []string // ts of replies, for roots
}

// channel is a public channel of the workspace.
type channel struct {
	id, name string
	created  int64
	roots    []string // ts of root messages in posting order
	msgs     map[string]*message
}

// userGroup is a user group (subteam).
type userGroup struct {
	id, handle string
	members    []string
}

func (m *message) snapshot() Message {
	out := m.Message
	out.Reactions = nil
	for _, r := range m.reactions {
		out.Reactions = append(out.Reactions, r.name)
	}
	out.Blocks = slices.Clone(m.Blocks)
	out.Metadata = slices.Clone(m.Metadata)
	out.Files = slices.Clone(m.Files)
	return out
}

// isBot reports whether the bot posted m.
func (m *message) isBot() bool { return m.BotID != "" }

// AddUser adds (or replaces) a member of the workspace.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; !ok {
		s.userOrder = append(s.userOrder, u.ID)
	}
	s.users[u.ID] = u
}

// AddChannel adds a public channel the bot is a member of. Adding an existing
// id only renames it.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[id]; ok {
		c.name = name
		return
	}
	s.channels[id] = &channel{id: id, name: name, created: s.opts.Now().Unix(), msgs: map[string]*message{}}
	s.channelOrder = append(s.channelOrder, id)
}

// AddUserGroup adds (or replaces) a user group with the given members.
func (s *Server) AddUserGroup(id, handle string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[id]; !ok {
		s.groupOrder = append(s.groupOrder, id)
	}
	s.groups[id] = &userGroup{id: id, handle: handle, members: slices.Clone(members)}
}

// Message returns the message with the given ts in channel.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channel]
	if c == nil {
		return Message{}, false
	}
	m := c.msgs[ts]
	if m == nil {
		return Message{}, false
	}
	return m.snapshot(), true
}

// Roots returns the root messages of channel in posting order, deleted ones
// included (with Deleted set).
func (s *Server) Roots(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channel]
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.roots))
	for _, ts := range c.roots {
		out = append(out, c.msgs[ts].snapshot())
	}
	return out
}

// Thread returns the replies of the thread rooted at threadTS in posting
// order, without the root, deleted ones included (with Deleted set).
func (s *Server) Thread(channel, threadTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channel]
	if c == nil || c.msgs[threadTS] == nil {
		return nil
	}
	root := c.msgs[threadTS]
	out := make([]Message, 0, len(root.replies))
	for _, ts := range root.replies {
		out = append(out, c.msgs[ts].snapshot())
	}
	return out
}

// Ephemerals returns the ephemeral messages shown to userID, oldest first:
// those from chat.postEphemeral and ephemeral response_url answers.
func (s *Server) Ephemerals(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemerals[userID])
}

// Violations returns every request the simulator rejected as one real Slack
// would not accept (or that broke the protocol), and every problem found in
// the simulator's own event payloads against the events API description.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// OnCall registers an observer called after each Web API call.
func (s *Server) OnCall(f func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, f)
}

// WaitFor polls cond every few milliseconds until it returns true or ctx is
// done.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slacksim: condition not met: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// violationLocked records a problem; callers hold s.mu.
func (s *Server) violationLocked(format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violationLocked(format, args...)
}

// channelLocked finds a channel by id, or by name with or without '#'.
func (s *Server) channelLocked(idOrName string) *channel {
	if c := s.channels[idOrName]; c != nil {
		return c
	}
	name := strings.TrimPrefix(idOrName, "#")
	for _, id := range s.channelOrder {
		if c := s.channels[id]; c.name == name {
			return c
		}
	}
	return nil
}

// newTSLocked returns a message timestamp "secs.micros" strictly greater
// than every one handed out before.
func (s *Server) newTSLocked() string {
	now := s.opts.Now().UnixMicro()
	if now <= s.lastTS {
		now = s.lastTS + 1
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now/1e6, now%1e6)
}

// tsLess compares two Slack timestamps numerically.
func tsLess(a, b string) bool { return tsMicros(a) < tsMicros(b) }

// tsMicros converts "secs.micros" to microseconds; malformed input gives -1.
func tsMicros(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return -1
	}
	frac = (frac + "000000")[:6]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return -1
	}
	return s*1e6 + f
}

// addMessage stores m in c as a root or as a reply of m.ThreadTS.
func (c *channel) addMessage(m *message) {
	c.msgs[m.TS] = m
	if m.ThreadTS == "" {
		c.roots = append(c.roots, m.TS)
		return
	}
	root := c.msgs[m.ThreadTS]
	root.replies = append(root.replies, m.TS)
}

// root returns the root message ts of c (a tombstone with replies
// included), or nil.
func (c *channel) root(ts string) *message {
	m := c.msgs[ts]
	if m == nil || m.ThreadTS != "" || (m.Deleted && len(m.replies) == 0) {
		return nil
	}
	return m
}

// live returns the message ts in c unless it is missing or deleted.
func (c *channel) live(ts string) *message {
	m := c.msgs[ts]
	if m == nil || m.Deleted {
		return nil
	}
	return m
}
