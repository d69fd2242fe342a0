package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xbridge/xbridge/adapters/discord"
	"github.com/xbridge/xbridge/adapters/prom"
	"github.com/xbridge/xbridge/adapters/sentiment"
	"github.com/xbridge/xbridge/adapters/slack"
	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/adapters/webhook"
	"github.com/xbridge/xbridge/adapters/x"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Main is a running xbridge: the store, the domain services, the adapters
// and the HTTP server, wired explicitly.
type Main struct {
	Config Config
	Logger *slog.Logger
	Clock  bridge.Clock
	// HTTPClient, when set, is the base client for the platform APIs;
	// default platformClient.
	HTTPClient *http.Client

	Store      *sqlstore.DB
	Metrics    *prom.Metrics
	Service    *bridge.Service
	Dispatcher *bridge.Dispatcher
	X          *x.Accounts
	Pollers    []*x.Poller // one per account that polls
	Scheduler  *bridge.Scheduler
	Slack      *slack.Adapter
	Discord    *discord.Adapter

	listener net.Listener
	server   *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu        sync.Mutex
	checks    map[string]error // last result of checking each platform
	directory map[string]directory
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Clock: bridge.SystemClock{}}
}

// Run opens the store, applies migrations, starts every worker and the
// HTTP server, and returns once serving. Close stops it.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	if m.Clock == nil {
		m.Clock = bridge.SystemClock{}
	}
	if err := m.Config.Validate(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	cfg := m.Config
	if m.HTTPClient == nil {
		m.HTTPClient = platformClient(cfg.Dispatch.Workers)
	}
	if m.Store, err = sqlstore.Open(ctx, cfg.DatabaseURL, m.Logger); err != nil {
		return err
	}
	m.Store.Now = m.Clock.Now
	if err = m.Store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	m.Metrics = prom.New(func(ctx context.Context) (bridge.OutboxStats, error) {
		return m.Store.OutboxStats(ctx, m.Clock.Now())
	})
	m.Metrics.WatchTier(m.Store.TierStats, m.Clock.Now)
	if m.X, err = newXAccounts(cfg.X, m.HTTPClient, m.Logger); err != nil {
		return err
	}
	uses := cfg.Platforms()
	chats := map[string]bridge.ChatPlatform{}
	m.directory = map[string]directory{}
	if uses["slack"] {
		if m.Slack, err = slack.New(slack.Config{
			APIURL: cfg.Slack.APIURL, BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken,
			SigningSecret: cfg.Slack.SigningSecret, HTTPClient: m.HTTPClient,
			Roles: slack.Roles{Agents: cfg.Roles.Agents, Engineers: cfg.Roles.Engineers, Leads: cfg.Roles.Leads},
		}, m.Logger); err != nil {
			return err
		}
		chats["slack"], m.directory["slack"] = m.Slack, m.Slack
	}
	if uses["discord"] {
		if m.Discord, err = discord.New(discord.Config{
			Token: cfg.Discord.BotToken, AppID: cfg.Discord.AppID, PublicKey: cfg.Discord.PublicKey,
			GuildID: cfg.Discord.GuildID, APIURL: cfg.Discord.APIURL, HTTPClient: m.HTTPClient,
			Roles: discord.Roles{Agents: cfg.Discord.Agents, Engineers: cfg.Discord.Engineers, Leads: cfg.Discord.Leads},
		}, m.Logger); err != nil {
			return err
		}
		chats["discord"], m.directory["discord"] = m.Discord, m.Discord
	}
	rates := map[string]bridge.Rate{
		// X's budgets per 15 minutes: DM send 15, POST /2/tweets 100.
		"x:dm":    {Every: time.Minute, Burst: 15},
		"x:tweet": {Every: 9 * time.Second, Burst: 100},
	}
	if cfg.Slack.RatePerSecond > 0 {
		// chat.postMessage: about one message per second per channel;
		// chat.update and reactions are Tier 3, about 50 a minute.
		rates["slack:post"] = bridge.Rate{Every: time.Second / time.Duration(cfg.Slack.RatePerSecond), Burst: 3}
		rates["slack:edit"] = bridge.Rate{Every: time.Second, Burst: 10}
	}
	// Discord: 5 messages per 5 seconds per channel.
	rates["discord:post"] = bridge.Rate{Every: time.Second, Burst: 5}
	rates["discord:edit"] = bridge.Rate{Every: time.Second, Burst: 5}
	m.Dispatcher = &bridge.Dispatcher{
		Store: m.Store, Clock: m.Clock, Logger: m.Logger.With("component", "dispatcher"),
		Chat:    chats,
		X:       m.X,
		Limits:  &bridge.LaneLimiter{Rates: rates},
		Workers: cfg.Dispatch.Workers, MaxAttempts: cfg.Dispatch.MaxAttempts, Lease: cfg.Dispatch.Lease,
		Observe: m.Metrics,
	}
	m.Dispatcher.EngOnCall = cfg.Escalation.OnCall
	if accounts := cfg.X.accounts(); len(accounts) > 1 {
		// Agents answering in a shared channel see which account they
		// answer as.
		m.Dispatcher.AccountHandles = map[string]string{}
		for _, a := range accounts {
			m.Dispatcher.AccountHandles[a.UserID] = a.handle()
		}
	}
	m.Dispatcher.MediaRules, m.Dispatcher.MediaMaxBytes = x.Rules{}, int64(cfg.Media.MaxBytes)
	m.Service = &bridge.Service{
		Store: m.Store, Clock: m.Clock, Logger: m.Logger.With("component", "service"),
		Rules:        x.Rules{},
		ChatPlatform: cfg.supportPlatform(), ChatChannel: cfg.supportChannel(),
		SendDelay: cfg.SendDelay, NotePrefix: cfg.NotePrefix, CommandPrefix: cfg.CommandPrefix,
		ReopenWindow:   cfg.ReopenWindow,
		Routes:         cfg.routes(),
		AutoAssign:     strings.TrimPrefix(cfg.Routing.AutoAssign, "off"),
		Escalation:     bridge.Escalations{Platform: cfg.escalationPlatform(), Channel: cfg.Escalation.Channel, OnCall: cfg.Escalation.OnCall},
		ClosingMessage: cfg.ClosingMessage,
		SavedReplies:   savedReplies(cfg.SavedReplies),
		MediaMaxBytes:  int64(cfg.Media.MaxBytes),
		Roles: func(platform, id string) []bridge.Role {
			if d, ok := m.directory[platform]; ok {
				return d.RolesOf(id)
			}
			return nil
		},
		Names: func(platform, id string) string {
			if d, ok := m.directory[platform]; ok {
				return d.NameOf(id)
			}
			return ""
		},
		Wake: m.Dispatcher.Wake, Handoff: m.Dispatcher, Observe: m.Metrics,
	}
	exec := commands.Service{Bridge: m.Service}
	if m.Slack != nil {
		m.Slack.SetCommands(commands.NewProcessor(cfg.CommandPrefix), exec)
	}
	if m.Discord != nil {
		m.Discord.SetHandler(m.Service)
		m.Discord.SetCommands(commands.NewProcessor(cfg.CommandPrefix), exec)
	}
	if m.Service.SLA = cfg.sla(); m.Service.SLA != nil {
		m.Scheduler = &bridge.Scheduler{Store: m.Store, Clock: m.Clock, Logger: m.Logger.With("component", "sla"),
			Service: m.Service, Fired: m.Metrics.AlertFired}
		m.Service.WakeScheduler = m.Scheduler.WakeAt
	}
	if m.Service.Tier, _ = cfg.FirstTier.build(); m.Service.Tier != nil {
		m.Dispatcher.ReadPolicy = cmp.Or(m.Service.Tier.ReadPolicy, bridge.ReadOnReply)
		if cfg.FirstTier.Sentiment {
			m.Service.Tier.Scorer = sentiment.New()
		}
	}
	if cfg.SLA.WebhookURL != "" {
		m.Dispatcher.Pager = &webhook.Pager{URL: cfg.SLA.WebhookURL, Secret: cfg.SLA.WebhookSecret, Client: m.HTTPClient, Now: m.Clock.Now}
	}

	m.checks = map[string]error{"x": errNotChecked}
	for name := range chats {
		m.checks[name] = errNotChecked
	}
	if m.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fmt.Errorf("http_addr (XBRIDGE_HTTP_ADDR) %s: %w", cfg.HTTPAddr, err)
	}
	m.server = &http.Server{Handler: m.routes(), ReadHeaderTimeout: 10 * time.Second}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.goRun("http", func() error {
		if err := m.server.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	m.goRun("dispatcher", func() error { return m.Dispatcher.Run(runCtx) })
	m.goRun("checks", func() error { m.checkPlatforms(runCtx); return nil })
	for i, a := range cfg.X.accounts() { // newXAccounts kept this order
		if a.polls() {
			m.Pollers = append(m.Pollers, &x.Poller{
				Client: m.X.Clients()[i], In: m.Service, Cursors: m.Service, Clock: m.Clock,
				Logger: m.Logger.With("component", "poller", "account", a.UserID), Observe: xObserver{m.Metrics},
				DMInterval: cfg.X.DMPollInterval, MentionInterval: cfg.X.MentionInterval, Backfill: cfg.X.Backfill,
			})
		}
	}
	if len(m.Pollers) > 0 {
		// One leader polls every account, each with its own cursors and
		// rate-limit budgets.
		m.goRun("poller", func() error {
			bridge.RunLeading(runCtx, m.Store, "x-poller", m.Logger, func(ctx context.Context) error {
				var wg sync.WaitGroup
				for _, p := range m.Pollers {
					wg.Go(func() { _ = p.Run(ctx) })
				}
				wg.Wait()
				return nil
			})
			return nil
		})
	}
	if m.Scheduler != nil {
		m.goRun("sla scheduler", func() error { return m.Scheduler.Run(runCtx) })
	}
	if m.Slack != nil && cfg.Slack.AppToken != "" {
		m.goRun("slack socket mode", func() error { return m.Slack.RunSocketMode(runCtx, m.Service) })
	}
	m.Logger.Info("xbridge serving", "addr", m.listener.Addr().String(), "store", m.Store.Dialect(),
		"x_accounts", len(m.X.Clients()), "x_polled", len(m.Pollers), "support", cfg.supportPlatform(), "chat_platforms", len(chats))
	return nil
}

func (m *Main) goRun(name string, fn func() error) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, context.Canceled) {
			m.Logger.Error(name+" stopped", "err", err)
		}
	}()
}

// checkPlatforms verifies the credentials of X and each chat platform
// (and, for Discord, registers the slash command and opens the gateway),
// retrying with backoff while a platform is unreachable; /readyz reports
// the outcome.
func (m *Main) checkPlatforms(ctx context.Context) {
	checks := map[string]func() error{
		"x": func() error {
			for _, c := range m.X.Clients() {
				if _, err := c.Me(ctx); err != nil {
					return fmt.Errorf("account %s: %w", c.Account(), err)
				}
			}
			return nil
		},
	}
	if m.Slack != nil {
		checks["slack"] = func() error { return m.Slack.Check(ctx) }
	}
	if m.Discord != nil {
		checks["discord"] = func() error {
			if err := m.Discord.Check(ctx); err != nil {
				return err
			}
			if err := m.Discord.RegisterCommands(ctx); err != nil {
				return err
			}
			return m.Discord.Open(ctx)
		}
	}
	delay := time.Second
	for {
		failed := map[string]error{}
		for name, check := range checks {
			err := check()
			m.mu.Lock()
			m.checks[name] = err
			m.mu.Unlock()
			if err == nil {
				delete(checks, name)
			} else {
				failed[name] = err
			}
		}
		if len(checks) == 0 {
			return
		}
		m.Logger.Warn("platform check failed; retrying", "failed", failed, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Minute)
	}
}

// directory tells a chat platform's users' roles and names.
type directory interface {
	RolesOf(userID string) []bridge.Role
	NameOf(userID string) string
}

// Addr is the HTTP server's address, once running.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Close stops intake first (HTTP, polling, Socket Mode), lets the
// dispatcher finish deliveries in flight, then closes the store.
func (m *Main) Close() error {
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = m.server.Shutdown(ctx)
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.Slack != nil {
		m.Slack.Close()
	}
	if m.Discord != nil {
		m.Discord.Close()
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			return err
		}
		m.Store = nil
	}
	return nil
}

// xObserver adapts the metrics to the X adapter's observer; events the
// Service stores are counted by the Service.
type xObserver struct{ m *prom.Metrics }

func (o xObserver) Event(via, kind string)              {} // the Service counts what it stores
func (o xObserver) Ignored(via, reason string)          { o.m.Ignored("x", reason) }
func (o xObserver) Waited(what string, d time.Duration) { o.m.Waited("x:poll:"+what, d) }

var errNotChecked = errors.New("not checked yet")

// newXAccounts builds the client of every configured X support account.
func newXAccounts(cfg XConfig, hc *http.Client, logger *slog.Logger) (*x.Accounts, error) {
	var clients []*x.Client
	for _, a := range cfg.accounts() {
		c, err := x.NewClient(cfg.clientConfig(a, hc), logger)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.key, err)
		}
		clients = append(clients, c)
	}
	return x.NewAccounts(clients...)
}

// routes turns the configured routing rules into the domain's, an account
// named by @handle into its user id.
func (c *Config) routes() []bridge.Route {
	out := make([]bridge.Route, 0, len(c.Routing.Rules))
	for _, r := range c.Routing.Rules {
		platform := r.Platform
		if platform == "" {
			platform = c.supportPlatform()
		}
		account, _ := c.X.accountID(r.Account)
		out = append(out, bridge.Route{Account: account, Language: r.Language, Keywords: r.Keywords,
			Platform: platform, Channel: r.Channel})
	}
	return out
}

// sla is the SLA engine as configured (nil when off), its policies'
// accounts named by @handle turned into user ids.
func (c *Config) sla() *bridge.SLA {
	sla, _ := c.SLA.build()
	if sla == nil {
		return nil
	}
	for i, p := range sla.Policies {
		sla.Policies[i].Account, _ = c.X.accountID(p.Account)
	}
	return sla
}

// savedReplies turns the configured templates into the domain's, by name.
func savedReplies(m map[string]SavedReplyText) []bridge.SavedReply {
	out := make([]bridge.SavedReply, 0, len(m))
	for name, text := range m {
		r := bridge.SavedReply{Name: name, Text: text[""]}
		for lang, t := range text {
			if lang != "" {
				if r.ByLanguage == nil {
					r.ByLanguage = map[string]string{}
				}
				r.ByLanguage[lang] = t
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b bridge.SavedReply) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// runServe implements `xbridge serve [--check]`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "validate the configuration and connectivity, report every problem, and exit")
	configPath := fs.String("config", getenv("XBRIDGE_CONFIG"), "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	if *check {
		return checkConfig(ctx, cfg, stdout, logger)
	}
	m := NewMain()
	m.Config, m.Logger = cfg, logger
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return m.Close()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// checkConfig validates cfg and every connection it names, printing all
// problems at once.
func checkConfig(ctx context.Context, cfg Config, stdout io.Writer, logger *slog.Logger) error {
	var problems []string
	if err := cfg.Validate(); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			problems = append(problems, ce.Problems...)
		} else {
			problems = append(problems, err.Error())
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if strings.HasPrefix(cfg.DatabaseURL, "sqlite:") || strings.HasPrefix(cfg.DatabaseURL, "postgres") {
		if db, err := sqlstore.Open(ctx, cfg.DatabaseURL, logger); err != nil {
			problems = append(problems, "database_url (XBRIDGE_DATABASE_URL): "+err.Error())
		} else {
			db.Close()
		}
	}
	for _, a := range cfg.X.accounts() {
		xc, err := x.NewClient(cfg.X.clientConfig(a, nil), logger)
		if err != nil {
			continue // Validate named the problem
		}
		if me, err := xc.Me(ctx); err != nil {
			problems = append(problems, a.key+": "+err.Error())
		} else if me.ID != a.UserID {
			key, env := a.setting("user_id")
			problems = append(problems, fmt.Sprintf("%s (%s): is %s but the credentials belong to @%s (id %s)", key, env, a.UserID, me.Handle, me.ID))
		}
	}
	uses := cfg.Platforms()
	if dc, err := discord.New(discord.Config{Token: cfg.Discord.BotToken, AppID: cfg.Discord.AppID,
		PublicKey: cfg.Discord.PublicKey, GuildID: cfg.Discord.GuildID, APIURL: cfg.Discord.APIURL}, logger); uses["discord"] && err == nil {
		if err := dc.Check(ctx); err != nil {
			problems = append(problems, "discord: "+err.Error())
		}
		dc.Close()
	}
	if sl, err := slack.New(slack.Config{APIURL: cfg.Slack.APIURL, BotToken: cfg.Slack.BotToken,
		AppToken: cfg.Slack.AppToken, SigningSecret: cfg.Slack.SigningSecret,
		Roles: slack.Roles{Agents: cfg.Roles.Agents, Engineers: cfg.Roles.Engineers, Leads: cfg.Roles.Leads}}, logger); uses["slack"] && err == nil {
		if err := sl.Check(ctx); err != nil {
			problems = append(problems, "slack: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	fmt.Fprintln(stdout, "configuration OK: the database, X and the chat platforms answer with the given credentials")
	return nil
}

// runMigrate implements `xbridge migrate`.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", getenv("XBRIDGE_CONFIG"), "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.DatabaseURL, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "schema up to date")
	return nil
}

// platformClient is the base client of the platform adapters, each of
// which sets its own timeout. Its transport keeps an idle connection per
// concurrent delivery to each host: Go's default keeps two, so under load
// the rest were closed after each call and opened again, a TLS handshake
// each.
func platformClient(workers int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(workers, 16)
	t.MaxIdleConns = max(t.MaxIdleConns, 4*t.MaxIdleConnsPerHost)
	return &http.Client{Transport: t}
}
