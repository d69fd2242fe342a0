package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/adapters/x/xsim"
)

// databases returns the stores an end-to-end test runs on: SQLite always,
// Postgres when XBRIDGE_TEST_POSTGRES is set (and always under CI=true).
func databases(t *testing.T) map[string]func(t *testing.T) string {
	dbs := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "xbridge.db") },
	}
	base := os.Getenv("XBRIDGE_TEST_POSTGRES")
	if base == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but XBRIDGE_TEST_POSTGRES is not set: CI must run the Postgres suite")
	}
	if base != "" {
		dbs["postgres"] = func(t *testing.T) string {
			dsn, drop, err := sqlstore.ScratchPostgres(t.Context(), base, "xbridge_e2e")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := drop(); err != nil {
					t.Errorf("drop scratch database: %v", err)
				}
			})
			return dsn
		}
	}
	return dbs
}

// env is a running bridge wired to simulators.
type env struct {
	t       *testing.T
	ctx     context.Context
	s       *sims
	m       *Main
	webhook string
}

func startBridge(t *testing.T, dsn string, mutate func(*Config)) *env {
	t.Helper()
	return startBridgeOn(t, testSims(t), dsn, mutate)
}

// testSims starts the simulators with two customers on X.
func testSims(t *testing.T) *sims {
	t.Helper()
	s, err := startSims(false, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.X.AddUser(xsim.User{ID: "2001", Username: "alice_w", Name: "Alice Walker", Followers: 48200})
	s.X.AddUser(xsim.User{ID: "2002", Username: "carol_dev", Name: "Carol", Followers: 310})
	return s
}

// startBridgeOn runs the bridge against the simulators s, X delivering
// to its webhook.
func startBridgeOn(t *testing.T, s *sims, dsn string, mutate func(*Config)) *env {
	t.Helper()
	cfg := simConfig(s, dsn)
	cfg.SendDelay = 200 * time.Millisecond
	cfg.Slack.RatePerSecond = 0   // the simulator's limits are off too; pacing has its own tests
	cfg.FirstTier.Enabled = false // the first tier has its own end-to-end test
	if mutate != nil {
		mutate(&cfg)
	}
	e := &env{t: t, ctx: t.Context(), s: s}
	e.m = e.run(cfg)
	e.webhook = "http://" + e.m.Addr() + "/x/webhook"
	s.X.AutoDeliver(e.webhook)
	return e
}

func (e *env) run(cfg Config) *Main {
	e.t.Helper()
	m := NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := m.Run(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { m.Close() })
	return m
}

// eventually waits up to 30 s for cond.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) threadOf(handle string) string {
	for _, r := range e.s.Slack.Roots(demoChannel) {
		if strings.Contains(r.Text, "@"+handle) {
			return r.TS
		}
	}
	return ""
}

func (e *env) noViolations() {
	e.t.Helper()
	if v := append(append(e.s.X.Violations(), e.s.Slack.Violations()...), e.s.Discord.Violations()...); len(v) > 0 {
		e.t.Fatalf("requests the real APIs would refuse:\n%s", strings.Join(v, "\n"))
	}
}

func TestBridgeEndToEnd(t *testing.T) {
	t.Parallel()
	for name, dsn := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := startBridge(t, dsn(t), nil)
			s := e.s

			// A DM becomes a thread with a card and the customer's message.
			dm := s.X.CustomerDM("2001", "Where is my order #48213?")
			var thread string
			e.eventually("DM thread", func() bool {
				thread = e.threadOf("alice_w")
				return thread != "" && len(s.Slack.Thread(demoChannel, thread)) == 1
			})
			root, _ := s.Slack.Message(demoChannel, thread)
			for _, want := range []string{"Alice Walker", "@alice_w", "48.2k"} {
				if !strings.Contains(root.Text+string(root.Blocks), want) {
					t.Errorf("card lacks %q: %s", want, root.Blocks)
				}
			}

			// The agent's reply reaches the customer as a DM, marked ✅.
			ts := s.Slack.PostAsUser(demoAgent, demoChannel, thread, "It ships tomorrow, tracking ACME-7731.")
			e.eventually("DM to the customer", func() bool { return len(s.X.DMsTo("2001")) == 1 })
			if got := s.X.DMsTo("2001")[0].Text; got != "It ships tomorrow, tracking ACME-7731." {
				t.Errorf("DM text = %q", got)
			}
			e.eventually("✅ on the reply", func() bool {
				m, _ := s.Slack.Message(demoChannel, ts)
				return strings.Join(m.Reactions, ",") == "white_check_mark"
			})

			// A note stays internal.
			s.Slack.PostAsUser(demoAgent, demoChannel, thread, "// check the warehouse log")
			time.Sleep(500 * time.Millisecond)
			if n := len(s.X.DMsTo("2001")); n != 1 {
				t.Errorf("a note reached the customer: %d DMs", n)
			}

			// A mention becomes a thread; the reply is a reply tweet.
			tw := s.X.CustomerMention("2002", "@acme_help app crashes on start", "")
			var thread2 string
			e.eventually("mention thread", func() bool {
				thread2 = e.threadOf("carol_dev")
				return thread2 != "" && len(s.Slack.Thread(demoChannel, thread2)) == 1
			})
			s.Slack.PostAsUser(demoAgent, demoChannel, thread2, "Fixed in 4.2.1, out today.")
			e.eventually("reply tweet", func() bool { return len(s.X.RepliesTo(tw.ID)) == 1 })

			// A redelivered DM is stored once.
			resp, err := s.X.Deliver(e.ctx, e.webhook, s.X.DMWebhookPayload(dm))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("redelivery: %v %v", resp, err)
			}
			resp.Body.Close()
			time.Sleep(300 * time.Millisecond)
			if n := len(s.Slack.Thread(demoChannel, thread)); n != 3 { // customer, reply, note
				t.Errorf("thread has %d messages after redelivery, want 3", n)
			}
			e.noViolations()
		})
	}
}

func TestWebhookRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	s := e.s
	s.X.AutoDeliver("")
	ev := s.X.CustomerDM("2001", "hello")
	payload := s.X.DMWebhookPayload(ev)
	for _, tc := range []struct {
		name string
		sig  string
		body []byte
		want int
	}{
		{"missing signature", "", payload, 401},
		{"wrong signature", xsim.Sign("not-the-secret", payload), payload, 401},
		{"malformed JSON", xsim.Sign(demoCreds.consumerSecret, []byte("{nope")), []byte("{nope"), 400},
	} {
		resp, err := s.X.DeliverRaw(e.ctx, e.webhook, tc.body, tc.sig)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if roots := s.Slack.Roots(demoChannel); len(roots) != 0 {
		t.Fatalf("refused webhooks created %d threads", len(roots))
	}
	// The same event, correctly signed, goes through.
	resp, err := s.X.Deliver(e.ctx, e.webhook, payload)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	resp.Body.Close()
	e.eventually("thread", func() bool { return len(s.Slack.Roots(demoChannel)) == 1 })
}

func TestRepliesWaitDurablyWhileXIsDownAndAcrossRestart(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	e := startBridge(t, dsn, func(c *Config) { c.SendDelay = time.Second })
	s := e.s
	s.X.CustomerDM("2001", "hello?")
	var thread string
	e.eventually("thread", func() bool { thread = e.threadOf("alice_w"); return thread != "" })
	e.eventually("customer message", func() bool { return len(s.Slack.Thread(demoChannel, thread)) == 1 })
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, "Answer one")
	e.eventually("⏳", func() bool {
		return len(s.Slack.Thread(demoChannel, thread)) == 2 && hasReaction(s.Slack.Thread(demoChannel, thread), "hourglass_flowing_sand")
	})
	// The bridge stops inside the send delay; the reply must survive.
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	s.X.FailNext("POST", "/2/dm_conversations/with/*/messages", 2, xsim.Fault{Status: 503})
	cfg := e.m.Config
	cfg.HTTPAddr = e.m.Addr() // X keeps delivering to the registered webhook
	e.run(cfg)
	e.eventually("DM after restart and two 503s", func() bool { return len(s.X.DMsTo("2001")) == 1 })
	if got := s.X.DMsTo("2001")[0].Text; got != "Answer one" {
		t.Fatalf("DM = %q", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(s.X.DMsTo("2001")); n != 1 {
		t.Fatalf("sent %d times", n)
	}
	e.noViolations()
}

func TestHealthReadyAndMetrics(t *testing.T) {
	t.Parallel()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	base := "http://" + e.m.Addr()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	e.eventually("ready", func() bool { code, _ := get("/readyz"); return code == 200 })
	e.s.X.CustomerDM("2001", "metrics please")
	e.eventually("thread", func() bool { return len(e.s.Slack.Roots(demoChannel)) == 1 })
	e.eventually("metrics", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `xbridge_events_in_total{kind="dm",platform="x"} 1`) &&
			strings.Contains(body, `xbridge_deliveries_total{effect="chat.card"} 1`) &&
			strings.Contains(body, "xbridge_outbox_depth") &&
			strings.Contains(body, "xbridge_automation_resolved_ratio 0") &&
			strings.Contains(body, "xbridge_csat_response_ratio 0")
	})
	// Slack down: /readyz says which platform is not usable.
	e.s.Slack.FailNext("auth.test", 100, slacksim.Fault{Error: "invalid_auth"})
	e.m.Slack.Check(e.ctx)
}

func TestServeCheckNamesEveryProblem(t *testing.T) {
	t.Parallel()
	s, err := startSims(false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good := simConfig(s, "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
	var out bytes.Buffer
	if err := checkConfig(t.Context(), good, &out, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*Config)
		want   []string
	}{
		{"credentials refused by both platforms", func(c *Config) { c.Slack.BotToken = "xoxb-wrong"; c.X.AccessTokenSecret = "wrong" },
			[]string{"slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN)", "x: "}},
		{"settings malformed", func(c *Config) { c.X.UserID = "@acme"; c.Slack.Channel = ""; c.X.Ingest = "carrier-pigeon" },
			[]string{"x.user_id (XBRIDGE_X_USER_ID)", "slack.channel (XBRIDGE_SLACK_CHANNEL)", "x.ingest (XBRIDGE_X_INGEST)"}},
		{"database unreachable", func(c *Config) { c.DatabaseURL = "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2" },
			[]string{"database_url (XBRIDGE_DATABASE_URL)"}},
	} {
		bad := good
		tc.break_(&bad)
		err := checkConfig(t.Context(), bad, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil {
			t.Errorf("%s: passed the check", tc.name)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: check output lacks %q:\n%v", tc.name, want, err)
			}
		}
	}
}

func TestUnreachableDatabaseIsAClearError(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.DatabaseURL = "postgres://xb:secret@127.0.0.1:1/xbridge?sslmode=disable&connect_timeout=2"
	cfg.X.UserID, cfg.X.UserToken, cfg.X.Ingest = "1000", "tok", "poll"
	cfg.Slack.BotToken, cfg.Slack.AppToken, cfg.Slack.Channel = "xoxb-1", "xapp-1", "C1"
	m := NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	err := m.Run(t.Context())
	if err == nil {
		m.Close()
		t.Fatal("started without a database")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error should name the host and hide the password: %v", err)
	}
}
