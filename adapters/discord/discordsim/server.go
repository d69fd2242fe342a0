// Package discordsim simulates the parts of Discord that xbridge talks to: the
// HTTP API (checked against Discord's own OpenAPI description), the Gateway
// (WebSocket, JSON encoding, as github.com/bwmarrin/discordgo v0.29.0 speaks
// it) and interactions, delivered over the Gateway or as signed HTTP POSTs to
// an interactions endpoint URL. It is an http.Handler meant for
// httptest.NewServer and for the demo command.
//
// discordgo computes its endpoint URLs when its package loads, so point it at
// the simulator with an http.Client whose transport rewrites the scheme and
// host of https://discord.com/ to the simulator's; the Gateway URL is the one
// the simulator answers to GET /api/v9/gateway. Tests make simulated members
// act with PostAsUser, React, ClickButton, SlashCommand and so on, and
// observe the guild with Messages, Threads, Commands and Violations.
package discordsim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xbridge/xbridge/adapters/httpclient"
)

// Options configures a Server. Zero fields take the defaults noted. Ids are
// Discord snowflakes: decimal strings.
type Options struct {
	BotToken    string // the bot's token, without "Bot " (required)
	BotUserID   string // the bot user's id; default "1100000000000000001"
	BotUsername string // default "xbridge"
	AppID       string // the application's id; default BotUserID, as for apps made since 2020
	GuildID     string // the one guild the bot is in; default "1200000000000000001"
	GuildName   string // default "xbridge support"

	// SigningKey signs HTTP interaction deliveries; a key is generated when
	// nil. PublicKeyHex gives what the developer portal shows.
	SigningKey ed25519.PrivateKey

	// HeartbeatInterval is sent in the Gateway's HELLO; default 41.25 s,
	// Discord's. A connection that sends no heartbeat for twice the interval
	// (plus a second) is closed as a zombie.
	HeartbeatInterval time.Duration

	// Now is the clock of snowflakes, timestamps, rate-limit windows and
	// interaction token lifetimes; time.Now when nil. The 3-second deadline
	// of interaction answers runs on the wall clock.
	Now func() time.Time

	// RateLimits enforces Discord's per-route buckets (message create: 5 per
	// 5 s per channel; reactions: 1 per 250 ms per channel; interaction
	// follow-ups: 5 per 2 s per token; other routes 50 per second) and the
	// global 50 requests per second, answering 429. The X-RateLimit-*
	// headers are sent either way; without RateLimits nothing is consumed.
	RateLimits bool

	// DisabledPrivilegedIntents lists the privileged intents NOT enabled for
	// the app in the developer portal (IntentGuildMembers,
	// IntentGuildPresences, IntentMessageContent). An IDENTIFY asking for one
	// is closed with 4014, and without IntentMessageContent enabled the
	// HTTP API also hides the content of others' messages.
	DisabledPrivilegedIntents int

	// BaseURL is the simulator's URL as clients reach it ("http://host:port"),
	// used for the Gateway URL and attachment URLs. By default it is learnt
	// from the Host of each request (SetBaseURL sets it later).
	BaseURL string

	// InteractionTimeout is how long an app has to answer an interaction
	// (Discord's 3 s); default 3 s.
	InteractionTimeout time.Duration
	// FollowUpWait is how long ClickButton and SlashCommand wait, after a
	// deferred answer (types 5 and 6), for the first follow-up or edit of the
	// original response; default 2 s.
	FollowUpWait time.Duration
	// HTTPClient delivers HTTP interactions; default a plain client (the
	// deadline is InteractionTimeout).
	HTTPClient *http.Client
}

// Gateway intents (https://discord.com/developers/docs/topics/gateway#gateway-intents).
const (
	IntentGuilds                = 1 << 0
	IntentGuildMembers          = 1 << 1 // privileged
	IntentGuildPresences        = 1 << 8 // privileged
	IntentGuildMessages         = 1 << 9
	IntentGuildMessageReactions = 1 << 10
	IntentDirectMessages        = 1 << 12
	IntentMessageContent        = 1 << 15 // privileged
	privilegedIntents           = IntentGuildMembers | IntentGuildPresences | IntentMessageContent
	allIntents                  = 1<<26 - 1
)

// Server is a simulated Discord guild with one installed bot application.
type Server struct {
	opts Options
	key  ed25519.PrivateKey

	mu           sync.Mutex
	baseURL      string
	channels     map[string]*channel
	channelOrder []string
	members      map[string]*Member
	memberOrder  []string
	roles        []Role
	commands     []*command
	interactions map[string]*interaction
	attachments  map[string]*Attachment // by attachment id
	nonces       map[string]sentNonce   // by channel and nonce: messages created with enforce_nonce
	violations   []string
	calls        []Call
	observers    []func(Call)
	faults       []*faultRule
	limits       map[string]*window
	lastID       uint64
	interURL     string
	created      time.Time // the guild's creation, members' joined_at

	gw gatewayState

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// New returns a simulator configured by opts. It loads the embedded API
// description (once per process).
func New(opts Options) (*Server, error) {
	if opts.BotToken == "" {
		return nil, errors.New("discordsim: BotToken is required")
	}
	opts.BotToken = strings.TrimPrefix(opts.BotToken, "Bot ")
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.BotUserID, "1100000000000000001")
	def(&opts.BotUsername, "xbridge")
	def(&opts.AppID, opts.BotUserID)
	def(&opts.GuildID, "1200000000000000001")
	def(&opts.GuildName, "xbridge support")
	for _, id := range []string{opts.BotUserID, opts.AppID, opts.GuildID} {
		if !isSnowflake(id) {
			return nil, fmt.Errorf("discordsim: id %q is not a snowflake (a decimal number)", id)
		}
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 41250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InteractionTimeout <= 0 {
		opts.InteractionTimeout = 3 * time.Second
	}
	if opts.FollowUpWait <= 0 {
		opts.FollowUpWait = 2 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpclient.Own(nil, 0)
	}
	key := opts.SigningKey
	if key == nil {
		var err error
		if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, fmt.Errorf("discordsim: generate signing key: %w", err)
		}
	}
	if _, err := loadSpec(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:         opts,
		key:          key,
		baseURL:      strings.TrimSuffix(opts.BaseURL, "/"),
		channels:     map[string]*channel{},
		members:      map[string]*Member{},
		interactions: map[string]*interaction{},
		attachments:  map[string]*Attachment{},
		nonces:       map[string]sentNonce{},
		limits:       map[string]*window{},
		done:         make(chan struct{}),
	}
	s.created = opts.Now()
	s.gw.init()
	s.roles = []Role{{ID: opts.GuildID, Name: "@everyone"}}
	s.addMemberLocked(Member{ID: opts.BotUserID, Username: opts.BotUsername, Bot: true})
	return s, nil
}

// Close closes Gateway connections and stops background work. The Server
// must not be used afterwards.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.DropGatewayConnections()
		s.wg.Wait()
	})
}

// PublicKey returns the public half of the key that signs HTTP interactions.
func (s *Server) PublicKey() ed25519.PublicKey {
	return s.key.Public().(ed25519.PublicKey)
}

// PublicKeyHex returns the public key as the developer portal shows it.
func (s *Server) PublicKeyHex() string { return hex.EncodeToString(s.PublicKey()) }

// SetBaseURL sets the simulator's URL as clients reach it, e.g. the URL of
// the httptest.Server serving it.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.BaseURL = strings.TrimSuffix(u, "/")
	s.baseURL = s.opts.BaseURL
}

// ServeHTTP serves the HTTP API under /api/v9/ and /api/v10/, the Gateway
// WebSocket at /gateway and attachments under /attachments/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.learnBaseURL(r)
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/"):
		s.serveREST(w, r)
	case p == "/gateway" || p == "/gateway/":
		s.serveGateway(w, r)
	case strings.HasPrefix(p, "/attachments/"):
		s.serveAttachment(w, r)
	default:
		writeJSON(w, http.StatusNotFound, obj{"message": "404: Not Found", "code": 0})
	}
}

// learnBaseURL remembers the scheme and host the simulator was reached at,
// unless Options.BaseURL (or SetBaseURL) fixed it. A request whose Host is
// still Discord's (a client transport that rewrote only the URL) teaches
// the local address it arrived at instead.
func (s *Server) learnBaseURL(r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil && isDiscordHost(h) || isDiscordHost(host) || host == "" {
		addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !ok {
			return
		}
		host = addr.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.BaseURL == "" {
		s.baseURL = scheme + "://" + host
	}
}

func isDiscordHost(h string) bool {
	return h == "discord.com" || strings.HasSuffix(h, ".discord.com") || h == "discordapp.com" || strings.HasSuffix(h, ".discordapp.com")
}

// baseLocked returns the simulator's URL; callers hold s.mu.
func (s *Server) baseLocked() string {
	if s.baseURL == "" {
		return "http://discord.sim.local"
	}
	return s.baseURL
}

// gatewayURLLocked is the Gateway URL handed to clients.
func (s *Server) gatewayURLLocked() string {
	b := s.baseLocked()
	switch {
	case strings.HasPrefix(b, "https://"):
		b = "wss://" + strings.TrimPrefix(b, "https://")
	case strings.HasPrefix(b, "http://"):
		b = "ws://" + strings.TrimPrefix(b, "http://")
	}
	return b + "/gateway"
}

func (s *Server) now() time.Time { return s.opts.Now() }

// discordEpoch is the first millisecond of 2015, the origin of snowflakes.
const discordEpoch = 1420070400000

// snowflakeLocked returns a new id, greater than every one handed out before,
// whose timestamp part is the simulator's clock.
func (s *Server) snowflakeLocked() string {
	ms := s.now().UnixMilli() - discordEpoch
	id := uint64(max(ms, 0)) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

// isSnowflake reports whether id is a decimal snowflake.
func isSnowflake(id string) bool {
	if id == "" || len(id) > 20 || (id[0] == '0' && id != "0") {
		return false
	}
	_, err := strconv.ParseUint(id, 10, 64)
	return err == nil
}

// timestamp formats t as Discord does (ISO 8601, microseconds, +00:00).
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// obj is a JSON object being built.
type obj = map[string]any

// marshal encodes v as JSON without HTML escaping.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("discordsim: marshal: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b := marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
