package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
)

// Discord's JSON error codes the adapter acts on
// (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json).
const (
	codeUnknownChannel  = 10003
	codeUnknownMessage  = 10008
	codeUnknownEmoji    = 10014
	codeMissingAccess   = 50001
	codeMissingPerms    = 50013
	codeInvalidForm     = 50035
	codeThreadArchived  = 50083
	codeThreadExists    = 160004
	codeMaxReactions    = 30010
	codeEmptyMessage    = 50006
	codeCannotEditOther = 50005
)

// codeReasons explain common permanent errors to agents.
var codeReasons = map[int]string{
	codeUnknownChannel:  "the Discord channel or thread was not found",
	codeUnknownMessage:  "the Discord message was not found",
	codeUnknownEmoji:    "Discord does not know the emoji",
	codeMissingAccess:   "the bot cannot see the Discord channel (check its permissions)",
	codeMissingPerms:    "the bot lacks a permission in the Discord channel (Send Messages, Create Threads, Add Reactions, Manage Threads)",
	codeThreadArchived:  "the Discord thread is archived and locked",
	codeMaxReactions:    "the Discord message has too many reactions",
	codeEmptyMessage:    "Discord refused an empty message",
	codeCannotEditOther: "the Discord message was not posted by the bot",
}

// deliveryError turns a discordgo error into a *bridge.DeliveryError the
// dispatcher can act on; nil stays nil.
func deliveryError(op string, err error, now time.Time) error {
	if err == nil {
		return nil
	}
	var de *bridge.DeliveryError
	if errors.As(err, &de) {
		return de
	}
	de = &bridge.DeliveryError{Err: fmt.Errorf("discord %s: %w", op, err)}
	var (
		rl *discordgo.RateLimitError
		re *discordgo.RESTError
	)
	switch {
	case errors.As(err, &rl) && rl.RateLimit != nil && rl.TooManyRequests != nil:
		de.Temporary, de.RateLimited = true, true
		de.RetryAt = now.Add(max(rl.RetryAfter, 0))
		de.Reason = "Discord rate limit"
	case errors.As(err, &re) && re.Response != nil:
		status := re.Response.StatusCode
		switch {
		case status == http.StatusTooManyRequests:
			de.Temporary, de.RateLimited = true, true
			de.RetryAt = now.Add(retryAfter(re))
			de.Reason = "Discord rate limit"
		case status >= 500:
			de.Temporary = true
			de.Reason = fmt.Sprintf("Discord is unavailable (HTTP %d)", status)
		default:
			de.Reason = refusal(re)
		}
	case errors.Is(err, context.DeadlineExceeded):
		de.Temporary, de.Unknown = true, true
		de.Reason = "Discord did not answer in time"
	case errors.Is(err, context.Canceled):
		de.Temporary = true
		de.Reason = "the request to Discord was cancelled"
	case strings.Contains(err.Error(), "Exceeded Max retries HTTP"):
		de.Temporary = true
		de.Reason = "Discord is unavailable (HTTP 502)"
	default:
		de.Temporary = true
		de.Reason = "Discord is unreachable"
	}
	return de
}

// refusal is the reason a 4xx answer gives, in Discord's words when it
// has no better explanation.
func refusal(re *discordgo.RESTError) string {
	code, msg := 0, ""
	if re.Message != nil {
		code, msg = re.Message.Code, re.Message.Message
	}
	if r := codeReasons[code]; r != "" {
		return r
	}
	if code == codeInvalidForm {
		if d := formDetail(re.ResponseBody); d != "" {
			return "Discord refused the request: " + d
		}
	}
	if msg != "" {
		return "Discord refused: " + msg
	}
	return fmt.Sprintf("Discord answered HTTP %d", re.Response.StatusCode)
}

// formDetail picks the first problem of an Invalid Form Body answer:
// "content: Must be 2000 or fewer in length.".
func formDetail(body []byte) string {
	var v struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Errors) == 0 {
		return ""
	}
	var walk func(path string, raw json.RawMessage) string
	walk = func(path string, raw json.RawMessage) string {
		var node map[string]json.RawMessage
		if json.Unmarshal(raw, &node) != nil {
			return ""
		}
		if errs, ok := node["_errors"]; ok {
			var list []struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(errs, &list) == nil && len(list) > 0 {
				return strings.TrimPrefix(path+": ", ": ") + list[0].Message
			}
		}
		for k, child := range node {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if d := walk(p, child); d != "" {
				return d
			}
		}
		return ""
	}
	return walk("", v.Errors)
}

// retryAfter reads the wait a 429 announces: the body's retry_after
// (seconds, fractional), else the Retry-After header; default 1 s.
func retryAfter(re *discordgo.RESTError) time.Duration {
	var body struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal(re.ResponseBody, &body) == nil && body.RetryAfter > 0 {
		return time.Duration(body.RetryAfter * float64(time.Second))
	}
	if re.Response != nil {
		if s, err := strconv.ParseFloat(re.Response.Header.Get("Retry-After"), 64); err == nil && s > 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return time.Second
}

// statusOf returns the HTTP status of a REST error, 0 for other errors.
func statusOf(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// codeOf returns Discord's JSON error code of a REST error, 0 for others.
func codeOf(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// isRateLimit reports whether err is discordgo's rate limit error.
func isRateLimit(err error) bool {
	var rl *discordgo.RateLimitError
	return errors.As(err, &rl)
}
