package discordsim

import (
	"slices"
	"time"
)

// sendLocked dispatches event t to one session, with the session's next
// sequence number; it is buffered for RESUME and sent if connected.
func (s *Server) sendLocked(sess *gwSession, t string, d any) {
	sess.seq++
	data := marshal(obj{"op": opDispatch, "s": sess.seq, "t": t, "d": d})
	sess.sent = append(sess.sent, sentEvent{seq: sess.seq, data: data})
	if len(sess.sent) > replayBuffer {
		sess.sent = slices.Delete(sess.sent, 0, len(sess.sent)-replayBuffer)
	}
	if sess.conn != nil {
		sess.conn.send(outFrame{data: data, zlib: sess.compress})
	}
}

// dispatchLocked dispatches event t to every live session whose intents
// include intent (0: every session). Sessions without the MESSAGE_CONTENT
// intent get bare instead of d when bare is not nil.
func (s *Server) dispatchLocked(t string, intent int, d, bare obj) {
	s.pruneSessionsLocked()
	for _, sess := range s.gw.sessions {
		if intent != 0 && sess.intents&intent == 0 {
			continue
		}
		p := d
		if bare != nil && sess.intents&IntentMessageContent == 0 {
			p = bare
		}
		s.sendLocked(sess, t, p)
	}
}

// pruneSessionsLocked forgets sessions disconnected for longer than the
// resume window, and invalidated ones.
func (s *Server) pruneSessionsLocked() {
	now := time.Now()
	s.gw.sessions = slices.DeleteFunc(s.gw.sessions, func(x *gwSession) bool {
		return x.invalid || (x.conn == nil && now.Sub(x.lostAt) > resumeWindow)
	})
}

// interactionSessionLocked is the session interactions go to: the newest
// connected one, else the newest resumable one.
func (s *Server) interactionSessionLocked() *gwSession {
	s.pruneSessionsLocked()
	for i := len(s.gw.sessions) - 1; i >= 0; i-- {
		if s.gw.sessions[i].conn != nil {
			return s.gw.sessions[i]
		}
	}
	if n := len(s.gw.sessions); n > 0 {
		return s.gw.sessions[n-1]
	}
	return nil
}

// connLost detaches a closed connection from its session, which stays
// resumable.
func (s *Server) connLost(c *gwConn) {
	c.drop()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.gw.conns, c)
	if sess := c.sess; sess != nil && sess.conn == c {
		sess.conn = nil
		sess.lostAt = time.Now()
	}
}

// watchHeartbeats closes a connection that sends no heartbeat for twice
// the interval plus a second (a zombie), as Discord does.
func (s *Server) watchHeartbeats(c *gwConn) {
	interval := s.opts.HeartbeatInterval
	limit := 2*interval + time.Second
	t := time.NewTicker(max(interval/2, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			late := time.Since(c.lastBeat)
			s.mu.Unlock()
			if late > limit {
				s.violation("gateway: no heartbeat for %v (interval %v); connection closed", late.Round(time.Millisecond), interval)
				c.closeWith(4009, "Session timed out.")
				return
			}
		}
	}
}

// DropGatewayConnections closes every Gateway connection abruptly. Sessions
// stay resumable: a client that RESUMEs gets what was dispatched meanwhile.
func (s *Server) DropGatewayConnections() {
	s.mu.Lock()
	conns := make([]*gwConn, 0, len(s.gw.conns))
	for c := range s.gw.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}

// RequestReconnect sends RECONNECT (op 7) on every Gateway connection, as
// Discord does before it moves a session; connections still open 5 s later
// are closed.
func (s *Server) RequestReconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.gw.conns {
		if c.draining {
			continue
		}
		c.draining = true
		c.send(outFrame{data: frame(opReconnect, nil)})
		time.AfterFunc(5*time.Second, c.drop)
	}
}

// InvalidateSession sends INVALID_SESSION (op 9) on every Gateway
// connection. When resumable is false the sessions are forgotten and the
// client must IDENTIFY again (it may do so on the same connection).
func (s *Server) InvalidateSession(resumable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.gw.conns {
		if c.sess == nil {
			continue
		}
		c.sess.invalid = !resumable
		c.sess.conn = nil
		c.sess.lostAt = time.Now()
		c.sess = nil
		c.send(outFrame{data: frame(opInvalidSession, resumable)})
	}
}

// GatewayConnections returns how many Gateway connections are open.
func (s *Server) GatewayConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.gw.conns)
}

// Identifies returns how many IDENTIFYs the Gateway accepted.
func (s *Server) Identifies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.identifies
}

// Resumes returns how many RESUMEs succeeded.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.resumes
}

// Intents returns the intents of the last accepted IDENTIFY.
func (s *Server) Intents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.intents
}
