package slack

import (
	"encoding/json"
	"fmt"
	"strings"
)

// BotScopes are the bot token scopes the bridge uses.
var BotScopes = []string{
	"channels:history",     // message.channels: agents' replies in public channels
	"channels:read",        // channel names and membership
	"chat:write",           // cards, thread posts, ephemeral answers
	"chat:write.customize", // customer messages shown with their name and avatar
	"commands",             // the /xb slash command
	"files:read",           // agents' images and files, for the customer
	"files:write",          // customers' photos and videos, into threads
	"groups:history",       // message.groups: private channels
	"groups:read",          // private channel names and membership
	"reactions:read",       // reaction_added
	"reactions:write",      // delivery marks
	"usergroups:read",      // the support group
	"users:read",           // agents' names
}

// BotEvents are the Events API subscriptions the bridge needs.
var BotEvents = []string{"message.channels", "message.groups", "reaction_added"}

// Manifest returns a Slack app manifest (YAML) for the bridge, named
// appName. In HTTP mode Slack calls publicURL + /slack/events,
// /slack/interactions and /slack/commands; in Socket Mode no public URL is
// needed.
func Manifest(appName, publicURL string, socketMode bool) string {
	if appName == "" {
		appName = "xbridge"
	}
	base := strings.TrimSuffix(publicURL, "/")
	var b strings.Builder
	line := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line(0, "_metadata:")
	line(1, "major_version: 1")
	line(1, "minor_version: 1")
	line(0, "display_information:")
	line(1, "name: %s", quote(truncate(appName, 35)))
	line(1, "description: %s", quote("X (Twitter) customer conversations, worked in Slack threads"))
	line(0, "features:")
	line(1, "bot_user:")
	line(2, "display_name: %s", quote(truncate(appName, 80)))
	line(2, "always_online: true")
	line(1, "slash_commands:")
	line(2, "- command: /xb")
	if !socketMode {
		line(3, "url: %s", quote(base+"/slack/commands"))
	}
	line(3, "description: %s", quote("Work X conversations: claim, assign, tag, close, …"))
	line(3, "usage_hint: %s", quote("<command> [ticket]"))
	line(3, "should_escape: false")
	line(0, "oauth_config:")
	line(1, "scopes:")
	line(2, "bot:")
	for _, s := range BotScopes {
		line(3, "- %s", s)
	}
	line(0, "settings:")
	line(1, "event_subscriptions:")
	if !socketMode {
		line(2, "request_url: %s", quote(base+"/slack/events"))
	}
	line(2, "bot_events:")
	for _, e := range BotEvents {
		line(3, "- %s", e)
	}
	line(1, "interactivity:")
	line(2, "is_enabled: true")
	if !socketMode {
		line(2, "request_url: %s", quote(base+"/slack/interactions"))
	}
	line(1, "org_deploy_enabled: false")
	line(1, "socket_mode_enabled: %t", socketMode)
	line(1, "token_rotation_enabled: false")
	return b.String()
}

// quote writes s as a double-quoted YAML scalar (JSON strings are YAML).
func quote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
