package x

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

// findSentPages bounds the pages FindSent reads: DM lookups share a budget
// of 15 requests per 15 minutes with the poller.
const findSentPages = 3

// FindSent looks on X for a message the bridge may have sent before a crash
// or a lost answer: a DM from the account to q.RecipientID, or a reply by
// the account to q.InReplyToID, with q's text, created after q.After. It
// implements bridge.Reconciler.
func (c *Client) FindSent(ctx context.Context, q bridge.SentQuery) (string, bool, error) {
	if err := c.checkAccount(q.Account); err != nil {
		return "", false, fmt.Errorf("find sent: %w", err)
	}
	switch q.Kind {
	case bridge.KindDM:
		return c.findSentDM(ctx, q)
	case bridge.KindMention:
		return c.findSentReply(ctx, q)
	}
	return "", false, fmt.Errorf("find sent: unknown kind %q", q.Kind)
}

// findSentDM reads the conversation with the recipient, newest first.
func (c *Client) findSentDM(ctx context.Context, q bridge.SentQuery) (string, bool, error) {
	if !isNumericID(q.RecipientID) {
		return "", false, fmt.Errorf("find sent dm: recipient %q is not a user id", q.RecipientID)
	}
	params := url.Values{
		"dm_event.fields": {"id,text,sender_id,created_at,attachments"},
		"event_types":     {"MessageCreate"},
		"max_results":     {"100"},
	}
	path := "/2/dm_conversations/with/" + url.PathEscape(q.RecipientID) + "/dm_events"
	for range findSentPages {
		var page dmEventsPage
		if err := c.getJSON(ctx, path, params, &page); err != nil {
			return "", false, fmt.Errorf("find sent dm to %s: %w", q.RecipientID, err)
		}
		for _, ev := range page.Data {
			if at := parseV2Time(ev.CreatedAt); !at.IsZero() && at.Before(q.After) {
				return "", false, nil // older than the send: it did not go out
			}
			if ev.SenderID == q.Account && sameSend(ev.Text, len(ev.Attachments.MediaKeys) > 0, q) {
				return ev.ID, true, nil
			}
		}
		if page.Meta.NextToken == "" {
			break
		}
		params.Set("pagination_token", page.Meta.NextToken)
	}
	return "", false, nil
}

// findSentReply reads the account's own timeline since q.After.
func (c *Client) findSentReply(ctx context.Context, q bridge.SentQuery) (string, bool, error) {
	if !isNumericID(q.InReplyToID) {
		return "", false, fmt.Errorf("find sent reply: %q is not a tweet id", q.InReplyToID)
	}
	opts := twitter.UserTweetTimelineOpts{
		TweetFields: []twitter.TweetField{
			twitter.TweetFieldReferencedTweets, twitter.TweetFieldCreatedAt, twitter.TweetFieldInReplyToUserID,
			twitter.TweetFieldAttachments,
		},
		Excludes:   []twitter.Exclude{twitter.ExcludeRetweets},
		StartTime:  q.After.UTC().Truncate(time.Second),
		MaxResults: 100,
	}
	for range findSentPages {
		resp, err := c.tw.UserTweetTimeline(ctx, q.Account, opts)
		if err != nil {
			return "", false, fmt.Errorf("find sent reply to %s: %w", q.InReplyToID, err)
		}
		for _, t := range resp.Raw.Tweets {
			if t != nil && repliedTo(t) == q.InReplyToID && sameSend(t.Text, hasMedia(t), q) {
				return t.ID, true, nil
			}
		}
		if resp.Meta == nil || resp.Meta.NextToken == "" {
			break
		}
		opts.PaginationToken = resp.Meta.NextToken
	}
	return "", false, nil
}

// repliedTo returns the id of the tweet t replies to, or "".
func repliedTo(t *twitter.TweetObj) string {
	for _, r := range t.ReferencedTweets {
		if r != nil && r.Type == "replied_to" {
			return r.ID
		}
	}
	return ""
}

var (
	linkRE          = regexp.MustCompile(`https?://\S+`)
	leadingHandleRE = regexp.MustCompile(`^(?:[@＠][A-Za-z0-9_]{1,15}\s+)+`)
)

// sameText reports whether a text read back from X is the text sent: X
// escapes &, < and > in tweets, shortens links to t.co and may prefix a
// reply with the handles it answers.
func sameText(got, sent string) bool {
	norm := func(s string) string {
		s = unescapeTweet(s)
		s = linkRE.ReplaceAllString(s, "<link>")
		s = strings.Join(strings.Fields(s), " ")
		return leadingHandleRE.ReplaceAllString(s, "")
	}
	return norm(got) == norm(sent)
}

// tweetUnescaper undoes the HTML escaping X applies to tweet text.
var tweetUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func unescapeTweet(s string) string { return tweetUnescaper.Replace(s) }

// sameSend reports whether a message read back from X is the send q
// describes: the same text, and media when it carried files (whose t.co
// link X may have put at the end of the text).
func sameSend(text string, media bool, q bridge.SentQuery) bool {
	if media != q.Media {
		return false
	}
	if media {
		text = trailingLinkRE.ReplaceAllString(text, "")
	}
	return sameText(text, q.Text)
}

var trailingLinkRE = regexp.MustCompile(`\s*https://t\.co/\S+\s*$`)

// hasMedia reports whether a tweet carries media.
func hasMedia(t *twitter.TweetObj) bool {
	return t.Attachments != nil && len(t.Attachments.MediaKeys) > 0
}
