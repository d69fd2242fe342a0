package slacksim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestPostMessageRootAndThreadReply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()

	ch, rootTS, err := f.client.PostMessageContext(ctx, testChannel,
		slack.MsgOptionText("New conversation with @customer", false),
		buttonBlocks("claim", "conv-1"),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "xbridge_conversation", EventPayload: map[string]any{"conversation_id": "c1"}}),
		slack.MsgOptionUsername("X bridge"),
		slack.MsgOptionIconURL("https://img.example/x.png"),
		slack.MsgOptionDisableLinkUnfurl(),
	)
	if err != nil {
		t.Fatal(err)
	}
	if ch != testChannel || !strings.Contains(rootTS, ".") || len(rootTS) != len("1700000000.000100") {
		t.Fatalf("channel %q ts %q", ch, rootTS)
	}
	_, replyTS, err := f.client.PostMessageContext(ctx, testChannel, slack.MsgOptionText("customer says hi", false), slack.MsgOptionTS(rootTS))
	if err != nil {
		t.Fatal(err)
	}
	if !tsLess(rootTS, replyTS) {
		t.Fatalf("ts not increasing: %s then %s", rootTS, replyTS)
	}

	roots := f.sim.Roots(testChannel)
	if len(roots) != 1 || roots[0].TS != rootTS || roots[0].BotID != "BBOT" || roots[0].User != "UBOT" ||
		roots[0].Username != "X bridge" || roots[0].IconURL != "https://img.example/x.png" {
		t.Fatalf("roots = %+v", roots)
	}
	var md struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(roots[0].Metadata, &md); err != nil || md.EventType != "xbridge_conversation" || md.EventPayload["conversation_id"] != "c1" {
		t.Fatalf("metadata = %s (%v)", roots[0].Metadata, err)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(roots[0].Blocks, &blocks); err != nil || len(blocks) != 2 || blocks[0]["block_id"] == "" {
		t.Fatalf("blocks = %s", roots[0].Blocks)
	}
	thread := f.sim.Thread(testChannel, rootTS)
	if len(thread) != 1 || thread[0].TS != replyTS || thread[0].ThreadTS != rootTS || thread[0].Text != "customer says hi" {
		t.Fatalf("thread = %+v", thread)
	}

	msgs, hasMore, _, err := f.client.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: testChannel, Timestamp: rootTS, IncludeAllMetadata: true,
	})
	if err != nil || hasMore || len(msgs) != 2 {
		t.Fatalf("replies: %v %v %d", err, hasMore, len(msgs))
	}
	if msgs[0].Metadata.EventType != "xbridge_conversation" || msgs[0].ReplyCount != 1 || msgs[0].BotID != "BBOT" {
		t.Fatalf("root in replies = %+v", msgs[0].Msg)
	}
	if msgs[1].ThreadTimestamp != rootTS || msgs[1].Timestamp != replyTS {
		t.Fatalf("reply in replies = %+v", msgs[1].Msg)
	}
	noMeta, _, _, err := f.client.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: testChannel, Timestamp: rootTS})
	if err != nil || noMeta[0].Metadata.EventType != "" {
		t.Fatalf("metadata without include_all_metadata: %+v %v", noMeta[0].Metadata, err)
	}

	hist, err := f.client.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: testChannel, IncludeAllMetadata: true})
	if err != nil || len(hist.Messages) != 1 || hist.Messages[0].Timestamp != rootTS {
		t.Fatalf("history: %v %+v", err, hist)
	}
	f.noViolations(t)
}

func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var ts []string
	for i := range 5 {
		_, x, err := f.client.PostMessage(testChannel, slack.MsgOptionText("m"+strconv.Itoa(i), false))
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, x)
	}
	h, err := f.client.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: testChannel, Limit: 2})
	if err != nil || !h.HasMore || len(h.Messages) != 2 || h.Messages[0].Timestamp != ts[4] {
		t.Fatalf("page 1: %v %+v", err, h)
	}
	h2, err := f.client.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: testChannel, Limit: 2, Cursor: h.ResponseMetaData.NextCursor})
	if err != nil || len(h2.Messages) != 2 || h2.Messages[0].Timestamp != ts[2] {
		t.Fatalf("page 2: %v %+v", err, h2)
	}
	h3, err := f.client.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: testChannel, Oldest: ts[1], Latest: ts[3]})
	if err != nil || len(h3.Messages) != 1 || h3.Messages[0].Timestamp != ts[2] {
		t.Fatalf("oldest/latest: %v %+v", err, h3)
	}
	f.noViolations(t)
}

func TestUpdateDeleteAndEphemeral(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, ts, err := f.client.PostMessage(testChannel, slack.MsgOptionText("before", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.client.UpdateMessage(testChannel, ts, slack.MsgOptionText("after", false), buttonBlocks("claim", "v")); err != nil {
		t.Fatal(err)
	}
	m, ok := f.sim.Message(testChannel, ts)
	if !ok || m.Text != "after" || !m.Edited || len(m.Blocks) == 0 {
		t.Fatalf("after update: %+v", m)
	}
	if _, _, _, err := f.client.UpdateMessage(testChannel, "1.000001", slack.MsgOptionText("x", false)); err == nil || err.Error() != "message_not_found" {
		t.Fatalf("update unknown ts: %v", err)
	}
	userTS := f.sim.PostAsUser(testAgent, testChannel, "", "mine")
	if _, _, _, err := f.client.UpdateMessage(testChannel, userTS, slack.MsgOptionText("x", false)); err == nil || err.Error() != "cant_update_message" {
		t.Fatalf("update someone else's: %v", err)
	}

	link, err := f.client.GetPermalink(&slack.PermalinkParameters{Channel: testChannel, Ts: ts})
	if err != nil || link != "https://sim.slack.local/archives/"+testChannel+"/p"+strings.ReplaceAll(ts, ".", "") {
		t.Fatalf("permalink %q %v", link, err)
	}

	ets, err := f.client.PostEphemeral(testChannel, testAgent, slack.MsgOptionText("only you", false), slack.MsgOptionTS(ts))
	if err != nil || ets == "" {
		t.Fatal(err)
	}
	if e := f.sim.Ephemerals(testAgent); len(e) != 1 || e[0].Text != "only you" || e[0].ThreadTS != ts {
		t.Fatalf("ephemerals = %+v", e)
	}

	if _, _, err := f.client.DeleteMessage(testChannel, ts); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.sim.Message(testChannel, ts); !m.Deleted {
		t.Fatal("not deleted")
	}
	if _, _, err := f.client.DeleteMessage(testChannel, ts); err == nil || err.Error() != "message_not_found" {
		t.Fatalf("delete twice: %v", err)
	}
	f.noViolations(t)
}

func TestReactions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ts := f.sim.PostAsUser(testAgent, testChannel, "", "please help")
	item := slack.NewRefToMessage(testChannel, ts)

	steps := []struct {
		name string
		do   func() error
		want string // error text, "" for success
	}{
		{"add", func() error { return f.client.AddReaction("eyes", item) }, ""},
		{"add again", func() error { return f.client.AddReaction("eyes", item) }, "already_reacted"},
		{"add other", func() error { return f.client.AddReaction("white_check_mark", item) }, ""},
		{"remove", func() error { return f.client.RemoveReaction("eyes", item) }, ""},
		{"remove again", func() error { return f.client.RemoveReaction("eyes", item) }, "no_reaction"},
		{"add to unknown", func() error { return f.client.AddReaction("eyes", slack.NewRefToMessage(testChannel, "1.000001")) }, "message_not_found"},
		{"remove from unknown", func() error {
			return f.client.RemoveReaction("eyes", slack.NewRefToMessage(testChannel, "1.000001"))
		}, "message_not_found"},
	}
	for _, st := range steps {
		err := st.do()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != st.want {
			t.Errorf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
	m, _ := f.sim.Message(testChannel, ts)
	if len(m.Reactions) != 1 || m.Reactions[0] != "white_check_mark" {
		t.Fatalf("reactions = %v", m.Reactions)
	}
	got, err := f.client.GetReactions(item, slack.NewGetReactionsParameters())
	if err != nil || len(got.Reactions) != 1 || got.Reactions[0].Name != "white_check_mark" || got.Reactions[0].Users[0] != "UBOT" {
		t.Fatalf("reactions.get = %+v %v", got, err)
	}
	f.noViolations(t)
}

func TestSlackErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, rootTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	_, replyTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("reply", false), slack.MsgOptionTS(rootTS))
	if err != nil {
		t.Fatal(err)
	}
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	wrongToken := slack.New("xoxb-wrong", slack.OptionAPIURL(f.srv.URL+"/api/"), slack.OptionHTTPClient(testHTTPClient))
	appToken := slack.New(testAppToken, slack.OptionAPIURL(f.srv.URL+"/api/"), slack.OptionHTTPClient(testHTTPClient))
	botAsApp := slack.New(testBotToken, slack.OptionAPIURL(f.srv.URL+"/api/"), slack.OptionAppLevelToken(testBotToken), slack.OptionHTTPClient(testHTTPClient))

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown thread", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText("x", false), slack.MsgOptionTS("1600000000.000001"))
			return err
		}, "thread_not_found"},
		{"reply to a reply", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText("x", false), slack.MsgOptionTS(replyTS))
			return err
		}, "thread_not_found"},
		{"text too long", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText(strings.Repeat("a", 40001), false))
			return err
		}, "msg_too_long"},
		{"text at the limit", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText(strings.Repeat("é", 40000), false))
			return err
		}, ""},
		{"too many blocks", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(many...))
			return err
		}, "invalid_blocks"},
		{"section text at 3,000 characters", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(slack.NewSectionBlock(
				slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("é", 3000), false, false), nil, nil)))
			return err
		}, ""},
		{"section text over 3,000 characters", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(slack.NewSectionBlock(
				slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("a", 3001), false, false), nil, nil)))
			return err
		}, "invalid_blocks"},
		{"button text over 75 characters", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(slack.NewActionBlock("b1",
				slack.NewButtonBlockElement("xb:claim", "", slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("a", 76), false, false)))))
			return err
		}, "invalid_blocks"},
		{"header over 150 characters", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(slack.NewHeaderBlock(
				slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("a", 151), false, false))))
			return err
		}, "invalid_blocks"},
		{"the same block id twice", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(
				&slack.DividerBlock{Type: slack.MBTDivider, BlockID: "same"}, &slack.DividerBlock{Type: slack.MBTDivider, BlockID: "same"}))
			return err
		}, "invalid_blocks"},
		{"no text", func() error {
			_, _, err := f.client.PostMessage(testChannel)
			return err
		}, "no_text"},
		{"unknown channel", func() error {
			_, _, err := f.client.PostMessage("C0NOPE", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"wrong token", func() error {
			_, err := wrongToken.AuthTest()
			return err
		}, "invalid_auth"},
		{"app token on a bot method", func() error {
			_, _, err := appToken.PostMessage(testChannel, slack.MsgOptionText("x", false))
			return err
		}, "not_allowed_token_type"},
		{"bot token opening a socket", func() error {
			_, _, err := botAsApp.StartSocketModeContext(context.Background())
			return err
		}, "not_allowed_token_type"},
		{"unknown user", func() error {
			_, err := f.client.GetUserInfo("U0NOPE")
			return err
		}, "user_not_found"},
		{"bad metadata", func() error {
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText("x", false), slack.MsgOptionMetadata(slack.SlackMetadata{}))
			return err
		}, "invalid_metadata_schema"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	// Semantic errors are Slack answers, not protocol violations.
	f.noViolations(t)
}

// TestAnswerLength: an answer says its length, so it is not chunked and
// the client reads it into a buffer of the right size; a post's answer
// repeats the message and is larger than net/http's chunking threshold.
func TestAnswerLength(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	resp, body := f.rawCall(t, "chat.postMessage", url.Values{"token": {testBotToken}, "channel": {testChannel},
		"text": {strings.Repeat("long message ", 300)}}, nil)
	if resp.StatusCode != http.StatusOK || len(body) < 4096 {
		t.Fatalf("answer %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("answer of %d bytes sent with Content-Length %d, transfer encoding %v", len(body), resp.ContentLength, resp.TransferEncoding)
	}
}

// TestMessageMetadata: metadata needs an event type and an object as its
// payload, as Slack's message metadata schema says.
func TestMessageMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, tt := range []struct {
		metadata  string
		wantError string
	}{
		{`{"event_type":"ticket","event_payload":{"id":42}}`, ""},
		{`{"event_type":"ticket", "event_payload" :  {}}`, ""},
		{`{"event_type":"ticket","event_payload":null}`, "invalid_metadata_schema"},
		{`{"event_type":"ticket","event_payload":[1]}`, "invalid_metadata_schema"},
		{`{"event_type":"ticket","event_payload":"x"}`, "invalid_metadata_schema"},
		{`{"event_type":"ticket"}`, "invalid_metadata_schema"},
		{`{"event_type":"","event_payload":{}}`, "invalid_metadata_schema"},
		{`{"event_payload":{}}`, "invalid_metadata_schema"},
		{`{"event_type":"ticket","event_payload":{}`, "invalid_metadata_format"},
	} {
		t.Run(tt.metadata, func(t *testing.T) {
			_, body := f.rawCall(t, "chat.postMessage", url.Values{"token": {testBotToken}, "channel": {testChannel},
				"text": {"x"}, "metadata": {tt.metadata}}, nil)
			var ans struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &ans); err != nil {
				t.Fatalf("answer %s: %v", body, err)
			}
			if ans.Error != tt.wantError || ans.OK != (tt.wantError == "") {
				t.Errorf("answer %s, want error %q", body, tt.wantError)
			}
		})
	}
}

func TestSpecViolations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		method    string
		form      url.Values
		header    http.Header
		wantError string
		violation bool
	}{
		{"missing channel", "chat.postMessage", url.Values{"token": {testBotToken}, "text": {"x"}}, nil, "invalid_arguments", true},
		{"missing name", "reactions.add", url.Values{"token": {testBotToken}, "channel": {testChannel}, "timestamp": {"1.1"}}, nil, "invalid_arguments", true},
		{"missing token", "chat.postMessage", url.Values{"channel": {testChannel}, "text": {"x"}}, nil, "not_authed", true},
		{"unknown method", "chat.postMessageV2", url.Values{"token": {testBotToken}}, nil, "unknown_method", true},
		{"bearer token counts", "chat.postMessage", url.Values{"channel": {testChannel}, "text": {"x"}},
			http.Header{"Authorization": {"Bearer " + testBotToken}}, "", false},
		{"channel by name", "chat.postMessage", url.Values{"token": {testBotToken}, "channel": {"#support"}, "text": {"x"}}, nil, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rec := recordCalls(f.sim)
			resp, body := f.rawCall(t, c.method, c.form, c.header)
			var ans struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &ans); err != nil || resp.StatusCode != 200 {
				t.Fatalf("answer %d %s", resp.StatusCode, body)
			}
			if ans.Error != c.wantError || ans.OK != (c.wantError == "") {
				t.Fatalf("answer %s, want error %q", body, c.wantError)
			}
			if got := len(f.sim.Violations()) > 0; got != c.violation {
				t.Fatalf("violations %v, want some: %v", f.sim.Violations(), c.violation)
			}
			if calls := rec(); len(calls) != 1 || calls[0].Method != c.method || calls[0].Error != c.wantError || calls[0].Status != 200 {
				t.Fatalf("calls = %+v", rec())
			}
		})
	}
}

// recordCalls collects the calls the simulator observes; the returned
// function reads them.
func recordCalls(s *Server) func() []Call {
	var mu sync.Mutex
	var calls []Call
	s.OnCall(func(c Call) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, c)
	})
	return func() []Call {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
}

func TestVerbs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// GET works for read methods (and, as on Slack, for any method).
	resp, err := testHTTPClient.Get(f.srv.URL + "/api/users.info?token=" + testBotToken + "&user=" + testAgent)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET users.info: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+"/api/auth.test?token="+testBotToken, nil)
	resp, err = testHTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := f.sim.Violations(); len(v) != 1 || !strings.Contains(v[0], "PUT") {
		t.Fatalf("violations = %v", v)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	f := newFixture(t, func(o *Options) {
		o.RateLimits = true
		o.Now = func() time.Time { return now } // frozen: no tokens come back
	})
	var err error
	var n int
	for n = 0; n < 20; n++ {
		if _, _, err = f.client.PostMessage(testChannel, slack.MsgOptionText("flood", false)); err != nil {
			break
		}
	}
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter < time.Second {
		t.Fatalf("after %d posts: %v", n, err)
	}
	if n < 1 || n > 10 {
		t.Fatalf("limited after %d posts", n)
	}
	// The limit is per channel.
	f.sim.AddChannel("C0OTHER", "other")
	if _, _, err := f.client.PostMessage("C0OTHER", slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("other channel: %v", err)
	}
	resp, body := f.rawCall(t, "chat.postMessage", url.Values{"token": {testBotToken}, "channel": {testChannel}, "text": {"x"}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, `"ratelimited"`) {
		t.Fatalf("raw: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	off := newFixture(t, nil)
	for range 30 {
		if _, _, err := off.client.PostMessage(testChannel, slack.MsgOptionText("ok", false)); err != nil {
			t.Fatalf("without RateLimits: %v", err)
		}
	}
	f.noViolations(t)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		fault      Fault
		check      func(error) bool
		wantPosted bool
	}{
		{"503", Fault{Status: 503}, func(err error) bool {
			var sc slack.StatusCodeError
			return errors.As(err, &sc) && sc.Code == 503
		}, false},
		{"error code", Fault{Error: "internal_error"}, func(err error) bool { return err != nil && err.Error() == "internal_error" }, false},
		{"429", Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, func(err error) bool {
			var rl *slack.RateLimitedError
			return errors.As(err, &rl) && rl.RetryAfter == 2*time.Second
		}, false},
		{"drop", Fault{Drop: true}, func(err error) bool { return err != nil }, false},
		{"drop after effect", Fault{Drop: true, AfterEffect: true}, func(err error) bool { return err != nil }, true},
		{"500 after effect", Fault{Status: 500, AfterEffect: true}, func(err error) bool {
			var sc slack.StatusCodeError
			return errors.As(err, &sc) && sc.Code == 500
		}, true},
		{"delay only", Fault{Delay: 50 * time.Millisecond}, func(err error) bool { return err == nil }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			rec := recordCalls(f.sim)
			f.sim.FailNext("chat.postMessage", 1, c.fault)
			start := time.Now()
			_, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText("hello", false))
			if !c.check(err) {
				t.Fatalf("unexpected result %v (%T)", err, err)
			}
			if c.fault.Delay > 0 && time.Since(start) < c.fault.Delay {
				t.Fatalf("not delayed")
			}
			if got := len(f.sim.Roots(testChannel)) == 1; got != c.wantPosted {
				t.Fatalf("posted = %v, want %v", got, c.wantPosted)
			}
			calls := rec()
			if len(calls) != 1 || calls[0].OK == c.fault.failing() || (c.fault.Drop && calls[0].Status != 0) {
				t.Fatalf("calls = %+v", calls)
			}
			// The fault is used up: the next call succeeds.
			if _, _, err := f.client.PostMessage(testChannel, slack.MsgOptionText("again", false)); err != nil {
				t.Fatalf("second call: %v", err)
			}
			f.noViolations(t)
		})
	}
}

func TestDirectoryMethods(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.sim.AddUser(User{ID: "UAGENT2", Name: "bob", RealName: "Bob Builder"})
	f.sim.AddUserGroup("S0AGENTS", "agents", testAgent, "UAGENT2")

	auth, err := f.client.AuthTest()
	if err != nil || auth.UserID != "UBOT" || auth.BotID != "BBOT" || auth.TeamID != "T0001" || auth.URL == "" {
		t.Fatalf("auth.test %+v %v", auth, err)
	}
	u, err := f.client.GetUserInfo(testAgent)
	if err != nil || u.Profile.RealName != "Alice Agent" || u.Profile.DisplayName != "alice" || u.Profile.Image72 != "https://img.example/alice.png" || u.IsBot {
		t.Fatalf("users.info %+v %v", u, err)
	}
	bot, err := f.client.GetUserInfo("UBOT")
	if err != nil || !bot.IsBot {
		t.Fatalf("bot user %+v %v", bot, err)
	}
	users, err := f.client.GetUsers(slack.GetUsersOptionLimit(1))
	if err != nil || len(users) != 3 {
		t.Fatalf("users.list %d %v", len(users), err)
	}
	groups, err := f.client.GetUserGroups(slack.GetUserGroupsOptionIncludeUsers(true))
	if err != nil || len(groups) != 1 || groups[0].Handle != "agents" || len(groups[0].Users) != 2 {
		t.Fatalf("usergroups.list %+v %v", groups, err)
	}
	members, err := f.client.GetUserGroupMembers("S0AGENTS")
	if err != nil || len(members) != 2 || members[1] != "UAGENT2" {
		t.Fatalf("usergroups.users.list %v %v", members, err)
	}
	if _, err := f.client.GetUserGroupMembers("S0NOPE"); err == nil || err.Error() != "no_such_subteam" {
		t.Fatalf("unknown group: %v", err)
	}
	info, err := f.client.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: testChannel})
	if err != nil || info.Name != "support" || !info.IsMember {
		t.Fatalf("conversations.info %+v %v", info, err)
	}
	f.noViolations(t)
}

func TestFileUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, rootTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	content := "screenshot bytes"
	sum, err := f.client.UploadFileContext(context.Background(), slack.UploadFileParameters{
		Filename: "shot.png", FileSize: len(content), Content: content, Title: "Screenshot",
		Channel: testChannel, ThreadTimestamp: rootTS, InitialComment: "from the customer",
	})
	if err != nil || sum.ID == "" {
		t.Fatalf("upload: %+v %v", sum, err)
	}
	th := f.sim.Thread(testChannel, rootTS)
	if len(th) != 1 || len(th[0].Files) != 1 || th[0].Files[0].Title != "Screenshot" || th[0].Files[0].Size != len(content) || th[0].Text != "from the customer" {
		t.Fatalf("thread = %+v", th)
	}
	f.noViolations(t)
}
