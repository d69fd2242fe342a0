package x

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

// The support account of the payload fixtures.
const (
	testAccount = "1570234917386551296"
	testHandle  = "acme_help"
)

// A customer DMs the support account.
const dmWebhook = `{
  "for_user_id": "1570234917386551296",
  "direct_message_events": [{
    "type": "message_create",
    "id": "1798765432109876543",
    "created_timestamp": "1717320605123",
    "message_create": {
      "target": {"recipient_id": "1570234917386551296"},
      "sender_id": "89123456",
      "message_data": {
        "text": "Hi, my order #4521 hasn't arrived & the tracking page is blank",
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
      }
    }
  }],
  "users": {
    "89123456": {
      "id": "89123456", "created_timestamp": "1262304000000", "name": "Dana Whitfield",
      "screen_name": "danawhit", "protected": false, "verified": true,
      "followers_count": 1843, "friends_count": 310, "statuses_count": 5120,
      "profile_image_url": "http://pbs.twimg.com/profile_images/1/dana_normal.jpg",
      "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/dana_normal.jpg"
    },
    "1570234917386551296": {
      "id": "1570234917386551296", "created_timestamp": "1663200000000", "name": "Acme Support",
      "screen_name": "acme_help", "protected": false, "verified": false,
      "followers_count": 25031, "friends_count": 12, "statuses_count": 8410,
      "profile_image_url_https": "https://pbs.twimg.com/profile_images/2/acme_normal.jpg"
    }
  }
}`

// The support account's own DM (sent by the bridge), coming back.
const ownDMWebhook = `{
  "for_user_id": "1570234917386551296",
  "direct_message_events": [{
    "type": "message_create",
    "id": "1798765499999999999",
    "created_timestamp": "1717320700000",
    "message_create": {
      "target": {"recipient_id": "89123456"},
      "sender_id": "1570234917386551296",
      "source_app_id": "3033300",
      "message_data": {"text": "Sorry about that, Dana! Checking with the courier now."}
    }
  }],
  "apps": {"3033300": {"id": "3033300", "name": "xbridge", "url": ""}},
  "users": {
    "89123456": {"id": "89123456", "name": "Dana Whitfield", "screen_name": "danawhit", "followers_count": 1843},
    "1570234917386551296": {"id": "1570234917386551296", "name": "Acme Support", "screen_name": "acme_help", "followers_count": 25031,
      "profile_image_url_https": "https://pbs.twimg.com/profile_images/2/acme_normal.jpg"}
  }
}`

// A customer mentions the account out of the blue.
const mentionWebhook = `{
  "for_user_id": "1570234917386551296",
  "user_has_blocked": false,
  "tweet_create_events": [{
    "created_at": "Sun Jun 02 09:31:02 +0000 2024",
    "id": 1797200000000000001,
    "id_str": "1797200000000000001",
    "text": "@acme_help my blender arrived cracked &amp; the return form errors out 😡",
    "truncated": false,
    "in_reply_to_status_id": null,
    "in_reply_to_status_id_str": null,
    "in_reply_to_user_id": 1570234917386551296,
    "in_reply_to_user_id_str": "1570234917386551296",
    "in_reply_to_screen_name": "acme_help",
    "user": {
      "id": 44196397, "id_str": "44196397", "name": "Raj Patel", "screen_name": "rajcooks",
      "verified": false, "followers_count": 312,
      "profile_image_url_https": "https://pbs.twimg.com/profile_images/3/raj_normal.jpg"
    },
    "entities": {"hashtags": [], "urls": [], "symbols": [],
      "user_mentions": [{"screen_name": "acme_help", "name": "Acme Support", "id": 1570234917386551296, "id_str": "1570234917386551296", "indices": [0, 10]}]},
    "timestamp_ms": "1717320662418"
  }]
}`

// A customer answers the support account's reply, with a long text.
const replyWebhook = `{
  "for_user_id": "1570234917386551296",
  "tweet_create_events": [{
    "created_at": "Sun Jun 02 10:02:11 +0000 2024",
    "id_str": "1797200000000000099",
    "text": "@acme_help Thanks! I tried the link but it says my order number is invalid, it's the one from the confirmation… https://t.co/AbCdEf1234",
    "truncated": true,
    "extended_tweet": {"full_text": "@acme_help Thanks! I tried the link but it says my order number is invalid, it's the one from the confirmation email, starting with AC-"},
    "in_reply_to_status_id_str": "1797200000000000050",
    "in_reply_to_user_id_str": "1570234917386551296",
    "user": {"id": 44196397, "id_str": "44196397", "name": "Raj Patel", "screen_name": "rajcooks", "followers_count": 312},
    "entities": {"user_mentions": [{"id_str": "1570234917386551296", "screen_name": "acme_help"}]}
  }]
}`

// The support account's own reply tweet, coming back.
const ownTweetWebhook = `{
  "for_user_id": "1570234917386551296",
  "tweet_create_events": [{
    "created_at": "Sun Jun 02 09:45:00 +0000 2024",
    "id_str": "1797200000000000050",
    "text": "@rajcooks So sorry! Please DM us your order number and we'll sort out a replacement.",
    "in_reply_to_status_id_str": "1797200000000000001",
    "in_reply_to_user_id_str": "44196397",
    "user": {"id": 1570234917386551296, "id_str": "1570234917386551296", "name": "Acme Support", "screen_name": "acme_help", "followers_count": 25031},
    "entities": {"user_mentions": [{"id_str": "44196397", "screen_name": "rajcooks"}]},
    "timestamp_ms": "1717321500000"
  }]
}`

// A retweet of a tweet mentioning the account, and an unrelated tweet
// (X delivers quotes and the like).
const retweetWebhook = `{
  "for_user_id": "1570234917386551296",
  "tweet_create_events": [
    {
      "id_str": "1797200000000000200",
      "text": "RT @rajcooks: @acme_help my blender arrived cracked",
      "user": {"id_str": "55500011", "screen_name": "kitchenfan", "name": "Kitchen Fan"},
      "entities": {"user_mentions": [{"id_str": "44196397"}, {"id_str": "1570234917386551296"}]},
      "retweeted_status": {"id_str": "1797200000000000001", "text": "@acme_help my blender arrived cracked"}
    },
    {
      "id_str": "1797200000000000201",
      "text": "Quoting this, Acme blenders are great",
      "is_quote_status": true,
      "user": {"id_str": "55500012", "screen_name": "blendlover", "name": "Blend Lover"},
      "entities": {"user_mentions": []}
    }
  ]
}`

// Events the bridge does not handle, with read receipts and typing, which
// it hands on only to a Receipts handler.
const otherEventsWebhook = `{
  "for_user_id": "1570234917386551296",
  "favorite_events": [{"id": "a1", "created_at": "Sun Jun 02 09:50:00 +0000 2024"}],
  "direct_message_indicate_typing_events": [{"created_timestamp": "1717320600000", "sender_id": "89123456", "target": {"recipient_id": "1570234917386551296"}}],
  "direct_message_mark_read_events": [
    {"created_timestamp": "1717320601000", "sender_id": "89123456", "target": {"recipient_id": "1570234917386551296"}, "last_read_event_id": "1798765499999999999"},
    {"created_timestamp": "1717320602000", "sender_id": "89123456", "target": {"recipient_id": "1570234917386551296"}, "last_read_event_id": "1798765499999999999"}
  ],
  "users": {}
}`

func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		want        []bridge.InboundMessage
		wantIgnored []string
	}{
		{
			name: "customer DM",
			body: dmWebhook,
			want: []bridge.InboundMessage{{
				EventID: "1798765432109876543", Account: testAccount, Kind: bridge.KindDM,
				ConversationKey: "89123456-1570234917386551296",
				Sender: bridge.XUser{ID: "89123456", Handle: "danawhit", Name: "Dana Whitfield",
					AvatarURL: "https://pbs.twimg.com/profile_images/1/dana_normal.jpg", Followers: 1843, Verified: true},
				RecipientID: testAccount,
				Text:        "Hi, my order #4521 hasn't arrived & the tracking page is blank",
				CreatedAt:   time.UnixMilli(1717320605123).UTC(),
				Via:         "webhook",
			}},
		},
		{
			name: "own DM echo is passed on",
			body: ownDMWebhook,
			want: []bridge.InboundMessage{{
				EventID: "1798765499999999999", Account: testAccount, Kind: bridge.KindDM,
				ConversationKey: "89123456-1570234917386551296",
				Sender: bridge.XUser{ID: testAccount, Handle: testHandle, Name: "Acme Support",
					AvatarURL: "https://pbs.twimg.com/profile_images/2/acme_normal.jpg", Followers: 25031},
				RecipientID: "89123456",
				Text:        "Sorry about that, Dana! Checking with the courier now.",
				CreatedAt:   time.UnixMilli(1717320700000).UTC(),
				Via:         "webhook",
			}},
		},
		{
			name: "mention starts a conversation",
			body: mentionWebhook,
			want: []bridge.InboundMessage{{
				EventID: "1797200000000000001", Account: testAccount, Kind: bridge.KindMention,
				ConversationKey: "1797200000000000001",
				Sender: bridge.XUser{ID: "44196397", Handle: "rajcooks", Name: "Raj Patel",
					AvatarURL: "https://pbs.twimg.com/profile_images/3/raj_normal.jpg", Followers: 312},
				Text:      "@acme_help my blender arrived cracked & the return form errors out 😡",
				CreatedAt: time.UnixMilli(1717320662418).UTC(),
				Via:       "webhook",
			}},
		},
		{
			name: "reply to our tweet, truncated",
			body: replyWebhook,
			want: []bridge.InboundMessage{{
				EventID: "1797200000000000099", Account: testAccount, Kind: bridge.KindMention,
				InReplyToID: "1797200000000000050",
				Sender:      bridge.XUser{ID: "44196397", Handle: "rajcooks", Name: "Raj Patel", Followers: 312},
				Text:        "@acme_help Thanks! I tried the link but it says my order number is invalid, it's the one from the confirmation email, starting with AC-",
				CreatedAt:   time.Date(2024, 6, 2, 10, 2, 11, 0, time.UTC),
				Via:         "webhook",
			}},
		},
		{
			name: "own tweet echo is passed on",
			body: ownTweetWebhook,
			want: []bridge.InboundMessage{{
				EventID: "1797200000000000050", Account: testAccount, Kind: bridge.KindMention,
				InReplyToID: "1797200000000000001",
				Sender:      bridge.XUser{ID: testAccount, Handle: testHandle, Name: "Acme Support", Followers: 25031},
				Text:        "@rajcooks So sorry! Please DM us your order number and we'll sort out a replacement.",
				CreatedAt:   time.UnixMilli(1717321500000).UTC(),
				Via:         "webhook",
			}},
		},
		{
			name:        "retweet and unrelated tweet ignored",
			body:        retweetWebhook,
			wantIgnored: []string{"retweet", "unrelated_tweet"},
		},
		{
			name:        "unknown event types ignored and counted",
			body:        otherEventsWebhook,
			wantIgnored: []string{"favorite_events"},
		},
		{
			name: "each unknown event counted, in the order of their names",
			body: `{"for_user_id": "1570234917386551296", "follow_events": [{}, {}], "users": {},
				"block_events": {"id": "1"}, "apps": {"1": {}}, "favorite_events": []}`,
			wantIgnored: []string{"block_events", "follow_events", "follow_events"},
		},
		{
			name:        "payload for another account, each event counted",
			body:        `{"for_user_id": "999", "direct_message_events": [{"type": "message_create", "id": "1"}], "favorite_events": [{}, {}]}`,
			wantIgnored: []string{"other_account", "other_account", "other_account"},
		},
		{
			name:        "payload for another account",
			body:        `{"for_user_id": "999", "direct_message_events": [{"type": "message_create", "id": "1"}]}`,
			wantIgnored: []string{"other_account"},
		},
		{
			name:        "DM event that is not a message",
			body:        `{"for_user_id": "1570234917386551296", "direct_message_events": [{"type": "participants_join", "id": "5"}]}`,
			wantIgnored: []string{"dm_event_type"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := webhookEvents([]string{testAccount}, []byte(tt.body))
			if err != nil {
				t.Fatalf("webhookEvents: %v", err)
			}
			if !reflect.DeepEqual(b.msgs, tt.want) {
				t.Errorf("messages:\n got %+v\nwant %+v", b.msgs, tt.want)
			}
			if !reflect.DeepEqual(b.ignored, tt.wantIgnored) {
				t.Errorf("ignored %q, want %q", b.ignored, tt.wantIgnored)
			}
		})
	}
}

func TestWebhookEventsMalformed(t *testing.T) {
	t.Parallel()
	for _, body := range []string{``, `{`, `[]`, `"x"`, `{"for_user_id": 12, "tweet_create_events": {}}`,
		`{"for_user_id": "1570234917386551296"} {}`, `{"for_user_id": "1570234917386551296"} x`,
		`{"for_user_id": "1570234917386551296", "favorite_events": [}`} {
		if _, err := webhookEvents([]string{testAccount}, []byte(body)); err == nil {
			t.Errorf("webhookEvents(%q): no error", body)
		}
	}
}

func TestDMFromV2(t *testing.T) {
	t.Parallel()
	users := usersByID([]*twitter.UserObj{{
		ID: "89123456", UserName: "danawhit", Name: "Dana Whitfield", Verified: true,
		ProfileImageURL: "https://pbs.twimg.com/profile_images/1/dana_normal.jpg",
		PublicMetrics:   &twitter.UserMetricsObj{Followers: 1843},
	}})
	tests := []struct {
		name       string
		ev         string
		want       bridge.InboundMessage
		wantReason string
	}{
		{
			name: "customer DM",
			ev: `{"id": "1798765432109876543", "event_type": "MessageCreate", "text": "Where is my order?",
				"created_at": "2024-06-02T09:30:05.123Z", "dm_conversation_id": "89123456-1570234917386551296", "sender_id": "89123456"}`,
			want: bridge.InboundMessage{
				EventID: "1798765432109876543", Account: testAccount, Kind: bridge.KindDM,
				ConversationKey: "89123456-1570234917386551296",
				Sender: bridge.XUser{ID: "89123456", Handle: "danawhit", Name: "Dana Whitfield",
					AvatarURL: "https://pbs.twimg.com/profile_images/1/dana_normal.jpg", Followers: 1843, Verified: true},
				RecipientID: testAccount, Text: "Where is my order?",
				CreatedAt: time.Date(2024, 6, 2, 9, 30, 5, 123e6, time.UTC), Via: "poll",
			},
		},
		{
			name: "own DM: recipient from the conversation id",
			ev: `{"id": "1798765499999999999", "event_type": "MessageCreate", "text": "Checking now.",
				"created_at": "2024-06-02T09:31:40.000Z", "dm_conversation_id": "89123456-1570234917386551296", "sender_id": "1570234917386551296"}`,
			want: bridge.InboundMessage{
				EventID: "1798765499999999999", Account: testAccount, Kind: bridge.KindDM,
				ConversationKey: "89123456-1570234917386551296",
				Sender:          bridge.XUser{ID: testAccount},
				RecipientID:     "89123456", Text: "Checking now.",
				CreatedAt: time.Date(2024, 6, 2, 9, 31, 40, 0, time.UTC), Via: "poll",
			},
		},
		{
			name:       "participants join",
			ev:         `{"id": "17987", "event_type": "ParticipantsJoin", "dm_conversation_id": "1570234917386551296-89123456", "participant_ids": ["1"]}`,
			wantReason: "dm_event_type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ev dmEventV2
			if err := json.Unmarshal([]byte(tt.ev), &ev); err != nil {
				t.Fatal(err)
			}
			got, reason := dmFromV2(testAccount, ev, users)
			if reason != tt.wantReason {
				t.Fatalf("reason %q, want %q", reason, tt.wantReason)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMentionFromV2(t *testing.T) {
	t.Parallel()
	users := usersByID([]*twitter.UserObj{{ID: "44196397", UserName: "rajcooks", Name: "Raj Patel",
		PublicMetrics: &twitter.UserMetricsObj{Followers: 312}}})
	tests := []struct {
		name       string
		tweet      string
		want       bridge.InboundMessage
		wantReason string
	}{
		{
			name: "reply in a thread",
			tweet: `{"id": "1797200000000000099", "text": "@acme_help still broken &gt;:(", "author_id": "44196397",
				"conversation_id": "1797200000000000001", "created_at": "2024-06-02T10:02:11.000Z",
				"in_reply_to_user_id": "1570234917386551296",
				"referenced_tweets": [{"type": "quoted", "id": "1"}, {"type": "replied_to", "id": "1797200000000000050"}]}`,
			want: bridge.InboundMessage{
				EventID: "1797200000000000099", Account: testAccount, Kind: bridge.KindMention,
				ConversationKey: "1797200000000000001", InReplyToID: "1797200000000000050",
				Sender: bridge.XUser{ID: "44196397", Handle: "rajcooks", Name: "Raj Patel", Followers: 312},
				Text:   "@acme_help still broken >:(", CreatedAt: time.Date(2024, 6, 2, 10, 2, 11, 0, time.UTC), Via: "poll",
			},
		},
		{
			name:       "retweet",
			tweet:      `{"id": "1797200000000000200", "text": "RT @rajcooks: @acme_help hi", "author_id": "555", "referenced_tweets": [{"type": "retweeted", "id": "1797200000000000001"}]}`,
			wantReason: "retweet",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tw twitter.TweetObj
			if err := json.Unmarshal([]byte(tt.tweet), &tw); err != nil {
				t.Fatal(err)
			}
			got, reason := mentionFromV2(testAccount, &tw, users)
			if reason != tt.wantReason {
				t.Fatalf("reason %q, want %q", reason, tt.wantReason)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDMConversationIDAndIDOrder(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want string }{
		{"89123456", "1570234917386551296", "89123456-1570234917386551296"},
		{"1570234917386551296", "89123456", "89123456-1570234917386551296"},
		{"2001", "1000", "1000-2001"},
		{"999", "1000", "999-1000"},
	}
	for _, tt := range tests {
		if got := dmConversationID(tt.a, tt.b); got != tt.want {
			t.Errorf("dmConversationID(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
	if !idLess("999", "1000") || idLess("1000", "999") || idLess("5", "5") {
		t.Error("idLess does not compare numerically")
	}
}
