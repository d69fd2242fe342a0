package slacksim

import (
	"slices"
	"strings"
	"testing"
)

func TestWebSpec(t *testing.T) {
	t.Parallel()
	spec, err := loadWebSpec()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method   string
		required []string
	}{
		{"chat.postMessage", []string{"channel", "token"}},
		{"chat.update", []string{"channel", "token", "ts"}},
		{"reactions.add", []string{"channel", "name", "timestamp", "token"}},
		{"chat.getPermalink", []string{"channel", "message_ts", "token"}},
		{"apps.connections.open", []string{"token"}},                            // allowlisted
		{"files.getUploadURLExternal", []string{"filename", "length", "token"}}, // allowlisted
	}
	for _, c := range cases {
		m, ok := spec.methods[c.method]
		if !ok {
			t.Errorf("%s missing", c.method)
			continue
		}
		if !slices.Equal(m.required, c.required) {
			t.Errorf("%s requires %v, want %v", c.method, m.required, c.required)
		}
	}
	// Every method the simulator implements is described (or allowlisted).
	for _, name := range []string{
		"auth.test", "chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral", "chat.getPermalink",
		"reactions.add", "reactions.remove", "reactions.get", "users.info", "users.list", "usergroups.list",
		"usergroups.users.list", "conversations.info", "conversations.replies", "conversations.history",
		"apps.connections.open", "files.getUploadURLExternal", "files.completeUploadExternal",
	} {
		if _, ok := spec.methods[name]; !ok || handlerFor(name) == nil {
			t.Errorf("%s: in spec %v, implemented %v", name, ok, handlerFor(name) != nil)
		}
	}
}

func TestValidateEvent(t *testing.T) {
	t.Parallel()
	good := `{"token":"t","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,
		"authed_users":["U1"],"event":{"type":"reaction_added","event_ts":"1700000000.000100","user":"U1"}}`
	cases := []struct {
		name, payload string
		want          []string // substrings of the problems, in order
	}{
		{"good", good, nil},
		{"no event_id", strings.Replace(good, `"event_id":"Ev1",`, "", 1), []string{`missing required property "event_id"`}},
		{"event_time not integer", strings.Replace(good, `1700000000,`, `"1700000000",`, 1), []string{"event_time: want integer"}},
		{"no event_ts", strings.Replace(good, `"event_ts":"1700000000.000100",`, "", 1), []string{`event: missing required property "event_ts"`}},
		{"unknown event", strings.Replace(good, `reaction_added`, `bogus_event`, 1), []string{"no topic"}},
		{"message_deleted lacks deleted_ts", `{"token":"t","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1",
			"event_time":1,"authed_users":["U1"],"event":{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C1",
			"previous_message":{"type":"message","text":"x","ts":"1.1"},"event_ts":"1.2","ts":"1.2"}}`,
			[]string{`missing required property "deleted_ts"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := validateEvent([]byte(c.payload))
			if len(got) != len(c.want) {
				t.Fatalf("problems %q, want %d", got, len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q lacks %q", got[i], w)
				}
			}
		})
	}
}
