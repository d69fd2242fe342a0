package xsim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	markReadURL = "/1.1/direct_messages/mark_read.json"
	typingURL   = "/1.1/direct_messages/indicate_typing.json"
	formType    = "application/x-www-form-urlencoded"
)

// v1Request describes a request to a v1.1 endpoint.
type v1Request struct {
	method, path string
	contentType  string // default formType
	body         string
	query        string
	auth         auth
	bearerToken  string           // default testUserToken
	signer       *oauth1Transport // with oauth1; default &oauth1Transport{}
}

// v1 sends a request to a v1.1 endpoint of the fixture.
func (f *fixture) v1(t *testing.T, r v1Request) (*http.Response, []byte) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	u := f.srv.URL + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	req, err := http.NewRequest(r.method, u, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	ct := r.contentType
	if ct == "" {
		ct = formType
	}
	req.Header.Set("Content-Type", ct)
	client := testHTTPClient
	switch r.auth {
	case bearer:
		tok := r.bearerToken
		if tok == "" {
			tok = testUserToken
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case oauth1:
		signer := r.signer
		if signer == nil {
			signer = &oauth1Transport{}
		}
		client = &http.Client{Transport: signer}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// v1Errors decodes a v1.1 error answer.
func v1Errors(t *testing.T, body []byte) (int, string) {
	t.Helper()
	var p struct {
		Errors []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	decode(t, body, &p)
	if len(p.Errors) != 1 {
		t.Fatalf("errors %s, want one", body)
	}
	return p.Errors[0].Code, p.Errors[0].Message
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestReadMarksLand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dm := f.sim.CustomerDM("2001", "anyone?")
	f.clock.Advance(time.Minute)
	resp, body := f.v1(t, v1Request{path: markReadURL, body: form("last_read_event_id", dm.ID, "recipient_id", "2001"), auth: oauth1})
	mustStatus(t, resp, body, http.StatusNoContent)
	if len(body) != 0 || resp.Header.Get("x-rate-limit-limit") != "1000" {
		t.Errorf("answer %q, headers %v", body, resp.Header)
	}
	f.clock.Advance(time.Second)
	resp, body = f.v1(t, v1Request{path: typingURL, body: form("recipient_id", "2001"), auth: oauth1,
		signer: &oauth1Transport{scheme: "http"}})
	mustStatus(t, resp, body, http.StatusNoContent)
	want := []ReadMark{
		{Kind: ReadMarkRead, Account: supportID, RecipientID: "2001", LastReadEventID: dm.ID, At: start.Add(time.Minute)},
		{Kind: ReadMarkTyping, Account: supportID, RecipientID: "2001", At: start.Add(time.Minute + time.Second)},
	}
	if got := f.sim.ReadMarks(); !reflect.DeepEqual(got, want) {
		t.Errorf("read marks:\n got %+v\nwant %+v", got, want)
	}
	noViolations(t, f.sim)
}

func TestReadMarkRefusals(t *testing.T) {
	t.Parallel()
	read := func(kv ...string) v1Request {
		return v1Request{path: markReadURL, body: form(kv...), auth: oauth1}
	}
	typing := func(kv ...string) v1Request {
		return v1Request{path: typingURL, body: form(kv...), auth: oauth1}
	}
	withAuth := func(r v1Request, a auth) v1Request { r.auth = a; return r }
	tests := []struct {
		name      string
		req       v1Request
		status    int
		code      int
		violation string // "" when X's refusal is not a client error
	}{
		{"OAuth 2.0 token", withAuth(read("last_read_event_id", "{dm}", "recipient_id", "2001"), bearer), 403, 220, ""},
		{"OAuth 2.0 token, typing", withAuth(typing("recipient_id", "2001"), bearer), 403, 220, ""},
		{"no authentication", withAuth(typing("recipient_id", "2001"), noAuth), 401, 32, "no Authorization header"},
		{"unknown bearer token", v1Request{path: typingURL, body: form("recipient_id", "2001"), auth: bearer, bearerToken: "stolen"}, 401, 32, "bearer token"},
		{"form left out of the signature", v1Request{path: typingURL, body: form("recipient_id", "2001"), auth: oauth1,
			signer: &oauth1Transport{skipForm: true}}, 401, 32, "signature does not verify"},
		{"GET", v1Request{method: http.MethodGet, path: typingURL, query: "recipient_id=2001", auth: oauth1}, 400, 44, "POST only"},
		{"JSON body", v1Request{path: typingURL, contentType: "application/json", body: `{"recipient_id":"2001"}`, auth: oauth1}, 400, 44, "x-www-form-urlencoded"},
		{"parameters in the query", v1Request{path: typingURL, query: "recipient_id=2001", auth: oauth1}, 400, 44, "query string"},
		{"recipient missing", read("last_read_event_id", "{dm}"), 400, 38, "recipient_id parameter is missing"},
		{"last read event missing", read("recipient_id", "2001"), 400, 38, "last_read_event_id parameter is missing"},
		{"last read event empty", read("last_read_event_id", "", "recipient_id", "2001"), 400, 38, "last_read_event_id parameter is missing"},
		{"handle as recipient", typing("recipient_id", "@alice"), 400, 44, "recipient_id parameter is invalid"},
		{"event id not numeric", read("last_read_event_id", "latest", "recipient_id", "2001"), 400, 44, "last_read_event_id parameter is invalid"},
		{"unknown parameter", typing("recipient_id", "2001", "text", "hi"), 400, 44, "text parameter is not one of"},
		{"recipient twice", typing("recipient_id", "2001", "recipient_id", "2002"), 400, 44, "more than once"},
		{"the support account", typing("recipient_id", supportID), 400, 44, "authenticated user"},
		{"unknown user", typing("recipient_id", "9999"), 400, 50, "User not found"},
		{"no conversation", read("last_read_event_id", "{dm}", "recipient_id", "2002"), 400, 44, "no direct message conversation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			dm := f.sim.CustomerDM("2001", "hello")
			tc.req.body = strings.ReplaceAll(tc.req.body, url.QueryEscape("{dm}"), dm.ID)
			resp, body := f.v1(t, tc.req)
			mustStatus(t, resp, body, tc.status)
			if code, msg := v1Errors(t, body); code != tc.code || msg == "" {
				t.Errorf("error %d %q, want code %d", code, msg, tc.code)
			}
			if tc.status == 403 {
				if _, msg := v1Errors(t, body); msg != "Your credentials do not allow access to this resource." {
					t.Errorf("message %q", msg)
				}
			}
			v := f.sim.Violations()
			switch {
			case tc.violation == "" && len(v) != 0:
				t.Errorf("violations %q, want none", v)
			case tc.violation != "" && (len(v) != 1 || !strings.Contains(v[0], tc.violation)):
				t.Errorf("violations %q, want one about %q", v, tc.violation)
			}
			if m := f.sim.ReadMarks(); len(m) != 0 {
				t.Errorf("read marks %+v, want none", m)
			}
		})
	}
}

func TestReadMarkRateLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withRateLimits)
	f.sim.CustomerDM("2001", "hello")
	wantReset := strconv.FormatInt(start.Add(15*time.Minute).Unix(), 10)
	typing := v1Request{path: typingURL, body: form("recipient_id", "2001"), auth: oauth1}
	for i := range 1000 {
		resp, body := f.v1(t, typing)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("x-rate-limit-remaining") != strconv.Itoa(999-i) ||
			resp.Header.Get("x-rate-limit-reset") != wantReset {
			t.Fatalf("request %d: %d %s, headers %v", i, resp.StatusCode, body, resp.Header)
		}
	}
	resp, body := f.v1(t, typing)
	mustStatus(t, resp, body, http.StatusTooManyRequests)
	if code, _ := v1Errors(t, body); code != 88 || resp.Header.Get("x-rate-limit-remaining") != "0" ||
		resp.Header.Get("x-rate-limit-reset") != wantReset {
		t.Errorf("429: code %d, headers %v", code, resp.Header)
	}
	// Read receipts have a budget of their own.
	resp, body = f.v1(t, v1Request{path: markReadURL, body: form("last_read_event_id", "1", "recipient_id", "2001"), auth: oauth1})
	mustStatus(t, resp, body, http.StatusNoContent)
	if n := len(f.sim.ReadMarks()); n != 1001 {
		t.Errorf("%d read marks, want 1001", n)
	}
	noViolations(t, f.sim)
}

func TestReadMarkFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dm := f.sim.CustomerDM("2001", "hello")
	f.sim.FailNext("POST", markReadURL, 1, Fault{Status: 503})
	f.sim.FailNext("POST", typingURL, 1, Fault{Status: 429, Reset: 5 * time.Minute})
	read := v1Request{path: markReadURL, body: form("last_read_event_id", dm.ID, "recipient_id", "2001"), auth: oauth1}
	typing := v1Request{path: typingURL, body: form("recipient_id", "2001"), auth: oauth1}

	resp, body := f.v1(t, read)
	mustStatus(t, resp, body, http.StatusServiceUnavailable)
	if code, _ := v1Errors(t, body); code != 130 {
		t.Errorf("503 code %d", code)
	}
	resp, body = f.v1(t, typing)
	mustStatus(t, resp, body, http.StatusTooManyRequests)
	if code, _ := v1Errors(t, body); code != 88 ||
		resp.Header.Get("x-rate-limit-reset") != strconv.FormatInt(start.Add(5*time.Minute).Unix(), 10) {
		t.Errorf("429 code %d, headers %v", code, resp.Header)
	}
	if m := f.sim.ReadMarks(); len(m) != 0 {
		t.Fatalf("read marks %+v after faults", m)
	}
	resp, body = f.v1(t, read)
	mustStatus(t, resp, body, http.StatusNoContent)
	if m := f.sim.ReadMarks(); len(m) != 1 {
		t.Fatalf("read marks %+v", m)
	}
	noViolations(t, f.sim)
}

// v1SignalPayload is a delivery of read receipts or typing indicators.
type v1SignalPayload struct {
	ForUserID string     `json:"for_user_id"`
	Reads     []v1Signal `json:"direct_message_mark_read_events"`
	Typing    []v1Signal `json:"direct_message_indicate_typing_events"`
	Users     map[string]struct {
		ID         string `json:"id"`
		ScreenName string `json:"screen_name"`
	} `json:"users"`
}

type v1Signal struct {
	CreatedTimestamp string `json:"created_timestamp"`
	SenderID         string `json:"sender_id"`
	Target           struct {
		RecipientID string `json:"recipient_id"`
	} `json:"target"`
	LastReadEventID *string `json:"last_read_event_id"`
}

func TestReceiptWebhookPayloads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dm := f.sim.CustomerDM("2001", "hello")
	at := start.Add(90 * time.Second)

	var p v1SignalPayload
	decode(t, f.sim.ReadWebhookPayload("2001", supportID, dm.ID, at), &p)
	if p.ForUserID != supportID || len(p.Reads) != 1 || len(p.Typing) != 0 ||
		p.Users["2001"].ScreenName != "alice" || p.Users[supportID].ScreenName != supportHandle {
		t.Fatalf("read payload %+v", p)
	}
	r := p.Reads[0]
	if r.SenderID != "2001" || r.Target.RecipientID != supportID || r.LastReadEventID == nil ||
		*r.LastReadEventID != dm.ID || r.CreatedTimestamp != strconv.FormatInt(at.UnixMilli(), 10) {
		t.Fatalf("read event %+v", r)
	}

	p = v1SignalPayload{}
	decode(t, f.sim.TypingWebhookPayload(supportID, "2001", at), &p)
	if p.ForUserID != supportID || len(p.Typing) != 1 || len(p.Reads) != 0 {
		t.Fatalf("typing payload %+v", p)
	}
	ty := p.Typing[0]
	if ty.SenderID != supportID || ty.Target.RecipientID != "2001" || ty.LastReadEventID != nil ||
		ty.CreatedTimestamp != strconv.FormatInt(at.UnixMilli(), 10) {
		t.Fatalf("typing event %+v", ty)
	}
}

func TestCustomerReadsAndTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dm := f.sim.CustomerDM("2001", "hello")
	f.sim.CustomerTypes("2001") // no AutoDeliver: nothing is sent
	h := &webhook{secret: testConsumerSecret}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f.sim.AutoDeliver(srv.URL)
	f.clock.Advance(time.Minute)
	f.sim.CustomerTypes("2001")
	f.clock.Advance(time.Second)
	f.sim.CustomerReads("2001", dm.ID)
	f.sim.CustomerTypes("3003") // a customer the simulator did not know

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.received()
	if len(got) != 3 {
		t.Fatalf("%d deliveries, want 3", len(got))
	}
	var typing, read, stranger v1SignalPayload
	decode(t, got[0], &typing)
	decode(t, got[1], &read)
	decode(t, got[2], &stranger)
	ms := func(d time.Duration) string { return strconv.FormatInt(start.Add(d).UnixMilli(), 10) }
	switch {
	case len(typing.Typing) != 1 || typing.Typing[0].SenderID != "2001" || typing.Typing[0].Target.RecipientID != supportID ||
		typing.Typing[0].CreatedTimestamp != ms(time.Minute):
		t.Errorf("delivery 1 is not Alice typing: %s", got[0])
	case len(read.Reads) != 1 || read.Reads[0].SenderID != "2001" || *read.Reads[0].LastReadEventID != dm.ID ||
		read.Reads[0].CreatedTimestamp != ms(time.Minute+time.Second):
		t.Errorf("delivery 2 is not Alice's read receipt: %s", got[1])
	case len(stranger.Typing) != 1 || stranger.Users["3003"].ScreenName != "user3003":
		t.Errorf("delivery 3 is not the stranger typing: %s", got[2])
	}
	if m := f.sim.ReadMarks(); len(m) != 0 {
		t.Errorf("read marks %+v: customers' receipts are not the support account's", m)
	}
	noViolations(t, f.sim)
}
