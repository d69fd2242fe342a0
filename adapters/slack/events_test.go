package slack

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/xbridge/xbridge/bridge"
)

// callback wraps an inner event in the event_callback envelope Slack sends.
func callback(eventID, inner string) string {
	return `{
		"token": "XXYYZZ", "team_id": "T0001", "api_app_id": "A0SIM",
		"event": ` + inner + `,
		"type": "event_callback", "event_id": "` + eventID + `", "event_time": 1741944360,
		"authorizations": [{"enterprise_id": null, "team_id": "T0001", "user_id": "UBOT", "is_bot": true, "is_enterprise_install": false}],
		"is_ext_shared_channel": false, "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ"
	}`
}

var self = identity{UserID: "UBOT", BotID: "BBOT"}

func TestConvertEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    chatEvent
	}{
		{
			name: "plain reply in a thread",
			payload: callback("Ev01", `{
				"client_msg_id": "5b7c1d2e-0000-4000-8000-000000000001", "type": "message",
				"text": "Hi Jane, we are on it &amp; will DM you &lt;3 <https://status.example.com|status page>",
				"user": "UAGENT1", "ts": "1741944400.000200", "team": "T0001",
				"blocks": [{"type": "rich_text", "block_id": "a1B2c", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "Hi Jane"}]}]}],
				"thread_ts": "1741944360.000100", "parent_user_id": "UBOT",
				"channel": "C0SUPPORT", "event_ts": "1741944400.000200", "channel_type": "channel"
			}`),
			want: chatEvent{Message: &bridge.ChatMessage{
				Platform: "slack", EventID: "Ev01", Channel: "C0SUPPORT", ThreadID: "1741944360.000100",
				MessageID: "1741944400.000200", UserID: "UAGENT1", InBotThread: true,
				Text: "Hi Jane, we are on it & will DM you <3 status page (https://status.example.com)",
			}, Raw: "Hi Jane, we are on it &amp; will DM you &lt;3 <https://status.example.com|status page>"},
		},
		{
			name: "thread_broadcast is a message",
			payload: callback("Ev02", `{
				"type": "message", "subtype": "thread_broadcast", "text": "also to channel",
				"user": "UAGENT1", "ts": "1741944401.000300", "thread_ts": "1741944360.000100",
				"root": {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "card", "ts": "1741944360.000100"},
				"channel": "C0SUPPORT", "event_ts": "1741944401.000300", "channel_type": "channel"
			}`),
			want: chatEvent{Message: &bridge.ChatMessage{
				Platform: "slack", EventID: "Ev02", Channel: "C0SUPPORT", ThreadID: "1741944360.000100",
				MessageID: "1741944401.000300", UserID: "UAGENT1", Text: "also to channel",
			}, Raw: "also to channel"},
		},
		{
			name: "the bridge's own post is ignored",
			payload: callback("Ev03", `{
				"type": "message", "text": "Jane: hello", "user": "UBOT", "bot_id": "BBOT", "app_id": "A0SIM",
				"username": "Jane", "icons": {"image_48": "https://pbs.twimg.com/jane.jpg"},
				"bot_profile": {"id": "BBOT", "app_id": "A0SIM", "name": "xbridge", "deleted": false, "updated": 1700000000, "team_id": "T0001"},
				"ts": "1741944402.000400", "thread_ts": "1741944360.000100",
				"channel": "C0SUPPORT", "event_ts": "1741944402.000400", "channel_type": "channel"
			}`),
		},
		{
			name: "another bot's message is ignored",
			payload: callback("Ev04", `{
				"type": "message", "subtype": "bot_message", "text": "deploy finished", "bot_id": "B0OTHER",
				"ts": "1741944403.000500", "channel": "C0SUPPORT", "event_ts": "1741944403.000500", "channel_type": "channel"
			}`),
		},
		{
			name: "message_changed is an edit",
			payload: callback("Ev05", `{
				"type": "message", "subtype": "message_changed", "hidden": true,
				"message": {"type": "message", "user": "UAGENT1", "text": "Hi Jane, fixed now", "ts": "1741944400.000200",
					"thread_ts": "1741944360.000100", "edited": {"user": "UAGENT1", "ts": "1741944410.000000"}},
				"previous_message": {"type": "message", "user": "UAGENT1", "text": "Hi Jane", "ts": "1741944400.000200", "thread_ts": "1741944360.000100"},
				"channel": "C0SUPPORT", "event_ts": "1741944410.000600", "ts": "1741944410.000600", "channel_type": "channel"
			}`),
			want: chatEvent{Edit: &bridge.ChatEdit{
				Platform: "slack", EventID: "Ev05", Channel: "C0SUPPORT", MessageID: "1741944400.000200",
				UserID: "UAGENT1", Text: "Hi Jane, fixed now",
			}},
		},
		{
			name: "message_changed without a text change (an unfurl) is ignored",
			payload: callback("Ev06", `{
				"type": "message", "subtype": "message_changed", "hidden": true,
				"message": {"type": "message", "user": "UAGENT1", "text": "see <https://x.com>", "ts": "1741944400.000200",
					"attachments": [{"id": 1, "title": "X", "from_url": "https://x.com"}]},
				"previous_message": {"type": "message", "user": "UAGENT1", "text": "see <https://x.com>", "ts": "1741944400.000200"},
				"channel": "C0SUPPORT", "event_ts": "1741944411.000700", "ts": "1741944411.000700", "channel_type": "channel"
			}`),
		},
		{
			name: "the card's own update is ignored",
			payload: callback("Ev07", `{
				"type": "message", "subtype": "message_changed", "hidden": true,
				"message": {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "#42 closed", "ts": "1741944360.000100"},
				"previous_message": {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "#42 open", "ts": "1741944360.000100"},
				"channel": "C0SUPPORT", "event_ts": "1741944412.000800", "ts": "1741944412.000800", "channel_type": "channel"
			}`),
		},
		{
			name: "message_deleted is a delete",
			payload: callback("Ev08", `{
				"type": "message", "subtype": "message_deleted", "hidden": true, "deleted_ts": "1741944400.000200",
				"thread_ts": "1741944360.000100",
				"previous_message": {"type": "message", "user": "UAGENT1", "text": "Hi Jane", "ts": "1741944400.000200", "thread_ts": "1741944360.000100"},
				"channel": "C0SUPPORT", "event_ts": "1741944420.000900", "ts": "1741944420.000900", "channel_type": "channel"
			}`),
			want: chatEvent{Delete: &bridge.ChatDelete{
				Platform: "slack", EventID: "Ev08", Channel: "C0SUPPORT", MessageID: "1741944400.000200",
			}},
		},
		{
			name: "channel_join is ignored",
			payload: callback("Ev09", `{
				"type": "message", "subtype": "channel_join", "user": "UENG1", "text": "<@UENG1> has joined the channel",
				"ts": "1741944430.001000", "channel": "C0SUPPORT", "event_ts": "1741944430.001000", "channel_type": "channel"
			}`),
		},
		{
			name: "reaction_added on a message",
			payload: callback("Ev10", `{
				"type": "reaction_added", "user": "UAGENT1", "reaction": "eyes", "item_user": "UBOT",
				"item": {"type": "message", "channel": "C0SUPPORT", "ts": "1741944360.000100"}, "event_ts": "1741944440.001100"
			}`),
			want: chatEvent{Reaction: &chatReaction{EventID: "Ev10", Channel: "C0SUPPORT", TS: "1741944360.000100", UserID: "UAGENT1", Emoji: "eyes"}},
		},
		{
			name: "a reaction to a person's message is ignored: it is no card",
			payload: callback("Ev12", `{
				"type": "reaction_added", "user": "UAGENT1", "reaction": "white_check_mark", "item_user": "UAGENT2",
				"item": {"type": "message", "channel": "C0SUPPORT", "ts": "1741944400.000200"}, "event_ts": "1741944442.001300"
			}`),
		},
		{
			name: "the bot's own delivery mark is ignored",
			payload: callback("Ev11", `{
				"type": "reaction_added", "user": "UBOT", "reaction": "white_check_mark", "item_user": "UAGENT1",
				"item": {"type": "message", "channel": "C0SUPPORT", "ts": "1741944400.000200"}, "event_ts": "1741944441.001200"
			}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := slackevents.ParseEvent(json.RawMessage(tt.payload), slackevents.OptionNoVerifyToken())
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			got, why := convertEvent(ev, self, nil)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("convertEvent = %s (%s), want %s", show(got), why, show(tt.want))
			}
			if got == (chatEvent{}) && why == "" {
				t.Error("an ignored event gives no reason")
			}
		})
	}
}

func show(c chatEvent) string {
	switch {
	case c.Message != nil:
		b, _ := json.Marshal(c.Message)
		return "message " + string(b) + " raw " + strconv.Quote(c.Raw)
	case c.Edit != nil:
		b, _ := json.Marshal(c.Edit)
		return "edit " + string(b)
	case c.Delete != nil:
		b, _ := json.Marshal(c.Delete)
		return "delete " + string(b)
	case c.Reaction != nil:
		b, _ := json.Marshal(c.Reaction)
		return "reaction " + string(b)
	}
	return "nothing"
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	names := map[string]string{"U1": "Ann"}
	mention := func(id string) string { return names[id] }
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a &lt;b&gt; &amp;amp;", "a <b> &amp;"},
		{"<https://example.com>", "https://example.com"},
		{"<http://example.com|example.com>", "example.com"},
		{"<https://example.com/a?b=1&amp;c=2|docs>", "docs (https://example.com/a?b=1&c=2)"},
		{"<mailto:help@example.com|help@example.com>", "help@example.com"},
		{"ask <@U1> or <@U2> or <@U3|bob>", "ask @Ann or @U2 or @bob"},
		{"in <#C1|support>", "in #support"},
		{"<!here> <!subteam^S1|@support> <!date^1741944360^{date}|Mar 14>", "@here @support Mar 14"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in, mention); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConvertActions(t *testing.T) {
	t.Parallel()
	payload := `{
		"type": "block_actions",
		"user": {"id": "UAGENT1", "username": "alice", "name": "alice", "team_id": "T0001"},
		"api_app_id": "A0SIM", "token": "XXYYZZ",
		"container": {"type": "message", "message_ts": "1741944500.000100", "channel_id": "C0SUPPORT", "is_ephemeral": false, "thread_ts": "1741944360.000100"},
		"trigger_id": "1741944501.000200.123456789012.0123456789abcdef0123456789abcdef",
		"team": {"id": "T0001", "domain": "sim"},
		"channel": {"id": "C0SUPPORT", "name": "support"},
		"message": {"type": "message", "ts": "1741944500.000100", "thread_ts": "1741944360.000100", "text": "Delivery unknown"},
		"response_url": "https://hooks.slack.com/actions/T0001/1/abc",
		"actions": [{"action_id": "xb_resend", "block_id": "b1", "type": "button", "value": "17",
			"text": {"type": "plain_text", "text": "Resend"}, "action_ts": "1741944501.000300"}]
	}`
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		t.Fatal(err)
	}
	got := convertActions(cb)
	want := []bridge.ChatAction{{
		Platform: "slack", EventID: "1741944501.000200.123456789012.0123456789abcdef0123456789abcdef",
		Channel: "C0SUPPORT", MessageID: "1741944500.000100", UserID: "UAGENT1", UserName: "alice",
		Action: bridge.ActionResend, Value: "17",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("convertActions = %+v, want %+v", got, want)
	}

	cb.TriggerID = ""
	if got := convertActions(cb); len(got) != 1 || got[0].EventID != "1741944501.000300" {
		t.Errorf("without trigger_id: %+v, want the action_ts as event id", got)
	}
	cb.Type = "view_submission"
	if got := convertActions(cb); len(got) != 0 {
		t.Errorf("view_submission gave %+v", got)
	}
}
