package slacksim

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// sockConn is one Socket Mode WebSocket connection.
type sockConn struct {
	ws        *websocket.Conn
	out       chan []byte
	done      chan struct{}
	closeOnce sync.Once
	draining  bool // a disconnect was sent; guarded by deliverer.mu
}

// send queues a frame without blocking; a connection that cannot keep up is
// closed.
func (c *sockConn) send(b []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- b:
		return true
	default:
		c.close()
		return false
	}
}

// close drops the connection abruptly: no close frame, as when a network
// path dies.
func (c *sockConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// writeLoop is the connection's only writer of data frames.
func (c *sockConn) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		}
	}
}

// pingLoop pings the client now and every interval, as Slack does;
// slack-go reconnects when it sees no ping for 30 seconds.
func (c *sockConn) pingLoop(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
			c.close()
			return
		}
		select {
		case <-c.done:
			return
		case <-t.C:
		}
	}
}

// newTicket issues a single-use WebSocket ticket and switches deliveries to
// Socket Mode.
func (d *deliverer) newTicket() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := uuid.NewString()
	d.tickets[t] = true
	d.socketMode = true
	return t
}

// serveSocket upgrades /socket?ticket=... to a Socket Mode connection.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	d := s.d
	ticket := r.URL.Query().Get("ticket")
	d.mu.Lock()
	valid := d.tickets[ticket]
	delete(d.tickets, ticket)
	d.mu.Unlock()
	if !valid {
		s.violation("socket: connection with unknown or reused ticket %q (call apps.connections.open for each connection)", ticket)
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	c := &sockConn{ws: ws, out: make(chan []byte, 1024), done: make(chan struct{})}
	go c.writeLoop()

	d.mu.Lock()
	hello, _ := json.Marshal(obj{
		"type":            "hello",
		"num_connections": len(d.conns) + 1,
		"debug_info": obj{
			"host": "applink-sim", "build_number": 1, "approximate_connection_time": 18060,
		},
		"connection_info": obj{"app_id": s.opts.AppID},
	})
	c.send(hello)
	d.conns = append(d.conns, c)
	for _, e := range d.pending {
		if e.conn == nil {
			d.sendLocked(e)
		}
	}
	d.mu.Unlock()
	go c.pingLoop(s.opts.PingInterval)

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			s.violation("socket: unexpected frame from client: %.200s", data)
			continue
		}
		d.ack(ack.EnvelopeID, ack.Payload)
	}
	c.close()
	d.dropConn(c)
}

// dropConn forgets a closed connection; what was sent on it unacknowledged
// goes out again on another connection or the next one.
func (d *deliverer) dropConn(c *sockConn) {
	var failed []string
	d.mu.Lock()
	d.conns = slices.DeleteFunc(d.conns, func(x *sockConn) bool { return x == c })
	keep := d.pending[:0]
	for _, e := range d.pending {
		if e.conn == c {
			e.conn = nil
			if e.kind == kindEvents {
				if e.attempt+1 >= maxDeliveryAttempts {
					failed = append(failed, e.eventID)
					continue
				}
				e.attempt++
				e.reason = "timeout"
			}
			d.sendLocked(e)
		}
		keep = append(keep, e)
	}
	clear(d.pending[len(keep):])
	d.pending = keep
	d.mu.Unlock()
	for _, id := range failed {
		d.s.violation("socket: event %s never acknowledged after %d attempts", id, maxDeliveryAttempts)
	}
}

// sendLocked sends e on the newest usable connection, or leaves it queued.
func (d *deliverer) sendLocked(e *envelope) {
	e.conn = nil
	var c *sockConn
	for i := len(d.conns) - 1; i >= 0; i-- {
		if !d.conns[i].draining {
			c = d.conns[i]
			break
		}
	}
	if c == nil {
		return
	}
	frame := obj{
		"envelope_id":              e.id,
		"type":                     e.kind,
		"payload":                  e.payload,
		"accepts_response_payload": e.kind != kindEvents,
	}
	if e.kind == kindEvents {
		frame["retry_attempt"] = e.attempt
		frame["retry_reason"] = e.reason
	}
	b, _ := json.Marshal(frame)
	if c.send(b) {
		e.conn = c
		e.sentAt = time.Now()
	}
}

// DropSocketConnections closes every Socket Mode connection abruptly. The
// app has to reconnect; events raised meanwhile wait and are delivered on
// the next connection, and unacknowledged ones are delivered again.
func (s *Server) DropSocketConnections() {
	s.d.mu.Lock()
	conns := slices.Clone(s.d.conns)
	s.d.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// RequestReconnect sends {"type":"disconnect","reason":"refresh_requested"}
// on every Socket Mode connection, as Slack does before it recycles one, and
// closes them after a grace period. Nothing more is sent on them meanwhile.
func (s *Server) RequestReconnect() {
	msg, _ := json.Marshal(obj{
		"type":       "disconnect",
		"reason":     "refresh_requested",
		"debug_info": obj{"host": "applink-sim"},
	})
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, c := range s.d.conns {
		if c.draining {
			continue
		}
		c.draining = true
		c.send(msg)
		time.AfterFunc(2*time.Second, c.close)
	}
}

// SocketConnections returns how many Socket Mode connections are open.
func (s *Server) SocketConnections() int {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return len(s.d.conns)
}

// closeAll ends deliveries: it cancels HTTP requests and closes connections.
func (d *deliverer) closeAll() {
	d.cancel()
	d.mu.Lock()
	conns := slices.Clone(d.conns)
	d.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
