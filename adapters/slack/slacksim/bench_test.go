package slacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// benchCard is the blocks of a conversation card as xbridge posts it: a
// header, two sections of fields, two contexts and a row of buttons and a
// select. Only the actions block brings its own block_id.
const benchCard = `[{"type":"header","text":{"type":"plain_text","text":"#%[1]d · User 100003","emoji":false}},` +
	`{"type":"section","fields":[{"type":"mrkdwn","text":"*Customer*\n\u003chttps://x.com/user100003|User 100003\u003e"},{"type":"mrkdwn","text":"*Handle*\n@user100003"},{"type":"mrkdwn","text":"*Followers*\n0"},{"type":"mrkdwn","text":"*Verified*\nNo"},{"type":"mrkdwn","text":"*Channel*\nDirect message"},{"type":"mrkdwn","text":"*Opened*\n\u003c!date^1796237208^{date_short_pretty} {time}|Dec 2, 2026 18:46 UTC\u003e"}]},` +
	`{"type":"section","fields":[{"type":"mrkdwn","text":"*Status*\n:large_green_circle: Open"},{"type":"mrkdwn","text":"*Priority*\nNormal"},{"type":"mrkdwn","text":"*Assignee*\nUnassigned"},{"type":"mrkdwn","text":"*Tags*\n—"}]},` +
	`{"type":"context","elements":[{"type":"mrkdwn","text":"Language: en"}]},` +
	`{"type":"context","elements":[{"type":"mrkdwn","text":"*SLA* · ⏱ First response: running, due \u003c!date^1796238108^{date_short_pretty} {time}|Dec 2, 2026 19:01 UTC\u003e"}]},` +
	`{"type":"actions","block_id":"xb_card #%[1]d normal","elements":[{"type":"button","text":{"type":"plain_text","text":"Claim","emoji":true},"action_id":"xb_cmd:claim","value":"#%[1]d","style":"primary"},{"type":"button","text":{"type":"plain_text","text":"Waiting on customer","emoji":true},"action_id":"xb_cmd:pending","value":"#%[1]d"},{"type":"button","text":{"type":"plain_text","text":"Escalate","emoji":true},"action_id":"xb_cmd:escalate","value":"#%[1]d","style":"danger"},{"type":"button","text":{"type":"plain_text","text":"Close","emoji":true},"action_id":"xb_cmd:close","value":"#%[1]d"},` +
	`{"type":"static_select","placeholder":{"type":"plain_text","text":"Priority","emoji":false},"action_id":"xb_cmd:priority","options":[{"text":{"type":"plain_text","text":"Urgent","emoji":false},"value":"urgent"},{"text":{"type":"plain_text","text":"High","emoji":false},"value":"high"},{"text":{"type":"plain_text","text":"Normal","emoji":false},"value":"normal"},{"text":{"type":"plain_text","text":"Low","emoji":false},"value":"low"}],"initial_option":{"text":{"type":"plain_text","text":"Normal","emoji":false},"value":"normal"}}]}]`

// benchCardBlocks is a conversation card's blocks, numbered n.
func benchCardBlocks(n int) string { return fmt.Sprintf(benchCard, n) }

// BenchmarkNormalizeCard measures the check of a card's blocks.
func BenchmarkNormalizeCard(b *testing.B) {
	s := &Server{}
	card := benchCardBlocks(3)
	b.ReportAllocs()
	for b.Loop() {
		if _, aerr := s.normalizeBlocksLocked(card); aerr != nil {
			b.Fatal(aerr.code)
		}
	}
}

// BenchmarkPostCardAndReply measures the simulator's side of what xbridge
// does per new conversation: chat.postMessage of a card, then of the
// customer's message in its thread; for an app subscribed to message events
// (which nothing receives here: they queue) and for one subscribed to none,
// as in `xbridge bench inbound`.
func BenchmarkPostCardAndReply(b *testing.B) {
	for _, subscribed := range []bool{true, false} {
		b.Run(fmt.Sprintf("subscribed=%v", subscribed), func(b *testing.B) {
			benchPostCardAndReply(b, subscribed)
		})
	}
}

func benchPostCardAndReply(b *testing.B, subscribed bool) {
	sim, err := New(Options{BotToken: testBotToken, SigningSecret: testSecret, BaseURL: "http://sim.test"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	sim.AddChannel(testChannel, "support")
	sim.SetEventSubscriptions(subscribed)
	post := func(form url.Values) string {
		req := httptest.NewRequest(http.MethodPost, "/api/chat.postMessage", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+testBotToken)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		body := rec.Body.String()
		if !strings.Contains(body, `"ok":true`) {
			b.Fatalf("answer %s", body)
		}
		return body
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		card := post(url.Values{
			"channel":      {testChannel},
			"text":         {fmt.Sprintf("#%d · User 100003 (@user100003) — direct message, open, normal priority", i)},
			"blocks":       {benchCardBlocks(i)},
			"metadata":     {fmt.Sprintf(`{"event_type":"xbridge_card","event_payload":{"key":"conv:%d:chat.card:card"}}`, i)},
			"unfurl_links": {"false"},
		})
		var answer struct{ TS string }
		if err := json.Unmarshal([]byte(card), &answer); err != nil {
			b.Fatal(err)
		}
		post(url.Values{
			"channel":      {testChannel},
			"thread_ts":    {answer.TS},
			"text":         {fmt.Sprintf("User 100003: bench 1 %d: where is my order?", i)},
			"blocks":       {fmt.Sprintf(`[{"type":"section","text":{"type":"mrkdwn","text":"bench 1 %d: where is my order?","verbatim":true}}]`, i)},
			"metadata":     {fmt.Sprintf(`{"event_type":"xbridge_post","event_payload":{"key":"conv:%d:chat.card:card:first"}}`, i)},
			"unfurl_links": {"false"},
			"username":     {"User 100003"},
		})
	}
}
