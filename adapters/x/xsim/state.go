package xsim

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is an X account known to the simulator.
type User struct {
	ID              string
	Username        string // handle, without "@"
	Name            string
	ProfileImageURL string
	Followers       int
	Verified        bool
}

// DMEvent is a direct message (a MessageCreate DM event).
type DMEvent struct {
	ID             string
	ConversationID string
	SenderID       string
	RecipientID    string
	Text           string
	CreatedAt      time.Time
	MediaIDs       []string // ids of the media attached (X allows one), if any
}

// Tweet is a post.
type Tweet struct {
	ID               string
	AuthorID         string
	Text             string
	ConversationID   string
	InReplyToTweetID string // empty unless the tweet is a reply
	InReplyToUserID  string // author of InReplyToTweetID
	CreatedAt        time.Time
	MediaIDs         []string // ids of the media attached, if any
}

// userRec is a User with the time the simulator learnt of it, used as the
// account's creation time.
type userRec struct {
	User
	created time.Time
}

// twitterEpoch is the epoch of X's snowflake ids (2010-11-04T01:42:54.657Z).
const twitterEpoch = 1288834974657

// DMConversationID returns the id X gives the one-to-one DM conversation of
// users a and b: both ids, numerically smaller first, joined by "-".
func DMConversationID(a, b string) string {
	if idLess(b, a) {
		a, b = b, a
	}
	return a + "-" + b
}

// idLess compares two numeric ids numerically (by length, then digits).
func idLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// nextIDLocked returns a new snowflake-like id, greater than every id given
// before, even if the clock goes backwards. s.mu must be held.
func (s *Server) nextIDLocked(now time.Time) string {
	var id uint64
	if ms := now.UnixMilli() - twitterEpoch; ms > 0 {
		id = uint64(ms) << 22
	}
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

// AddUser adds u to the simulator, or replaces the user with u's id.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) *userRec {
	if old, ok := s.users[u.ID]; ok {
		old.User = u
		return old
	}
	rec := &userRec{User: u, created: s.now()}
	s.users[u.ID] = rec
	return rec
}

// userLocked returns the user with that id, creating a placeholder account
// ("user<id>") for an id the simulator does not know yet. s.mu must be held.
func (s *Server) userLocked(id string) *userRec {
	if u, ok := s.users[id]; ok {
		return u
	}
	return s.addUserLocked(User{ID: id, Username: "user" + id, Name: "User " + id})
}

// User returns the user with that id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return u.User, true
}

// CustomerDM injects a direct message from the customer fromUserID to the
// (first) support account and returns it. An unknown customer is created on
// the fly.
func (s *Server) CustomerDM(fromUserID, text string) DMEvent {
	return s.CustomerDMTo(s.opts.SupportUserID, fromUserID, text)
}

// CustomerDMTo injects a direct message from the customer fromUserID to the
// support account accountID and returns it.
func (s *Server) CustomerDMTo(accountID, fromUserID, text string) DMEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(fromUserID)
	return s.addDMLocked(fromUserID, accountID, text, nil)
}

func (s *Server) addDMLocked(from, to, text string, mediaIDs []string) DMEvent {
	now := s.now().UTC()
	ev := DMEvent{
		ID:             s.nextIDLocked(now),
		ConversationID: DMConversationID(from, to),
		SenderID:       from,
		RecipientID:    to,
		Text:           text,
		CreatedAt:      now,
		MediaIDs:       mediaIDs,
	}
	s.dms = append(s.dms, ev)
	for _, forUser := range s.supportPartiesLocked(ev.RecipientID, ev.SenderID) {
		s.autoDeliverLocked(func() []byte { return s.dmPayloadLocked(forUser, ev) })
	}
	return ev
}

// CustomerMention injects a tweet by fromUserID mentioning a support
// account ("@" + SupportHandle is prepended to text when text mentions
// none), replying to inReplyToTweetID unless that is empty, and returns it.
// Its conversation id is that of the tweet replied to, or its own id.
func (s *Server) CustomerMention(fromUserID, text, inReplyToTweetID string) Tweet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.customerMentionLocked(fromUserID, text, inReplyToTweetID, nil)
}

func (s *Server) customerMentionLocked(fromUserID, text, inReplyToTweetID string, mediaIDs []string) Tweet {
	s.userLocked(fromUserID)
	if !slices.ContainsFunc(s.mentionsLocked(text), func(m mention) bool { return s.isSupport(m.user.ID) }) {
		text = "@" + s.opts.SupportHandle + " " + text
	}
	return s.addTweetLocked(fromUserID, text, inReplyToTweetID, mediaIDs)
}

func (s *Server) addTweetLocked(authorID, text, inReplyTo string, mediaIDs []string) Tweet {
	now := s.now().UTC()
	t := Tweet{
		ID:               s.nextIDLocked(now),
		AuthorID:         authorID,
		Text:             text,
		InReplyToTweetID: inReplyTo,
		CreatedAt:        now,
		MediaIDs:         mediaIDs,
	}
	t.ConversationID = t.ID
	if inReplyTo != "" {
		t.ConversationID = inReplyTo
		if p, ok := s.tweetLocked(inReplyTo); ok {
			t.ConversationID = p.ConversationID
			t.InReplyToUserID = p.AuthorID
		}
	}
	s.tweetIndex[t.ID] = len(s.tweets)
	s.tweets = append(s.tweets, t)
	for _, forUser := range s.tweetPartiesLocked(t) {
		s.autoDeliverLocked(func() []byte { return s.tweetPayloadLocked(forUser, t) })
	}
	return t
}

func (s *Server) tweetLocked(id string) (Tweet, bool) {
	i, ok := s.tweetIndex[id]
	if !ok {
		return Tweet{}, false
	}
	return s.tweets[i], true
}

// DMsTo returns the direct messages the support accounts sent to userID,
// in the order they were sent; SenderID tells which account sent each.
func (s *Server) DMsTo(userID string) []DMEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DMEvent
	for _, ev := range s.dms {
		if s.isSupport(ev.SenderID) && ev.RecipientID == userID {
			out = append(out, ev)
		}
	}
	return out
}

// RepliesTo returns the tweets by the support accounts that reply to
// tweetID, in the order they were posted; AuthorID tells which account
// posted each.
func (s *Server) RepliesTo(tweetID string) []Tweet {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Tweet
	for _, t := range s.tweets {
		if s.isSupport(t.AuthorID) && t.InReplyToTweetID == tweetID {
			out = append(out, t)
		}
	}
	return out
}

// Tweets returns every tweet, oldest first.
func (s *Server) Tweets() []Tweet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tweets)
}

// DMEvents returns every direct message, oldest first.
func (s *Server) DMEvents() []DMEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dms)
}

// mentionRE finds @handles in a text the way X does, roughly: an "@" not
// preceded by a word character, then 1 to 15 of [A-Za-z0-9_].
var mentionRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_@])([@＠])([A-Za-z0-9_]{1,15})`)

// mention is an @handle in a text, with rune offsets [start, end).
type mention struct {
	start, end int
	username   string
	user       *userRec // nil when no such user is known
}

// mentionsLocked returns the mentions of known users in text. s.mu must be
// held.
func (s *Server) mentionsLocked(text string) []mention {
	var out []mention
	for _, m := range mentionRE.FindAllStringSubmatchIndex(text, -1) {
		name := text[m[4]:m[5]]
		u := s.userByNameLocked(name)
		if u == nil {
			continue
		}
		start := len([]rune(text[:m[2]]))
		out = append(out, mention{
			start:    start,
			end:      start + 1 + len([]rune(name)),
			username: u.Username,
			user:     u,
		})
	}
	return out
}

func (s *Server) userByNameLocked(name string) *userRec {
	for _, u := range s.users {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	return nil
}

// supportPartiesLocked returns the support accounts among ids, once each,
// in order: the accounts X delivers an event between these users to.
func (s *Server) supportPartiesLocked(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if s.isSupport(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// tweetPartiesLocked returns the support accounts a tweet concerns, which
// X delivers it to: its author, those it replies to and those it mentions.
func (s *Server) tweetPartiesLocked(t Tweet) []string {
	ids := []string{t.AuthorID, t.InReplyToUserID}
	for _, m := range s.mentionsLocked(t.Text) {
		ids = append(ids, m.user.ID)
	}
	return s.supportPartiesLocked(ids...)
}

// mentionsUserLocked reports whether t mentions the user u.
func (s *Server) mentionsUserLocked(t Tweet, u *userRec) bool {
	for _, m := range s.mentionsLocked(t.Text) {
		if m.user == u {
			return true
		}
	}
	return false
}
