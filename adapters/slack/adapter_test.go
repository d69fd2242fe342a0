package slack

import (
	"errors"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string // each must appear in the error; none means valid
	}{
		{"http mode", Config{BotToken: "xoxb-1", SigningSecret: "s"}, nil},
		{"socket mode", Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, nil},
		{"empty", Config{}, []string{
			"slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN) is required",
			"slack.signing_secret (XBRIDGE_SLACK_SIGNING_SECRET) is required",
		}},
		{"swapped tokens", Config{BotToken: "xapp-1", AppToken: "xoxb-1"}, []string{
			"slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN) must be a bot token",
			"slack.app_token (XBRIDGE_SLACK_APP_TOKEN) must be an app-level token",
		}},
		{"bad API URL", Config{BotToken: "xoxb-1", SigningSecret: "s", APIURL: "slack.com/api"}, []string{"slack.api_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg, nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{tt.cfg.BotToken, tt.cfg.AppToken} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a token", err)
				}
			}
		})
	}
}

func TestDeliveryErrorMapping(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name                 string
		err                  error
		temporary, ratelimit bool
		retryAt              time.Time
		reason               string
	}{
		{"rate limited", &slackapi.RateLimitedError{RetryAfter: 7 * time.Second}, true, true, now.Add(7 * time.Second), "rate limit"},
		{"429 without Retry-After", slackapi.StatusCodeError{Code: 429, Status: "429 Too Many Requests"}, true, true, time.Time{}, "rate limit"},
		{"502", slackapi.StatusCodeError{Code: 502, Status: "502 Bad Gateway"}, true, false, time.Time{}, "HTTP 502"},
		{"404", slackapi.StatusCodeError{Code: 404, Status: "404 Not Found"}, false, false, time.Time{}, "HTTP 404"},
		{"fatal_error", slackapi.SlackErrorResponse{Err: "fatal_error"}, true, false, time.Time{}, "fatal_error"},
		{"request_timeout", slackapi.SlackErrorResponse{Err: "request_timeout"}, true, false, time.Time{}, "request_timeout"},
		{"ratelimited code", slackapi.SlackErrorResponse{Err: "ratelimited"}, true, true, time.Time{}, "ratelimited"},
		{"msg_too_long", slackapi.SlackErrorResponse{Err: "msg_too_long"}, false, false, time.Time{}, "too long"},
		{"invalid_auth", slackapi.SlackErrorResponse{Err: "invalid_auth"}, false, false, time.Time{}, "bot token"},
		{"missing_scope", slackapi.SlackErrorResponse{Err: "missing_scope", Needed: "chat:write.customize"}, false, false, time.Time{}, "chat:write.customize"},
		{"unknown code", slackapi.SlackErrorResponse{Err: "something_new"}, false, false, time.Time{}, "something_new"},
		{"transport", errors.New("dial tcp: connection refused"), true, false, time.Time{}, "unreachable"},
	}
	for _, tt := range tests {
		err := deliveryError("post", tt.err, now)
		var de *bridge.DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("%s: %T", tt.name, err)
		}
		if de.Temporary != tt.temporary || de.RateLimited != tt.ratelimit || !de.RetryAt.Equal(tt.retryAt) || !strings.Contains(de.Reason, tt.reason) {
			t.Errorf("%s: %+v", tt.name, de)
		}
		if de.Err == nil || !strings.Contains(de.Err.Error(), tt.err.Error()) {
			t.Errorf("%s: the cause is not kept: %v", tt.name, de.Err)
		}
	}
	if deliveryError("post", nil, now) != nil {
		t.Error("nil became an error")
	}
}
