package slacksim

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The simulator's answers are what encoding/json would write: strings
// escaped alike, keys sorted, every shape it answers with.
func TestAppendJSONWritesWhatEncodingJSONWrites(t *testing.T) {
	type file struct {
		ID   string `json:"id"`
		Size int    `json:"size"`
	}
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"string", "plain"},
		{"escapes", "quote \" backslash \\ newline \n tab \t cr \r nul \x00 bell \x07 backspace \b formfeed \f <b>&amp;</b> \u2028\u2029 é ⏱"},
		{"invalid utf-8", "bad \xff\xfe bytes \xc3"},
		{"numbers and booleans", obj{"a": 1, "b": int64(-7), "c": true, "d": false, "e": 1.5}},
		{"nested", obj{"ok": true, "channel": "C1", "message": obj{
			"type": "message", "ts": "1700000000.000100", "text": "hi",
			"blocks":      json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"x"},"block_id":"a"}]`),
			"metadata":    json.RawMessage(`{"event_type":"e","event_payload":{"key":"k"}}`),
			"bot_profile": obj{"id": "B1", "icons": obj{"image_48": "https://a/b.png"}},
			"reactions":   []obj{{"name": "eyes", "users": []string{"U1", "U2"}, "count": 2}},
			"files":       []any{file{ID: "F1", Size: 3}},
			"reply_users": []string{},
			"empty":       obj{},
			"none":        []obj(nil),
		}}},
		{"fallback", file{ID: "F2", Size: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := appendJSON(nil, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("appendJSON =\n%s\nencoding/json =\n%s", got, want)
			}
		})
	}
}

// Raw JSON is copied as stored: what it says is unchanged, even where
// encoding/json would have escaped it differently.
func TestAppendJSONCopiesRawJSON(t *testing.T) {
	raw := json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"<https://x.com|x> & more"}}]`)
	got, err := appendJSON(nil, obj{"blocks": raw})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"blocks":` + string(raw) + `}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var a, b any
	want, _ := json.Marshal(obj{"blocks": raw})
	if json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("%s and %s say different things", got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\"\\\n\r\t\x01", "é⏱"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json: %s", s, got, want)
		}
	})
}
