package slacksim

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Methods that read the workspace: auth.test, users.*, usergroups.*,
// conversations.*, and apps.connections.open.

func (s *Server) authTest(c *apiCall) (obj, *apiError) {
	bot := s.users[s.opts.BotUserID]
	return obj{
		"url":                   "https://sim.slack.local/",
		"team":                  "Simulated Workspace",
		"user":                  bot.Name,
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) usersInfo(c *apiCall) (obj, *apiError) {
	u, ok := s.users[c.params.Get("user")]
	if !ok {
		return nil, fail("user_not_found")
	}
	return obj{"user": s.userJSONLocked(u)}, nil
}

func (s *Server) usersList(c *apiCall) (obj, *apiError) {
	start, limit, aerr := page(c.params, len(s.userOrder))
	if aerr != nil {
		return nil, aerr
	}
	end := min(start+limit, len(s.userOrder))
	members := make([]obj, 0, end-start)
	for _, id := range s.userOrder[start:end] {
		members = append(members, s.userJSONLocked(s.users[id]))
	}
	next := ""
	if end < len(s.userOrder) {
		next = encodeCursor("users", strconv.Itoa(end))
	}
	return obj{"members": members, "cache_ts": s.opts.Now().Unix(), "response_metadata": obj{"next_cursor": next}}, nil
}

func (s *Server) usergroupsList(c *apiCall) (obj, *apiError) {
	withUsers := boolParam(c.params, "include_users")
	withCount := boolParam(c.params, "include_count")
	groups := make([]obj, 0, len(s.groupOrder))
	for _, id := range s.groupOrder {
		g := s.groups[id]
		o := obj{
			"id": g.id, "team_id": s.opts.TeamID, "is_usergroup": true, "is_subteam": true,
			"name": g.handle, "handle": g.handle, "description": "", "is_external": false,
			"date_create": 0, "date_update": 0, "date_delete": 0, "auto_type": nil,
			"created_by": s.opts.BotUserID, "updated_by": s.opts.BotUserID, "deleted_by": nil,
			"prefs": obj{"channels": []string{}, "groups": []string{}},
		}
		if withUsers {
			o["users"] = nonNil(g.members)
		}
		if withCount {
			o["user_count"] = len(g.members)
		}
		groups = append(groups, o)
	}
	return obj{"usergroups": groups}, nil
}

func (s *Server) usergroupsUsersList(c *apiCall) (obj, *apiError) {
	g := s.groups[c.params.Get("usergroup")]
	if g == nil {
		return nil, fail("no_such_subteam")
	}
	return obj{"users": nonNil(g.members)}, nil
}

func (s *Server) conversationsInfo(c *apiCall) (obj, *apiError) {
	ch := s.channelLocked(c.params.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	return obj{"channel": s.channelJSONLocked(ch)}, nil
}

// history selects messages by oldest/latest/inclusive and pages them with
// limit/cursor; msgs must be in ascending ts order.
func history(p url.Values, msgs []*message, newestFirst bool) ([]*message, string, *apiError) {
	oldest, latest := p.Get("oldest"), p.Get("latest")
	incl := boolParam(p, "inclusive")
	var sel []*message
	for _, m := range msgs {
		t := tsMicros(m.TS)
		if oldest != "" && (t < tsMicros(oldest) || (!incl && t == tsMicros(oldest))) {
			continue
		}
		if latest != "" && (t > tsMicros(latest) || (!incl && t == tsMicros(latest))) {
			continue
		}
		sel = append(sel, m)
	}
	if newestFirst {
		slices.Reverse(sel)
	}
	start, limit, aerr := page(p, len(sel))
	if aerr != nil {
		return nil, "", aerr
	}
	end := min(start+limit, len(sel))
	next := ""
	if end < len(sel) {
		next = encodeCursor("next_ts", strconv.Itoa(end))
	}
	return sel[start:end], next, nil
}

func (s *Server) conversationsReplies(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	m := ch.msgs[p.Get("ts")]
	if m == nil || (m.Deleted && len(m.replies) == 0) {
		return nil, fail("thread_not_found")
	}
	if m.ThreadTS != "" {
		m = ch.msgs[m.ThreadTS]
	}
	all := []*message{m}
	for _, ts := range m.replies {
		if r := ch.live(ts); r != nil {
			all = append(all, r)
		}
	}
	sel, next, aerr := history(p, all, false)
	if aerr != nil {
		return nil, aerr
	}
	meta := boolParam(p, "include_all_metadata")
	out := make([]obj, 0, len(sel))
	for _, x := range sel {
		out = append(out, s.messageJSONLocked(ch, x, renderOpts{metadata: meta}))
	}
	return obj{"messages": out, "has_more": next != "", "response_metadata": obj{"next_cursor": next}}, nil
}

func (s *Server) conversationsHistory(c *apiCall) (obj, *apiError) {
	p := c.params
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	var roots []*message
	for _, ts := range ch.roots {
		if m := ch.root(ts); m != nil {
			roots = append(roots, m)
		}
	}
	sel, next, aerr := history(p, roots, true)
	if aerr != nil {
		return nil, aerr
	}
	meta := boolParam(p, "include_all_metadata")
	out := make([]obj, 0, len(sel))
	for _, x := range sel {
		out = append(out, s.messageJSONLocked(ch, x, renderOpts{metadata: meta}))
	}
	return obj{
		"messages": out, "has_more": next != "", "pin_count": 0,
		"channel_actions_ts": nil, "channel_actions_count": 0,
		"response_metadata": obj{"next_cursor": next},
	}, nil
}

func (s *Server) appsConnectionsOpen(c *apiCall) (obj, *apiError) {
	ticket := s.d.newTicket()
	u := strings.Replace(s.baseLocked(), "http", "ws", 1) + "/socket?ticket=" + ticket + "&app_id=" + s.opts.AppID
	return obj{"url": u}, nil
}

// page reads limit (default 100, Slack's maximum 1000) and cursor.
func page(p url.Values, total int) (start, limit int, _ *apiError) {
	limit = 100
	if l := p.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return 0, 0, fail("invalid_limit")
		}
		if n > 0 {
			limit = min(n, 1000)
		}
	}
	if cur := p.Get("cursor"); cur != "" {
		_, v, ok := decodeCursor(cur)
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 || n > total {
			return 0, 0, fail("invalid_cursor")
		}
		start = n
	}
	return start, limit, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
