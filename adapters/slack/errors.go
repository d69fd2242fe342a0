package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
)

// temporaryCodes are Slack error codes worth retrying.
var temporaryCodes = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"ratelimited":         true,
}

// codeReasons explain common permanent Slack error codes to agents.
var codeReasons = map[string]string{
	"channel_not_found":     "the Slack channel was not found",
	"not_in_channel":        "the bot is not a member of the Slack channel (invite it)",
	"is_archived":           "the Slack channel is archived",
	"invalid_auth":          "Slack rejected the bot token",
	"not_authed":            "no Slack bot token was sent",
	"account_inactive":      "the Slack bot token belongs to a deactivated app",
	"token_revoked":         "the Slack bot token was revoked",
	"token_expired":         "the Slack bot token expired",
	"msg_too_long":          "the message is too long for Slack",
	"message_not_found":     "the Slack message was not found",
	"thread_not_found":      "the Slack thread was not found",
	"cant_update_message":   "the Slack message cannot be edited by the bot",
	"edit_window_closed":    "the Slack message can no longer be edited",
	"invalid_blocks":        "Slack rejected the message layout",
	"invalid_blocks_format": "Slack rejected the message layout",
	"too_many_reactions":    "the Slack message has too many reactions",
	"restricted_action":     "a Slack workspace setting prevents the bot from posting",
	"user_not_in_channel":   "the user is not in the Slack channel",
}

// deliveryError turns a slack-go error into a *bridge.DeliveryError the
// dispatcher can act on; nil stays nil.
func deliveryError(op string, err error, now time.Time) error {
	if err == nil {
		return nil
	}
	de := &bridge.DeliveryError{Err: fmt.Errorf("slack %s: %w", op, err)}
	var (
		rl *slackapi.RateLimitedError
		sc slackapi.StatusCodeError
		se slackapi.SlackErrorResponse
	)
	switch {
	case errors.As(err, &rl):
		de.Temporary, de.RateLimited = true, true
		de.RetryAt = now.Add(rl.RetryAfter)
		de.Reason = "Slack rate limit"
	case errors.As(err, &sc):
		switch {
		case sc.Code == http.StatusTooManyRequests:
			de.Temporary, de.RateLimited = true, true
			de.Reason = "Slack rate limit"
		case sc.Code >= 500:
			de.Temporary = true
			de.Reason = fmt.Sprintf("Slack is unavailable (HTTP %d)", sc.Code)
		default:
			de.Reason = fmt.Sprintf("Slack answered HTTP %d", sc.Code)
		}
	case errors.As(err, &se):
		de.Temporary = temporaryCodes[se.Err]
		de.RateLimited = se.Err == "ratelimited"
		switch {
		case codeReasons[se.Err] != "":
			de.Reason = codeReasons[se.Err]
		case se.Err == "missing_scope" && se.Needed != "":
			de.Reason = "the Slack app lacks the permission " + se.Needed + " (reinstall it with the manifest)"
		case de.Temporary:
			de.Reason = "Slack is unavailable (" + se.Err + ")"
		default:
			de.Reason = "Slack refused: " + se.Err
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		de.Temporary = true
		de.Reason = "Slack did not answer in time"
	default:
		de.Temporary = true
		de.Reason = "Slack is unreachable"
	}
	return de
}

// slackErrorCode returns the Slack error code carried by err, or "".
func slackErrorCode(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}
