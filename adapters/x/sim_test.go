package x

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

// Credentials and people of the simulated X.
const (
	simConsumerKey    = "ck-3rJOl1ODzm9yZy63FACdg"
	simConsumerSecret = "cs-5jPoQ5kQvMJFDYRNE8bQ4rHuds4xJqhvgNJM4awaE8"
	simAccessToken    = "1000-4rLnpNNM9b2jZ0rKqoQtTuzdOYqDYrHdAVRdaqR5"
	simAccessSecret   = "as-Hg8XNDbuPAN0xFm3FIvQzt6y1i2hdFq0pTUvR1EpU"
	simUserToken      = "bWtRUnF0c2VyLXRva2VuLWZvci10ZXN0cw"

	account  = "1000"
	handle   = "acme_help"
	dana     = "2001" // a customer
	raj      = "2002" // another customer
	stranger = "2003"
)

// simStart is when the simulated world begins.
var simStart = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

// env is a simulated X served over HTTP, and clients of it.
type env struct {
	sim    *xsim.Server
	srv    *httptest.Server
	clock  *bridge.ManualClock
	client *Client // OAuth 1.0a
	bearer *Client // OAuth 2.0 user token
}

type envOption func(*xsim.Options)

func withRateLimits(o *xsim.Options) { o.RateLimits = true }

// setup starts a simulator with the support account and two customers.
func setup(t *testing.T, opts ...envOption) *env {
	t.Helper()
	clock := bridge.NewManualClock(simStart)
	o := xsim.Options{
		SupportUserID: account, SupportHandle: handle,
		ConsumerKey: simConsumerKey, ConsumerSecret: simConsumerSecret,
		AccessToken: simAccessToken, AccessTokenSecret: simAccessSecret,
		UserToken: simUserToken,
		Now:       clock.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	sim, err := xsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	sim.AddUser(xsim.User{ID: dana, Username: "danawhit", Name: "Dana Whitfield", Followers: 1843, Verified: true,
		ProfileImageURL: "https://pbs.twimg.com/profile_images/1/dana_normal.jpg"})
	sim.AddUser(xsim.User{ID: raj, Username: "rajcooks", Name: "Raj Patel", Followers: 312})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &env{sim: sim, srv: srv, clock: clock}
	e.client = e.newClient(t, Config{ConsumerKey: simConsumerKey, ConsumerSecret: simConsumerSecret,
		AccessToken: simAccessToken, AccessTokenSecret: simAccessSecret})
	e.bearer = e.newClient(t, Config{UserToken: simUserToken, ConsumerSecret: simConsumerSecret})
	return e
}

// newClient returns a client of the simulator with the credentials of cfg,
// for the support account unless cfg names another.
func (e *env) newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.APIURL = e.srv.URL
	if cfg.AccountID == "" {
		cfg.AccountID, cfg.AccountHandle = account, handle
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	c, err := NewClient(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.now = e.clock.Now // Retry-After is relative to the simulated time
	return c
}

// noViolations fails the test if the simulator saw a request the real API
// would refuse.
func (e *env) noViolations(t *testing.T) {
	t.Helper()
	for _, v := range e.sim.Violations() {
		t.Errorf("xsim violation: %s", v)
	}
}

// testLogger logs through t, so that output shows only for failed tests.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// recorder is an Inbound that records what it is given.
type recorder struct {
	mu   sync.Mutex
	msgs []bridge.InboundMessage
	fail func(bridge.InboundMessage) error // optional
	got  chan bridge.InboundMessage        // optional, fed after recording
}

func (r *recorder) HandleInbound(_ context.Context, ev bridge.InboundMessage) (bridge.Outcome, error) {
	if r.fail != nil {
		if err := r.fail(ev); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, ev)
	r.mu.Unlock()
	if r.got != nil {
		r.got <- ev
	}
	if ev.Sender.ID == ev.Account {
		return bridge.OutcomeOwnEcho, nil
	}
	return bridge.OutcomeStored, nil
}

func (r *recorder) all() []bridge.InboundMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func (r *recorder) ids() []string {
	var ids []string
	for _, m := range r.all() {
		ids = append(ids, m.EventID)
	}
	return ids
}

// memCursors is an in-memory Cursors.
type memCursors struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *memCursors) Cursor(_ context.Context, name string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name], nil
}

func (c *memCursors) SetCursor(_ context.Context, name, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[name] = value
	return nil
}

func (c *memCursors) get(name string) string {
	v, _ := c.Cursor(context.Background(), name)
	return v
}

// observer is an Observer that records what it is told.
type observer struct {
	mu      sync.Mutex
	events  []string
	ignored []string
	waits   chan wait
}

type wait struct {
	what string
	d    time.Duration
}

func (o *observer) Event(via, kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, via+":"+kind)
}

func (o *observer) Ignored(via, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ignored = append(o.ignored, via+":"+reason)
}

func (o *observer) Waited(what string, d time.Duration) {
	if o.waits != nil {
		o.waits <- wait{what, d}
	}
}

func (o *observer) eventList() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

func (o *observer) ignoredReasons() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ignored)
}
