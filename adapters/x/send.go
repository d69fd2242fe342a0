package x

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

// SendDM sends text as a DM from account to recipientID
// (POST /2/dm_conversations/with/{recipient}/messages) and returns the new
// dm_event_id. Failures are *bridge.DeliveryError.
func (c *Client) SendDM(ctx context.Context, account, recipientID, text string) (string, error) {
	return c.sendDM(ctx, account, recipientID, text, nil)
}

// sendDM sends a DM with text, media, or both.
func (c *Client) sendDM(ctx context.Context, account, recipientID, text string, mediaIDs []string) (string, error) {
	if err := c.checkAccount(account); err != nil {
		return "", err
	}
	switch {
	case !isNumericID(recipientID):
		return "", &bridge.DeliveryError{Reason: fmt.Sprintf("cannot send a DM to %q: not an X user id", recipientID)}
	case recipientID == account:
		return "", &bridge.DeliveryError{Reason: "the support account cannot send a DM to itself"}
	case strings.TrimSpace(text) == "" && len(mediaIDs) == 0:
		return "", &bridge.DeliveryError{Reason: "the DM is empty"}
	}
	type attachment struct {
		MediaID string `json:"media_id"`
	}
	req := struct {
		Text        string       `json:"text,omitempty"`
		Attachments []attachment `json:"attachments,omitempty"`
	}{Text: text}
	for _, id := range mediaIDs {
		req.Attachments = append(req.Attachments, attachment{id})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", &bridge.DeliveryError{Reason: "encode the DM", Err: err}
	}
	ctx, cl := c.startCall(ctx)
	u := c.apiURL + "/2/dm_conversations/with/" + url.PathEscape(recipientID) + "/messages"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", &bridge.DeliveryError{Reason: "build the DM request", Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	var out struct {
		Data struct {
			ConversationID string `json:"dm_conversation_id"`
			EventID        string `json:"dm_event_id"`
		} `json:"data"`
	}
	if err := c.doJSON(hreq, &out); err != nil {
		de := cl.deliveryError("DM", err)
		c.logFailure("send dm", de, "recipient_id", recipientID)
		return "", de
	}
	if out.Data.EventID == "" {
		return "", &bridge.DeliveryError{Unknown: true, Reason: "X accepted the DM but did not say its id"}
	}
	c.logger.Debug("dm sent", "recipient_id", recipientID, "dm_event_id", out.Data.EventID)
	return out.Data.EventID, nil
}

// Reply posts text as the account's public reply to the tweet inReplyToID
// (POST /2/tweets, through go-twitter) and returns the new tweet's id.
// Failures are *bridge.DeliveryError.
func (c *Client) Reply(ctx context.Context, account, inReplyToID, text string) (string, error) {
	return c.reply(ctx, account, inReplyToID, text, nil)
}

// reply posts a reply tweet with text, media, or both.
func (c *Client) reply(ctx context.Context, account, inReplyToID, text string, mediaIDs []string) (string, error) {
	if err := c.checkAccount(account); err != nil {
		return "", err
	}
	switch {
	case !isNumericID(inReplyToID):
		return "", &bridge.DeliveryError{Reason: fmt.Sprintf("cannot reply to %q: not a tweet id", inReplyToID)}
	case strings.TrimSpace(text) == "" && len(mediaIDs) == 0:
		return "", &bridge.DeliveryError{Reason: "the reply is empty"}
	}
	tweet := twitter.CreateTweetRequest{
		Text:  text,
		Reply: &twitter.CreateTweetReply{InReplyToTweetID: inReplyToID},
	}
	if len(mediaIDs) > 0 {
		tweet.Media = &twitter.CreateTweetMedia{IDs: mediaIDs}
	}
	ctx, cl := c.startCall(ctx)
	resp, err := c.tw.CreateTweet(ctx, tweet)
	if err != nil {
		de := cl.deliveryError("reply", err)
		c.logFailure("post reply", de, "in_reply_to", inReplyToID)
		return "", de
	}
	if resp.Tweet == nil || resp.Tweet.ID == "" {
		return "", &bridge.DeliveryError{Unknown: true, Reason: "X accepted the reply but did not say its id"}
	}
	c.logger.Debug("reply posted", "in_reply_to", inReplyToID, "tweet_id", resp.Tweet.ID)
	return resp.Tweet.ID, nil
}

// logFailure logs a failed send at a level matching its gravity.
func (c *Client) logFailure(op string, de *bridge.DeliveryError, args ...any) {
	args = append(args, "reason", de.Reason, "temporary", de.Temporary,
		"rate_limited", de.RateLimited, "unknown", de.Unknown)
	if de.Err != nil {
		args = append(args, "err", de.Err)
	}
	if de.Temporary {
		c.logger.Info(op+" failed", args...)
		return
	}
	c.logger.Warn(op+" failed", args...)
}
