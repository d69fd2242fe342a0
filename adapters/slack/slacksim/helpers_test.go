package slacksim

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

const (
	testBotToken = "xoxb-test-bot"
	testAppToken = "xapp-test-app"
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testChannel  = "C0SUPPORT"
	testAgent    = "UAGENT1"
)

// fixture is a simulator served over HTTP with a slack-go client pointed at it.
type fixture struct {
	sim    *Server
	srv    *httptest.Server
	client *slack.Client
}

// newFixture starts a simulator with a support channel and one agent. mod may
// adjust the options.
func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	opts := Options{
		BotToken:      testBotToken,
		AppToken:      testAppToken,
		SigningSecret: testSecret,
		BotUserID:     "UBOT",
		BotID:         "BBOT",
		TeamID:        "T0001",
		AckTimeout:    300 * time.Millisecond,
		PingInterval:  time.Second,
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
	sim.AddChannel(testChannel, "support")
	sim.AddUser(User{ID: testAgent, Name: "alice", RealName: "Alice Agent", ImageURL: "https://img.example/alice.png"})
	client := slack.New(testBotToken, slack.OptionAPIURL(srv.URL+"/api/"), slack.OptionAppLevelToken(testAppToken),
		slack.OptionHTTPClient(testHTTPClient))
	return &fixture{sim: sim, srv: srv, client: client}
}

// testHTTPClient is the tests' client. Not http.DefaultClient: closing an
// httptest server closes the idle connections of http.DefaultTransport,
// which breaks the requests of tests running in parallel ("http:
// CloseIdleConnections called").
var testHTTPClient = &http.Client{Transport: &http.Transport{}}

// noViolations fails the test if the simulator recorded any violation.
func (f *fixture) noViolations(t *testing.T) {
	t.Helper()
	for _, v := range f.sim.Violations() {
		t.Errorf("violation: %s", v)
	}
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

// rawCall posts form values to a Web API method without slack-go.
func (f *fixture) rawCall(t *testing.T, method string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/api/"+method, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := testHTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// socketClient is a running slack-go Socket Mode client.
type socketClient struct {
	sm     *socketmode.Client
	events chan socketmode.Event // everything but connection housekeeping
	conns  chan int              // ConnectionCount of each EventTypeConnected
	hellos chan socketmode.Event
}

// startSocket runs a Socket Mode client against the fixture until the test ends.
func (f *fixture) startSocket(t *testing.T) *socketClient {
	t.Helper()
	sm := socketmode.New(f.client, socketmode.OptionLog(log.New(io.Discard, "", 0)))
	sc := &socketClient{
		sm:     sm,
		events: make(chan socketmode.Event, 100),
		conns:  make(chan int, 100),
		hellos: make(chan socketmode.Event, 100),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sm.RunContext(ctx)
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-sm.Events:
				switch ev.Type {
				case socketmode.EventTypeConnected:
					sc.conns <- ev.Data.(*socketmode.ConnectedEvent).ConnectionCount
				case socketmode.EventTypeHello:
					sc.hellos <- ev
				case socketmode.EventTypeConnecting, socketmode.EventTypeConnectionError:
				default:
					sc.events <- ev
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("socket mode client did not stop")
		}
	})
	return sc
}

// next returns the next event of the wanted type, failing after 5 s.
func (sc *socketClient) next(t *testing.T, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-sc.events:
			if ev.Type == typ {
				return ev
			}
			// Not what the test waits for: acknowledge it so that it is not
			// redelivered.
			if ev.Request != nil && ev.Type == socketmode.EventTypeEventsAPI {
				sc.sm.Ack(*ev.Request)
			}
		case <-timeout:
			t.Fatalf("no %s event within 5s", typ)
		}
	}
}

// hello waits for the hello of a new connection.
func (sc *socketClient) hello(t *testing.T) socketmode.Event {
	t.Helper()
	select {
	case ev := <-sc.hellos:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no hello within 5s")
	}
	return socketmode.Event{}
}

// buttonBlocks is an actions block with one button.
func buttonBlocks(actionID, value string) slack.MsgOption {
	btn := slack.NewButtonBlockElement(actionID, value, slack.NewTextBlockObject(slack.PlainTextType, "Claim", false, false))
	return slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "New conversation", false, false), nil, nil),
		slack.NewActionBlock("actions", btn),
	)
}
