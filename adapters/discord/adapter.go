// Package discord connects xbridge to Discord with discordgo: it implements
// bridge.ChatPlatform (cards as forum posts or as messages with a thread,
// thread posts, delivery marks, escalation cards), turns Gateway events and
// interactions (over the Gateway or signed HTTP POSTs) into bridge events
// and commands, and registers the /xb slash command generated from the
// command language.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/adapters/httpclient"
	"github.com/xbridge/xbridge/bridge"
)

// DefaultAPIURL is Discord's; REST calls go to DefaultAPIURL + "/api/v9/…".
const DefaultAPIURL = "https://discord.com"

// platformName is the bridge's name for Discord in events and rows.
const platformName = "discord"

// intents are the Gateway intents the bridge asks for. MessageContent is
// privileged: enable it in the developer portal (Bot → Privileged Gateway
// Intents).
const intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages |
	discordgo.IntentsGuildMessageReactions | discordgo.IntentsMessageContent

// Config configures an Adapter.
type Config struct {
	Token     string // XBRIDGE_DISCORD_BOT_TOKEN: the bot token, with or without "Bot "
	AppID     string // XBRIDGE_DISCORD_APP_ID: the application id (a snowflake)
	PublicKey string // XBRIDGE_DISCORD_PUBLIC_KEY: hex Ed25519 key; needed for HTTP interactions only
	GuildID   string // XBRIDGE_DISCORD_GUILD_ID: the server the bridge works in
	// APIURL is the base of REST calls and of the Gateway lookup
	// (XBRIDGE_DISCORD_API_URL), for proxies and tests; default
	// DefaultAPIURL.
	APIURL string
	// HTTPClient is the base client (transport, proxies); without one, or
	// without a Timeout, calls time out after 20 s.
	HTTPClient *http.Client
	// Roles says who is an agent, an engineer or a lead. Empty: everyone
	// is an agent.
	Roles Roles
}

// Roles lists Discord role ids, or user ids, per bridge role.
type Roles struct {
	Agents    []string
	Engineers []string
	Leads     []string
}

// Validate names every missing or malformed setting at once, with its
// environment variable.
func (c Config) Validate() error {
	var errs []error
	token := strings.TrimPrefix(strings.TrimSpace(c.Token), "Bot ")
	switch {
	case token == "":
		errs = append(errs, errors.New("discord.bot_token (XBRIDGE_DISCORD_BOT_TOKEN) is required: the token of the application's bot (developer portal → Bot → Reset Token)"))
	case strings.ContainsAny(token, " \t\r\n"):
		errs = append(errs, errors.New("discord.bot_token (XBRIDGE_DISCORD_BOT_TOKEN) must not contain spaces"))
	}
	switch {
	case c.AppID == "":
		errs = append(errs, errors.New("discord.app_id (XBRIDGE_DISCORD_APP_ID) is required: the application id (developer portal → General Information)"))
	case !isSnowflake(c.AppID):
		errs = append(errs, fmt.Errorf("discord.app_id (XBRIDGE_DISCORD_APP_ID) %q is not a Discord id (a number)", c.AppID))
	}
	switch {
	case c.GuildID == "":
		errs = append(errs, errors.New("discord.guild_id (XBRIDGE_DISCORD_GUILD_ID) is required: the id of the server (Developer Mode → right-click the server → Copy Server ID)"))
	case !isSnowflake(c.GuildID):
		errs = append(errs, fmt.Errorf("discord.guild_id (XBRIDGE_DISCORD_GUILD_ID) %q is not a Discord id (a number)", c.GuildID))
	}
	if c.PublicKey != "" {
		if _, err := parsePublicKey(c.PublicKey); err != nil {
			errs = append(errs, fmt.Errorf("discord.public_key (XBRIDGE_DISCORD_PUBLIC_KEY): %v", err))
		}
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("discord.api_url (XBRIDGE_DISCORD_API_URL) %q must be an http(s) URL such as https://discord.com", c.APIURL))
		}
	}
	errs = append(errs, c.Roles.validate()...)
	return errors.Join(errs...)
}

// parsePublicKey reads the hex Ed25519 key the developer portal shows.
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("must be the 64 hex digits of the application's public key (developer portal → General Information)")
	}
	return ed25519.PublicKey(b), nil
}

// isSnowflake reports whether s is a Discord id: a decimal number.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 || s[0] == '0' {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// Handler receives what agents do in Discord. bridge.Service implements it.
type Handler interface {
	HandleChatMessage(ctx context.Context, m bridge.ChatMessage) (bridge.Outcome, error)
	HandleChatEdit(ctx context.Context, e bridge.ChatEdit) error
	HandleChatDelete(ctx context.Context, d bridge.ChatDelete) error
	HandleChatAction(ctx context.Context, a bridge.ChatAction) error
}

// handlerBox lets a Handler live in an atomic.Pointer.
type handlerBox struct{ h Handler }

// Adapter is xbridge's connection to one Discord server.
type Adapter struct {
	cfg       Config
	session   *discordgo.Session
	downloads *http.Client // attachments from the CDN: no token, no overall timeout
	logger    *slog.Logger
	publicKey ed25519.PublicKey // nil: HTTP interactions are refused
	now       func() time.Time

	handler atomic.Pointer[handlerBox]
	cmds    atomic.Pointer[commandSet]

	botID     atomic.Value // string: the bot's user id, from READY or Check
	connected atomic.Bool  // a Gateway session is up

	channels *channelCache
	members  *memberCache
	tags     *tagMemo

	// events carries Gateway events to the one worker that hands them to
	// the Handler in the order they arrived.
	events     chan func(context.Context)
	quit       chan struct{}
	workerDone chan struct{}
	// background tracks work started after acknowledging Discord
	// (follow-ups, direct-message answers); Close waits for it.
	background sync.WaitGroup

	lifeMu  sync.Mutex
	opened  bool // Open succeeded or is under way
	working bool // the event worker runs
	closed  bool
}

var (
	_ bridge.ChatPlatform   = (*Adapter)(nil)
	_ bridge.MessageDeleter = (*Adapter)(nil)
)

// New returns an Adapter for cfg. It makes no request: Check tests the
// token and Open connects to the Gateway.
func New(cfg Config, logger *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Token = strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot ")
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{
		cfg:        cfg,
		logger:     logger.With("adapter", "discord"),
		now:        time.Now,
		events:     make(chan func(context.Context), 256),
		quit:       make(chan struct{}),
		workerDone: make(chan struct{}),
		tags:       newTagMemo(5000),
	}
	if cfg.PublicKey != "" {
		a.publicKey, _ = parsePublicKey(cfg.PublicKey)
	}
	a.botID.Store("")

	s, err := discordgo.New("Bot " + cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	s.Client = httpClient(cfg)
	downloads := *s.Client
	downloads.Timeout = 0
	a.downloads = &downloads
	s.Identify.Intents = intents
	s.StateEnabled = false           // the adapter keeps the little it needs (channels, members)
	s.SyncEvents = true              // events reach our handlers in order; the worker keeps them so
	s.ShouldRetryOnRateLimit = false // a 429 goes to the dispatcher, which honours Retry-After
	s.MaxRestRetries = 1
	s.LogLevel = discordgo.LogError // never Debug: it prints the IDENTIFY payload with the token
	a.session = s
	a.channels = newChannelCache(a)
	a.members = newMemberCache(a, 5*time.Minute)
	a.addHandlers()
	return a, nil
}

// httpClient returns the client discordgo uses: cfg.HTTPClient (or a
// default) with a transport that sends https://discord.com requests to
// cfg.APIURL when that is not Discord.
func httpClient(cfg Config) *http.Client {
	c := httpclient.Own(cfg.HTTPClient, 20*time.Second)
	if cfg.APIURL == DefaultAPIURL {
		return c
	}
	base, _ := url.Parse(cfg.APIURL) // checked by Validate
	c.Transport = &rewriter{base: base, next: c.Transport}
	return c
}

// rewriter sends requests for discord.com (where discordgo's endpoints
// point) to another base URL.
type rewriter struct {
	base *url.URL
	next http.RoundTripper
}

func (rw *rewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if h := r.URL.Hostname(); h == "discord.com" || h == "discordapp.com" {
		r = r.Clone(r.Context())
		prefix := strings.TrimSuffix(rw.base.Path, "/")
		r.URL.Scheme, r.URL.Host, r.Host = rw.base.Scheme, rw.base.Host, rw.base.Host
		if prefix != "" {
			if r.URL.RawPath != "" {
				r.URL.RawPath = strings.TrimSuffix(rw.base.EscapedPath(), "/") + r.URL.RawPath
			}
			r.URL.Path = prefix + r.URL.Path
		}
	}
	return rw.next.RoundTrip(r)
}

// SetHandler sets what receives agents' messages, edits, deletions and
// button clicks. Set it before Open.
func (a *Adapter) SetHandler(h Handler) {
	if h == nil {
		a.handler.Store(nil)
		return
	}
	a.handler.Store(&handlerBox{h: h})
}

// loadHandler returns the Handler, or nil.
func (a *Adapter) loadHandler() Handler {
	if b := a.handler.Load(); b != nil {
		return b.h
	}
	return nil
}

// Check calls GET /users/@me to test the token, remembering the bot's user
// id, and GET /guilds/{guild} to test that the bot is in the server.
func (a *Adapter) Check(ctx context.Context) error {
	me, err := a.session.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		return a.checkError("GET /users/@me", err)
	}
	a.botID.Store(me.ID)
	if _, err := a.session.Guild(a.cfg.GuildID, discordgo.WithContext(ctx)); err != nil {
		if code := statusOf(err); code == http.StatusNotFound || code == http.StatusForbidden {
			return fmt.Errorf("discord: the bot %s cannot see server %s (HTTP %d): check discord.guild_id (XBRIDGE_DISCORD_GUILD_ID) and invite the bot to the server", me.Username, a.cfg.GuildID, code)
		}
		return a.checkError("GET /guilds/"+a.cfg.GuildID, err)
	}
	a.logger.Info("discord connected", "bot", me.Username, "bot_id", me.ID, "guild", a.cfg.GuildID)
	return nil
}

// checkError explains why a check request failed, naming the setting to
// fix. The token is never part of the message.
func (a *Adapter) checkError(what string, err error) error {
	switch code := statusOf(err); {
	case code == http.StatusUnauthorized:
		return errors.New("discord: the bot token was rejected (HTTP 401): check discord.bot_token (XBRIDGE_DISCORD_BOT_TOKEN)")
	case code == http.StatusTooManyRequests || isRateLimit(err):
		return fmt.Errorf("discord: %s is rate limited; try again shortly", what)
	case code != 0:
		return fmt.Errorf("discord: %s at %s answered HTTP %d", what, a.cfg.APIURL, code)
	}
	return fmt.Errorf("discord: cannot reach the API at %s (%v): check discord.api_url (XBRIDGE_DISCORD_API_URL)", a.cfg.APIURL, redact(err, a.cfg.Token))
}

// Open connects to the Gateway and keeps the connection: discordgo
// reconnects and resumes after drops, and Connected tells whether a
// session is up. It returns once READY arrived, or with ctx's error; after
// an error it may be called again.
func (a *Adapter) Open(ctx context.Context) error {
	a.lifeMu.Lock()
	switch {
	case a.closed:
		a.lifeMu.Unlock()
		return errors.New("discord: the adapter is closed")
	case a.opened:
		a.lifeMu.Unlock()
		return errors.New("discord: the Gateway is open already")
	}
	a.opened = true
	if !a.working {
		a.working = true
		go a.work()
	}
	a.lifeMu.Unlock()

	done := make(chan error, 1)
	go func() { done <- a.session.Open() }()
	select {
	case err := <-done:
		if err != nil {
			a.setOpened(false)
			return a.openError(err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				_ = a.session.Close()
			}
			a.setOpened(false)
		}()
		return fmt.Errorf("discord: connecting to the Gateway: %w", ctx.Err())
	}
}

func (a *Adapter) setOpened(v bool) {
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()
	a.opened = v
}

// openError explains why the Gateway refused the connection.
func (a *Adapter) openError(err error) error {
	msg := redact(err, a.cfg.Token)
	switch {
	case strings.Contains(msg, "4004"):
		return errors.New("discord: the Gateway refused the bot token (4004): check discord.bot_token (XBRIDGE_DISCORD_BOT_TOKEN)")
	case strings.Contains(msg, "4014"):
		return errors.New("discord: the Gateway refused the intents (4014): enable the Message Content intent in the developer portal (Bot → Privileged Gateway Intents)")
	case strings.Contains(msg, "4013"):
		return errors.New("discord: the Gateway refused the intents (4013)")
	}
	if code := statusOf(err); code != 0 {
		return a.checkError("GET /gateway", err)
	}
	return fmt.Errorf("discord: cannot open the Gateway: %s", msg)
}

// Connected reports whether a Gateway session is up.
func (a *Adapter) Connected() bool { return a.connected.Load() }

// Close closes the Gateway connection, hands the events already received
// to the Handler and waits for work started after acknowledging Discord.
func (a *Adapter) Close() error {
	a.lifeMu.Lock()
	if a.closed {
		a.lifeMu.Unlock()
		return nil
	}
	a.closed = true
	opened, working := a.opened, a.working
	a.lifeMu.Unlock()
	var err error
	if opened {
		err = a.session.Close()
	}
	a.connected.Store(false)
	close(a.quit)
	if working {
		<-a.workerDone
	}
	a.background.Wait()
	return err
}

// goBackground runs f beside the event it belongs to, tracked for Close;
// once Close has begun it runs nothing and reports false.
func (a *Adapter) goBackground(f func()) bool {
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()
	if a.closed {
		return false
	}
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		f()
	}()
	return true
}

// self returns the bot's user id, "" before READY or Check.
func (a *Adapter) self() string { return a.botID.Load().(string) }

// redact renders err without the token.
func redact(err error, token string) string {
	s := err.Error()
	if token != "" {
		s = strings.ReplaceAll(s, token, "[token]")
	}
	return s
}
