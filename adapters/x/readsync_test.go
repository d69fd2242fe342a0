package x

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

var _ Receipts = (*bridge.Service)(nil) // the domain takes them

// Read receipts and typing, of a customer and of the support account, as
// Account Activity delivers them.
const receiptsWebhook = `{
  "for_user_id": "1570234917386551296",
  "direct_message_mark_read_events": [
    {"created_timestamp": "1717320601000", "sender_id": "89123456", "target": {"recipient_id": "1570234917386551296"}, "last_read_event_id": "1798765499999999999"},
    {"created_timestamp": "1717320602000", "sender_id": "1570234917386551296", "target": {"recipient_id": "89123456"}, "last_read_event_id": "1798765432109876543"},
    {"created_timestamp": "1717320603000", "sender_id": "89123456", "target": {"recipient_id": "1570234917386551296"}},
    {"created_timestamp": "1717320604000", "sender_id": "89123456", "target": {"recipient_id": "44196397"}, "last_read_event_id": "1798765499999999999"}
  ],
  "direct_message_indicate_typing_events": [
    {"created_timestamp": "1717320600000", "sender_id": "89123456", "target": {"recipient_id": "1570234917386551296"}},
    {"created_timestamp": "1717320605000", "sender_id": "1570234917386551296", "target": {"recipient_id": "89123456"}},
    {"created_timestamp": "1717320606000", "target": {"recipient_id": "1570234917386551296"}}
  ],
  "users": {
    "89123456": {"id": "89123456", "name": "Dana Whitfield", "screen_name": "danawhit"},
    "1570234917386551296": {"id": "1570234917386551296", "name": "Acme Support", "screen_name": "acme_help"}
  }
}`

func TestWebhookReceiptEvents(t *testing.T) {
	t.Parallel()
	b, err := webhookEvents([]string{testAccount}, []byte(receiptsWebhook))
	if err != nil {
		t.Fatal(err)
	}
	wantReads := []bridge.InboundRead{{
		Account: testAccount, CustomerID: "89123456", ConversationKey: "89123456-1570234917386551296",
		LastReadEventID: "1798765499999999999", At: time.UnixMilli(1717320601000).UTC(),
	}}
	wantTyping := []bridge.InboundTyping{{
		Account: testAccount, CustomerID: "89123456", ConversationKey: "89123456-1570234917386551296",
		At: time.UnixMilli(1717320600000).UTC(),
	}}
	wantIgnored := []string{"own_read", "malformed_event", "other_dm", "own_typing", "malformed_event"}
	if !reflect.DeepEqual(b.reads, wantReads) {
		t.Errorf("reads:\n got %+v\nwant %+v", b.reads, wantReads)
	}
	if !reflect.DeepEqual(b.typing, wantTyping) {
		t.Errorf("typing:\n got %+v\nwant %+v", b.typing, wantTyping)
	}
	if !reflect.DeepEqual(b.ignored, wantIgnored) {
		t.Errorf("ignored %q, want %q", b.ignored, wantIgnored)
	}
	if len(b.msgs) != 0 {
		t.Errorf("messages %+v", b.msgs)
	}
}

func TestReadSyncLandsInX(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	dm := e.sim.CustomerDM(dana, "Is anyone there?")
	e.clock.Advance(time.Minute)
	if err := e.client.MarkRead(ctx, account, dana, dm.ID); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	e.clock.Advance(time.Second)
	if err := e.client.ShowTyping(ctx, account, dana); err != nil {
		t.Fatalf("ShowTyping: %v", err)
	}
	want := []xsim.ReadMark{
		{Kind: xsim.ReadMarkRead, Account: account, RecipientID: dana, LastReadEventID: dm.ID, At: simStart.Add(time.Minute)},
		{Kind: xsim.ReadMarkTyping, Account: account, RecipientID: dana, At: simStart.Add(time.Minute + time.Second)},
	}
	if got := e.sim.ReadMarks(); !reflect.DeepEqual(got, want) {
		t.Errorf("read marks:\n got %+v\nwant %+v", got, want)
	}
	// The parameters travel in the form body, which the simulator verified
	// the OAuth 1.0a signature over.
	var bodies []url.Values
	for _, r := range e.sim.Requests() {
		if r.Status != http.StatusNoContent || r.Query != "" {
			t.Errorf("%s %s?%s answered %d", r.Method, r.Path, r.Query, r.Status)
		}
		q, err := url.ParseQuery(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, q)
	}
	wantBodies := []url.Values{{"last_read_event_id": {dm.ID}, "recipient_id": {dana}}, {"recipient_id": {dana}}}
	if !reflect.DeepEqual(bodies, wantBodies) {
		t.Errorf("bodies %v, want %v", bodies, wantBodies)
	}
	e.noViolations(t)
}

func TestReadSyncNeedsOAuth1(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	dm := e.sim.CustomerDM(dana, "hello")
	for name, call := range map[string]func() error{
		"MarkRead":   func() error { return e.bearer.MarkRead(ctx, account, dana, dm.ID) },
		"ShowTyping": func() error { return e.bearer.ShowTyping(ctx, account, dana) },
	} {
		err := call()
		var de *bridge.DeliveryError
		if !errors.As(err, &de) || de.Temporary || de.RateLimited || de.Unknown ||
			de.Reason != "X's read receipts and typing need OAuth 1.0a user credentials" {
			t.Errorf("%s: %#v, want the permanent OAuth 1.0a error", name, err)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests made to X, want none", n)
	}
	e.noViolations(t)
}

func TestReadSyncRefusesBadArguments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for name, err := range map[string]error{
		"other account":   e.client.MarkRead(ctx, "4242", dana, "1"),
		"handle":          e.client.MarkRead(ctx, account, "@danawhit", "1"),
		"event id":        e.client.MarkRead(ctx, account, dana, "latest"),
		"itself":          e.client.ShowTyping(ctx, account, account),
		"typing, handle":  e.client.ShowTyping(ctx, account, ""),
		"typing, account": e.client.ShowTyping(ctx, "4242", dana),
	} {
		var de *bridge.DeliveryError
		if !errors.As(err, &de) || de.Temporary || de.Reason == "" {
			t.Errorf("%s: %#v, want a permanent error", name, err)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests made to X, want none", n)
	}
}

func TestReadSyncFailures(t *testing.T) {
	t.Parallel()
	mark := func(ctx context.Context, e *env, dm xsim.DMEvent) error {
		return e.client.MarkRead(ctx, account, dana, dm.ID)
	}
	typing := func(ctx context.Context, e *env, _ xsim.DMEvent) error {
		return e.client.ShowTyping(ctx, account, dana)
	}
	const markPath, typingPath = "/1.1/direct_messages/mark_read.json", "/1.1/direct_messages/indicate_typing.json"
	tests := []struct {
		name       string
		path       string
		fault      xsim.Fault
		op         func(context.Context, *env, xsim.DMEvent) error
		want       bridge.DeliveryError // Reason is a prefix
		retryIn    time.Duration
		wrongCreds bool
	}{
		{name: "read rate limited", path: markPath, fault: xsim.Fault{Status: 429, Reset: 7 * time.Minute}, op: mark,
			want: bridge.DeliveryError{Temporary: true, RateLimited: true, Reason: "X rate limit reached"}, retryIn: 7 * time.Minute},
		{name: "typing rate limited", path: typingPath, fault: xsim.Fault{Status: 429, Reset: 3 * time.Minute}, op: typing,
			want: bridge.DeliveryError{Temporary: true, RateLimited: true, Reason: "X rate limit reached"}, retryIn: 3 * time.Minute},
		{name: "read 503", path: markPath, fault: xsim.Fault{Status: 503}, op: mark,
			want: bridge.DeliveryError{Temporary: true, Reason: "X is unavailable (503"}},
		{name: "typing 500", path: typingPath, fault: xsim.Fault{Status: 500}, op: typing,
			want: bridge.DeliveryError{Temporary: true, Reason: "X is unavailable (500"}},
		{name: "read 403", path: markPath, fault: xsim.Fault{Status: 403}, op: mark,
			want: bridge.DeliveryError{Reason: "X refused the read receipt: Forbidden"}},
		{name: "typing 401", path: typingPath, fault: xsim.Fault{Status: 401}, op: typing,
			want: bridge.DeliveryError{Reason: "X rejected the bridge's credentials"}},
		{name: "answer lost after the effect", path: markPath, fault: xsim.Fault{Drop: true, AfterEffect: true}, op: mark,
			want: bridge.DeliveryError{Temporary: true, Reason: "X did not answer"}},
		{name: "wrong credentials", op: typing, wrongCreds: true,
			want: bridge.DeliveryError{Reason: "X rejected the bridge's credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ctx := context.Background()
			dm := e.sim.CustomerDM(dana, "hello?")
			if tt.path != "" {
				e.sim.FailNext("POST", tt.path, 1, tt.fault)
			}
			if tt.wrongCreds {
				e.client = e.newClient(t, Config{ConsumerKey: simConsumerKey, ConsumerSecret: simConsumerSecret,
					AccessToken: simAccessToken, AccessTokenSecret: "revoked"})
			}
			err := tt.op(ctx, e, dm)
			var de *bridge.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("error %#v, want a *bridge.DeliveryError", err)
			}
			if de.Temporary != tt.want.Temporary || de.RateLimited != tt.want.RateLimited || de.Unknown ||
				!strings.HasPrefix(de.Reason, tt.want.Reason) {
				t.Errorf("error %+v, want %+v", de, tt.want)
			}
			if tt.retryIn > 0 {
				if want := e.clock.Now().Add(tt.retryIn); !de.RetryAt.Equal(want.Truncate(time.Second)) {
					t.Errorf("RetryAt %v, want %v", de.RetryAt, want)
				}
			}
			v := e.sim.Violations()
			if tt.wrongCreds {
				if len(v) != 1 || !strings.Contains(v[0], "401") {
					t.Errorf("violations %q, want the bad signature", v)
				}
				return
			}
			if len(v) != 0 {
				t.Errorf("violations %q", v)
			}
		})
	}
}

// TestReadSyncRateLimitedBySim: the simulator's own budget, not a fault.
func TestReadSyncRateLimitedBySim(t *testing.T) {
	t.Parallel()
	e := setup(t, withRateLimits)
	ctx := context.Background()
	e.sim.CustomerDM(dana, "typing…")
	var err error
	for i := 0; i <= 1000 && err == nil; i++ {
		err = e.client.ShowTyping(ctx, account, dana)
	}
	var de *bridge.DeliveryError
	if !errors.As(err, &de) || !de.RateLimited || !de.Temporary ||
		!de.RetryAt.Equal(simStart.Add(15*time.Minute)) {
		t.Fatalf("after 1001 typing indicators: %#v, want rate limited until %v", err, simStart.Add(15*time.Minute))
	}
	if n := len(e.sim.ReadMarks()); n != 1000 {
		t.Errorf("%d typing indicators recorded, want 1000", n)
	}
	e.noViolations(t)
}

// receiptRecorder is an Inbound that also takes read receipts and typing.
type receiptRecorder struct {
	recorder
	rmu     sync.Mutex
	reads   []bridge.InboundRead
	typing  []bridge.InboundTyping
	failAll error // returned by HandleRead and HandleTyping when set
}

func (r *receiptRecorder) HandleRead(_ context.Context, ev bridge.InboundRead) error {
	if r.failAll != nil {
		return r.failAll
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.reads = append(r.reads, ev)
	return nil
}

func (r *receiptRecorder) HandleTyping(_ context.Context, ev bridge.InboundTyping) error {
	if r.failAll != nil {
		return r.failAll
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.typing = append(r.typing, ev)
	return nil
}

func (r *receiptRecorder) got() ([]bridge.InboundRead, []bridge.InboundTyping) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return append([]bridge.InboundRead(nil), r.reads...), append([]bridge.InboundTyping(nil), r.typing...)
}

func TestWebhookReceipts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	rec := &receiptRecorder{}
	obs := &observer{}
	url := e.webhook(t, rec, obs)

	dm := e.sim.CustomerDM(dana, "Where is my parcel?")
	e.clock.Advance(time.Minute)
	e.sim.AutoDeliver(url)
	e.sim.CustomerTypes(dana)
	e.clock.Advance(time.Second)
	e.sim.CustomerReads(dana, dm.ID)
	if err := e.sim.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.AutoDeliver("")
	// The support account's own read receipt and typing are ignored.
	for _, p := range [][]byte{
		e.sim.ReadWebhookPayload(account, dana, dm.ID, e.clock.Now()),
		e.sim.TypingWebhookPayload(account, dana, e.clock.Now()),
	} {
		resp, err := e.sim.Deliver(ctx, url, p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("own event: status %d", resp.StatusCode)
		}
	}

	reads, typing := rec.got()
	wantReads := []bridge.InboundRead{{Account: account, CustomerID: dana, ConversationKey: "1000-2001",
		LastReadEventID: dm.ID, At: simStart.Add(time.Minute + time.Second)}}
	wantTyping := []bridge.InboundTyping{{Account: account, CustomerID: dana, ConversationKey: "1000-2001",
		At: simStart.Add(time.Minute)}}
	if !reflect.DeepEqual(reads, wantReads) {
		t.Errorf("reads:\n got %+v\nwant %+v", reads, wantReads)
	}
	if !reflect.DeepEqual(typing, wantTyping) {
		t.Errorf("typing:\n got %+v\nwant %+v", typing, wantTyping)
	}
	if got, want := obs.eventList(), []string{"webhook:typing", "webhook:read"}; !reflect.DeepEqual(got, want) {
		t.Errorf("observer events %q, want %q", got, want)
	}
	if got, want := obs.ignoredReasons(), []string{"webhook:own_read", "webhook:own_typing"}; !reflect.DeepEqual(got, want) {
		t.Errorf("observer ignored %q, want %q", got, want)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d messages handled, want none", n)
	}
	e.noViolations(t)

	t.Run("bad signature", func(t *testing.T) {
		p := e.sim.ReadWebhookPayload(dana, account, dm.ID, e.clock.Now())
		resp, err := e.sim.DeliverRaw(ctx, url, p, xsim.Sign("not-the-consumer-secret", p))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
		if reads, _ := rec.got(); len(reads) != 1 {
			t.Errorf("%d reads handled, want still 1", len(reads))
		}
	})
}

// TestWebhookReceiptErrors: as for messages, X redelivers only when a
// retry may succeed.
func TestWebhookReceiptErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	dm := e.sim.CustomerDM(dana, "hi")
	payloads := map[string][]byte{
		"read":   e.sim.ReadWebhookPayload(dana, account, dm.ID, e.clock.Now()),
		"typing": e.sim.TypingWebhookPayload(dana, account, e.clock.Now()),
	}
	tests := []struct {
		err     error
		want    int
		ignored []string
	}{
		{bridge.Errorf(bridge.EUNAVAILABLE, "database is restarting"), http.StatusInternalServerError, nil},
		{errors.New("disk I/O error"), http.StatusInternalServerError, nil},
		{bridge.Errorf(bridge.EINVALID, "no such conversation"), http.StatusOK, []string{"webhook:refused"}},
	}
	for _, tt := range tests {
		for kind, p := range payloads {
			t.Run(kind+": "+tt.err.Error(), func(t *testing.T) {
				t.Parallel()
				obs := &observer{}
				url := e.webhook(t, &receiptRecorder{failAll: tt.err}, obs)
				resp, err := e.sim.Deliver(context.Background(), url, p)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
				}
				if got := obs.ignoredReasons(); !reflect.DeepEqual(got, tt.ignored) {
					t.Errorf("ignored %q, want %q", got, tt.ignored)
				}
			})
		}
	}
}
