package x

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

func TestSendAndReplyLandInX(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"oauth1", "bearer"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			c := e.client
			if auth == "bearer" {
				c = e.bearer
			}
			ctx := context.Background()

			me, err := c.Me(ctx) // a GET with query parameters, signed
			if err != nil {
				t.Fatalf("Me: %v", err)
			}
			if me.ID != account || me.Handle != handle {
				t.Errorf("Me = %+v, want %s @%s", me, account, handle)
			}

			text := "Hi Dana — sorry for the wait! Your parcel left our warehouse today & should arrive Thursday 📦"
			id, err := c.SendDM(ctx, account, dana, text)
			if err != nil {
				t.Fatalf("SendDM: %v", err)
			}
			dms := e.sim.DMsTo(dana)
			if len(dms) != 1 || dms[0].ID != id || dms[0].Text != text {
				t.Fatalf("DMs to Dana = %+v, want one with id %s and the text", dms, id)
			}

			mention := e.sim.CustomerMention(raj, "my blender arrived cracked, what now?", "")
			reply := "So sorry, Raj! Please DM us your order number and we'll send a replacement."
			tid, err := c.Reply(ctx, account, mention.ID, reply)
			if err != nil {
				t.Fatalf("Reply: %v", err)
			}
			replies := e.sim.RepliesTo(mention.ID)
			if len(replies) != 1 || replies[0].ID != tid || replies[0].Text != reply {
				t.Fatalf("replies = %+v, want one with id %s and the text", replies, tid)
			}
			e.noViolations(t)
		})
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	type op func(ctx context.Context, e *env) error
	dm := func(ctx context.Context, e *env) error {
		_, err := e.client.SendDM(ctx, account, dana, "Your refund is on its way.")
		return err
	}
	reply := func(ctx context.Context, e *env) error {
		m := e.sim.CustomerMention(raj, "where is my refund?", "")
		_, err := e.client.Reply(ctx, account, m.ID, "It went out this morning, Raj.")
		return err
	}
	tests := []struct {
		name    string
		prepare func(e *env)
		op      op
		want    bridge.DeliveryError // Reason is a prefix
		retryIn time.Duration        // expected RetryAt - now, when set
		// violations the simulator must have recorded (requests the real
		// API refuses), as substrings
		violations []string
	}{
		{
			name: "DM rate limited",
			prepare: func(e *env) {
				e.sim.FailNext("POST", "/2/dm_conversations/with/*/messages", 1, xsim.Fault{Status: 429, Reset: 7 * time.Minute})
			},
			op:      dm,
			want:    bridge.DeliveryError{Temporary: true, RateLimited: true, Reason: "X rate limit reached"},
			retryIn: 7 * time.Minute,
		},
		{
			name: "reply rate limited with Retry-After",
			prepare: func(e *env) {
				e.sim.FailNext("POST", "/2/tweets", 1, xsim.Fault{Status: 429, Reset: time.Minute, RetryAfter: 2 * time.Minute})
			},
			op:      reply,
			want:    bridge.DeliveryError{Temporary: true, RateLimited: true, Reason: "X rate limit reached"},
			retryIn: 2 * time.Minute,
		},
		{
			name: "DM 503",
			prepare: func(e *env) {
				e.sim.FailNext("POST", "/2/dm_conversations/with/*/messages", 1, xsim.Fault{Status: 503})
			},
			op:   dm,
			want: bridge.DeliveryError{Temporary: true, Reason: "X is unavailable (503"},
		},
		{
			name:    "reply 503",
			prepare: func(e *env) { e.sim.FailNext("POST", "/2/tweets", 1, xsim.Fault{Status: 503}) },
			op:      reply,
			want:    bridge.DeliveryError{Temporary: true, Reason: "X is unavailable (503"},
		},
		{
			name: "DM 403",
			prepare: func(e *env) {
				e.sim.FailNext("POST", "/2/dm_conversations/with/*/messages", 1, xsim.Fault{Status: 403})
			},
			op:   dm,
			want: bridge.DeliveryError{Reason: "X refused the DM: Forbidden"},
		},
		{
			name: "DM to someone X does not know",
			op: func(ctx context.Context, e *env) error {
				_, err := e.client.SendDM(ctx, account, "987654321", "Hello?")
				return err
			},
			want:       bridge.DeliveryError{Reason: "X refused the DM: participant_id [987654321] is not a user you can send messages to"},
			violations: []string{"is not a user you can send messages to"},
		},
		{
			name: "reply to a deleted tweet",
			op: func(ctx context.Context, e *env) error {
				_, err := e.client.Reply(ctx, account, "1797200000000000001", "Thanks for waiting!")
				return err
			},
			want:       bridge.DeliveryError{Reason: "X refused the reply: You attempted to reply to a Tweet that is deleted or not visible to you."},
			violations: []string{"deleted or not visible"},
		},
		{
			name: "duplicate reply",
			op: func(ctx context.Context, e *env) error {
				m := e.sim.CustomerMention(raj, "hello?", "")
				if _, err := e.client.Reply(ctx, account, m.ID, "We're on it!"); err != nil {
					return err
				}
				_, err := e.client.Reply(ctx, account, m.ID, "We're on it!")
				return err
			},
			want:       bridge.DeliveryError{Reason: "X refused the reply: You are not allowed to create a Tweet with duplicate content."},
			violations: []string{"duplicate content"},
		},
		{
			name: "bad credentials",
			op: func(ctx context.Context, e *env) error {
				c := e.newClient(t, Config{UserToken: "revoked-token"})
				_, err := c.SendDM(ctx, account, dana, "hi")
				return err
			},
			want:       bridge.DeliveryError{Reason: "X rejected the bridge's credentials"},
			violations: []string{"401"},
		},
		{
			name: "bad OAuth 1.0a secret",
			op: func(ctx context.Context, e *env) error {
				c := e.newClient(t, Config{ConsumerKey: simConsumerKey, ConsumerSecret: "wrong",
					AccessToken: simAccessToken, AccessTokenSecret: simAccessSecret})
				_, err := c.Reply(ctx, account, "1797200000000000001", "hi")
				return err
			},
			want:       bridge.DeliveryError{Reason: "X rejected the bridge's credentials"},
			violations: []string{"signature does not verify"},
		},
		{
			name: "Me with revoked credentials",
			op: func(ctx context.Context, e *env) error {
				_, err := e.newClient(t, Config{UserToken: "revoked-token"}).Me(ctx)
				return err
			},
			want:       bridge.DeliveryError{Reason: "X rejected the bridge's credentials"},
			violations: []string{"401"},
		},
		{
			name: "another account",
			op: func(ctx context.Context, e *env) error {
				_, err := e.client.SendDM(ctx, "4242", dana, "hi")
				return err
			},
			want: bridge.DeliveryError{Reason: "the bridge has no X credentials for account 4242"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			if tt.prepare != nil {
				tt.prepare(e)
			}
			err := tt.op(context.Background(), e)
			var de *bridge.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want a *bridge.DeliveryError", err, err)
			}
			if de.Temporary != tt.want.Temporary || de.RateLimited != tt.want.RateLimited || de.Unknown != tt.want.Unknown {
				t.Errorf("got Temporary=%v RateLimited=%v Unknown=%v, want %v %v %v (%v)",
					de.Temporary, de.RateLimited, de.Unknown, tt.want.Temporary, tt.want.RateLimited, tt.want.Unknown, de)
			}
			if !strings.HasPrefix(de.Reason, tt.want.Reason) {
				t.Errorf("Reason %q, want prefix %q", de.Reason, tt.want.Reason)
			}
			if tt.retryIn != 0 {
				if want := e.clock.Now().Add(tt.retryIn); !de.RetryAt.Equal(want) {
					t.Errorf("RetryAt %v, want %v", de.RetryAt, want)
				}
			}
			v := e.sim.Violations()
			if len(v) != len(tt.violations) {
				t.Fatalf("violations %q, want %d", v, len(tt.violations))
			}
			for i, want := range tt.violations {
				if !strings.Contains(v[i], want) {
					t.Errorf("violation %q does not mention %q", v[i], want)
				}
			}
		})
	}
}

// TestLostAnswerIsUnknownAndFound: X performs the send, then the connection
// drops. The outcome is unknown; FindSent then finds the message on X.
func TestLostAnswerIsUnknownAndFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		kind    bridge.Kind
	}{
		{"DM", "/2/dm_conversations/with/*/messages", bridge.KindDM},
		{"reply", "/2/tweets", bridge.KindMention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ctx := context.Background()
			before := e.clock.Now()
			mention := e.sim.CustomerMention(raj, "is the store open on Sunday?", "")
			// Earlier messages of the conversation must not be mistaken for the lost one.
			if _, err := e.client.SendDM(ctx, account, dana, "Earlier message"); err != nil {
				t.Fatal(err)
			}
			e.sim.CustomerDM(dana, "thanks, and the other order?")
			e.clock.Advance(time.Minute)

			text := "Yes, 10:00–16:00 on Sundays. See you there! https://acme.com/stores?city=leeds&amp=1"
			e.sim.FailNext("POST", tt.pattern, 1, xsim.Fault{Drop: true, AfterEffect: true})
			var err error
			if tt.kind == bridge.KindDM {
				_, err = e.client.SendDM(ctx, account, dana, text)
			} else {
				_, err = e.client.Reply(ctx, account, mention.ID, text)
			}
			var de *bridge.DeliveryError
			if !errors.As(err, &de) || !de.Unknown || de.Temporary {
				t.Fatalf("error %#v, want Unknown", err)
			}

			q := bridge.SentQuery{Kind: tt.kind, Account: account, RecipientID: dana, InReplyToID: mention.ID,
				Text: text, After: before}
			id, found, err := e.client.FindSent(ctx, q)
			if err != nil || !found {
				t.Fatalf("FindSent = %q, %v, %v; want found", id, found, err)
			}
			var want string
			if tt.kind == bridge.KindDM {
				dms := e.sim.DMsTo(dana)
				want = dms[len(dms)-1].ID
			} else {
				want = e.sim.RepliesTo(mention.ID)[0].ID
			}
			if id != want {
				t.Errorf("FindSent id %s, want %s", id, want)
			}

			// A text that was never sent is not found.
			q.Text = "Something else entirely"
			if id, found, err := e.client.FindSent(ctx, q); err != nil || found {
				t.Errorf("FindSent(other text) = %q, %v, %v; want not found", id, found, err)
			}
			// Nor one sent before the time asked about.
			q.Text, q.After = text, e.clock.Now().Add(time.Hour)
			if id, found, err := e.client.FindSent(ctx, q); err != nil || found {
				t.Errorf("FindSent(after) = %q, %v, %v; want not found", id, found, err)
			}
			e.noViolations(t)
		})
	}
}

// TestUnreachableIsTemporary: nothing was written, so the send can be
// retried safely.
func TestUnreachableIsTemporary(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more

	c, err := NewClient(Config{APIURL: "http://" + addr, AccountID: account, UserToken: simUserToken}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, send := range map[string]func() error{
		"DM":    func() error { _, err := c.SendDM(ctx, account, dana, "hello"); return err },
		"reply": func() error { _, err := c.Reply(ctx, account, "1797200000000000001", "hello"); return err },
	} {
		err := send()
		var de *bridge.DeliveryError
		if !errors.As(err, &de) || !de.Temporary || de.Unknown {
			t.Errorf("%s: error %#v, want Temporary and not Unknown", name, err)
		}
	}
}

// TestTimeoutAfterSendingIsUnknown: the request went out, then the client
// gave up waiting.
func TestTimeoutAfterSendingIsUnknown(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.newClient(t, Config{UserToken: simUserToken, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
	e.sim.FailNext("POST", "/2/tweets", 1, xsim.Fault{Delay: 2 * time.Second})
	m := e.sim.CustomerMention(raj, "hello?", "")
	_, err := c.Reply(context.Background(), account, m.ID, "Hi Raj, how can we help?")
	var de *bridge.DeliveryError
	if !errors.As(err, &de) || !de.Unknown {
		t.Fatalf("error %#v, want Unknown", err)
	}
}

// TestLogsKeepSecrets: neither the configuration nor failures put
// credentials in the logs.
func TestLogsKeepSecrets(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{APIURL: e.srv.URL, AccountID: account, ConsumerKey: simConsumerKey, ConsumerSecret: simConsumerSecret,
		AccessToken: simAccessToken, AccessTokenSecret: simAccessSecret, UserToken: simUserToken}
	c, err := NewClient(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("starting", "x", cfg)
	ctx := context.Background()
	e.sim.FailNext("POST", "/2/dm_conversations/with/*/messages", 1, xsim.Fault{Status: 503})
	_, _ = c.SendDM(ctx, account, dana, "hello")
	_, _ = c.SendDM(ctx, account, dana, "hello")
	_, _ = c.Reply(ctx, account, "1797200000000000001", "hello")
	if !strings.Contains(buf.String(), "send dm failed") {
		t.Fatalf("nothing logged:\n%s", buf.String())
	}
	for _, secret := range []string{simConsumerKey, simConsumerSecret, simAccessToken, simAccessSecret, simUserToken} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the logs contain a secret:\n%s", buf.String())
		}
	}
}
