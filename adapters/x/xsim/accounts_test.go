package xsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// billing is a second support account of the fixture's app.
var billing = Account{UserID: "1001", Handle: "acme_billing",
	AccessToken: "1001-billingAccessToken", AccessTokenSecret: "as-billing-secret", UserToken: "billing-oauth2-token"}

func withBilling(o *Options) { o.Accounts = []Account{billing} }

func TestSeveralSupportAccountsActAsTheirOwnToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withBilling, withRateLimits)
	toHelp := f.sim.CustomerDM("2001", "where is my parcel?")
	toBilling := f.sim.CustomerDMTo(billing.UserID, "2002", "I was charged twice")
	if toBilling.RecipientID != billing.UserID || toBilling.ConversationID != "1001-2002" {
		t.Fatalf("DM to billing = %+v", toBilling)
	}

	for _, a := range []auth{bearer, oauth1} {
		// Each account is who its token says, and sees its own DMs only.
		for _, tc := range []struct {
			acct    Account
			me, dm  string
			handle  string
			notSeen string
		}{
			{primary, supportID, toHelp.ID, supportHandle, toBilling.ID},
			{billing, billing.UserID, toBilling.ID, billing.Handle, toHelp.ID},
		} {
			resp, body := f.doAs(t, tc.acct, http.MethodGet, "/2/users/me", nil, a)
			mustStatus(t, resp, body, http.StatusOK)
			var me struct{ Data struct{ ID, Username string } }
			decode(t, body, &me)
			if me.Data.ID != tc.me || me.Data.Username != tc.handle {
				t.Errorf("auth %d: /2/users/me as %s = %+v", a, tc.handle, me.Data)
			}
			resp, body = f.doAs(t, tc.acct, http.MethodGet, "/2/dm_events", nil, a)
			mustStatus(t, resp, body, http.StatusOK)
			if !strings.Contains(string(body), tc.dm) || strings.Contains(string(body), tc.notSeen) {
				t.Errorf("auth %d: %s's DM events: %s", a, tc.handle, body)
			}
		}
	}

	// A DM sent with billing's token comes from billing, and the request
	// log says whose credentials sent it.
	resp, body := f.doAs(t, billing, http.MethodPost, "/2/dm_conversations/with/2002/messages", map[string]string{"text": "Refunded."}, oauth1)
	mustStatus(t, resp, body, http.StatusCreated)
	sent := f.sim.DMsTo("2002")
	if len(sent) != 1 || sent[0].SenderID != billing.UserID || sent[0].ConversationID != "1001-2002" {
		t.Fatalf("DMs to 2002 = %+v", sent)
	}
	reqs := f.sim.Requests()
	if last := reqs[len(reqs)-1]; last.Account != billing.UserID || last.Path != "/2/dm_conversations/with/2002/messages" {
		t.Errorf("last request %+v, want billing's DM", last)
	}

	// A reply tweet posted with billing's bearer token is billing's.
	mention := f.sim.CustomerMention("2001", "@acme_billing refund please", "")
	if strings.Contains(mention.Text, "@acme_help") {
		t.Errorf("a mention of billing also got @acme_help: %q", mention.Text)
	}
	resp, body = f.doAs(t, billing, http.MethodPost, "/2/tweets",
		map[string]any{"text": "On its way", "reply": map[string]string{"in_reply_to_tweet_id": mention.ID}}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)
	if r := f.sim.RepliesTo(mention.ID); len(r) != 1 || r[0].AuthorID != billing.UserID {
		t.Errorf("replies to the mention = %+v", r)
	}

	// Budgets are per account: help's spent DM lookups leave billing's.
	for range 13 { // 2 made above
		resp, body := f.do(t, http.MethodGet, "/2/dm_events", nil, bearer)
		mustStatus(t, resp, body, http.StatusOK)
	}
	resp, body = f.do(t, http.MethodGet, "/2/dm_events", nil, bearer)
	mustStatus(t, resp, body, http.StatusTooManyRequests)
	resp, body = f.doAs(t, billing, http.MethodGet, "/2/dm_events", nil, bearer)
	mustStatus(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("x-rate-limit-remaining"); got != "12" {
		t.Errorf("billing's remaining DM lookups = %s, want 12 (15 less the 3 it made)", got)
	}

	// Read receipts go out as the account that has the conversation.
	readForm := form("last_read_event_id", toBilling.ID, "recipient_id", "2002")
	resp, body = f.v1(t, v1Request{path: markReadPath, body: readForm, auth: oauth1,
		signer: &oauth1Transport{token: billing.AccessToken, tokenSecret: billing.AccessTokenSecret}})
	mustStatus(t, resp, body, http.StatusNoContent)
	if m := f.sim.ReadMarks(); len(m) != 1 || m[0].Account != billing.UserID || m[0].RecipientID != "2002" {
		t.Errorf("read marks = %+v", m)
	}
	resp, body = f.v1(t, v1Request{path: markReadPath, body: readForm, auth: oauth1})
	mustStatus(t, resp, body, http.StatusBadRequest) // help has no conversation with 2002
	if v := violationsContaining(f.sim, "no direct message conversation with 2002"); len(v) != 1 {
		t.Fatalf("violations %q", f.sim.Violations())
	}
}

func TestSeveralSupportAccountsRefuseForeignCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withBilling)
	stranger := Account{AccessToken: "9999-not-ours", AccessTokenSecret: billing.AccessTokenSecret, UserToken: "not-ours"}
	mixed := Account{AccessToken: billing.AccessToken, AccessTokenSecret: testAccessSecret} // billing's token, help's secret
	for _, tc := range []struct {
		name string
		acct Account
		a    auth
	}{
		{"unknown bearer", stranger, bearer},
		{"unknown access token", stranger, oauth1},
		{"another account's token secret", mixed, oauth1},
	} {
		resp, body := f.doAs(t, tc.acct, http.MethodGet, "/2/users/me", nil, tc.a)
		mustStatus(t, resp, body, http.StatusUnauthorized)
		if reqs := f.sim.Requests(); reqs[len(reqs)-1].Account != "" {
			t.Errorf("%s: logged as account %q", tc.name, reqs[len(reqs)-1].Account)
		}
	}
	if n := len(violationsContaining(f.sim, "401")); n != 3 {
		t.Errorf("%d 401 violations, want 3: %q", n, f.sim.Violations())
	}

	// Media billing uploaded are billing's alone.
	resp, body := f.doAs(t, billing, http.MethodPost, "/2/media/upload/initialize",
		map[string]any{"media_type": "image/png", "total_bytes": 68, "media_category": "dm_image"}, bearer)
	mustStatus(t, resp, body, http.StatusOK)
	var up struct{ Data struct{ ID string } }
	decode(t, body, &up)
	resp, body = f.do(t, http.MethodPost, "/2/media/upload/"+up.Data.ID+"/finalize", nil, bearer)
	mustStatus(t, resp, body, http.StatusBadRequest)

	for _, bad := range [][]Account{
		{{UserID: supportID, Handle: "other"}},
		{{UserID: "1001", Handle: "ACME_HELP"}},
		{{UserID: "1001", Handle: "b", AccessToken: testAccessToken}},
		{{UserID: "1001"}},
	} {
		if _, err := New(Options{SupportUserID: supportID, SupportHandle: supportHandle, AccessToken: testAccessToken, Accounts: bad}); err == nil {
			t.Errorf("New accepted accounts %+v", bad)
		}
		if err := f.sim.AddAccount(bad[0]); err == nil {
			t.Errorf("AddAccount accepted %+v", bad[0])
		}
	}
	// An account added later authenticates like the others.
	press := Account{UserID: "1002", Handle: "acme_press", UserToken: "press-token"}
	if err := f.sim.AddAccount(press); err != nil {
		t.Fatal(err)
	}
	resp, body = f.doAs(t, press, http.MethodGet, "/2/users/me", nil, bearer)
	mustStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), `"id":"1002"`) || len(f.sim.Accounts()) != 3 {
		t.Errorf("/2/users/me as press: %s; accounts %+v", body, f.sim.Accounts())
	}
}

func TestWebhookDeliversForEachAccountConcerned(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withBilling)
	h := &webhook{secret: testConsumerSecret}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f.sim.AutoDeliver(srv.URL)

	f.sim.CustomerDMTo(billing.UserID, "2001", "charged twice")
	f.sim.CustomerMention("2002", "@acme_help @acme_billing both of you?", "")
	f.sim.mu.Lock()
	f.sim.addTweetLocked("2002", "@bob lunch?", "", nil) // concerns no support account
	f.sim.mu.Unlock()
	resp, body := f.doAs(t, billing, http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]string{"text": "Refunded."}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)
	f.sim.CustomerTypesTo(billing.UserID, "2001")
	f.sim.CustomerReads("2001", f.sim.DMsTo("2001")[0].ID)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range h.received() {
		var p map[string]json.RawMessage
		decode(t, b, &p)
		var forUser string
		decode(t, p["for_user_id"], &forUser)
		kind := ""
		for k := range p {
			if strings.HasSuffix(k, "_events") {
				kind = k
			}
		}
		got = append(got, forUser+" "+kind)
	}
	want := []string{
		"1001 direct_message_events",                 // the customer's DM to billing
		"1000 tweet_create_events",                   // the mention, for help
		"1001 tweet_create_events",                   // and for billing
		"1001 direct_message_events",                 // the echo of billing's DM
		"1001 direct_message_indicate_typing_events", // typing towards billing
		"1001 direct_message_mark_read_events",       // reading billing's DM
	}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries:\n got %q\nwant %q", got, want)
	}
	noViolations(t, f.sim)
}
