// Package slacksim simulates the parts of Slack that xbridge talks to: the
// Web API (checked against Slack's own API description), Socket Mode, and
// signed HTTP deliveries of events, interactions and slash commands. It is an
// http.Handler meant for httptest.NewServer and for the demo command.
//
// Point slack-go at it with slack.OptionAPIURL(serverURL + "/api/"). Tests
// make simulated users act with PostAsUser, ClickButton, SlashCommand and so
// on, and observe the workspace with Message, Roots, Thread and Violations.
package slacksim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xbridge/xbridge/adapters/httpclient"
)

// Options configures a Server. Zero fields take the defaults noted.
type Options struct {
	BotToken      string // bot token, "xoxb-..." (required)
	AppToken      string // app-level token for Socket Mode, "xapp-..."; empty disables apps.connections.open
	SigningSecret string // secret used to sign HTTP deliveries
	BotUserID     string // the bot's user id; default "UBOT"
	BotID         string // the bot's bot id; default "BBOT"
	TeamID        string // workspace id; default "T0001"
	Now           func() time.Time
	// RateLimits turns on Slack's "special" limit of chat.postMessage: about
	// one message per second per channel, with short bursts allowed.
	RateLimits bool

	// AppID is the app's id, sent as api_app_id; default "A0SIM".
	AppID string
	// VerificationToken is the (deprecated) token field of deliveries;
	// default "simverificationtoken".
	VerificationToken string
	// BaseURL is the simulator's own URL, used for response_url, upload and
	// WebSocket URLs; by default it is learnt from the Host of each request.
	BaseURL string
	// AckTimeout is how long an events_api envelope (or HTTP event delivery)
	// may go unacknowledged before it is redelivered; default 5s.
	AckTimeout time.Duration
	// PingInterval is how often WebSocket pings are sent; default 10s
	// (slack-go drops a connection that sees no ping for 30s).
	PingInterval time.Duration
	// ResponseTimeout is how long the user waits for an answer to a slash
	// command or interaction (Slack's 3 seconds); default 3s.
	ResponseTimeout time.Duration
	// HTTPClient delivers HTTP events, interactions and commands; default a
	// client with a 3 s timeout, Slack's.
	HTTPClient *http.Client
}

// maxDeliveryAttempts is how often Slack tries one event: once plus three retries.
const maxDeliveryAttempts = 4

// Server is a simulated Slack workspace with one installed app.
type Server struct {
	opts Options

	mu           sync.Mutex
	users        map[string]User
	userOrder    []string
	channels     map[string]*channel
	channelOrder []string
	groups       map[string]*userGroup
	groupOrder   []string
	ephemerals   map[string][]Message
	violations   []string
	observers    []func(Call)
	faults       map[string][]Fault
	buckets      map[string]*bucket
	uploads      map[string]*upload
	hosted       map[string]*hostedFile
	responseURLs map[string]*responseURL
	responses    []Response
	lastTS       int64
	baseURL      string
	seq          int

	eventsURL, interactionsURL, commandsURL string
	// unsubscribed: the app subscribes to no events (SetEventSubscriptions).
	unsubscribed bool

	d *deliverer

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// New returns a simulator configured by opts.
func New(opts Options) (*Server, error) {
	if !strings.HasPrefix(opts.BotToken, "xoxb-") {
		return nil, errors.New("slacksim: BotToken must start with xoxb-")
	}
	if opts.AppToken != "" && !strings.HasPrefix(opts.AppToken, "xapp-") {
		return nil, errors.New("slacksim: AppToken must start with xapp-")
	}
	if _, err := loadWebSpec(); err != nil {
		return nil, err
	}
	if _, err := loadEventSpec(); err != nil {
		return nil, err
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.BotUserID, "UBOT")
	def(&opts.BotID, "BBOT")
	def(&opts.TeamID, "T0001")
	def(&opts.AppID, "A0SIM")
	def(&opts.VerificationToken, "simverificationtoken")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 5 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 10 * time.Second
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = 3 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpclient.Own(nil, 3*time.Second)
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	s := &Server{
		opts:         opts,
		users:        map[string]User{},
		channels:     map[string]*channel{},
		groups:       map[string]*userGroup{},
		ephemerals:   map[string][]Message{},
		faults:       map[string][]Fault{},
		buckets:      map[string]*bucket{},
		uploads:      map[string]*upload{},
		hosted:       map[string]*hostedFile{},
		responseURLs: map[string]*responseURL{},
		baseURL:      opts.BaseURL,
		done:         make(chan struct{}),
	}
	s.users[opts.BotUserID] = User{ID: opts.BotUserID, Name: "xbridge", RealName: "xbridge", IsBot: true}
	s.userOrder = append(s.userOrder, opts.BotUserID)
	s.d = newDeliverer(s)
	s.wg.Add(2)
	go s.d.redeliverLoop()
	go s.d.httpLoop()
	return s, nil
}

// Close stops background work and closes Socket Mode connections. The
// Server must not be used afterwards.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.d.closeAll()
		s.wg.Wait()
	})
}

// ServeHTTP serves the Web API under /api/, the Socket Mode WebSocket at
// /socket, file uploads under /upload/, shared files under /files-pri/ and
// response URLs under /response/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.BaseURL == "" && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		s.mu.Lock()
		s.baseURL = scheme + "://" + r.Host
		s.mu.Unlock()
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/"):
		s.serveAPI(w, r, strings.TrimPrefix(p, "/api/"))
	case p == "/socket":
		s.serveSocket(w, r)
	case strings.HasPrefix(p, "/upload/"):
		s.serveUpload(w, r, strings.TrimPrefix(p, "/upload/"))
	case strings.HasPrefix(p, filesPath):
		s.serveFile(w, r)
	case strings.HasPrefix(p, "/response/"):
		s.serveResponseURL(w, r, strings.TrimPrefix(p, "/response/"))
	default:
		http.NotFound(w, r)
	}
}

// SetEventsURL sets the Events API request URL. Events go there while no
// Socket Mode connection was ever opened.
func (s *Server) SetEventsURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eventsURL = u
}

// SetEventSubscriptions turns the app's event subscriptions on (the default)
// or off. An app subscribed to no events is sent none, over HTTP or Socket
// Mode: what happens in the workspace from then on raises no event, so none
// is built, checked or queued. Events raised before are still delivered;
// interactions and slash commands are configured apart and still reach the
// app.
func (s *Server) SetEventSubscriptions(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsubscribed = !on
}

// SetInteractionsURL sets the interactivity request URL.
func (s *Server) SetInteractionsURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interactionsURL = u
}

// SetCommandsURL sets the slash command request URL.
func (s *Server) SetCommandsURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commandsURL = u
}

// baseLocked returns the simulator's URL; callers hold s.mu.
func (s *Server) baseLocked() string {
	if s.baseURL == "" {
		return "http://sim.slack.local"
	}
	return s.baseURL
}

// nextIDLocked returns prefix followed by a unique upper-case suffix of n characters.
func (s *Server) nextIDLocked(prefix string, n int) string {
	s.seq++
	id := fmt.Sprintf("%0*X", n, s.seq)
	return prefix + id
}

// randomString returns n random characters of the given alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	alnumMixed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)
