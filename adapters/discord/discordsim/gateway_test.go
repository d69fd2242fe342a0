package discordsim

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

func TestGatewayReadyGuildCreateAndMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	ev := collect(s)
	f.open(t, s)

	ready := recv(t, ev.ready, "READY")
	if ready.User.ID != testBot || !ready.User.Bot || ready.SessionID == "" {
		t.Errorf("READY user %+v session %q", ready.User, ready.SessionID)
	}
	g := recv(t, ev.guilds, "GUILD_CREATE")
	if g.ID != testGuild || len(g.Channels) != 2 {
		t.Fatalf("GUILD_CREATE guild %s with %d channels", g.ID, len(g.Channels))
	}
	if g.Channels[1].Type != discordgo.ChannelTypeGuildForum || len(g.Channels[1].AvailableTags) != 2 {
		t.Errorf("forum channel %+v", g.Channels[1])
	}
	if got := f.sim.Intents(); got != intentsAll {
		t.Errorf("Intents() = %d, want %d", got, intentsAll)
	}
	if f.sim.Identifies() != 1 {
		t.Errorf("Identifies() = %d", f.sim.Identifies())
	}

	// A member's message arrives as MESSAGE_CREATE with its content.
	id := f.sim.PostAsUser(testAgent, testText, "hello from alice")
	m := recv(t, ev.created, "MESSAGE_CREATE")
	if m.ID != id || m.Content != "hello from alice" || m.Author.ID != testAgent || m.GuildID != testGuild {
		t.Errorf("MESSAGE_CREATE %+v", m.Message)
	}
	if m.Member == nil || len(m.Member.Roles) != 1 || m.Member.Roles[0] != testRole {
		t.Errorf("MESSAGE_CREATE member %+v", m.Member)
	}

	// The bot's own REST message also comes back, authored by the bot.
	sent, err := s.ChannelMessageSend(testText, "hi alice")
	if err != nil {
		t.Fatal(err)
	}
	own := recv(t, ev.created, "own MESSAGE_CREATE")
	if own.ID != sent.ID || !own.Author.Bot || own.Author.ID != testBot {
		t.Errorf("own MESSAGE_CREATE %+v author %+v", own.Message, own.Author)
	}

	f.sim.EditAsUser(testAgent, testText, id, "hello, edited")
	up := recv(t, ev.updated, "MESSAGE_UPDATE")
	if up.ID != id || up.Content != "hello, edited" || up.EditedTimestamp == nil {
		t.Errorf("MESSAGE_UPDATE %+v", up.Message)
	}
	f.sim.React(testAgent, testText, sent.ID, "👍")
	r := recv(t, ev.reacted, "MESSAGE_REACTION_ADD")
	if r.MessageID != sent.ID || r.Emoji.Name != "👍" || r.UserID != testAgent || r.Member == nil {
		t.Errorf("MESSAGE_REACTION_ADD %+v", r.MessageReaction)
	}
	f.sim.DeleteAsUser(testAgent, testText, id)
	if d := recv(t, ev.deleted, "MESSAGE_DELETE"); d.ID != id || d.ChannelID != testText {
		t.Errorf("MESSAGE_DELETE %+v", d.Message)
	}
	f.noViolations(t)
}

func TestGatewayWithoutMessageContentIntent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, IntentGuilds|IntentGuildMessages)
	ev := collect(s)
	f.open(t, s)

	f.sim.PostAsUser(testAgent, testText, "secret words")
	if m := recv(t, ev.created, "MESSAGE_CREATE"); m.Content != "" {
		t.Errorf("content %q reached a session without MESSAGE_CONTENT", m.Content)
	}
	// A message mentioning the bot keeps its content, as on Discord.
	f.sim.PostAsUser(testAgent, testText, "<@"+testBot+"> help")
	if m := recv(t, ev.created, "MESSAGE_CREATE"); m.Content != "<@"+testBot+"> help" {
		t.Errorf("mention content %q", m.Content)
	}
	// Reactions need GUILD_MESSAGE_REACTIONS: none are dispatched.
	id := f.sim.PostAsUser(testAgent, testText, "x")
	recv(t, ev.created, "MESSAGE_CREATE")
	f.sim.React(testAgent, testText, id, "👍")
	select {
	case r := <-ev.reacted:
		t.Errorf("reaction dispatched without its intent: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	f.noViolations(t)
}

func TestGatewayDisallowedIntent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.DisabledPrivilegedIntents = IntentMessageContent })
	s := f.session(t, intentsAll)
	if err := s.Open(); err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded with a disallowed intent")
	}
	f.wantViolation(t, "privileged intents")
}

func TestGatewayBadToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	s.Identify.Token = "Bot wrong"
	if err := s.Open(); err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded with a bad token")
	}
	f.wantViolation(t, "IDENTIFY with a token")
}

func TestGatewayResumeAfterDrop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	ev := collect(s)
	f.open(t, s)
	recv(t, ev.guilds, "GUILD_CREATE")

	f.sim.DropGatewayConnections()
	// Posted while the bot is disconnected: it must get it on RESUME.
	id := f.sim.PostAsUser(testAgent, testText, "while you were away")
	m := ev.nextCreate(t, func(m *discordgo.MessageCreate) bool { return m.ID == id })
	if m.Content != "while you were away" {
		t.Errorf("replayed content %q", m.Content)
	}
	recv(t, ev.resumed, "RESUMED")
	if f.sim.Resumes() != 1 || f.sim.Identifies() != 1 {
		t.Errorf("Resumes() = %d, Identifies() = %d; want 1, 1", f.sim.Resumes(), f.sim.Identifies())
	}
	// Events keep flowing on the resumed connection, with no duplicates.
	id2 := f.sim.PostAsUser(testAgent, testText, "after resume")
	m2 := recv(t, ev.created, "MESSAGE_CREATE after resume")
	if m2.ID != id2 {
		t.Errorf("got %s (%q), want %s", m2.ID, m2.Content, id2)
	}
	f.noViolations(t)
}

func TestGatewayReconnectRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	s.Compress = false // IDENTIFY compress:false: plain text frames
	ev := collect(s)
	f.open(t, s)
	recv(t, ev.guilds, "GUILD_CREATE")

	f.sim.RequestReconnect()
	recv(t, ev.resumed, "RESUMED after op 7")
	id := f.sim.PostAsUser(testAgent, testText, "after reconnect")
	if m := ev.nextCreate(t, func(m *discordgo.MessageCreate) bool { return m.ID == id }); m.Content != "after reconnect" {
		t.Errorf("content %q", m.Content)
	}
	if f.sim.Resumes() != 1 {
		t.Errorf("Resumes() = %d", f.sim.Resumes())
	}
	f.noViolations(t)
}

func TestGatewayInvalidSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	ev := collect(s)
	f.open(t, s)
	recv(t, ev.ready, "READY")

	f.sim.InvalidateSession(false)
	// discordgo answers op 9 with a new IDENTIFY on the same connection.
	r := recv(t, ev.ready, "second READY")
	if r.SessionID == "" || f.sim.Identifies() != 2 {
		t.Errorf("second READY %q, Identifies() = %d", r.SessionID, f.sim.Identifies())
	}
	id := f.sim.PostAsUser(testAgent, testText, "new session")
	if m := ev.nextCreate(t, func(m *discordgo.MessageCreate) bool { return m.ID == id }); m.Content != "new session" {
		t.Errorf("content %q", m.Content)
	}
	f.noViolations(t)
}

// dial opens a raw Gateway connection and returns it with its HELLO.
func dial(t *testing.T, f *fixture, query string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(f.srv.URL, "http")+"/gateway?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// read reads one payload, inflating zlib-stream frames with zr when set.
func read(t *testing.T, ws *websocket.Conn, inflate func([]byte) []byte) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if mt == websocket.BinaryMessage {
		data = inflate(data)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("payload %q: %v", data, err)
	}
	return p
}

func TestGatewayRawProtocol(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)

	// Per-payload zlib (IDENTIFY compress:true): each binary frame is a
	// complete zlib stream.
	ws := dial(t, f, "v=10&encoding=json")
	perPayload := func(b []byte) []byte {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(zr)
		return out
	}
	if p := read(t, ws, perPayload); p["op"] != float64(opHello) {
		t.Fatalf("first payload %v", p)
	}
	_ = ws.WriteJSON(obj{"op": 1, "d": nil})
	if p := read(t, ws, perPayload); p["op"] != float64(opHeartbeatACK) {
		t.Fatalf("heartbeat answered %v", p)
	}
	_ = ws.WriteJSON(obj{"op": 2, "d": obj{"token": testToken, "intents": IntentGuilds, "compress": true,
		"properties": obj{"os": "linux", "browser": "test", "device": "test"}}})
	ready := read(t, ws, perPayload)
	if ready["t"] != "READY" || ready["s"] != float64(1) {
		t.Fatalf("READY %v", ready)
	}
	if gc := read(t, ws, perPayload); gc["t"] != "GUILD_CREATE" || gc["s"] != float64(2) {
		t.Fatalf("GUILD_CREATE %v", gc)
	}
	// A second IDENTIFY on the connection is a protocol error (4005).
	_ = ws.WriteJSON(obj{"op": 2, "d": obj{"token": testToken, "intents": 1}})
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := ws.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4005 {
		t.Errorf("second IDENTIFY: %v, want close 4005", err)
	}
	f.wantViolation(t, "IDENTIFY on an identified connection")

	// zlib-stream transport compression: one inflater across frames.
	ws2 := dial(t, f, "v=9&encoding=json&compress=zlib-stream")
	var stream bytes.Buffer
	var zr io.ReadCloser
	inflate := func(b []byte) []byte {
		stream.Write(b)
		if zr == nil {
			var err error
			if zr, err = zlib.NewReader(&stream); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 1<<20)
		n, _ := zr.Read(buf)
		return buf[:n]
	}
	if p := read(t, ws2, inflate); p["op"] != float64(opHello) {
		t.Fatalf("zlib-stream HELLO %v", p)
	}
	_ = ws2.WriteJSON(obj{"op": 1, "d": nil})
	if p := read(t, ws2, inflate); p["op"] != float64(opHeartbeatACK) {
		t.Fatalf("zlib-stream ACK %v", p)
	}

	// An opcode before IDENTIFY closes with 4003.
	ws3 := dial(t, f, "v=9&encoding=json")
	read(t, ws3, nil)
	_ = ws3.WriteJSON(obj{"op": 3, "d": obj{}})
	_ = ws3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws3.ReadMessage(); !websocket.IsCloseError(err, 4003) {
		t.Errorf("op 3 before IDENTIFY: %v, want close 4003", err)
	}
}

func TestGatewayURLLearntFromLocalAddress(t *testing.T) {
	t.Parallel()
	sim, err := New(Options{BotToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	// A transport that rewrites the URL but leaves Host: discord.com.
	base, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = base.Scheme, base.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
	s, _ := discordgo.New("Bot " + testToken)
	s.Client = client
	u, err := s.Gateway()
	if err != nil || u != "ws://"+base.Host+"/gateway/" { // discordgo adds the slash
		t.Errorf("Gateway() = %q, %v; want ws://%s/gateway/", u, err, base.Host)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
