package xsim

import (
	"encoding/base32"
	"encoding/binary"
	"maps"
	"net/http"
	"strconv"
	"time"
)

// v2Time is the format of created_at in API v2 objects.
const v2Time = "2006-01-02T15:04:05.000Z"

// fieldSet is the set of values of a *.fields or expansions parameter.
type fieldSet map[string]bool

func fieldsOf(r *http.Request, name string) fieldSet {
	f := fieldSet{}
	for _, v := range queryList(r, name) {
		f[v] = true
	}
	return f
}

// with returns a copy of f with name added.
func (f fieldSet) with(name string) fieldSet {
	g := maps.Clone(f)
	g[name] = true
	return g
}

// userJSONLocked renders a v2 User object with the fields asked for.
func (s *Server) userJSONLocked(u *userRec, f fieldSet) map[string]any {
	o := map[string]any{"id": u.ID, "username": u.Username, "name": u.Name}
	if f["created_at"] {
		o["created_at"] = u.created.UTC().Format(v2Time)
	}
	if f["description"] {
		o["description"] = ""
	}
	if f["profile_image_url"] && u.ProfileImageURL != "" {
		o["profile_image_url"] = u.ProfileImageURL
	}
	if f["protected"] {
		o["protected"] = false
	}
	if f["public_metrics"] {
		tweets := 0
		for _, t := range s.tweets {
			if t.AuthorID == u.ID {
				tweets++
			}
		}
		o["public_metrics"] = map[string]any{
			"followers_count": u.Followers,
			"following_count": 0,
			"tweet_count":     tweets,
			"listed_count":    0,
			"like_count":      0,
		}
	}
	if f["verified"] {
		o["verified"] = u.Verified
	}
	if f["verified_type"] {
		if u.Verified {
			o["verified_type"] = "blue"
		} else {
			o["verified_type"] = "none"
		}
	}
	return o
}

// tweetJSONLocked renders a v2 Tweet object with the fields asked for (id,
// text and edit_history_tweet_ids always, as X does).
func (s *Server) tweetJSONLocked(t Tweet, f fieldSet) map[string]any {
	o := map[string]any{
		"id":                     t.ID,
		"text":                   t.Text,
		"edit_history_tweet_ids": []string{t.ID},
	}
	if f["author_id"] {
		o["author_id"] = t.AuthorID
	}
	if f["conversation_id"] {
		o["conversation_id"] = t.ConversationID
	}
	if f["created_at"] {
		o["created_at"] = t.CreatedAt.UTC().Format(v2Time)
	}
	if f["in_reply_to_user_id"] && t.InReplyToUserID != "" {
		o["in_reply_to_user_id"] = t.InReplyToUserID
	}
	if f["referenced_tweets"] && t.InReplyToTweetID != "" {
		o["referenced_tweets"] = []any{map[string]any{"type": "replied_to", "id": t.InReplyToTweetID}}
	}
	if f["entities"] {
		var ms []any
		for _, m := range s.mentionsLocked(t.Text) {
			ms = append(ms, map[string]any{"start": m.start, "end": m.end, "username": m.username, "id": m.user.ID})
		}
		if ms != nil {
			o["entities"] = map[string]any{"mentions": ms}
		}
	}
	if f["attachments"] && len(t.MediaIDs) > 0 {
		o["attachments"] = map[string]any{"media_keys": s.mediaKeysLocked(t.MediaIDs)}
	}
	if f["reply_settings"] {
		o["reply_settings"] = "everyone"
	}
	if f["possibly_sensitive"] {
		o["possibly_sensitive"] = false
	}
	if f["lang"] {
		o["lang"] = "en"
	}
	return o
}

// dmJSONLocked renders a v2 DmEvent object: id, event_type and text always
// (as X does for MessageCreate events), other fields when asked for.
func (s *Server) dmJSONLocked(ev DMEvent, f fieldSet) map[string]any {
	o := map[string]any{"id": ev.ID, "event_type": "MessageCreate", "text": ev.Text}
	if f["created_at"] {
		o["created_at"] = ev.CreatedAt.UTC().Format(v2Time)
	}
	if f["sender_id"] {
		o["sender_id"] = ev.SenderID
	}
	if f["dm_conversation_id"] {
		o["dm_conversation_id"] = ev.ConversationID
	}
	if f["attachments"] && len(ev.MediaIDs) > 0 {
		o["attachments"] = map[string]any{"media_keys": s.mediaKeysLocked(ev.MediaIDs)}
	}
	return o
}

// includes collects the expanded objects of a response, without
// duplicates.
type includes struct {
	base      string // origin of media URLs
	users     []any
	tweets    []any
	media     []any
	seenUser  map[string]bool
	seenTw    map[string]bool
	seenMedia map[string]bool
}

func (in *includes) addMedia(s *Server, id string, f fieldSet) {
	if in.seenMedia[id] {
		return
	}
	m, ok := s.media[id]
	if !ok {
		return
	}
	if in.seenMedia == nil {
		in.seenMedia = map[string]bool{}
	}
	in.seenMedia[id] = true
	in.media = append(in.media, s.mediaJSONLocked(m, f, in.base))
}

func (in *includes) addUser(s *Server, id string, f fieldSet) {
	if in.seenUser[id] {
		return
	}
	u, ok := s.users[id]
	if !ok {
		return
	}
	if in.seenUser == nil {
		in.seenUser = map[string]bool{}
	}
	in.seenUser[id] = true
	in.users = append(in.users, s.userJSONLocked(u, f))
}

func (in *includes) addTweet(s *Server, id string, f fieldSet) {
	if in.seenTw[id] {
		return
	}
	t, ok := s.tweetLocked(id)
	if !ok {
		return
	}
	if in.seenTw == nil {
		in.seenTw = map[string]bool{}
	}
	in.seenTw[id] = true
	in.tweets = append(in.tweets, s.tweetJSONLocked(t, f))
}

// expandTweetLocked adds to in the objects the expansions ask for about t.
func (s *Server) expandTweetLocked(in *includes, t Tweet, exp, tf, uf, mf fieldSet) {
	if exp["attachments.media_keys"] {
		for _, id := range t.MediaIDs {
			in.addMedia(s, id, mf)
		}
	}
	if exp["author_id"] {
		in.addUser(s, t.AuthorID, uf)
	}
	if exp["in_reply_to_user_id"] && t.InReplyToUserID != "" {
		in.addUser(s, t.InReplyToUserID, uf)
	}
	if exp["entities.mentions.username"] {
		for _, m := range s.mentionsLocked(t.Text) {
			in.addUser(s, m.user.ID, uf)
		}
	}
	if exp["referenced_tweets.id"] && t.InReplyToTweetID != "" {
		in.addTweet(s, t.InReplyToTweetID, tf)
	}
	if exp["referenced_tweets.id.author_id"] && t.InReplyToTweetID != "" {
		if p, ok := s.tweetLocked(t.InReplyToTweetID); ok {
			in.addUser(s, p.AuthorID, uf)
		}
	}
	if exp["referenced_tweets.id.attachments.media_keys"] && t.InReplyToTweetID != "" {
		if p, ok := s.tweetLocked(t.InReplyToTweetID); ok {
			for _, id := range p.MediaIDs {
				in.addMedia(s, id, mf)
			}
		}
	}
}

// put adds the includes to a response object, if there are any.
func (in *includes) put(resp map[string]any) {
	inc := map[string]any{}
	if len(in.users) > 0 {
		inc["users"] = in.users
	}
	if len(in.tweets) > 0 {
		inc["tweets"] = in.tweets
	}
	if len(in.media) > 0 {
		inc["media"] = in.media
	}
	if len(inc) > 0 {
		resp["includes"] = inc
	}
}

// notFound is the partial error X returns (with status 200) for an object
// that does not exist.
func notFound(resourceType, param, value string) map[string]any {
	what := param
	switch what {
	case "ids":
		what = "id"
	case "media_keys":
		what = "media_key"
	}
	return map[string]any{
		"value":         value,
		"detail":        "Could not find " + resourceType + " with " + what + ": [" + value + "].",
		"title":         "Not Found Error",
		"resource_type": resourceType,
		"parameter":     param,
		"resource_id":   value,
		"type":          "https://api.twitter.com/2/problems/resource-not-found",
	}
}

// Pagination tokens. A token names the id of the first item of the page it
// leads to (pages go from newest to oldest). DM tokens are base32 and at
// least 16 characters long, timeline tokens base36, as the API description
// requires.
var dmTokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

const dmTokenPrefix = "dmv1"

func dmToken(id string) string {
	n, _ := strconv.ParseUint(id, 10, 64)
	b := append([]byte(dmTokenPrefix), binary.BigEndian.AppendUint64(nil, n)...)
	return dmTokenEncoding.EncodeToString(b)
}

func parseDMToken(tok string) (uint64, bool) {
	b, err := dmTokenEncoding.DecodeString(tok)
	if err != nil || len(b) != len(dmTokenPrefix)+8 || string(b[:len(dmTokenPrefix)]) != dmTokenPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[len(dmTokenPrefix):]), true
}

func timelineToken(id string) string {
	n, _ := strconv.ParseUint(id, 10, 64)
	return strconv.FormatUint(n, 36)
}

func parseTimelineToken(tok string) (uint64, bool) {
	n, err := strconv.ParseUint(tok, 36, 64)
	return n, err == nil
}

func idNum(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// intParam returns the integer value of a query parameter (already
// validated against the description), or def when absent.
func intParam(r *http.Request, name string, def int) int {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

// timeParam returns the RFC 3339 time of a query parameter, or the zero
// time when absent.
func timeParam(r *http.Request, name string) time.Time {
	t, _ := time.Parse(time.RFC3339, r.URL.Query().Get(name))
	return t
}
