package xsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// maxDMLength is the longest DM text X accepts, in characters.
const maxDMLength = 10000

// dmLookback is how far back DM lookups reach.
const dmLookback = 30 * 24 * time.Hour

// sendDM answers POST /2/dm_conversations/with/{participant_id}/messages.
func (s *Server) sendDM(x *exchange) {
	pid := x.route.params["participant_id"]
	var req struct {
		Text        string `json:"text"`
		Attachments []struct {
			MediaID string `json:"media_id"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(x.body, &req); err != nil {
		invalid(x, "", "", "request body is not valid JSON: "+err.Error())
		return
	}
	switch {
	case len(req.Attachments) > 1:
		invalid(x, "attachments", "", "a direct message carries at most one attachment")
		return
	case utf8.RuneCountInString(req.Text) > maxDMLength:
		invalid(x, "text", "", "text must be at most 10000 characters")
		return
	case pid == x.me:
		invalid(x, "participant_id", pid, "participant_id must be another user than the authenticated one")
		return
	}
	s.mu.Lock()
	if _, ok := s.users[pid]; !ok {
		s.mu.Unlock()
		invalid(x, "participant_id", pid, "participant_id ["+pid+"] is not a user you can send messages to")
		return
	}
	var mediaIDs []string
	for _, a := range req.Attachments {
		if _, why := s.usableMediaLocked(x.me, a.MediaID, true, x.now); why != "" {
			s.mu.Unlock()
			invalid(x, "attachments.media_id", a.MediaID, why)
			return
		}
		mediaIDs = append(mediaIDs, a.MediaID)
	}
	ev := s.addDMLocked(x.me, pid, req.Text, mediaIDs)
	s.mu.Unlock()
	writeJSON(x.w, http.StatusCreated, map[string]any{
		"data": map[string]any{"dm_conversation_id": ev.ConversationID, "dm_event_id": ev.ID},
	})
}

// dmEvents answers GET /2/dm_events: every DM event of the authenticated
// user of the last 30 days.
func (s *Server) dmEvents(x *exchange) {
	s.listDMs(x, func(DMEvent) bool { return true })
}

// dmEventsByConversation answers GET /2/dm_conversations/{id}/dm_events.
func (s *Server) dmEventsByConversation(x *exchange) {
	id := x.route.params["id"]
	s.listDMs(x, func(ev DMEvent) bool { return ev.ConversationID == id })
}

// dmEventsWithParticipant answers
// GET /2/dm_conversations/with/{participant_id}/dm_events.
func (s *Server) dmEventsWithParticipant(x *exchange) {
	id := DMConversationID(x.me, x.route.params["participant_id"])
	s.listDMs(x, func(ev DMEvent) bool { return ev.ConversationID == id })
}

// listDMs answers a DM lookup: the authenticated user's DM events of the
// last 30 days that keep selects, newest first, paged. There is no since_id.
func (s *Server) listDMs(x *exchange, keep func(DMEvent) bool) {
	r := x.r
	limit := intParam(r, "max_results", 100)
	var after uint64 // 0: from the newest
	if tok := r.URL.Query().Get("pagination_token"); tok != "" {
		n, ok := parseDMToken(tok)
		if !ok {
			invalid(x, "pagination_token", tok, "The `pagination_token` query parameter value ["+tok+"] is not valid")
			return
		}
		after = n
	}
	if types := queryList(r, "event_types"); len(types) > 0 && !slices.Contains(types, "MessageCreate") {
		keep = func(DMEvent) bool { return false }
	}
	fields := fieldsOf(r, "dm_event.fields")
	exp := fieldsOf(r, "expansions")
	uf := fieldsOf(r, "user.fields")
	mf := fieldsOf(r, "media.fields")
	if exp["attachments.media_keys"] {
		fields = fields.with("attachments") // an expansion brings its field
	}
	me := x.me
	oldest := x.now.Add(-dmLookback)

	s.mu.Lock()
	var data []any
	in := includes{base: x.origin}
	next := ""
	for i := len(s.dms) - 1; i >= 0; i-- {
		ev := s.dms[i]
		if ev.SenderID != me && ev.RecipientID != me || !keep(ev) {
			continue
		}
		if ev.CreatedAt.Before(oldest) {
			continue
		}
		if after != 0 && idNum(ev.ID) > after {
			continue
		}
		if len(data) == limit {
			next = dmToken(ev.ID)
			break
		}
		data = append(data, s.dmJSONLocked(ev, fields))
		if exp["sender_id"] {
			in.addUser(s, ev.SenderID, uf)
		}
		if exp["attachments.media_keys"] {
			for _, id := range ev.MediaIDs {
				in.addMedia(s, id, mf)
			}
		}
	}
	s.mu.Unlock()

	resp := map[string]any{}
	meta := map[string]any{"result_count": len(data)}
	if len(data) > 0 {
		resp["data"] = data
	}
	if next != "" {
		meta["next_token"] = next
	}
	in.put(resp)
	resp["meta"] = meta
	writeJSON(x.w, http.StatusOK, resp)
}
