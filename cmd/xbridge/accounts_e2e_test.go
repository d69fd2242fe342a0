package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/x/xsim"
)

// The second support account, its Slack channel, and a third account the
// app holds on X but this bridge is not configured for.
const billingChannel = "C0BILLING"

var (
	billingAccount = xsim.Account{UserID: "1001", Handle: "acme_billing",
		AccessToken: "billing-access-token", AccessTokenSecret: "billing-access-secret"}
	pressAccount = xsim.Account{UserID: "1002", Handle: "acme_press",
		AccessToken: "press-access-token", AccessTokenSecret: "press-access-secret"}
)

// accountSims are simulators where the app holds help, billing and press,
// and Slack has a billing channel.
func accountSims(t *testing.T) *sims {
	t.Helper()
	s := testSims(t)
	for _, a := range []xsim.Account{billingAccount, pressAccount} {
		if err := s.X.AddAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	s.X.AddUser(xsim.User{ID: "2003", Username: "dave_k", Name: "Dave"})
	s.X.AddUser(xsim.User{ID: "2004", Username: "erin_j", Name: "Erin"})
	s.Slack.AddChannel(billingChannel, "billing")
	return s
}

// withBilling configures billing beside help, its conversations routed
// to the billing channel.
func withBilling(c *Config) {
	c.X.Accounts = []XAccountConfig{{UserID: billingAccount.UserID, Handle: billingAccount.Handle,
		AccessToken: billingAccount.AccessToken, AccessTokenSecret: billingAccount.AccessTokenSecret}}
	c.Routing.Rules = append([]RouteRule{{Account: "@acme_billing", Channel: billingChannel}}, c.Routing.Rules...)
}

// rootOf finds the thread whose card names the customer's handle.
func rootOf(s *slacksim.Server, channel, handle string) string {
	for _, r := range s.Roots(channel) {
		if strings.Contains(r.Text, "@"+handle) {
			return r.TS
		}
	}
	return ""
}

// cardBlocks returns the blocks of a thread's root, as JSON.
func cardBlocks(s *slacksim.Server, channel, ts string) string {
	for _, r := range s.Roots(channel) {
		if r.TS == ts {
			return string(r.Blocks)
		}
	}
	return ""
}

func TestSeveralSupportAccountsEndToEnd(t *testing.T) {
	t.Parallel()
	for name, dsn := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := startBridgeOn(t, accountSims(t), dsn(t), withBilling)
			s := e.s

			// Alice DMs help; Carol mentions billing; Dave DMs billing.
			s.X.CustomerDM("2001", "Where is my order #48213?")
			mention := s.X.CustomerMention("2002", "@acme_billing I was charged twice", "")
			s.X.CustomerDMTo(billingAccount.UserID, "2003", "Please refund invoice 77")
			var alice, carol, dave string
			e.eventually("three threads", func() bool {
				alice, carol, dave = rootOf(s.Slack, demoChannel, "alice_w"), rootOf(s.Slack, billingChannel, "carol_dev"), rootOf(s.Slack, billingChannel, "dave_k")
				return alice != "" && carol != "" && dave != "" &&
					len(s.Slack.Thread(demoChannel, alice)) == 1 && len(s.Slack.Thread(billingChannel, carol)) == 1 && len(s.Slack.Thread(billingChannel, dave)) == 1
			})
			if n := len(s.Slack.Roots(demoChannel)); n != 1 {
				t.Errorf("support channel has %d threads, want only help's", n)
			}
			// Each card says which account the customer wrote to.
			for _, c := range []struct{ channel, thread, want string }{
				{demoChannel, alice, "Direct message to @" + demoSupportHandle},
				{billingChannel, carol, "Public mention of @acme_billing"},
				{billingChannel, dave, "Direct message to @acme_billing"},
			} {
				if card := cardBlocks(s.Slack, c.channel, c.thread); !strings.Contains(card, c.want) {
					t.Errorf("card %s in %s does not say %q: %s", c.thread, c.channel, c.want, card)
				}
			}

			// The agents' answers go out from the account each conversation
			// came to, signed with that account's token.
			s.Slack.PostAsUser(demoAgent, demoChannel, alice, "It ships tomorrow.")
			s.Slack.PostAsUser(demoAgent, billingChannel, carol, "Refund issued, sorry!")
			s.Slack.PostAsUser(demoAgent, billingChannel, dave, "Invoice 77 is refunded.")
			e.eventually("the three answers on X", func() bool {
				return len(s.X.DMsTo("2001")) == 1 && len(s.X.RepliesTo(mention.ID)) == 1 && len(s.X.DMsTo("2003")) == 1
			})
			if dm := s.X.DMsTo("2001")[0]; dm.SenderID != demoSupportID {
				t.Errorf("Alice's answer came from %s, want help (%s)", dm.SenderID, demoSupportID)
			}
			if r := s.X.RepliesTo(mention.ID)[0]; r.AuthorID != billingAccount.UserID {
				t.Errorf("Carol's reply tweet came from %s, want billing", r.AuthorID)
			}
			if dm := s.X.DMsTo("2003")[0]; dm.SenderID != billingAccount.UserID || dm.ConversationID != "1001-2003" {
				t.Errorf("Dave's answer %+v, want billing's DM", dm)
			}
			for _, r := range s.X.Requests() {
				want := map[string]string{"/2/dm_conversations/with/2001/messages": demoSupportID, "/2/tweets": billingAccount.UserID,
					"/2/dm_conversations/with/2003/messages": billingAccount.UserID}[r.Path]
				if r.Method == http.MethodPost && want != "" && r.Account != want {
					t.Errorf("POST %s signed as %q, want %s", r.Path, r.Account, want)
				}
			}
			for _, c := range []struct{ channel, thread string }{{demoChannel, alice}, {billingChannel, carol}, {billingChannel, dave}} {
				e.eventually("✅ in "+c.channel, func() bool { return hasReaction(s.Slack.Thread(c.channel, c.thread), "white_check_mark") })
			}

			// The echoes of billing's sends come back by webhook for billing
			// and are recognised as its own, per account.
			if err := s.X.Flush(e.ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if n, m := len(s.Slack.Thread(billingChannel, carol)), len(s.Slack.Thread(billingChannel, dave)); n != 2 || m != 2 {
				t.Errorf("billing threads have %d and %d messages after the echoes, want 2 each", n, m)
			}
			if n, m := len(s.Slack.Roots(billingChannel)), len(s.Slack.Roots(demoChannel)); n != 2 || m != 1 {
				t.Errorf("%d threads in the billing channel and %d in support after the echoes, want 2 and 1", n, m)
			}

			// Erin DMs press, an account the app holds but the bridge does
			// not serve: acknowledged, counted, not stored.
			s.X.CustomerDMTo(pressAccount.UserID, "2004", "Interview request")
			if err := s.X.Flush(e.ctx); err != nil {
				t.Fatal(err)
			}
			e.eventually("the ignored event counted", func() bool {
				return strings.Contains(e.metrics(), `xbridge_events_ignored_total{platform="x",reason="other_account"} 1`)
			})
			for _, ch := range []string{demoChannel, billingChannel} {
				if rootOf(s.Slack, ch, "erin_j") != "" {
					t.Errorf("a DM to press became a thread in %s", ch)
				}
			}
			e.noViolations()
		})
	}
}

// metrics returns the bridge's /metrics.
func (e *env) metrics() string {
	e.t.Helper()
	resp, err := http.Get("http://" + e.m.Addr() + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestReplyForAnAccountNoLongerConfigured: a conversation of an account
// taken out of the configuration cannot be answered; the agent sees why.
func TestReplyForAnAccountNoLongerConfigured(t *testing.T) {
	t.Parallel()
	e := startBridgeOn(t, accountSims(t), "sqlite:"+t.TempDir()+"/x.db", withBilling)
	s := e.s
	s.X.CustomerDMTo(billingAccount.UserID, "2003", "Refund please")
	var thread string
	e.eventually("thread", func() bool {
		thread = rootOf(s.Slack, billingChannel, "dave_k")
		return thread != "" && len(s.Slack.Thread(billingChannel, thread)) == 1
	})
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := e.m.Config
	cfg.X.Accounts = nil
	cfg.Routing.Rules = cfg.Routing.Rules[1:]
	cfg.HTTPAddr = e.m.Addr()
	e.run(cfg)

	s.Slack.PostAsUser(demoAgent, billingChannel, thread, "Refunded.")
	e.eventually("⚠️ with the reason", func() bool {
		return threadSays(s.Slack.Thread(billingChannel, thread), "Not delivered to the customer: the bridge has no X credentials for account 1001") &&
			hasReaction(s.Slack.Thread(billingChannel, thread), "warning")
	})
	if n := len(s.X.DMsTo("2003")); n != 0 {
		t.Errorf("%d DMs went out for an account without credentials", n)
	}
	e.noViolations()
}

// TestPollingSeveralAccounts: each account is polled with its own
// credentials and its own cursors.
func TestPollingSeveralAccounts(t *testing.T) {
	t.Parallel()
	for name, dsn := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := accountSims(t)
			// Waiting before the bridge starts: its first polls find them.
			toHelp := s.X.CustomerDM("2001", "Where is my order?")
			toBilling := s.X.CustomerDMTo(billingAccount.UserID, "2003", "Refund please")
			mention := s.X.CustomerMention("2002", "@acme_billing charged twice", "")
			e := startBridgeOn(t, s, dsn(t), func(c *Config) {
				withBilling(c)
				c.X.Ingest, c.X.Backfill = "poll", time.Hour
			})
			s.X.AutoDeliver("") // no webhook: polling only
			e.eventually("three threads", func() bool {
				return rootOf(s.Slack, demoChannel, "alice_w") != "" && rootOf(s.Slack, billingChannel, "dave_k") != "" &&
					rootOf(s.Slack, billingChannel, "carol_dev") != ""
			})
			cursor := func(name string) string {
				v, err := e.m.Service.Cursor(context.Background(), name)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			// A poll stores its cursor after its events: a card handed over
			// at the intake's commit can show before that.
			wantCursors := map[string]string{
				"x:1000:dm_events": toHelp.ID, "x:1001:dm_events": toBilling.ID, "x:1001:mentions": mention.ID,
			}
			e.eventually("cursors", func() bool {
				for name := range wantCursors {
					if cursor(name) == "" {
						return false
					}
				}
				return true
			})
			for name, want := range wantCursors {
				if got := cursor(name); got != want {
					t.Errorf("cursor %s = %q, want %q", name, got, want)
				}
			}
			var polledAs []string
			for _, r := range s.X.Requests() {
				if r.Path == "/2/dm_events" && !slices.Contains(polledAs, r.Account) {
					polledAs = append(polledAs, r.Account)
				}
			}
			slices.Sort(polledAs)
			if !slices.Equal(polledAs, []string{demoSupportID, billingAccount.UserID}) {
				t.Errorf("DMs polled as %q, want help and billing each", polledAs)
			}
			if len(s.X.Deliveries()) != 0 {
				t.Errorf("%d webhook deliveries in a polling test", len(s.X.Deliveries()))
			}
			e.noViolations()
		})
	}
}

// TestServeCheckWithSeveralAccounts: --check asks X about every account's
// credentials and names the account of each problem.
func TestServeCheckWithSeveralAccounts(t *testing.T) {
	t.Parallel()
	s := accountSims(t)
	good := simConfig(s, "sqlite:"+t.TempDir()+"/x.db")
	withBilling(&good)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	if err := checkConfig(t.Context(), good, &out, logger); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*Config)
		want   string
	}{
		{"billing's token refused", func(c *Config) { c.X.Accounts[0].AccessTokenSecret = "wrong" }, "x.accounts[0]: "},
		{"press's credentials under billing's id", func(c *Config) {
			c.X.Accounts[0].AccessToken, c.X.Accounts[0].AccessTokenSecret = pressAccount.AccessToken, pressAccount.AccessTokenSecret
		}, "x.accounts[0].user_id (XBRIDGE_X_ACCOUNTS_0_USER_ID): is 1001 but the credentials belong to @acme_press (id 1002)"},
	} {
		bad := good
		bad.X.Accounts = slices.Clone(good.X.Accounts)
		tc.break_(&bad)
		err := checkConfig(t.Context(), bad, &out, logger)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: check said %v, want %q", tc.name, err, tc.want)
		}
	}
}
