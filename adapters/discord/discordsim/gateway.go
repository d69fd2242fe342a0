package discordsim

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch            = 0
	opHeartbeat           = 1
	opIdentify            = 2
	opPresenceUpdate      = 3
	opVoiceStateUpdate    = 4
	opResume              = 6
	opReconnect           = 7
	opRequestGuildMembers = 8
	opInvalidSession      = 9
	opHello               = 10
	opHeartbeatACK        = 11
)

const (
	// sessionStartLimit is the daily number of IDENTIFYs of a bot.
	sessionStartLimit = 1000
	// replayBuffer is how many dispatches a session keeps for RESUME.
	replayBuffer = 1000
	// resumeWindow is how long a disconnected session stays resumable.
	resumeWindow = 2 * time.Minute
	// outQueue is how many frames may wait for a slow connection before it
	// is closed.
	outQueue = 1024
)

// gatewayState is the Gateway's side of the Server, guarded by Server.mu.
type gatewayState struct {
	sessions   []*gwSession // in IDENTIFY order
	conns      map[*gwConn]bool
	identifies int
	resumes    int
	intents    int
}

func (g *gatewayState) init() { g.conns = map[*gwConn]bool{} }

// gwSession is a Gateway session: what one IDENTIFY started. It outlives
// its connection for resumeWindow, buffering what it is sent.
type gwSession struct {
	id       string
	intents  int
	compress bool // per-payload zlib, as asked in IDENTIFY
	seq      int64
	sent     []sentEvent
	conn     *gwConn
	lostAt   time.Time // wall clock of the connection's loss
	invalid  bool
}

type sentEvent struct {
	seq  int64
	data []byte
}

// gwConn is one Gateway WebSocket connection.
type gwConn struct {
	ws        *websocket.Conn
	out       chan outFrame
	done      chan struct{}
	closeOnce sync.Once
	stream    bool // zlib-stream transport compression (?compress=zlib-stream)
	version   int  // API version asked (?v=), 10 by default

	// guarded by Server.mu
	sess     *gwSession
	lastBeat time.Time // wall clock
	draining bool      // a RECONNECT was sent
}

// outFrame is a payload to send.
type outFrame struct {
	data []byte
	zlib bool // compress this payload alone (IDENTIFY compress:true)
}

// send queues a frame without blocking; a connection that cannot keep up
// is dropped.
func (c *gwConn) send(f outFrame) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.out <- f:
	default:
		c.drop()
	}
}

// drop closes the connection abruptly: no close frame, as when a network
// path dies.
func (c *gwConn) drop() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// closeWith sends a close frame with code and text, gives the client a
// moment to read it, then closes.
func (c *gwConn) closeWith(code int, text string) {
	msg := websocket.FormatCloseMessage(code, text)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	time.Sleep(100 * time.Millisecond)
	c.drop()
}

// writeLoop is the connection's only writer.
func (c *gwConn) writeLoop() {
	var zbuf bytes.Buffer
	var zw *zlib.Writer
	if c.stream {
		zw = zlib.NewWriter(&zbuf)
	}
	for {
		select {
		case <-c.done:
			return
		case f := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			typ, data := websocket.TextMessage, f.data
			switch {
			case zw != nil:
				zbuf.Reset()
				_, _ = zw.Write(f.data)
				_ = zw.Flush() // ends with 00 00 ff ff, as Discord's stream does
				typ, data = websocket.BinaryMessage, slices.Clone(zbuf.Bytes())
			case f.zlib:
				var b bytes.Buffer
				w := zlib.NewWriter(&b)
				_, _ = w.Write(f.data)
				_ = w.Close()
				typ, data = websocket.BinaryMessage, b.Bytes()
			}
			if err := c.ws.WriteMessage(typ, data); err != nil {
				c.drop()
				return
			}
		}
	}
}

// payload is a Gateway payload as received.
type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
}

func frame(op int, d any) []byte {
	return marshal(obj{"op": op, "d": d, "s": nil, "t": nil})
}

// serveGateway upgrades /gateway?v=9&encoding=json to a Gateway connection
// and serves it.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	c := &gwConn{
		ws:      ws,
		out:     make(chan outFrame, outQueue),
		done:    make(chan struct{}),
		stream:  q.Get("compress") == "zlib-stream",
		version: 10,
	}
	if q.Get("v") == "9" {
		c.version = 9
	}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		_ = ws.Close()
		return
	default:
	}
	c.lastBeat = time.Now()
	s.gw.conns[c] = true
	s.wg.Add(2)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.writeLoop()
	}()
	go func() {
		defer s.wg.Done()
		s.watchHeartbeats(c)
	}()
	defer s.connLost(c)

	switch v := q.Get("v"); {
	case v != "" && v != "9" && v != "10":
		s.violation("gateway: connection with ?v=%s (v9 and v10 are available)", v)
		c.closeWith(4012, "Invalid API version.")
		return
	case q.Get("encoding") != "" && q.Get("encoding") != "json":
		s.violation("gateway: encoding %q is not simulated (use json)", q.Get("encoding"))
		c.closeWith(4002, "Error while decoding payload.")
		return
	case q.Get("compress") != "" && !c.stream:
		s.violation("gateway: transport compression %q is not simulated (zlib-stream is)", q.Get("compress"))
		c.closeWith(4002, "Error while decoding payload.")
		return
	}
	interval := s.opts.HeartbeatInterval.Milliseconds()
	c.send(outFrame{data: frame(opHello, obj{"heartbeat_interval": interval, "_trace": []string{`["gateway-sim",{"micros":0}]`}})})

	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.TextMessage {
			s.violation("gateway: binary frame from the client (JSON encoding expects text)")
			c.closeWith(4002, "Error while decoding payload.")
			return
		}
		var p payload
		if err := json.Unmarshal(data, &p); err != nil {
			s.violation("gateway: undecodable payload %.100q: %v", data, err)
			c.closeWith(4002, "Error while decoding payload.")
			return
		}
		if !s.handleOp(c, p) {
			return
		}
	}
}

// handleOp handles one payload from the client; false ends the connection.
func (s *Server) handleOp(c *gwConn, p payload) bool {
	s.mu.Lock()
	authed := c.sess != nil
	s.mu.Unlock()
	switch p.Op {
	case opHeartbeat:
		s.mu.Lock()
		c.lastBeat = time.Now()
		s.mu.Unlock()
		c.send(outFrame{data: frame(opHeartbeatACK, nil)})
	case opIdentify:
		if authed {
			s.violation("gateway: IDENTIFY on an identified connection")
			c.closeWith(4005, "Already authenticated.")
			return false
		}
		return s.identify(c, p.D)
	case opResume:
		if authed {
			s.violation("gateway: RESUME on an identified connection")
			c.closeWith(4005, "Already authenticated.")
			return false
		}
		return s.resume(c, p.D)
	case opPresenceUpdate, opVoiceStateUpdate, opRequestGuildMembers:
		if !authed {
			s.violation("gateway: opcode %d before IDENTIFY", p.Op)
			c.closeWith(4003, "Not authenticated.")
			return false
		}
		if p.Op == opRequestGuildMembers {
			s.requestGuildMembers(c, p.D)
		}
	default:
		s.violation("gateway: unknown opcode %d from the client", p.Op)
		c.closeWith(4001, "Unknown opcode.")
		return false
	}
	return true
}

// identify starts a session: READY, then GUILD_CREATE.
func (s *Server) identify(c *gwConn, d json.RawMessage) bool {
	var id struct {
		Token      string            `json:"token"`
		Intents    *int              `json:"intents"`
		Compress   bool              `json:"compress"`
		Shard      *[2]int           `json:"shard"`
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(d, &id); err != nil {
		s.violation("gateway: undecodable IDENTIFY: %v", err)
		c.closeWith(4002, "Error while decoding payload.")
		return false
	}
	switch {
	case strings.TrimPrefix(id.Token, "Bot ") != s.opts.BotToken:
		s.violation("gateway: IDENTIFY with a token that is not the bot's")
		c.closeWith(4004, "Authentication failed.")
		return false
	case id.Intents == nil:
		s.violation("gateway: IDENTIFY without intents")
		c.closeWith(4013, "Invalid intent(s).")
		return false
	case *id.Intents&^allIntents != 0:
		s.violation("gateway: IDENTIFY with unknown intent bits %d", *id.Intents&^allIntents)
		c.closeWith(4013, "Invalid intent(s).")
		return false
	case *id.Intents&privilegedIntents&s.opts.DisabledPrivilegedIntents != 0:
		s.violation("gateway: IDENTIFY asks privileged intents %d not enabled for the app", *id.Intents&s.opts.DisabledPrivilegedIntents)
		c.closeWith(4014, "Disallowed intent(s).")
		return false
	case id.Shard != nil && (id.Shard[1] != 1 || id.Shard[0] != 0):
		s.violation("gateway: IDENTIFY with shard %v (the simulated bot has one shard)", *id.Shard)
		c.closeWith(4010, "Invalid shard.")
		return false
	case prop(id.Properties, "os") == "" || prop(id.Properties, "browser") == "":
		s.violation("gateway: IDENTIFY without properties os and browser")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sess := &gwSession{id: randomHex(16), intents: *id.Intents, compress: id.Compress, conn: c}
	c.sess = sess
	s.gw.sessions = append(s.gw.sessions, sess)
	s.gw.identifies++
	s.gw.intents = *id.Intents
	me := userJSON(s.members[s.opts.BotUserID])
	me["verified"] = true
	me["mfa_enabled"] = false
	me["email"] = nil
	s.sendLocked(sess, "READY", obj{
		"v":                       10,
		"user":                    me,
		"guilds":                  []obj{{"id": s.opts.GuildID, "unavailable": true}},
		"session_id":              sess.id,
		"session_type":            "normal",
		"resume_gateway_url":      s.gatewayURLLocked(),
		"shard":                   []int{0, 1},
		"application":             obj{"id": s.opts.AppID, "flags": 0},
		"private_channels":        []any{},
		"relationships":           []any{},
		"presences":               []any{},
		"guild_join_requests":     []any{},
		"geo_ordered_rtc_regions": []string{},
		"user_settings":           obj{},
		"_trace":                  []string{`["gateway-sim",{"micros":0}]`},
	})
	if sess.intents&IntentGuilds != 0 {
		s.sendLocked(sess, "GUILD_CREATE", s.guildCreateLocked(sess))
	}
	return true
}

// prop reads an IDENTIFY property, which older clients (discordgo
// v0.29.0) send with a "$" prefix, as Discord still accepts.
func prop(p map[string]string, name string) string {
	if v := p[name]; v != "" {
		return v
	}
	return p["$"+name]
}

// guildCreateLocked is the GUILD_CREATE payload of the guild.
func (s *Server) guildCreateLocked(sess *gwSession) obj {
	g := s.guildJSONLocked()
	channels, threads := []obj{}, []obj{}
	for _, id := range s.channelOrder {
		c := s.channels[id]
		switch {
		case !c.isThread():
			channels = append(channels, s.channelJSONLocked(c))
		case !c.Archived:
			threads = append(threads, s.channelJSONLocked(c))
		}
	}
	members := []obj{s.memberJSONLocked(s.members[s.opts.BotUserID], true)}
	if sess.intents&IntentGuildMembers != 0 {
		for _, id := range s.memberOrder {
			if id != s.opts.BotUserID {
				members = append(members, s.memberJSONLocked(s.members[id], true))
			}
		}
	}
	g["joined_at"] = timestamp(s.created)
	g["large"] = false
	g["unavailable"] = false
	g["lazy"] = true
	g["member_count"] = len(s.memberOrder)
	g["members"] = members
	g["channels"] = channels
	g["threads"] = threads
	g["presences"] = []any{}
	g["voice_states"] = []any{}
	g["stage_instances"] = []any{}
	g["guild_scheduled_events"] = []any{}
	g["soundboard_sounds"] = []any{}
	g["embedded_activities"] = []any{}
	g["application_command_counts"] = obj{}
	return g
}

// resume reattaches a session to c and replays what it missed, then RESUMED.
// An unknown, expired or invalidated session gets INVALID_SESSION (false).
func (s *Server) resume(c *gwConn, d json.RawMessage) bool {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(d, &rs); err != nil {
		s.violation("gateway: undecodable RESUME: %v", err)
		c.closeWith(4002, "Error while decoding payload.")
		return false
	}
	if strings.TrimPrefix(rs.Token, "Bot ") != s.opts.BotToken {
		s.violation("gateway: RESUME with a token that is not the bot's")
		c.closeWith(4004, "Authentication failed.")
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneSessionsLocked()
	var sess *gwSession
	for _, x := range s.gw.sessions {
		if x.id == rs.SessionID && !x.invalid {
			sess = x
		}
	}
	if sess == nil || rs.Seq > sess.seq || (len(sess.sent) > 0 && sess.sent[0].seq > rs.Seq+1) {
		c.send(outFrame{data: frame(opInvalidSession, false)})
		return true
	}
	if old := sess.conn; old != nil && old != c {
		old.sess = nil
		old.drop()
	}
	sess.conn = c
	c.sess = sess
	for _, ev := range sess.sent {
		if ev.seq > rs.Seq {
			c.send(outFrame{data: ev.data, zlib: sess.compress})
		}
	}
	s.gw.resumes++
	s.sendLocked(sess, "RESUMED", obj{"_trace": []string{`["gateway-sim",{"micros":0}]`}})
	return true
}

// requestGuildMembers answers REQUEST_GUILD_MEMBERS with one GUILD_MEMBERS_CHUNK.
func (s *Server) requestGuildMembers(c *gwConn, d json.RawMessage) {
	var rq struct {
		GuildID string   `json:"guild_id"`
		Query   *string  `json:"query"`
		Limit   int      `json:"limit"`
		UserIDs []string `json:"user_ids"`
		Nonce   string   `json:"nonce"`
	}
	_ = json.Unmarshal(d, &rq)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := c.sess
	if sess == nil {
		return
	}
	if rq.GuildID != s.opts.GuildID {
		s.violationLocked("gateway: REQUEST_GUILD_MEMBERS for unknown guild %q", rq.GuildID)
		return
	}
	if sess.intents&IntentGuildMembers == 0 && len(rq.UserIDs) == 0 {
		s.violationLocked("gateway: REQUEST_GUILD_MEMBERS by query needs the GUILD_MEMBERS intent")
		return
	}
	members := []obj{}
	for _, id := range s.memberOrder {
		m := s.members[id]
		switch {
		case len(rq.UserIDs) > 0 && !slices.Contains(rq.UserIDs, id):
			continue
		case rq.Query != nil && !strings.HasPrefix(strings.ToLower(m.Username), strings.ToLower(*rq.Query)):
			continue
		}
		if rq.Limit > 0 && len(members) >= rq.Limit {
			break
		}
		members = append(members, s.memberJSONLocked(m, true))
	}
	chunk := obj{"guild_id": s.opts.GuildID, "members": members, "chunk_index": 0, "chunk_count": 1}
	if rq.Nonce != "" {
		chunk["nonce"] = rq.Nonce
	}
	s.sendLocked(sess, "GUILD_MEMBERS_CHUNK", chunk)
}
