package slacksim

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// emitLocked wraps an inner event in Slack's event_callback envelope,
// checks it against the events API description and hands it to delivery,
// unless the app subscribes to no events.
func (s *Server) emitLocked(ev obj) {
	if s.unsubscribed {
		return
	}
	now := s.opts.Now()
	id := s.nextIDLocked("Ev", 10)
	ctx, _ := json.Marshal(obj{"et": ev["type"], "tid": s.opts.TeamID, "aid": s.opts.AppID, "cid": ev["channel"]})
	cb := obj{
		"token":      s.opts.VerificationToken,
		"team_id":    s.opts.TeamID,
		"api_app_id": s.opts.AppID,
		"event":      ev,
		"type":       "event_callback",
		"event_id":   id,
		"event_time": now.Unix(),
		"authorizations": []obj{{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		// Deprecated by Slack in favour of authorizations, but still
		// required by the events API description.
		"authed_users":          []string{s.opts.BotUserID},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + base64.RawURLEncoding.EncodeToString(ctx),
	}
	payload, err := json.Marshal(cb)
	if err != nil {
		s.violationLocked("events: cannot encode %v: %v", ev["type"], err)
		return
	}
	for _, p := range validateEvent(payload) {
		s.violationLocked("events: %s", p)
	}
	s.d.enqueueEvent(payload, id, s.eventsURL)
}

// messageEventLocked renders m as the inner event of a new message.
func (s *Server) messageEventLocked(ch *channel, m *message) obj {
	ev := s.messageJSONLocked(ch, m, renderOpts{})
	ev["channel"] = ch.id
	ev["event_ts"] = m.TS
	ev["channel_type"] = "channel"
	// Events carry the reply state of the moment a message is posted.
	for _, k := range []string{"reply_count", "reply_users_count", "reply_users", "latest_reply", "is_locked", "subscribed"} {
		delete(ev, k)
	}
	if m.ThreadTS == "" {
		delete(ev, "thread_ts")
	}
	return ev
}

// emitMessageLocked emits the message event of a newly posted message.
func (s *Server) emitMessageLocked(ch *channel, m *message) {
	if !s.unsubscribed {
		s.emitLocked(s.messageEventLocked(ch, m))
	}
}

// emitChangedLocked emits message_changed for m, whose rendering before the
// change was prev.
func (s *Server) emitChangedLocked(ch *channel, m *message, prev obj) {
	ts := s.newTSLocked()
	cur := s.messageJSONLocked(ch, m, renderOpts{})
	s.emitLocked(obj{
		"type":             "message",
		"subtype":          "message_changed",
		"hidden":           true,
		"message":          cur,
		"channel":          ch.id,
		"previous_message": prev,
		"event_ts":         ts,
		"ts":               ts,
		"channel_type":     "channel",
	})
}

// deleteLocked deletes m and emits message_deleted.
func (s *Server) deleteLocked(ch *channel, m *message) {
	prev := s.messageJSONLocked(ch, m, renderOpts{})
	m.Deleted = true
	ts := s.newTSLocked()
	ev := obj{
		"type":             "message",
		"subtype":          "message_deleted",
		"hidden":           true,
		"deleted_ts":       m.TS,
		"channel":          ch.id,
		"previous_message": prev,
		"event_ts":         ts,
		"ts":               ts,
		"channel_type":     "channel",
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	s.emitLocked(ev)
}

// reactLocked adds reaction name of user to m and emits reaction_added.
func (s *Server) reactLocked(ch *channel, m *message, user, name string) *apiError {
	name = strings.Trim(name, ":")
	if name == "" {
		return fail("invalid_name")
	}
	var r *reaction
	for _, x := range m.reactions {
		if x.name == name {
			r = x
		}
	}
	if r == nil {
		r = &reaction{name: name}
		m.reactions = append(m.reactions, r)
	}
	if slices.Contains(r.users, user) {
		return fail("already_reacted")
	}
	r.users = append(r.users, user)
	s.emitLocked(obj{
		"type":      "reaction_added",
		"user":      user,
		"reaction":  name,
		"item_user": m.User,
		"item":      obj{"type": "message", "channel": ch.id, "ts": m.TS},
		"event_ts":  s.newTSLocked(),
	})
	return nil
}

// RedeliverLast delivers the most recent event again with the same event_id,
// as Slack does when it retries: over Socket Mode with retry_attempt 1, over
// HTTP with X-Slack-Retry-Num: 1.
func (s *Server) RedeliverLast() {
	s.d.redeliverLast()
}
