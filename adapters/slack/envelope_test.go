package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
)

func TestDropMember(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want string // "" when the body must come back unchanged
	}{
		{
			name: "chat.postMessage answer from Slack's docs",
			body: `{
    "ok": true,
    "channel": "C123ABC456",
    "ts": "1503435956.000247",
    "message": {
        "text": "Here's a message for you",
        "username": "ecto1",
        "bot_id": "B123ABC456",
        "attachments": [
            {
                "text": "This is an attachment",
                "id": 1,
                "fallback": "This is an attachment's fallback"
            }
        ],
        "type": "message",
        "subtype": "bot_message",
        "ts": "1503435956.000247"
    }
}`,
			want: `{"ok": true,"channel": "C123ABC456","ts": "1503435956.000247"}`,
		},
		{
			name: "chat.update answer from Slack's docs",
			body: `{"ok": true, "channel": "C123ABC456", "ts": "1401383885.000061", "text": "Updated text you carefully authored",
			        "message": {"text": "Updated text you carefully authored", "user": "U34567890"}}`,
			want: `{"ok": true,"channel": "C123ABC456","ts": "1401383885.000061","text": "Updated text you carefully authored"}`,
		},
		{
			name: "warnings are kept",
			body: `{"ok":true,"channel":"C1","ts":"1.000100","message":{"type":"message","text":"hi"},"warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]}}`,
			want: `{"ok":true,"channel":"C1","ts":"1.000100","warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]}}`,
		},
		{
			name: "message first, strings full of brackets, quotes and backslashes",
			body: `{"message":{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"a \"}]{ [\\\" b \\"}},{"type":"context","elements":[]}],"x":"\\\\"},"channel":"C1","ok":true,"ts":"2.000200"}`,
			want: `{"channel":"C1","ok":true,"ts":"2.000200"}`,
		},
		{
			name: "a message nested elsewhere stays",
			body: `{"ok":true,"response_metadata":{"message":"kept"},"message":{}}`,
			want: `{"ok":true,"response_metadata":{"message":"kept"}}`,
		},
		{
			name: "what follows the object stays",
			body: "{\"ok\":true,\"message\":{\"ts\":\"1\"},\"ts\":\"1\"}\n",
			want: "{\"ok\":true,\"ts\":\"1\"}\n",
		},
		{name: "an error answer", body: `{"ok":false,"error":"channel_not_found","message":{"text":"x"}}`},
		{name: "no ok", body: `{"channel":"C1","message":{"text":"x"}}`},
		{name: "ok is not the literal true", body: `{"ok":"true","message":{"text":"x"}}`},
		{name: "no message", body: `{"ok":true,"channel":"C1","ts":"1.000100"}`},
		{name: "brackets that do not match", body: `{"ok":true,"message":{"blocks":[1}],"ts":"1"}`},
		{name: "a string not closed", body: `{"ok":true,"message":{"text":"abc\"}}`},
		{name: "an object not closed", body: `{"ok":true,"message":{"text":"abc"}`},
		{name: "no value", body: `{"ok":true,"message":,"ts":"1"}`},
		{name: "not an object", body: `[{"ok":true,"message":{}}]`},
		{name: "an empty object", body: `{}`},
		{name: "empty", body: ``},
		{name: "an HTML error page", body: "<html><body><h1>503 Service Unavailable</h1></body></html>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := dropMember([]byte(tt.body), "message")
			if tt.want == "" {
				if ok || string(got) != tt.body {
					t.Fatalf("dropMember = %q, %v; want the body unchanged", got, ok)
				}
				return
			}
			if !ok || string(got) != tt.want {
				t.Fatalf("dropMember =\n%s, %v\nwant\n%s", got, ok, tt.want)
			}
			// What is left decodes to the same envelope as the original.
			var before, after map[string]any
			if err := json.Unmarshal([]byte(tt.body), &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got, &after); err != nil {
				t.Fatalf("result does not decode: %v", err)
			}
			delete(before, "message")
			if !reflect.DeepEqual(before, after) {
				t.Errorf("decoded %v, want %v", after, before)
			}
		})
	}
}

// TestEnvelopeClient runs the same slack-go calls through a plain client
// and through the adapter's, against slacksim: answers and errors read
// the same, and only the echoed message of posts and updates is gone.
func TestEnvelopeClient(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	plain := slackapi.New(testBotToken, slackapi.OptionAPIURL(b.srv.URL+"/api/"))
	ours := b.adapter.api
	thread := b.postCard(t)

	type result struct {
		channel, text string
		posted        bool // the ts names a message in the channel
		err           error
	}
	post := func(channel string) func(*slackapi.Client) result {
		return func(api *slackapi.Client) result {
			ch, ts, err := api.PostMessageContext(ctx, channel, slackapi.MsgOptionText("hello", false), slackapi.MsgOptionTS(thread))
			_, found := b.sim.Message(testChannel, ts)
			return result{channel: ch, posted: found, err: err}
		}
	}
	update := func(api *slackapi.Client) result {
		ch, ts, text, err := api.UpdateMessageContext(ctx, testChannel, thread, slackapi.MsgOptionText("card & more", false))
		m, _ := b.sim.Message(testChannel, ts)
		return result{channel: ch, text: text, posted: ts == thread && m.Text == "card & more", err: err}
	}
	tests := []struct {
		name   string
		method string // faulted, when fault is set
		fault  slacksim.Fault
		call   func(*slackapi.Client) result
		want   result
	}{
		{name: "post", call: post(testChannel), want: result{channel: testChannel, posted: true}},
		{name: "update", call: update, want: result{channel: testChannel, text: "card & more", posted: true}},
		{name: "channel_not_found", call: post("CNOPE"),
			want: result{err: slackapi.SlackErrorResponse{Err: "channel_not_found"}}},
		{name: "429 with Retry-After", method: "chat.postMessage", fault: slacksim.Fault{Status: 429, RetryAfter: 30 * time.Second},
			call: post(testChannel), want: result{err: &slackapi.RateLimitedError{RetryAfter: 30 * time.Second}}},
		{name: "ratelimited with HTTP 200", method: "chat.postMessage", fault: slacksim.Fault{Error: "ratelimited"},
			call: post(testChannel), want: result{err: slackapi.SlackErrorResponse{Err: "ratelimited"}}},
		{name: "update answered 503", method: "chat.update", fault: slacksim.Fault{Status: 503},
			call: update, want: result{err: slackapi.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}}},
		{name: "update refused", method: "chat.update", fault: slacksim.Fault{Error: "edit_window_closed"},
			call: update, want: result{err: slackapi.SlackErrorResponse{Err: "edit_window_closed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: faults apply to the next call of the shared simulator.
			for _, c := range []struct {
				name string
				api  *slackapi.Client
			}{{"plain slack-go", plain}, {"the adapter's client", ours}} {
				if tt.method != "" {
					b.sim.FailNext(tt.method, 1, tt.fault)
				}
				if got := tt.call(c.api); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("through %s: %+v, want %+v", c.name, got, tt.want)
				}
			}
		})
	}

	t.Run("the echo is dropped from posts and updates only", func(t *testing.T) {
		_, ts, echo, err := plain.PostMessageWithResponseContext(ctx, testChannel, slackapi.MsgOptionText("plain", false))
		if err != nil || echo.Timestamp != ts || echo.Text != "plain" {
			t.Fatalf("plain slack-go: echo %+v, ts %s, err %v", echo.Msg, ts, err)
		}
		ch, ts, echo, err := ours.PostMessageWithResponseContext(ctx, testChannel, slackapi.MsgOptionText("ours", false))
		if err != nil || ch != testChannel || ts == "" || echo.Timestamp != "" || echo.Text != "" || len(echo.Blocks.BlockSet) != 0 {
			t.Fatalf("adapter's client: channel %s ts %s echo %+v err %v; want channel and ts without the echo", ch, ts, echo.Msg, err)
		}
		// reactions.get answers with a "message" too, which slack-go reads.
		if err := ours.AddReactionContext(ctx, "eyes", slackapi.NewRefToMessage(testChannel, ts)); err != nil {
			t.Fatal(err)
		}
		item, err := ours.GetReactionsContext(ctx, slackapi.NewRefToMessage(testChannel, ts), slackapi.NewGetReactionsParameters())
		if err != nil || item.Message == nil || item.Message.Text != "ours" || len(item.Reactions) != 1 || item.Reactions[0].Name != "eyes" {
			t.Errorf("reactions.get through the adapter's client: %+v, %v", item, err)
		}
	})
	b.noViolations(t)
}

// TestEnvelopeClientSlackAnswer serves Slack's own answer to a post, with
// a warning: slack-go reads the same channel and ts through the adapter's
// client as through a plain one, without the echo, and another host's
// answer is left alone.
func TestEnvelopeClientSlackAnswer(t *testing.T) {
	t.Parallel()
	const answer = `{"ok":true,"channel":"C123ABC456","ts":"1503435956.000247",` +
		`"message":{"type":"message","subtype":"bot_message","text":"Here's a message for you","ts":"1503435956.000247","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]},` +
		`"warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		name     string
		client   doer
		wantEcho string
	}{
		{"plain slack-go", srv.Client(), "Here's a message for you"},
		{"the adapter's client", newEnvelopeClient(srv.Client(), srv.URL+"/api/"), ""},
	} {
		api := slackapi.New(testBotToken, slackapi.OptionAPIURL(srv.URL+"/api/"), slackapi.OptionHTTPClient(c.client))
		ch, ts, echo, err := api.PostMessageWithResponseContext(context.Background(), "C123ABC456", slackapi.MsgOptionText("hi", false))
		if err != nil || ch != "C123ABC456" || ts != "1503435956.000247" || echo.Text != c.wantEcho {
			t.Errorf("%s: channel %s ts %s echo %q err %v", c.name, ch, ts, echo.Text, err)
		}
	}

	// The same path on another host (a response URL, say) is not the Web API.
	c := newEnvelopeClient(srv.Client(), "https://slack.example/api/")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/chat.postMessage", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != answer {
		t.Errorf("another host's answer changed: %s", body)
	}
}

// TestEnvelopeClientReadError: a body that breaks off still breaks off for
// slack-go, after the bytes that came.
func TestEnvelopeClientReadError(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	next := doerFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{},
			Body: io.NopCloser(io.MultiReader(strings.NewReader(`{"ok":true,"mess`), errReader{broken}))}, nil
	})
	c := newEnvelopeClient(next, "https://slack.com/api/")
	req, _ := http.NewRequest(http.MethodPost, "https://slack.com/api/chat.postMessage", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if string(body) != `{"ok":true,"mess` || !errors.Is(err, broken) {
		t.Errorf("read %q, %v; want the partial body, then %v", body, err, broken)
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
