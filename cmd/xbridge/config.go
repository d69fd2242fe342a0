package main

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/xbridge/xbridge/bridge"
)

// Config is the whole configuration of xbridge: one YAML file, and for
// every setting an environment variable that overrides it. A secret can
// also come from a file named by <ENV>_FILE.
type Config struct {
	DatabaseURL    string        `yaml:"database_url" env:"XBRIDGE_DATABASE_URL" help:"sqlite:<path> or postgres://…"`
	HTTPAddr       string        `yaml:"http_addr" env:"XBRIDGE_HTTP_ADDR" help:"address the HTTP server listens on"`
	LogLevel       string        `yaml:"log_level" env:"XBRIDGE_LOG_LEVEL" help:"debug, info, warn or error"`
	SendDelay      time.Duration `yaml:"send_delay" env:"XBRIDGE_SEND_DELAY" help:"how long an agent's reply waits before going out (0 allowed)"`
	NotePrefix     string        `yaml:"note_prefix" env:"XBRIDGE_NOTE_PREFIX" help:"thread messages starting with it stay internal"`
	CommandPrefix  string        `yaml:"command_prefix" env:"XBRIDGE_COMMAND_PREFIX" help:"thread messages starting with it are commands"`
	ReopenWindow   time.Duration `yaml:"reopen_window" env:"XBRIDGE_REOPEN_WINDOW" help:"a customer message this soon after close reopens the conversation"`
	ClosingMessage string        `yaml:"closing_message" env:"XBRIDGE_CLOSING_MESSAGE" help:"sent to the customer when a conversation is closed (empty: nothing is sent)"`
	X              XConfig       `yaml:"x"`
	Slack          SlackConfig   `yaml:"slack"`
	Discord        DiscordConfig `yaml:"discord"`
	// SupportPlatform is where new conversations go unless a routing rule
	// says otherwise: slack or discord; by default whichever has a bot
	// token (Slack when both do).
	SupportPlatform string           `yaml:"support_platform" env:"XBRIDGE_SUPPORT_PLATFORM" help:"slack or discord: where new conversations become threads"`
	Escalation      EscalationConfig `yaml:"escalation"`
	Roles           RolesConfig      `yaml:"roles"`
	Routing         RoutingConfig    `yaml:"routing"`
	SLA             SLAConfig        `yaml:"sla"`
	FirstTier       FirstTierConfig  `yaml:"first_tier"`
	Dispatch        DispatchConfig   `yaml:"dispatch"`
	Media           MediaConfig      `yaml:"media"`
	// SavedReplies are reply templates by name, for reply-with; YAML only.
	SavedReplies map[string]SavedReplyText `yaml:"saved_replies" help:"name: text, or name: {en: text, zh: text}; text may use {customer} {handle} {ticket} {agent} {due}"`
}

// EscalationConfig is where escalations to engineering go.
type EscalationConfig struct {
	Platform string `yaml:"platform" env:"XBRIDGE_ESCALATION_PLATFORM" help:"slack or discord: where the engineering channel is (default: the support platform)"`
	Channel  string `yaml:"channel" env:"XBRIDGE_ESCALATION_CHANNEL" help:"engineering channel id (C…) for escalation threads"`
	OnCall   string `yaml:"on_call" env:"XBRIDGE_ESCALATION_ON_CALL" help:"who an escalation mentions, in the platform's markup: Slack <!subteam^S…> or <@U…>, Discord <@&role> or <@user>"`
}

// RolesConfig names who is what, as Slack user ids (U…), user group ids
// (S…) or user group handles (@support). With none set, everyone in the
// support channel is an agent.
type RolesConfig struct {
	Agents    []string `yaml:"agents" env:"XBRIDGE_ROLES_AGENTS" help:"comma-separated users or groups who answer customers"`
	Engineers []string `yaml:"engineers" env:"XBRIDGE_ROLES_ENGINEERS" help:"comma-separated users or groups whose thread messages stay internal"`
	Leads     []string `yaml:"leads" env:"XBRIDGE_ROLES_LEADS" help:"comma-separated users or groups who may also reassign and reopen late"`
}

// RoutingConfig picks the channel of new conversations and who gets them.
type RoutingConfig struct {
	AutoAssign string `yaml:"auto_assign" env:"XBRIDGE_AUTO_ASSIGN" help:"off, round_robin or least_open: give new conversations to an available agent (/xb available on)"`
	// Rules are tried in order; the first match wins. YAML only.
	Rules []RouteRule `yaml:"rules"`
}

// RouteRule sends matching new conversations to a channel.
type RouteRule struct {
	Platform string   `yaml:"platform"` // slack or discord; default the support platform
	Account  string   `yaml:"account"`  // a configured X support account: its user id or @handle
	Language string   `yaml:"language"` // en, zh, ja, ko
	Keywords []string `yaml:"keywords"` // any of them in the first message
	Channel  string   `yaml:"channel"`
}

// XConfig is the X side: the support accounts and how events arrive. The
// user_id, handle and token keys here are the first support account (the
// only one, unless Accounts adds more); the consumer key and secret are
// the app's, which every account shares.
type XConfig struct {
	APIURL            string        `yaml:"api_url" env:"XBRIDGE_X_API_URL" help:"X API base URL"`
	UserID            string        `yaml:"user_id" env:"XBRIDGE_X_USER_ID" help:"the support account's numeric X user id"`
	Handle            string        `yaml:"handle" env:"XBRIDGE_X_HANDLE" help:"the support account's @handle, without @"`
	ConsumerKey       string        `yaml:"consumer_key" env:"XBRIDGE_X_CONSUMER_KEY" secret:"true" help:"OAuth 1.0a API key"`
	ConsumerSecret    string        `yaml:"consumer_secret" env:"XBRIDGE_X_CONSUMER_SECRET" secret:"true" help:"OAuth 1.0a API key secret; also signs webhooks"`
	AccessToken       string        `yaml:"access_token" env:"XBRIDGE_X_ACCESS_TOKEN" secret:"true" help:"OAuth 1.0a access token of the support account"`
	AccessTokenSecret string        `yaml:"access_token_secret" env:"XBRIDGE_X_ACCESS_TOKEN_SECRET" secret:"true" help:"OAuth 1.0a access token secret"`
	UserToken         string        `yaml:"user_token" env:"XBRIDGE_X_USER_TOKEN" secret:"true" help:"OAuth 2.0 user token (instead of OAuth 1.0a)"`
	Ingest            string        `yaml:"ingest" env:"XBRIDGE_X_INGEST" help:"webhook, poll or both"`
	DMPollInterval    time.Duration `yaml:"dm_poll_interval" env:"XBRIDGE_X_DM_POLL_INTERVAL" help:"minimum time between DM polls"`
	MentionInterval   time.Duration `yaml:"mention_poll_interval" env:"XBRIDGE_X_MENTION_POLL_INTERVAL" help:"minimum time between mention polls"`
	Backfill          time.Duration `yaml:"backfill" env:"XBRIDGE_X_BACKFILL" help:"on the first poll, ingest events this recent"`
	// Accounts are further support accounts. Each key of the n-th (from 0)
	// has the environment variable XBRIDGE_X_ACCOUNTS_<n>_<KEY>, and
	// XBRIDGE_X_ACCOUNTS_<n>_USER_ID alone adds an account.
	Accounts []XAccountConfig `yaml:"accounts" env:"XBRIDGE_X_ACCOUNTS"`
}

// SlackConfig is the Slack workspace where agents work.
type SlackConfig struct {
	APIURL        string `yaml:"api_url" env:"XBRIDGE_SLACK_API_URL" help:"Slack Web API base URL, ending in /"`
	BotToken      string `yaml:"bot_token" env:"XBRIDGE_SLACK_BOT_TOKEN" secret:"true" help:"Bot User OAuth Token (xoxb-…)"`
	AppToken      string `yaml:"app_token" env:"XBRIDGE_SLACK_APP_TOKEN" secret:"true" help:"app-level token (xapp-…); set for Socket Mode"`
	SigningSecret string `yaml:"signing_secret" env:"XBRIDGE_SLACK_SIGNING_SECRET" secret:"true" help:"signing secret; needed for the HTTP Events API"`
	Channel       string `yaml:"channel" env:"XBRIDGE_SLACK_CHANNEL" help:"channel id (C…) where conversations become threads"`
	RatePerSecond int    `yaml:"rate_per_second" env:"XBRIDGE_SLACK_RATE_PER_SECOND" help:"messages per second per channel (0: unlimited)"`
}

// DiscordConfig is the Discord server where agents work.
type DiscordConfig struct {
	APIURL    string `yaml:"api_url" env:"XBRIDGE_DISCORD_API_URL" help:"Discord base URL (proxies, tests)"`
	BotToken  string `yaml:"bot_token" env:"XBRIDGE_DISCORD_BOT_TOKEN" secret:"true" help:"the bot's token (Developer Portal → Bot)"`
	AppID     string `yaml:"app_id" env:"XBRIDGE_DISCORD_APP_ID" help:"the application id"`
	PublicKey string `yaml:"public_key" env:"XBRIDGE_DISCORD_PUBLIC_KEY" help:"the application's public key, to verify HTTP interactions"`
	GuildID   string `yaml:"guild_id" env:"XBRIDGE_DISCORD_GUILD_ID" help:"the server (guild) id"`
	Channel   string `yaml:"channel" env:"XBRIDGE_DISCORD_CHANNEL" help:"forum or text channel id where conversations become posts or threads"`
	// Roles are Discord role ids (or user ids).
	Agents    []string `yaml:"agents" env:"XBRIDGE_DISCORD_AGENTS" help:"comma-separated role ids of agents"`
	Engineers []string `yaml:"engineers" env:"XBRIDGE_DISCORD_ENGINEERS" help:"comma-separated role ids of engineers"`
	Leads     []string `yaml:"leads" env:"XBRIDGE_DISCORD_LEADS" help:"comma-separated role ids of leads"`
}

// DispatchConfig tunes outbox delivery.
type DispatchConfig struct {
	Workers     int           `yaml:"workers" env:"XBRIDGE_DISPATCH_WORKERS" help:"concurrent deliveries"`
	MaxAttempts int           `yaml:"max_attempts" env:"XBRIDGE_DISPATCH_MAX_ATTEMPTS" help:"tries before a temporary failure is final"`
	Lease       time.Duration `yaml:"lease" env:"XBRIDGE_DISPATCH_LEASE" help:"how long a delivery may take before it counts as crashed"`
}

// DefaultConfig is what xbridge runs with when nothing is set.
func DefaultConfig() Config {
	return Config{
		DatabaseURL:   "sqlite:xbridge.db",
		HTTPAddr:      ":8080",
		LogLevel:      "info",
		SendDelay:     10 * time.Second,
		NotePrefix:    "//",
		CommandPrefix: "!",
		ReopenWindow:  7 * 24 * time.Hour,
		X: XConfig{
			APIURL:          "https://api.x.com",
			Ingest:          "webhook",
			DMPollInterval:  time.Minute,
			MentionInterval: 15 * time.Second,
		},
		Slack:     SlackConfig{APIURL: "https://slack.com/api/", RatePerSecond: 1},
		Discord:   DiscordConfig{APIURL: "https://discord.com"},
		Dispatch:  DispatchConfig{Workers: 8, MaxAttempts: 8, Lease: 2 * time.Minute},
		Media:     MediaConfig{MaxBytes: bridge.DefaultMediaMaxBytes},
		SLA:       SLAConfig{Enabled: true, Hours: "24/7", ReAlertEvery: 30 * time.Minute, ReAlertMax: 3},
		FirstTier: defaultFirstTier(),
	}
}

// LoadConfig reads the YAML file at path (if path is not empty), then the
// environment. Problems are collected, not stopped at, so the admin sees
// every one at once.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	var problems []string
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config file %s: %w (check the key names and that durations look like 10s or 5m)", path, err)
		}
	}
	cfg.X.addAccountsFromEnv(getenv)
	forEachSetting(&cfg, "", func(s setting) {
		v, from, ok := lookupEnv(getenv, s.env)
		if !ok {
			return
		}
		if err := s.set(v); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s from %s): %v", s.key, s.env, from, err))
		}
	})
	if len(problems) > 0 {
		return cfg, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

// lookupEnv reads ENV, or the file named by ENV_FILE.
func lookupEnv(getenv func(string) string, env string) (value, from string, ok bool) {
	if v := getenv(env); v != "" {
		return v, "environment", true
	}
	if f := getenv(env + "_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", env + "_FILE", true // set() will report the empty value below
		}
		return strings.TrimSpace(string(b)), env + "_FILE", true
	}
	return "", "", false
}

// ConfigError lists every problem found in a configuration.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "configuration has " + strconv.Itoa(len(e.Problems)) + " problem(s):\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Validate checks the configuration for serving and names every problem
// with its key, its environment variable and the fix.
func (c *Config) Validate() error {
	var p []string
	add := func(key, env, msg string) { p = append(p, fmt.Sprintf("%s (%s): %s", key, env, msg)) }
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		add("database_url", "XBRIDGE_DATABASE_URL", "must start with sqlite: or postgres://, e.g. sqlite:xbridge.db")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log_level", "XBRIDGE_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.SendDelay < 0 || c.SendDelay > 10*time.Minute {
		add("send_delay", "XBRIDGE_SEND_DELAY", "must be between 0s and 10m")
	}
	if c.NotePrefix == "" {
		add("note_prefix", "XBRIDGE_NOTE_PREFIX", "must not be empty: agents need a way to write internal notes (default //)")
	}
	p = append(p, c.X.problems()...)
	uses := c.Platforms()
	switch c.supportPlatform() {
	case "slack", "discord":
	default:
		add("support_platform", "XBRIDGE_SUPPORT_PLATFORM", "must be slack or discord; set the bot token of the one your team uses")
	}
	if uses["slack"] {
		s := c.Slack
		if s.BotToken == "" {
			add("slack.bot_token", "XBRIDGE_SLACK_BOT_TOKEN", "required: install the Slack app (xbridge manifest slack) and copy its Bot User OAuth Token (xoxb-…)")
		} else if !strings.HasPrefix(s.BotToken, "xoxb-") {
			add("slack.bot_token", "XBRIDGE_SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
		}
		if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
			add("slack.app_token", "XBRIDGE_SLACK_APP_TOKEN", "must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write)")
		}
		if s.AppToken == "" && s.SigningSecret == "" {
			add("slack.signing_secret", "XBRIDGE_SLACK_SIGNING_SECRET", "required unless Socket Mode is used (XBRIDGE_SLACK_APP_TOKEN): Basic Information → Signing Secret")
		}
		if s.Channel == "" && c.supportPlatform() == "slack" {
			add("slack.channel", "XBRIDGE_SLACK_CHANNEL", "required: the id (C…) of the support channel; invite the app to it")
		}
		if !strings.HasSuffix(s.APIURL, "/") {
			add("slack.api_url", "XBRIDGE_SLACK_API_URL", "must end with / (e.g. https://slack.com/api/)")
		}
		if s.RatePerSecond < 0 {
			add("slack.rate_per_second", "XBRIDGE_SLACK_RATE_PER_SECOND", "must be 0 (unlimited) or more")
		}
	}
	if uses["discord"] {
		d := c.Discord
		for _, f := range []struct{ key, env, v, fix string }{
			{"discord.bot_token", "XBRIDGE_DISCORD_BOT_TOKEN", d.BotToken, "the bot's token (Developer Portal → Bot → Reset Token)"},
			{"discord.app_id", "XBRIDGE_DISCORD_APP_ID", d.AppID, "the application id (Developer Portal → General Information)"},
			{"discord.guild_id", "XBRIDGE_DISCORD_GUILD_ID", d.GuildID, "the server id (Developer Mode → right-click the server → Copy Server ID)"},
		} {
			if f.v == "" {
				add(f.key, f.env, "required: "+f.fix)
			}
		}
		if d.Channel == "" && c.supportPlatform() == "discord" {
			add("discord.channel", "XBRIDGE_DISCORD_CHANNEL", "required: the id of the forum or text channel where conversations go")
		}
	}
	for i, r := range c.Routing.Rules {
		if r.Platform != "" && r.Platform != "slack" && r.Platform != "discord" {
			add(fmt.Sprintf("routing.rules[%d].platform", i), "YAML only", "must be slack or discord")
		}
	}
	if p := c.Escalation.Platform; p != "" && p != "slack" && p != "discord" {
		add("escalation.platform", "XBRIDGE_ESCALATION_PLATFORM", "must be slack or discord")
	}
	for name, text := range c.SavedReplies {
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") || text.empty() {
			add("saved_replies."+name, "YAML only", "each saved reply needs a one-word name and a text")
		}
	}
	if c.Escalation.OnCall != "" && !strings.HasPrefix(c.Escalation.OnCall, "<") {
		add("escalation.on_call", "XBRIDGE_ESCALATION_ON_CALL", "write it in the platform's markup: Slack <!subteam^S0123> or <@U0123>, Discord <@&role-id> or <@user-id>")
	}
	for _, r := range []struct {
		key, env string
		list     []string
	}{{"roles.agents", "XBRIDGE_ROLES_AGENTS", c.Roles.Agents}, {"roles.engineers", "XBRIDGE_ROLES_ENGINEERS", c.Roles.Engineers},
		{"roles.leads", "XBRIDGE_ROLES_LEADS", c.Roles.Leads}} {
		for _, e := range r.list {
			if !strings.HasPrefix(e, "@") && !strings.HasPrefix(e, "U") && !strings.HasPrefix(e, "W") && !strings.HasPrefix(e, "S") {
				add(r.key, r.env, fmt.Sprintf("%q is neither a user id (U…), a user group id (S…) nor a group handle (@support)", e))
			}
		}
	}
	switch c.Routing.AutoAssign {
	case "", "off", "round_robin", "least_open":
	default:
		add("routing.auto_assign", "XBRIDGE_AUTO_ASSIGN", "must be off, round_robin or least_open")
	}
	for i, r := range c.Routing.Rules {
		if r.Channel == "" {
			add(fmt.Sprintf("routing.rules[%d].channel", i), "YAML only", "every rule needs the channel id (C…) it routes to")
		}
		if r.Account == "" && r.Language == "" && len(r.Keywords) == 0 {
			add(fmt.Sprintf("routing.rules[%d]", i), "YAML only", "a rule needs an account, a language or keywords to match; the default channel is slack.channel")
		}
		if _, ok := c.X.accountID(r.Account); r.Account != "" && !ok {
			add(fmt.Sprintf("routing.rules[%d].account", i), "YAML only", c.X.unknownAccount(r.Account))
		}
	}
	for i, pol := range c.SLA.Policies {
		if _, ok := c.X.accountID(pol.Account); pol.Account != "" && !ok {
			add(fmt.Sprintf("sla.policies[%d].account", i), "YAML only", c.X.unknownAccount(pol.Account))
		}
	}
	if _, slaProblems := c.SLA.build(); len(slaProblems) > 0 {
		p = append(p, slaProblems...)
	}
	if _, tierProblems := c.FirstTier.build(); len(tierProblems) > 0 {
		p = append(p, tierProblems...)
	}
	if c.Media.MaxBytes < 1 {
		add("media.max_bytes", "XBRIDGE_MEDIA_MAX_BYTES", "must be a size such as 100MB, 1GB or a number of bytes")
	}
	if c.Dispatch.Workers < 1 || c.Dispatch.MaxAttempts < 1 || c.Dispatch.Lease < 10*time.Second {
		add("dispatch.workers", "XBRIDGE_DISPATCH_WORKERS", "workers and max_attempts must be at least 1 and lease at least 10s")
	}
	if len(p) > 0 {
		return &ConfigError{Problems: p}
	}
	return nil
}

// supportPlatform is where new conversations go.
func (c *Config) supportPlatform() string {
	switch {
	case c.SupportPlatform != "":
		return c.SupportPlatform
	case c.Slack.BotToken == "" && c.Discord.BotToken != "":
		return "discord"
	}
	return "slack"
}

// supportChannel is the channel of the support platform.
func (c *Config) supportChannel() string {
	if c.supportPlatform() == "discord" {
		return c.Discord.Channel
	}
	return c.Slack.Channel
}

// escalationPlatform is where the engineering channel is.
func (c *Config) escalationPlatform() string {
	if c.Escalation.Platform != "" {
		return c.Escalation.Platform
	}
	return c.supportPlatform()
}

// Platforms lists the chat platforms the configuration uses: the support
// platform, the escalation platform and those routing rules name.
func (c *Config) Platforms() map[string]bool {
	uses := map[string]bool{c.supportPlatform(): true}
	if c.Escalation.Channel != "" {
		uses[c.escalationPlatform()] = true
	}
	for _, r := range c.Routing.Rules {
		if r.Platform != "" {
			uses[r.Platform] = true
		}
	}
	return uses
}

// setting is one leaf of Config with its key and environment variable.
type setting struct {
	key, env, help string
	secret         bool
	field          reflect.Value
}

func (s setting) set(v string) error {
	if tu, ok := s.field.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return tu.UnmarshalText([]byte(v))
	}
	switch s.field.Interface().(type) {
	case string:
		s.field.SetString(v)
	case time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration; write it like 10s, 5m or 1h", v)
		}
		s.field.SetInt(int64(d))
	case int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		s.field.SetInt(int64(n))
	case bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		s.field.SetBool(b)
	case []string:
		var list []string
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		s.field.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported setting type %s", s.field.Type())
	}
	return nil
}

// forEachSetting walks the leaves of a config struct. A slice of structs
// with an env tag is walked element by element: the n-th element's keys
// are key[n].leaf and their variables <ENV>_<n>_<LEAF ENV>.
func forEachSetting(v any, prefix string, fn func(setting)) {
	walkSettings(reflect.ValueOf(v).Elem(), prefix, "", fn)
}

func walkSettings(rv reflect.Value, prefix, envPrefix string, fn func(setting)) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		key := prefix + f.Tag.Get("yaml")
		env := f.Tag.Get("env")
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)):
			walkSettings(rv.Field(i), key+".", envPrefix, fn)
			continue
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && env != "":
			for n := 0; n < rv.Field(i).Len(); n++ {
				walkSettings(rv.Field(i).Index(n), fmt.Sprintf("%s[%d].", key, n), fmt.Sprintf("%s%s_%d_", envPrefix, env, n), fn)
			}
			continue
		case env == "":
			continue // YAML only
		}
		fn(setting{key: key, env: envPrefix + env, help: f.Tag.Get("help"), secret: f.Tag.Get("secret") == "true", field: rv.Field(i)})
	}
}
