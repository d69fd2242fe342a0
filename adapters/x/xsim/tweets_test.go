package xsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"
)

func TestCreateReply(t *testing.T) {
	t.Parallel()
	for _, a := range []auth{bearer, oauth1} {
		t.Run(fmt.Sprint("auth", a), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			root := f.sim.CustomerMention("2001", "my order is late", "")
			if !strings.HasPrefix(root.Text, "@acme_help ") || root.ConversationID != root.ID {
				t.Fatalf("mention %+v", root)
			}
			c := f.twitterClient(a)
			resp, err := c.CreateTweet(context.Background(), twitter.CreateTweetRequest{
				Text:  "@alice sorry about that, we are on it",
				Reply: &twitter.CreateTweetReply{InReplyToTweetID: root.ID},
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Tweet.ID == "" || resp.Tweet.Text != "@alice sorry about that, we are on it" {
				t.Fatalf("answer %+v", resp.Tweet)
			}
			if resp.RateLimit == nil || resp.RateLimit.Limit != 100 {
				t.Errorf("rate limit %+v, want limit 100", resp.RateLimit)
			}
			replies := f.sim.RepliesTo(root.ID)
			want := Tweet{ID: resp.Tweet.ID, AuthorID: supportID, Text: resp.Tweet.Text, ConversationID: root.ID,
				InReplyToTweetID: root.ID, InReplyToUserID: "2001", CreatedAt: start}
			if len(replies) != 1 || !reflect.DeepEqual(replies[0], want) {
				t.Fatalf("RepliesTo = %+v, want %+v", replies, want)
			}
			// A customer's answer to the reply stays in the conversation.
			again := f.sim.CustomerMention("2001", "@acme_help thanks", resp.Tweet.ID)
			if again.ConversationID != root.ID || again.InReplyToUserID != supportID {
				t.Fatalf("second mention %+v", again)
			}
			noViolations(t, f.sim)
		})
	}
}

func TestCreateTweetRefused(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 281)
	tests := []struct {
		name   string
		body   string
		status int
		detail string
	}{
		{"unknown key in reply", `{"text":"hi","reply":{"in_reply_to_tweet_id":"%s","in_reply_to_user_id":"2001"}}`, 400, ""},
		{"unknown top-level key", `{"text":"hi","in_reply_to_tweet_id":"%s"}`, 400, ""},
		{"reply without tweet id", `{"text":"hi","reply":{}}`, 400, ""},
		{"empty text", `{"text":""}`, 400, ""},
		{"281 characters", `{"text":"` + long + `","reply":{"in_reply_to_tweet_id":"%s"}}`, 403, "too long"},
		{"141 CJK characters", `{"text":"` + strings.Repeat("日", 141) + `"}`, 403, "too long"},
		{"reply to unknown tweet", `{"text":"hi","reply":{"in_reply_to_tweet_id":"123456789"}}`, 403, "deleted or not visible"},
		{"duplicate", `{"text":"first!"}`, 403, "duplicate content"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			root := f.sim.CustomerMention("2001", "help", "")
			resp, body := f.do(t, http.MethodPost, "/2/tweets", `{"text":"first!"}`, bearer)
			mustStatus(t, resp, body, http.StatusCreated)
			body0 := tc.body
			if strings.Contains(body0, "%s") {
				body0 = fmt.Sprintf(body0, root.ID)
			}
			resp, body = f.do(t, http.MethodPost, "/2/tweets", body0, bearer)
			mustStatus(t, resp, body, tc.status)
			if tc.detail != "" && !strings.Contains(string(body), tc.detail) {
				t.Errorf("body %s lacks %q", body, tc.detail)
			}
			if n := len(f.sim.Violations()); n != 1 {
				t.Errorf("violations %q, want one", f.sim.Violations())
			}
			if n := len(f.sim.Tweets()); n != 2 {
				t.Errorf("%d tweets, want 2 (nothing recorded)", n)
			}
		})
	}

	t.Run("go-twitter sees 403", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, err := f.twitterClient(bearer).CreateTweet(context.Background(), twitter.CreateTweetRequest{Text: long})
		var er *twitter.ErrorResponse
		if !errors.As(err, &er) || er.StatusCode != http.StatusForbidden || !strings.Contains(er.Detail, "too long") {
			t.Fatalf("err = %v, want a 403 ErrorResponse", err)
		}
	})
	t.Run("280 characters with URLs counted as 23", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		text := strings.Repeat("b", 280-23-1) + " https://example.com/a/very/long/path/that/is/longer/than/twenty-three"
		_, err := f.twitterClient(bearer).CreateTweet(context.Background(), twitter.CreateTweetRequest{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		noViolations(t, f.sim)
	})
}

func TestWeightedLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello", 5},
		{"héllo wörld", 11},
		{"日本語", 6},
		{"https://example.com/" + strings.Repeat("x", 100), 23},
		{"see http://a.co and https://b.co/x", 4 + 23 + 5 + 23},
		{"👍", 2},
		{"👍🏽", 2},
		{"👨‍👩‍👧", 2},
		{"❤️", 2},
		{"‘quotes’ — dash", 15},
	}
	for _, tc := range tests {
		if got := weightedLength(tc.text); got != tc.want {
			t.Errorf("weightedLength(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func TestMentionsTimeline(t *testing.T) {
	t.Parallel()
	for _, a := range []auth{bearer, oauth1} {
		t.Run(fmt.Sprint("auth", a), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var ids []string // oldest first
			for i := range 12 {
				f.clock.Advance(time.Second)
				from := []string{"2001", "2002"}[i%2]
				ids = append(ids, f.sim.CustomerMention(from, fmt.Sprintf("@acme_help question %d", i), "").ID)
			}
			// Tweets that do not mention the support account are not mentions.
			f.sim.mu.Lock()
			f.sim.addTweetLocked("2001", "hello @bob", "", nil)
			f.sim.mu.Unlock()
			c := f.twitterClient(a)
			opts := twitter.UserMentionTimelineOpts{
				TweetFields: []twitter.TweetField{twitter.TweetFieldConversationID, twitter.TweetFieldCreatedAt,
					twitter.TweetFieldInReplyToUserID, twitter.TweetFieldReferencedTweets, twitter.TweetFieldAuthorID},
				Expansions: []twitter.Expansion{twitter.ExpansionAuthorID},
				UserFields: []twitter.UserField{twitter.UserFieldUserName, twitter.UserFieldName,
					twitter.UserFieldProfileImageURL, twitter.UserFieldPublicMetrics, twitter.UserFieldVerified},
				MaxResults: 5,
				SinceID:    ids[3],
			}
			var got []string
			for page := 0; ; page++ {
				resp, err := c.UserMentionTimeline(context.Background(), supportID, opts)
				if err != nil {
					t.Fatal(err)
				}
				tweets := resp.Raw.Tweets
				if resp.Meta.ResultCount != len(tweets) || len(tweets) == 0 {
					t.Fatalf("page %d: meta %+v with %d tweets", page, resp.Meta, len(tweets))
				}
				if resp.Meta.NewestID != tweets[0].ID || resp.Meta.OldestID != tweets[len(tweets)-1].ID {
					t.Fatalf("page %d: meta %+v", page, resp.Meta)
				}
				for _, tw := range tweets {
					if tw.AuthorID == "" || tw.ConversationID != tw.ID || tw.CreatedAt == "" {
						t.Fatalf("tweet %+v", tw)
					}
					got = append(got, tw.ID)
				}
				if len(resp.Raw.Includes.Users) == 0 {
					t.Fatalf("no includes.users")
				}
				if resp.Meta.NextToken == "" {
					break
				}
				opts.PaginationToken = resp.Meta.NextToken
			}
			want := ids[4:]
			if len(got) != len(want) {
				t.Fatalf("got %d mentions, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[len(want)-1-i] {
					t.Fatalf("mention %d is %s, want %s", i, got[i], want[len(want)-1-i])
				}
			}

			// Nothing new since the newest.
			resp, err := c.UserMentionTimeline(context.Background(), supportID, twitter.UserMentionTimelineOpts{SinceID: ids[len(ids)-1]})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Meta.ResultCount != 0 || len(resp.Raw.Tweets) != 0 {
				t.Fatalf("since newest: %+v", resp.Meta)
			}
			noViolations(t, f.sim)
		})
	}
}

func TestMentionsKeepsThe800MostRecent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var first, last Tweet
	for i := range 805 {
		tw := f.sim.CustomerMention("2001", fmt.Sprint("q", i), "")
		if i == 0 {
			first = tw
		}
		last = tw
	}
	seen := 0
	token := ""
	for {
		q := "/2/users/1000/mentions?max_results=100"
		if token != "" {
			q += "&pagination_token=" + token
		}
		resp, body := f.do(t, http.MethodGet, q, nil, bearer)
		mustStatus(t, resp, body, http.StatusOK)
		var page struct {
			Data []struct{ ID string } `json:"data"`
			Meta struct {
				NextToken string `json:"next_token"`
			} `json:"meta"`
		}
		decode(t, body, &page)
		for _, d := range page.Data {
			if d.ID == first.ID {
				t.Fatal("the oldest mention is past the 800 most recent and must not be served")
			}
		}
		if seen == 0 && page.Data[0].ID != last.ID {
			t.Fatalf("first mention served %s, want the newest %s", page.Data[0].ID, last.ID)
		}
		seen += len(page.Data)
		if token = page.Meta.NextToken; token == "" {
			break
		}
	}
	if seen != 800 {
		t.Fatalf("served %d mentions, want 800", seen)
	}
	resp, body := f.do(t, http.MethodGet, "/2/users/1000/mentions?max_results=4", nil, bearer)
	mustStatus(t, resp, body, http.StatusBadRequest)
}

func TestLookups(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.sim.CustomerMention("2001", "hi @acme_help and @bob", "")
	f.clock.Advance(time.Minute)
	resp, body := f.do(t, http.MethodPost, "/2/tweets", map[string]any{"text": "hello there", "reply": map[string]string{"in_reply_to_tweet_id": root.ID}}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)
	reply := f.sim.RepliesTo(root.ID)[0]
	f.clock.Advance(time.Minute)
	resp, body = f.do(t, http.MethodPost, "/2/tweets", map[string]any{"text": "an announcement"}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)

	tests := []struct {
		name string
		path string
		want string // exact body
	}{
		{"tweet with fields and expansions",
			"/2/tweets/" + reply.ID + "?tweet.fields=conversation_id,author_id,in_reply_to_user_id,referenced_tweets,created_at&expansions=author_id,referenced_tweets.id",
			`{"data":{"author_id":"1000","conversation_id":"` + root.ID + `","created_at":"2025-06-02T09:31:00.000Z","edit_history_tweet_ids":["` + reply.ID + `"],"id":"` + reply.ID + `","in_reply_to_user_id":"2001","referenced_tweets":[{"id":"` + root.ID + `","type":"replied_to"}],"text":"hello there"},"includes":{"tweets":[{"author_id":"2001","conversation_id":"` + root.ID + `","created_at":"2025-06-02T09:30:00.000Z","edit_history_tweet_ids":["` + root.ID + `"],"id":"` + root.ID + `","text":"hi @acme_help and @bob"}],"users":[{"id":"1000","name":"acme_help","username":"acme_help"}]}}`},
		{"mention entities",
			"/2/tweets/" + root.ID + "?tweet.fields=entities",
			`{"data":{"edit_history_tweet_ids":["` + root.ID + `"],"entities":{"mentions":[{"end":13,"id":"1000","start":3,"username":"acme_help"},{"end":22,"id":"2002","start":18,"username":"bob"}]},"id":"` + root.ID + `","text":"hi @acme_help and @bob"}}`},
		{"unknown tweet",
			"/2/tweets/42",
			`{"errors":[{"detail":"Could not find tweet with id: [42].","parameter":"id","resource_id":"42","resource_type":"tweet","title":"Not Found Error","type":"https://api.twitter.com/2/problems/resource-not-found","value":"42"}]}`},
		{"tweets by ids",
			"/2/tweets?ids=" + root.ID + ",42",
			`{"data":[{"edit_history_tweet_ids":["` + root.ID + `"],"id":"` + root.ID + `","text":"hi @acme_help and @bob"}],"errors":[{"detail":"Could not find tweet with id: [42].","parameter":"ids","resource_id":"42","resource_type":"tweet","title":"Not Found Error","type":"https://api.twitter.com/2/problems/resource-not-found","value":"42"}]}`},
		{"me",
			"/2/users/me?user.fields=profile_image_url,public_metrics,verified",
			`{"data":{"id":"1000","name":"acme_help","public_metrics":{"followers_count":0,"following_count":0,"like_count":0,"listed_count":0,"tweet_count":2},"username":"acme_help","verified":false}}`},
		{"user",
			"/2/users/2001?user.fields=profile_image_url,public_metrics,verified",
			`{"data":{"id":"2001","name":"Alice","profile_image_url":"https://pbs.twimg.com/a.jpg","public_metrics":{"followers_count":12,"following_count":0,"like_count":0,"listed_count":0,"tweet_count":1},"username":"alice","verified":false}}`},
		{"unknown user",
			"/2/users/777",
			`{"errors":[{"detail":"Could not find user with id: [777].","parameter":"id","resource_id":"777","resource_type":"user","title":"Not Found Error","type":"https://api.twitter.com/2/problems/resource-not-found","value":"777"}]}`},
		{"user by username",
			"/2/users/by/username/Bob",
			`{"data":{"id":"2002","name":"Bob","username":"bob"}}`},
		{"own timeline",
			"/2/users/1000/tweets?max_results=5&tweet.fields=in_reply_to_user_id,referenced_tweets",
			`{"data":[{"edit_history_tweet_ids":["` + f.sim.Tweets()[2].ID + `"],"id":"` + f.sim.Tweets()[2].ID + `","text":"an announcement"},{"edit_history_tweet_ids":["` + reply.ID + `"],"id":"` + reply.ID + `","in_reply_to_user_id":"2001","referenced_tweets":[{"id":"` + root.ID + `","type":"replied_to"}],"text":"hello there"}],"meta":{"newest_id":"` + f.sim.Tweets()[2].ID + `","oldest_id":"` + reply.ID + `","result_count":2}}`},
		{"own timeline since",
			"/2/users/1000/tweets?since_id=" + reply.ID,
			`{"data":[{"edit_history_tweet_ids":["` + f.sim.Tweets()[2].ID + `"],"id":"` + f.sim.Tweets()[2].ID + `","text":"an announcement"}],"meta":{"newest_id":"` + f.sim.Tweets()[2].ID + `","oldest_id":"` + f.sim.Tweets()[2].ID + `","result_count":1}}`},
		{"own timeline without replies, start_time",
			"/2/users/1000/tweets?exclude=replies&start_time=2025-06-02T09:31:30Z",
			`{"data":[{"edit_history_tweet_ids":["` + f.sim.Tweets()[2].ID + `"],"id":"` + f.sim.Tweets()[2].ID + `","text":"an announcement"}],"meta":{"newest_id":"` + f.sim.Tweets()[2].ID + `","oldest_id":"` + f.sim.Tweets()[2].ID + `","result_count":1}}`},
		{"timeline before start_time",
			"/2/users/1000/tweets?start_time=2025-06-03T00:00:00Z",
			`{"meta":{"result_count":0}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodGet, tc.path, nil, oauth1)
			mustStatus(t, resp, body, http.StatusOK)
			if got := strings.TrimSpace(string(body)); got != tc.want {
				t.Fatalf("body\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	noViolations(t, f.sim)
}

func TestCustomerMentionAddsHandle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct{ text, want string }{
		{"help", "@acme_help help"},
		{"@ACME_HELP help", "@ACME_HELP help"},
		{"hey @acme_help!", "hey @acme_help!"},
		{"ask @acme_helpdesk", "@acme_help ask @acme_helpdesk"},
		{"mail acme@acme_help.com", "@acme_help mail acme@acme_help.com"},
	}
	for _, tc := range tests {
		if got := f.sim.CustomerMention("2001", tc.text, "").Text; got != tc.want {
			t.Errorf("CustomerMention(%q) text %q, want %q", tc.text, got, tc.want)
		}
	}
}
