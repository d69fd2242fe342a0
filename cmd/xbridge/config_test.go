package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigLayersFileThenEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "xbridge.yaml")
	os.WriteFile(file, []byte(`
database_url: postgres://db/x
send_delay: 5s
x:
  user_id: "1000"
  ingest: both
slack:
  channel: C1
roles:
  agents: [U1, "@support"]
saved_replies:
  refund: "Hi {customer}, your refund is on its way."
  eta:
    en: "We'll answer by {due}."
    zh: "我们会在 {due} 前回复。"
`), 0o600)
	secret := filepath.Join(dir, "token")
	os.WriteFile(secret, []byte("xoxb-from-file\n"), 0o600)
	cfg, err := LoadConfig(file, envOf(map[string]string{
		"XBRIDGE_SEND_DELAY":           "0s",
		"XBRIDGE_SLACK_BOT_TOKEN_FILE": secret,
		"XBRIDGE_ROLES_LEADS":          "U9, @leads ,",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"database_url from the file", cfg.DatabaseURL, "postgres://db/x"},
		{"send_delay from the environment", cfg.SendDelay, time.Duration(0)},
		{"bot token from a file", cfg.Slack.BotToken, "xoxb-from-file"},
		{"ingest", cfg.X.Ingest, "both"},
		{"default kept", cfg.NotePrefix, "//"},
		{"agents list", strings.Join(cfg.Roles.Agents, ","), "U1,@support"},
		{"leads from a comma list", strings.Join(cfg.Roles.Leads, ","), "U9,@leads"},
		{"saved reply", cfg.SavedReplies["refund"][""], "Hi {customer}, your refund is on its way."},
		{"saved reply in Chinese", cfg.SavedReplies["eta"]["zh"], "我们会在 {due} 前回复。"},
		{"saved reply in English", savedReplies(cfg.SavedReplies)[0].ByLanguage["en"], "We'll answer by {due}."},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestLoadConfigNamesTheKeyAndTheFix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"bad duration in the environment", "", map[string]string{"XBRIDGE_SEND_DELAY": "ten seconds"},
			[]string{"send_delay (XBRIDGE_SEND_DELAY", "10s"}},
		{"bad number", "", map[string]string{"XBRIDGE_DISPATCH_WORKERS": "many"},
			[]string{"dispatch.workers (XBRIDGE_DISPATCH_WORKERS", "whole number"}},
		{"two problems at once", "", map[string]string{"XBRIDGE_SEND_DELAY": "x", "XBRIDGE_DISPATCH_LEASE": "y"},
			[]string{"send_delay", "dispatch.lease", "2 problem"}},
		{"unknown key in the file", "slack:\n  chanel: C1\n", nil, []string{"chanel", "key names"}},
	} {
		path := ""
		if tc.yaml != "" {
			path = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
		}
		_, err := LoadConfig(path, envOf(tc.env))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", tc.name, w, err)
			}
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.X.UserID = "@acme"
	cfg.Slack.BotToken = "xoxp-user-token"
	cfg.SendDelay = -time.Second
	cfg.Escalation.OnCall = "@eng-oncall"
	cfg.Roles.Leads = []string{"lena"}
	err := cfg.Validate()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		"x.user_id (XBRIDGE_X_USER_ID): must be the numeric user id",
		"x.access_token (XBRIDGE_X_ACCESS_TOKEN): X credentials are required",
		"x.consumer_secret (XBRIDGE_X_CONSUMER_SECRET): required for webhook ingest",
		"slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN): must be a bot token starting with xoxb-",
		"slack.signing_secret (XBRIDGE_SLACK_SIGNING_SECRET)",
		"slack.channel (XBRIDGE_SLACK_CHANNEL)",
		"send_delay (XBRIDGE_SEND_DELAY)",
		"escalation.on_call (XBRIDGE_ESCALATION_ON_CALL)",
		`roles.leads (XBRIDGE_ROLES_LEADS): "lena"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("validation lacks %q", want)
		}
	}
}

func TestSLAConfigRefusesBadPoliciesByKey(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.SLA = SLAConfig{Enabled: true, Timezone: "Mars/Olympus", Hours: "mon-fri 17:00-09:00; funday 10:00-12:00",
		Holidays: []string{"25.12.2026"}, ReAlertMax: 2, WebhookURL: "https://pager.example/hook",
		Policies: []SLAPolicyConfig{
			{Priority: "critical", FirstResponse: 15 * time.Minute},
			{Priority: "high"},
			{Priority: "low", Resolution: time.Hour, WarnBefore: "150%"},
		}}
	err := cfg.Validate()
	for _, want := range []string{
		"sla.timezone (XBRIDGE_SLA_TIMEZONE)",
		`sla.hours (XBRIDGE_SLA_HOURS): "mon-fri 17:00-09:00"`,
		`sla.hours (XBRIDGE_SLA_HOURS): "funday 10:00-12:00"`,
		"sla.holidays (XBRIDGE_SLA_HOLIDAYS)",
		"sla.re_alert_every (XBRIDGE_SLA_RE_ALERT_EVERY)",
		"sla.webhook_secret (XBRIDGE_SLA_WEBHOOK_SECRET)",
		`sla.policies[0].priority (YAML only): "critical"`,
		"sla.policies[1] (YAML only): set at least one",
		`sla.policies[2].warn_before (YAML only): "150%"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation lacks %q", want)
		}
	}
}

func TestSLAConfigBuildsTheCalendar(t *testing.T) {
	t.Parallel()
	sla, problems := SLAConfig{Enabled: true, Timezone: "Europe/Berlin", Hours: "mon-fri 09:00-17:00; sat 10:00-14:00",
		Holidays: []string{"2026-12-25"}, Policies: []SLAPolicyConfig{{Priority: "urgent", FirstResponse: 5 * time.Minute, WarnBefore: "20%"}}}.build()
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	c := sla.Calendar
	if c.Location.String() != "Europe/Berlin" || len(c.Week[time.Saturday]) != 1 || len(c.Week[time.Sunday]) != 0 || !c.Holidays["2026-12-25"] {
		t.Fatalf("calendar = %+v", c)
	}
	if p := sla.Policies[0]; p.Priority != "urgent" || p.WarnFraction != 0.2 {
		t.Fatalf("policy = %+v", p)
	}
	if off, _ := (SLAConfig{}).build(); off != nil {
		t.Fatal("a disabled SLA engine was built")
	}
}

func TestXAccountsFromFileAndEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "xbridge.yaml")
	os.WriteFile(file, []byte(`
x:
  user_id: "1000"
  handle: acme_help
  ingest: webhook
  accounts:
    - user_id: "1001"
      handle: "@acme_billing"
      ingest: poll
    - user_id: "1002"
      handle: acme_jp
      user_token: from-yaml
routing:
  rules:
    - account: "@ACME_billing"
      channel: C0BILLING
    - account: "1002"
      channel: C0JP
`), 0o600)
	secret := filepath.Join(dir, "billing-secret")
	os.WriteFile(secret, []byte("billing-token-secret\n"), 0o600)
	cfg, err := LoadConfig(file, envOf(map[string]string{
		"XBRIDGE_X_ACCESS_TOKEN":                        "help-token",
		"XBRIDGE_X_ACCOUNTS_0_ACCESS_TOKEN":             "billing-token",
		"XBRIDGE_X_ACCOUNTS_0_ACCESS_TOKEN_SECRET_FILE": secret,
		"XBRIDGE_X_ACCOUNTS_1_USER_TOKEN":               "from-env",
		"XBRIDGE_X_ACCOUNTS_2_USER_ID":                  "1003", // an account from the environment alone
		"XBRIDGE_X_ACCOUNTS_2_HANDLE":                   "acme_status",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range cfg.X.accounts() {
		got = append(got, strings.Join([]string{a.key, a.UserID, a.handle(), a.AccessToken, a.AccessTokenSecret, a.UserToken, a.Ingest}, " "))
	}
	want := []string{
		"x 1000 acme_help help-token   webhook",
		"x.accounts[0] 1001 acme_billing billing-token billing-token-secret  poll",
		"x.accounts[1] 1002 acme_jp   from-env webhook",
		"x.accounts[2] 1003 acme_status    webhook",
	}
	if !slices.Equal(got, want) {
		t.Errorf("accounts:\n got %q\nwant %q", got, want)
	}
	var routed []string
	for _, r := range cfg.routes() {
		routed = append(routed, r.Account+"→"+r.Channel)
	}
	if !slices.Equal(routed, []string{"1001→C0BILLING", "1002→C0JP"}) {
		t.Errorf("routes %q: a rule naming an account by @handle must match its user id", routed)
	}
}

// validConfig is a configuration Validate accepts: one X account with
// OAuth 1.0a, Slack in Socket Mode.
func validConfig() Config {
	cfg := DefaultConfig()
	cfg.X.UserID, cfg.X.Handle = "1000", "acme_help"
	cfg.X.ConsumerKey, cfg.X.ConsumerSecret, cfg.X.AccessToken, cfg.X.AccessTokenSecret = "ck", "cs", "at", "as"
	cfg.Slack.BotToken, cfg.Slack.AppToken, cfg.Slack.Channel = "xoxb-1", "xapp-1", "C1"
	return cfg
}

func TestValidateXAccounts(t *testing.T) {
	t.Parallel()
	billing := XAccountConfig{UserID: "1001", Handle: "acme_billing", AccessToken: "bt", AccessTokenSecret: "bs"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string // every one in the problems; none means valid
	}{
		{"a second account", func(c *Config) { c.X.Accounts = []XAccountConfig{billing} }, nil},
		{"accounts in the list only, one with an OAuth 2.0 token", func(c *Config) {
			c.X.UserID, c.X.Handle, c.X.AccessToken, c.X.AccessTokenSecret = "", "", "", ""
			c.X.Accounts = []XAccountConfig{billing, {UserID: "1002", UserToken: "tok", Ingest: "poll"}}
		}, nil},
		{"routing and SLA by handle or id", func(c *Config) {
			c.X.Accounts = []XAccountConfig{billing}
			c.Routing.Rules = []RouteRule{{Account: "@acme_billing", Channel: "C2"}, {Account: "1000", Channel: "C3"}}
			c.SLA.Policies = []SLAPolicyConfig{{Account: "acme_billing", FirstResponse: time.Hour}}
		}, nil},
		{"missing user id", func(c *Config) { c.X.Accounts = []XAccountConfig{{Handle: "b", UserToken: "t"}} },
			[]string{"x.accounts[0].user_id (XBRIDGE_X_ACCOUNTS_0_USER_ID): required"}},
		{"a handle at x. but no account", func(c *Config) {
			c.X.UserID, c.X.AccessToken, c.X.AccessTokenSecret = "", "", ""
			c.X.Accounts = []XAccountConfig{billing}
		}, []string{"x.user_id (XBRIDGE_X_USER_ID): required"}},
		{"handle for user id", func(c *Config) { c.X.Accounts = []XAccountConfig{billing, {UserID: "@acme_jp", UserToken: "t"}} },
			[]string{"x.accounts[1].user_id (XBRIDGE_X_ACCOUNTS_1_USER_ID): must be the numeric user id"}},
		{"same account as x.user_id", func(c *Config) { c.X.Accounts = []XAccountConfig{{UserID: "1000", UserToken: "t"}} },
			[]string{"x.accounts[0].user_id (XBRIDGE_X_ACCOUNTS_0_USER_ID): 1000 is already x.user_id"}},
		{"same account twice in the list", func(c *Config) { c.X.Accounts = []XAccountConfig{billing, {UserID: "1001", UserToken: "t"}} },
			[]string{"x.accounts[1].user_id (XBRIDGE_X_ACCOUNTS_1_USER_ID): 1001 is already x.accounts[0].user_id"}},
		{"same handle twice", func(c *Config) {
			c.X.Accounts = []XAccountConfig{{UserID: "1001", Handle: "@Acme_Help", UserToken: "t"}}
		},
			[]string{"x.accounts[0].handle (XBRIDGE_X_ACCOUNTS_0_HANDLE): @Acme_Help is already x.handle"}},
		{"no credentials", func(c *Config) { c.X.ConsumerKey = ""; c.X.Accounts = []XAccountConfig{{UserID: "1001"}} },
			[]string{"x.accounts[0].access_token (XBRIDGE_X_ACCOUNTS_0_ACCESS_TOKEN): X credentials are required"}},
		{"access token without its secret", func(c *Config) { c.X.Accounts = []XAccountConfig{{UserID: "1001", AccessToken: "bt"}} },
			[]string{"x.accounts[0].access_token_secret (XBRIDGE_X_ACCOUNTS_0_ACCESS_TOKEN_SECRET): required with OAuth 1.0a"}},
		{"OAuth 1.0a without the app's consumer key", func(c *Config) {
			c.X.UserID, c.X.AccessToken, c.X.AccessTokenSecret, c.X.ConsumerKey = "", "", "", ""
			c.X.Accounts = []XAccountConfig{billing}
		}, []string{"x.consumer_key (XBRIDGE_X_CONSUMER_KEY): required with OAuth 1.0a"}},
		{"unknown ingest", func(c *Config) { c.X.Accounts = []XAccountConfig{{UserID: "1001", UserToken: "t", Ingest: "fax"}} },
			[]string{"x.accounts[0].ingest (XBRIDGE_X_ACCOUNTS_0_INGEST): must be webhook, poll or both"}},
		{"one account on webhooks without the consumer secret", func(c *Config) {
			c.X.UserID, c.X.AccessToken, c.X.AccessTokenSecret, c.X.ConsumerKey, c.X.ConsumerSecret = "", "", "", "", ""
			c.X.Ingest = "poll"
			c.X.Accounts = []XAccountConfig{{UserID: "1001", UserToken: "t"}, {UserID: "1002", UserToken: "u", Ingest: "both"}}
		}, []string{"x.consumer_secret (XBRIDGE_X_CONSUMER_SECRET): required for webhook ingest"}},
		{"routing rule for an account not configured", func(c *Config) {
			c.X.Accounts = []XAccountConfig{billing}
			c.Routing.Rules = []RouteRule{{Account: "1999", Channel: "C2"}, {Account: "@acme_jp", Channel: "C3"}}
		}, []string{
			`routing.rules[0].account (YAML only): "1999" is not a configured X account; name one by user id or @handle: 1000 (@acme_help), 1001 (@acme_billing)`,
			`routing.rules[1].account (YAML only): "@acme_jp" is not a configured X account`,
		}},
		{"SLA policy for an account not configured", func(c *Config) {
			c.SLA.Policies = []SLAPolicyConfig{{Account: "1001", FirstResponse: time.Hour}}
		}, []string{`sla.policies[0].account (YAML only): "1001" is not a configured X account`}},
	} {
		cfg := validConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: validation lacks %q:\n%v", tc.name, w, err)
			}
		}
	}
}

func TestMediaMaxBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		yaml, env string
		want      int64
		problem   string
	}{
		{"", "", 100 << 20, ""},
		{"media:\n  max_bytes: 50MB\n", "", 50 << 20, ""},
		{"media:\n  max_bytes: 5242880\n", "", 5 << 20, ""},
		{"", "1.5GB", 3 << 29, ""},
		{"", "lots", 0, "XBRIDGE_MEDIA_MAX_BYTES"},
	} {
		path := ""
		if tc.yaml != "" {
			path = filepath.Join(t.TempDir(), "xbridge.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := LoadConfig(path, func(k string) string {
			if k == "XBRIDGE_MEDIA_MAX_BYTES" {
				return tc.env
			}
			return ""
		})
		switch {
		case tc.problem != "":
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("%q %q: err = %v, want a problem naming %s", tc.yaml, tc.env, err, tc.problem)
			}
		case err != nil || int64(cfg.Media.MaxBytes) != tc.want:
			t.Errorf("%q %q: max_bytes = %d, %v, want %d", tc.yaml, tc.env, cfg.Media.MaxBytes, err, tc.want)
		}
	}
}
