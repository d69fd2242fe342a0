package x

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

var _ bridge.ReadSync = (*Client)(nil)

// ReasonReadSyncNeedsOAuth1 is the Reason of the permanent error MarkRead
// and ShowTyping return without calling X when the client holds an OAuth
// 2.0 user token: X's read receipts and typing indicators exist only in
// API v1.1, which takes OAuth 1.0a user context alone.
const ReasonReadSyncNeedsOAuth1 = "X's read receipts and typing need OAuth 1.0a user credentials"

// Paths of the API v1.1 endpoints of read receipts and typing indicators:
// API v2 has none.
const (
	markReadPath       = "/1.1/direct_messages/mark_read.json"
	indicateTypingPath = "/1.1/direct_messages/indicate_typing.json"
)

// MarkRead marks the customer's DMs to the account read up to the DM event
// lastEventID (POST /1.1/direct_messages/mark_read.json), so that the
// customer sees them read. Failures are *bridge.DeliveryError.
func (c *Client) MarkRead(ctx context.Context, account, customerID, lastEventID string) error {
	if err := c.checkReadSync(account, customerID); err != nil {
		return err
	}
	if !isNumericID(lastEventID) {
		return &bridge.DeliveryError{Reason: fmt.Sprintf("cannot mark DMs read up to %q: not a DM event id", lastEventID)}
	}
	form := url.Values{"last_read_event_id": {lastEventID}, "recipient_id": {customerID}}
	if err := c.postV1Form(ctx, "read receipt", markReadPath, form); err != nil {
		c.logFailure("mark dms read", err, "recipient_id", customerID, "last_read_event_id", lastEventID)
		return err
	}
	c.logger.Debug("dms marked read", "recipient_id", customerID, "last_read_event_id", lastEventID)
	return nil
}

// ShowTyping shows the customer that the account is typing
// (POST /1.1/direct_messages/indicate_typing.json). Failures are
// *bridge.DeliveryError.
func (c *Client) ShowTyping(ctx context.Context, account, customerID string) error {
	if err := c.checkReadSync(account, customerID); err != nil {
		return err
	}
	form := url.Values{"recipient_id": {customerID}}
	if err := c.postV1Form(ctx, "typing indicator", indicateTypingPath, form); err != nil {
		c.logFailure("indicate typing", err, "recipient_id", customerID)
		return err
	}
	c.logger.Debug("typing indicated", "recipient_id", customerID)
	return nil
}

// checkReadSync refuses, without calling X, what X would refuse.
func (c *Client) checkReadSync(account, customerID string) error {
	if err := c.checkAccount(account); err != nil {
		return err
	}
	switch {
	case !c.cfg.oauth1():
		return &bridge.DeliveryError{Reason: ReasonReadSyncNeedsOAuth1}
	case !isNumericID(customerID):
		return &bridge.DeliveryError{Reason: fmt.Sprintf("cannot sync DMs with %q: not an X user id", customerID)}
	case customerID == account:
		return &bridge.DeliveryError{Reason: "the support account has no DM conversation with itself"}
	}
	return nil
}

// postV1Form POSTs form, form-encoded (and so signed by OAuth 1.0a), to an
// API v1.1 endpoint that answers without a body. Failures are
// *bridge.DeliveryError; what names the request in their Reason.
func (c *Client) postV1Form(ctx context.Context, what, path string, form url.Values) *bridge.DeliveryError {
	ctx, cl := c.startCall(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return &bridge.DeliveryError{Reason: "build the " + what + " request", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	err = c.doNoContent(req)
	if err == nil {
		return nil
	}
	de := cl.deliveryError(what, err)
	if de.Unknown {
		// Marking read and showing typing can be repeated harmlessly: an
		// outcome lost on the way is worth retrying.
		de.Unknown, de.Temporary = false, true
	}
	return de
}

// doNoContent sends req and accepts any 2xx answer, whatever its body. Any
// other answer is an *apiError.
func (c *Client) doNoContent(req *http.Request) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp.StatusCode, body)
	}
	return nil // done, whatever the rest of the answer
}
