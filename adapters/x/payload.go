package x

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

// Reasons an event is ignored, reported to the Observer.
const (
	ignoreOtherAccount = "other_account"   // a webhook payload for another user
	ignoreRetweet      = "retweet"         // retweets are not conversations
	ignoreUnrelated    = "unrelated_tweet" // a tweet that neither mentions nor answers the account
	ignoreDMType       = "dm_event_type"   // a DM event that is not a message
	ignoreMalformed    = "malformed_event" // an event lacking its id or sender
	ignoreOwnRead      = "own_read"        // the support account read a DM
	ignoreOwnTyping    = "own_typing"      // the support account is typing a DM
	ignoreOtherDM      = "other_dm"        // a read or typing event between two other users
)

// Account Activity members carrying read receipts and typing indicators.
// Without a Receipts handler their events are ignored under these names.
const (
	markReadEvents = "direct_message_mark_read_events"
	typingEvents   = "direct_message_indicate_typing_events"
)

// Ways events arrive, for InboundMessage.Via.
const (
	viaWebhook = "webhook"
	viaPoll    = "poll"
)

// --- API v2 (polling) ---

// dmEventsPage is one page of a DM lookup (API v2).
type dmEventsPage struct {
	Data     []dmEventV2 `json:"data"`
	Includes struct {
		Users []*twitter.UserObj  `json:"users"`
		Media []*twitter.MediaObj `json:"media"`
	} `json:"includes"`
	Meta struct {
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
}

// dmEventV2 is a DM event of API v2.
type dmEventV2 struct {
	ID             string   `json:"id"`
	EventType      string   `json:"event_type"`
	Text           string   `json:"text"`
	CreatedAt      string   `json:"created_at"`
	ConversationID string   `json:"dm_conversation_id"`
	SenderID       string   `json:"sender_id"`
	ParticipantIDs []string `json:"participant_ids"`
	Attachments    struct {
		MediaKeys []string `json:"media_keys"`
	} `json:"attachments"`
}

// usersByID indexes expanded users by id.
func usersByID(users []*twitter.UserObj) map[string]*twitter.UserObj {
	m := make(map[string]*twitter.UserObj, len(users))
	for _, u := range users {
		if u != nil {
			m[u.ID] = u
		}
	}
	return m
}

// dmFromV2 converts a polled DM event. It returns the reason to ignore the
// event instead when it is not a message.
func dmFromV2(account string, ev dmEventV2, users map[string]*twitter.UserObj) (bridge.InboundMessage, string) {
	if ev.EventType != "" && ev.EventType != "MessageCreate" {
		return bridge.InboundMessage{}, ignoreDMType
	}
	if ev.ID == "" || ev.SenderID == "" {
		return bridge.InboundMessage{}, ignoreMalformed
	}
	sender := bridge.XUser{ID: ev.SenderID}
	if u, ok := users[ev.SenderID]; ok {
		sender = userFromV2(u)
	}
	conv := ev.ConversationID
	recipient := account
	if ev.SenderID == account {
		recipient = otherParticipant(account, conv, ev.ParticipantIDs)
	}
	if conv == "" && recipient != "" {
		conv = dmConversationID(ev.SenderID, recipient)
	}
	return bridge.InboundMessage{
		EventID:         ev.ID,
		Account:         account,
		Kind:            bridge.KindDM,
		ConversationKey: conv,
		Sender:          sender,
		RecipientID:     recipient,
		Text:            ev.Text,
		CreatedAt:       parseV2Time(ev.CreatedAt),
		Via:             viaPoll,
	}, ""
}

// otherParticipant returns who the account wrote to in a one-to-one
// conversation, from the participants or the conversation id ("a-b").
func otherParticipant(account, conv string, participants []string) string {
	for _, p := range participants {
		if p != account {
			return p
		}
	}
	a, b, ok := strings.Cut(conv, "-")
	switch {
	case !ok:
		return ""
	case a == account:
		return b
	case b == account:
		return a
	}
	return ""
}

// mentionFromV2 converts a tweet of the mentions timeline. It returns the
// reason to ignore the tweet instead when it is a retweet.
func mentionFromV2(account string, t *twitter.TweetObj, users map[string]*twitter.UserObj) (bridge.InboundMessage, string) {
	for _, r := range t.ReferencedTweets {
		if r != nil && r.Type == "retweeted" {
			return bridge.InboundMessage{}, ignoreRetweet
		}
	}
	if t.ID == "" || t.AuthorID == "" {
		return bridge.InboundMessage{}, ignoreMalformed
	}
	sender := bridge.XUser{ID: t.AuthorID}
	if u, ok := users[t.AuthorID]; ok {
		sender = userFromV2(u)
	}
	return bridge.InboundMessage{
		EventID:         t.ID,
		Account:         account,
		Kind:            bridge.KindMention,
		ConversationKey: t.ConversationID,
		InReplyToID:     repliedTo(t),
		Sender:          sender,
		Text:            unescapeTweet(t.Text),
		CreatedAt:       parseV2Time(t.CreatedAt),
		Via:             viaPoll,
	}, ""
}

// userFromV2 converts an API v2 user.
func userFromV2(u *twitter.UserObj) bridge.XUser {
	x := bridge.XUser{ID: u.ID, Handle: u.UserName, Name: u.Name, AvatarURL: u.ProfileImageURL, Verified: u.Verified}
	if u.PublicMetrics != nil {
		x.Followers = u.PublicMetrics.Followers
	}
	return x
}

// parseV2Time parses an API v2 created_at; zero when absent or malformed.
func parseV2Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// dmConversationID returns the id X gives the one-to-one DM conversation of
// users a and b: both ids, numerically smaller first, joined by "-".
func dmConversationID(a, b string) string {
	if idLess(b, a) {
		a, b = b, a
	}
	return a + "-" + b
}

// --- Account Activity API (webhooks, v1.1-shaped) ---

// webhookPayload is an Account Activity delivery.
type webhookPayload struct {
	ForUserID           string            `json:"for_user_id"`
	DirectMessageEvents []v1DMEvent       `json:"direct_message_events"`
	TweetCreateEvents   []v1Tweet         `json:"tweet_create_events"`
	MarkReadEvents      []v1DMSignal      `json:"direct_message_mark_read_events"`
	TypingEvents        []v1DMSignal      `json:"direct_message_indicate_typing_events"`
	Users               map[string]v1User `json:"users"`
}

// v1DMSignal is a read receipt (direct_message_mark_read_events, with
// LastReadEventID) or a typing indicator
// (direct_message_indicate_typing_events) of the Account Activity API.
type v1DMSignal struct {
	CreatedTimestamp string `json:"created_timestamp"` // epoch milliseconds
	SenderID         string `json:"sender_id"`         // who read, or is typing
	Target           struct {
		RecipientID string `json:"recipient_id"`
	} `json:"target"`
	LastReadEventID string `json:"last_read_event_id"`
}

// v1DMEvent is a DM event of the Account Activity API.
type v1DMEvent struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	CreatedTimestamp string `json:"created_timestamp"` // epoch milliseconds
	MessageCreate    *struct {
		Target struct {
			RecipientID string `json:"recipient_id"`
		} `json:"target"`
		SenderID    string `json:"sender_id"`
		MessageData struct {
			Text       string `json:"text"`
			Attachment *struct {
				Type  string  `json:"type"`
				Media v1Media `json:"media"`
			} `json:"attachment"`
		} `json:"message_data"`
	} `json:"message_create"`
}

// v1User is a user of the Account Activity API (in the DM "users" map or
// a tweet's "user").
type v1User struct {
	ID                   flexID `json:"id"`
	IDStr                string `json:"id_str"`
	Name                 string `json:"name"`
	ScreenName           string `json:"screen_name"`
	ProfileImageURLHTTPS string `json:"profile_image_url_https"`
	FollowersCount       int    `json:"followers_count"`
	Verified             bool   `json:"verified"`
}

func (u v1User) xUser(fallbackID string) bridge.XUser {
	id := u.IDStr
	if id == "" {
		id = string(u.ID)
	}
	if id == "" {
		id = fallbackID
	}
	return bridge.XUser{ID: id, Handle: u.ScreenName, Name: u.Name, AvatarURL: u.ProfileImageURLHTTPS,
		Followers: u.FollowersCount, Verified: u.Verified}
}

// v1Tweet is a tweet of the Account Activity API (v1.1 shape).
type v1Tweet struct {
	IDStr         string `json:"id_str"`
	Text          string `json:"text"`
	FullText      string `json:"full_text"`
	ExtendedTweet *struct {
		FullText         string          `json:"full_text"`
		ExtendedEntities *v1TweetMediaOf `json:"extended_entities"`
	} `json:"extended_tweet"`
	ExtendedEntities     *v1TweetMediaOf `json:"extended_entities"`
	CreatedAt            string          `json:"created_at"`   // "Wed Oct 10 20:19:24 +0000 2018"
	TimestampMS          string          `json:"timestamp_ms"` // epoch milliseconds
	InReplyToStatusIDStr string          `json:"in_reply_to_status_id_str"`
	InReplyToUserIDStr   string          `json:"in_reply_to_user_id_str"`
	User                 v1User          `json:"user"`
	Entities             struct {
		UserMentions []struct {
			IDStr string `json:"id_str"`
		} `json:"user_mentions"`
	} `json:"entities"`
	RetweetedStatus json.RawMessage `json:"retweeted_status"`
}

// v1TweetMediaOf is a tweet's extended_entities: all its media.
type v1TweetMediaOf struct {
	Media []v1Media `json:"media"`
}

// media returns the tweet's media: those of extended_tweet for a
// truncated tweet.
func (t v1Tweet) media() []v1Media {
	if t.ExtendedTweet != nil && t.ExtendedTweet.ExtendedEntities != nil {
		return t.ExtendedTweet.ExtendedEntities.Media
	}
	if t.ExtendedEntities != nil {
		return t.ExtendedEntities.Media
	}
	return nil
}

func (t v1Tweet) text() string {
	switch {
	case t.ExtendedTweet != nil && t.ExtendedTweet.FullText != "":
		return t.ExtendedTweet.FullText
	case t.FullText != "":
		return t.FullText
	}
	return t.Text
}

func (t v1Tweet) createdAt() time.Time {
	if at := epochMillis(t.TimestampMS); !at.IsZero() {
		return at
	}
	at, err := time.Parse(time.RubyDate, t.CreatedAt)
	if err != nil {
		return time.Time{}
	}
	return at.UTC()
}

func (t v1Tweet) mentions(account string) bool {
	for _, m := range t.Entities.UserMentions {
		if m.IDStr == account {
			return true
		}
	}
	return false
}

// flexID is an id that X sends as a string in some places and as a number
// in others.
type flexID string

// UnmarshalJSON accepts a JSON string or number.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	*f = flexID(n.String())
	return nil
}

// handledKeys are the members of a webhook payload that are not events
// to ignore.
var handledKeys = []string{"for_user_id", "direct_message_events", "tweet_create_events",
	markReadEvents, typingEvents, "users", "apps", "user_has_blocked", "source"}

// webhookBatch is what an Account Activity payload carries for the account.
type webhookBatch struct {
	msgs    []bridge.InboundMessage
	reads   []bridge.InboundRead   // customers' read receipts
	typing  []bridge.InboundTyping // customers typing
	ignored []string               // the reason for each event ignored
}

// webhookEvents converts an Account Activity payload into the messages,
// read receipts and typing indicators to hand on, and the reasons for each
// event it ignores. The payload is for the account its for_user_id names:
// one of accounts, or else every event in it is ignored as other_account.
// err is set when the body is not a JSON payload.
func webhookEvents(accounts []string, body []byte) (webhookBatch, error) {
	var b webhookBatch
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return b, fmt.Errorf("webhook payload: %w", err)
	}
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return b, fmt.Errorf("webhook payload: %w", err)
	}
	account := p.ForUserID
	held := slices.Contains(accounts, account)
	var ignored []string
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !strings.HasSuffix(k, "_events") || held && slices.Contains(handledKeys, k) {
			continue
		}
		// favorite_events, follow_events, ...; or any event for an account
		// the bridge does not serve.
		var evs []json.RawMessage
		n := 1
		if json.Unmarshal(members[k], &evs) == nil {
			n = len(evs)
		}
		reason := k
		if !held {
			reason = ignoreOtherAccount
		}
		for range n {
			ignored = append(ignored, reason)
		}
	}
	if !held {
		b.ignored = ignored
		return b, nil
	}
	for _, ev := range p.DirectMessageEvents {
		if m, reason := dmFromWebhook(account, ev, p.Users); reason != "" {
			ignored = append(ignored, reason)
		} else {
			b.msgs = append(b.msgs, m)
		}
	}
	for _, t := range p.TweetCreateEvents {
		if m, reason := mentionFromWebhook(account, t); reason != "" {
			ignored = append(ignored, reason)
		} else {
			b.msgs = append(b.msgs, m)
		}
	}
	for _, ev := range p.MarkReadEvents {
		if r, reason := readFromWebhook(account, ev); reason != "" {
			ignored = append(ignored, reason)
		} else {
			b.reads = append(b.reads, r)
		}
	}
	for _, ev := range p.TypingEvents {
		if ty, reason := typingFromWebhook(account, ev); reason != "" {
			ignored = append(ignored, reason)
		} else {
			b.typing = append(b.typing, ty)
		}
	}
	b.ignored = ignored
	return b, nil
}

// readFromWebhook converts a customer's read receipt, or returns why it is
// ignored: the support account's own reads are of no use to the bridge.
func readFromWebhook(account string, ev v1DMSignal) (bridge.InboundRead, string) {
	if reason := signalIgnored(account, ev, ignoreOwnRead); reason != "" {
		return bridge.InboundRead{}, reason
	}
	if ev.LastReadEventID == "" {
		return bridge.InboundRead{}, ignoreMalformed
	}
	return bridge.InboundRead{
		Account:         account,
		CustomerID:      ev.SenderID,
		ConversationKey: dmConversationID(ev.SenderID, ev.Target.RecipientID),
		LastReadEventID: ev.LastReadEventID,
		At:              epochMillis(ev.CreatedTimestamp),
	}, ""
}

// typingFromWebhook converts a customer's typing indicator, or returns why
// it is ignored.
func typingFromWebhook(account string, ev v1DMSignal) (bridge.InboundTyping, string) {
	if reason := signalIgnored(account, ev, ignoreOwnTyping); reason != "" {
		return bridge.InboundTyping{}, reason
	}
	return bridge.InboundTyping{
		Account:         account,
		CustomerID:      ev.SenderID,
		ConversationKey: dmConversationID(ev.SenderID, ev.Target.RecipientID),
		At:              epochMillis(ev.CreatedTimestamp),
	}, ""
}

// signalIgnored returns why a read or typing event is not a customer's
// towards the account ("" when it is); own is the reason for the account's
// own events.
func signalIgnored(account string, ev v1DMSignal, own string) string {
	switch {
	case ev.SenderID == "" || ev.Target.RecipientID == "":
		return ignoreMalformed
	case ev.SenderID == account:
		return own
	case ev.Target.RecipientID != account:
		return ignoreOtherDM
	}
	return ""
}

// dmFromWebhook converts a webhook DM event, or returns why it is ignored.
// The account's own DMs are handed on too: the domain recognises its echoes.
func dmFromWebhook(account string, ev v1DMEvent, users map[string]v1User) (bridge.InboundMessage, string) {
	if ev.Type != "message_create" || ev.MessageCreate == nil {
		return bridge.InboundMessage{}, ignoreDMType
	}
	mc := ev.MessageCreate
	if ev.ID == "" || mc.SenderID == "" || mc.Target.RecipientID == "" {
		return bridge.InboundMessage{}, ignoreMalformed
	}
	sender := bridge.XUser{ID: mc.SenderID}
	if u, ok := users[mc.SenderID]; ok {
		sender = u.xUser(mc.SenderID)
	}
	text := mc.MessageData.Text
	var media []bridge.MediaRef
	if a := mc.MessageData.Attachment; a != nil && a.Type == "media" {
		text, media = v1MediaRefs(text, []v1Media{a.Media})
	}
	return bridge.InboundMessage{
		EventID:         ev.ID,
		Account:         account,
		Kind:            bridge.KindDM,
		ConversationKey: dmConversationID(mc.SenderID, mc.Target.RecipientID),
		Sender:          sender,
		RecipientID:     mc.Target.RecipientID,
		Text:            text,
		Media:           media,
		CreatedAt:       epochMillis(ev.CreatedTimestamp),
		Via:             viaWebhook,
	}, ""
}

// mentionFromWebhook converts a webhook tweet that mentions or answers the
// account (or is the account's own), or returns why it is ignored.
func mentionFromWebhook(account string, t v1Tweet) (bridge.InboundMessage, string) {
	author := t.User.xUser("")
	switch {
	case len(t.RetweetedStatus) > 0 && !bytes.Equal(t.RetweetedStatus, []byte("null")):
		return bridge.InboundMessage{}, ignoreRetweet
	case t.IDStr == "" || author.ID == "":
		return bridge.InboundMessage{}, ignoreMalformed
	case author.ID != account && !t.mentions(account) && t.InReplyToUserIDStr != account:
		return bridge.InboundMessage{}, ignoreUnrelated
	}
	text, media := v1MediaRefs(unescapeTweet(t.text()), t.media())
	m := bridge.InboundMessage{
		EventID:     t.IDStr,
		Account:     account,
		Kind:        bridge.KindMention,
		InReplyToID: t.InReplyToStatusIDStr,
		Sender:      author,
		Text:        text,
		Media:       media,
		CreatedAt:   t.createdAt(),
		Via:         viaWebhook,
	}
	if m.InReplyToID == "" {
		// A tweet that replies to nothing starts its own conversation.
		// Otherwise the payload does not say the conversation: the domain
		// finds it through the tweet replied to.
		m.ConversationKey = t.IDStr
	}
	return m, ""
}

// epochMillis parses a time in epoch milliseconds; zero when malformed.
func epochMillis(s string) time.Time {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
