package discordsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

const (
	testToken  = "sim-bot-token"
	testGuild  = "1200000000000000001"
	testBot    = "1100000000000000001"
	testText   = "1300000000000000001"
	testForum  = "1300000000000000002"
	testAgent  = "1400000000000000001"
	testAgent2 = "1400000000000000002"
	testRole   = "1500000000000000001"
	tagOpen    = "1600000000000000001"
	tagUrgent  = "1600000000000000002"
	// intentsAll is what the bridge asks: guilds, messages, reactions and
	// message content.
	intentsAll = IntentGuilds | IntentGuildMessages | IntentGuildMessageReactions | IntentMessageContent
)

// fixture is a simulator served over HTTP, with an http.Client that sends
// discordgo's https://discord.com/ requests to it.
type fixture struct {
	sim    *Server
	srv    *httptest.Server
	client *http.Client
}

// testTransport is the tests' connection pool. Not http.DefaultTransport:
// closing an httptest server closes its idle connections, which breaks
// the requests of tests running in parallel ("http: CloseIdleConnections
// called").
var testTransport = &http.Transport{}

// testHTTPClient is the tests' client for requests without discordgo.
var testHTTPClient = &http.Client{Transport: testTransport}

// transport sends discordgo's requests to the simulator at simURL.
func transport(t *testing.T, simURL string) http.RoundTripper {
	t.Helper()
	rt, err := Transport(simURL, testTransport)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// newFixture starts a simulator with a text channel, a forum with two tags,
// a role and two agents. mod may adjust the options.
func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	opts := Options{
		BotToken:          testToken,
		BotUserID:         testBot,
		GuildID:           testGuild,
		HeartbeatInterval: time.Second,
	}
	if mod != nil {
		mod(&opts)
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	sim.SetBaseURL(srv.URL)
	sim.AddRole(Role{ID: testRole, Name: "support"})
	sim.AddChannel(Channel{ID: testText, Name: "support", Type: ChannelText})
	sim.AddChannel(Channel{ID: testForum, Name: "tickets", Type: ChannelForum, AvailableTags: []Tag{
		{ID: tagOpen, Name: "open"}, {ID: tagUrgent, Name: "urgent"},
	}})
	sim.AddMember(Member{ID: testAgent, Username: "alice", GlobalName: "Alice", Roles: []string{testRole}})
	sim.AddMember(Member{ID: testAgent2, Username: "bob"})
	return &fixture{sim: sim, srv: srv, client: &http.Client{Transport: transport(t, srv.URL), Timeout: 10 * time.Second}}
}

// session returns a discordgo session pointed at the simulator, not opened.
func (f *fixture) session(t *testing.T, intents int) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot " + testToken)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = f.client
	s.Identify.Intents = discordgo.Intent(intents)
	s.LogLevel = -1 // quiet: the tests provoke errors on purpose
	return s
}

// open opens s and closes it when the test ends.
func (f *fixture) open(t *testing.T, s *discordgo.Session) {
	t.Helper()
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
}

// noViolations fails the test if the simulator recorded any violation.
func (f *fixture) noViolations(t *testing.T) {
	t.Helper()
	for _, v := range f.sim.Violations() {
		t.Errorf("violation: %s", v)
	}
}

// wantViolation fails the test unless a violation contains want.
func (f *fixture) wantViolation(t *testing.T, want string) {
	t.Helper()
	for _, v := range f.sim.Violations() {
		if strings.Contains(v, want) {
			return
		}
	}
	t.Errorf("no violation containing %q; got %q", want, f.sim.Violations())
}

// waitFor waits up to 5 s for cond.
func (f *fixture) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.sim.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// recv returns the next value of ch, failing after 5 s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", what)
	}
	var zero T
	return zero
}

// events collects the dispatches a session's handlers see.
type events struct {
	mu       sync.Mutex
	ready    chan *discordgo.Ready
	guilds   chan *discordgo.GuildCreate
	created  chan *discordgo.MessageCreate
	updated  chan *discordgo.MessageUpdate
	deleted  chan *discordgo.MessageDelete
	reacted  chan *discordgo.MessageReactionAdd
	threads  chan *discordgo.ThreadCreate
	resumed  chan *discordgo.Resumed
	interact chan *discordgo.InteractionCreate
}

func collect(s *discordgo.Session) *events {
	e := &events{
		ready:    make(chan *discordgo.Ready, 10),
		guilds:   make(chan *discordgo.GuildCreate, 10),
		created:  make(chan *discordgo.MessageCreate, 100),
		updated:  make(chan *discordgo.MessageUpdate, 100),
		deleted:  make(chan *discordgo.MessageDelete, 100),
		reacted:  make(chan *discordgo.MessageReactionAdd, 100),
		threads:  make(chan *discordgo.ThreadCreate, 100),
		resumed:  make(chan *discordgo.Resumed, 10),
		interact: make(chan *discordgo.InteractionCreate, 10),
	}
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.Ready) { e.ready <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.GuildCreate) { e.guilds <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.MessageCreate) { e.created <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.MessageUpdate) { e.updated <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.MessageDelete) { e.deleted <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.MessageReactionAdd) { e.reacted <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.ThreadCreate) { e.threads <- v })
	s.AddHandler(func(_ *discordgo.Session, v *discordgo.Resumed) { e.resumed <- v })
	return e
}

// nextCreate returns the next MESSAGE_CREATE whose content or author
// matches, skipping others.
func (e *events) nextCreate(t *testing.T, match func(*discordgo.MessageCreate) bool) *discordgo.MessageCreate {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-e.created:
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatal("no matching MESSAGE_CREATE within 5s")
			return nil
		}
	}
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
