package xsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// Limits of tweets.
const (
	maxTweetWeight   = 280
	urlWeight        = 23             // every URL counts as a t.co link
	mentionsKept     = 800            // the mentions timeline reaches this far back
	timelineKept     = 3200           // the user timeline reaches this far back
	duplicateHorizon = 24 * time.Hour // identical text refused within this
	defaultPageSize  = 10             // timelines' default max_results
)

// createTweet answers POST /2/tweets.
func (s *Server) createTweet(x *exchange) {
	var req struct {
		Text  string `json:"text"`
		Media *struct {
			MediaIDs []string `json:"media_ids"`
		} `json:"media"`
		Reply *struct {
			InReplyToTweetID string `json:"in_reply_to_tweet_id"`
		} `json:"reply"`
		QuoteTweetID string `json:"quote_tweet_id"`
	}
	if err := json.Unmarshal(x.body, &req); err != nil {
		invalid(x, "", "", "request body is not valid JSON: "+err.Error())
		return
	}
	switch {
	case req.Text == "" && req.Media == nil:
		invalid(x, "text", "", "Post text is required when no media is attached")
		return
	case weightedLength(req.Text) > maxTweetWeight:
		forbidden(x, "Your Tweet text is too long. For more information on how X determines text length see https://github.com/twitter/twitter-text.")
		return
	}
	me := x.me

	s.mu.Lock()
	parent := ""
	if req.Reply != nil {
		parent = req.Reply.InReplyToTweetID
		if _, ok := s.tweetLocked(parent); !ok {
			s.mu.Unlock()
			forbidden(x, "You attempted to reply to a Tweet that is deleted or not visible to you.")
			return
		}
	}
	if req.QuoteTweetID != "" {
		if _, ok := s.tweetLocked(req.QuoteTweetID); !ok {
			s.mu.Unlock()
			forbidden(x, "You attempted to quote a Tweet that is deleted or not visible to you.")
			return
		}
	}
	var mediaIDs []string
	if req.Media != nil {
		photos := 0
		for _, id := range req.Media.MediaIDs {
			m, why := s.usableMediaLocked(me, id, false, x.now)
			if why != "" {
				s.mu.Unlock()
				invalid(x, "media.media_ids", id, "Your media IDs are invalid: "+why)
				return
			}
			if m.kind == MediaPhoto {
				photos++
			}
			mediaIDs = append(mediaIDs, id)
		}
		if len(mediaIDs) > 1 && photos != len(mediaIDs) {
			s.mu.Unlock()
			invalid(x, "media.media_ids", "", "Your media IDs are invalid: a tweet carries up to 4 photos or one video or GIF")
			return
		}
	}
	for i := len(s.tweets) - 1; i >= 0 && req.Text != ""; i-- {
		t := s.tweets[i]
		if t.CreatedAt.Before(x.now.Add(-duplicateHorizon)) {
			break
		}
		if t.AuthorID == me && t.Text == req.Text {
			s.mu.Unlock()
			forbidden(x, "You are not allowed to create a Tweet with duplicate content.")
			return
		}
	}
	t := s.addTweetLocked(me, req.Text, parent, mediaIDs)
	s.mu.Unlock()

	writeJSON(x.w, http.StatusCreated, map[string]any{
		"data": map[string]any{"id": t.ID, "text": t.Text, "edit_history_tweet_ids": []string{t.ID}},
	})
}

// tweetByID answers GET /2/tweets/{id}.
func (s *Server) tweetByID(x *exchange) {
	s.lookupTweets(x, "id", []string{x.route.params["id"]}, true)
}

// tweetsByIDs answers GET /2/tweets?ids=.
func (s *Server) tweetsByIDs(x *exchange) {
	s.lookupTweets(x, "ids", queryList(x.r, "ids"), false)
}

func (s *Server) lookupTweets(x *exchange, param string, ids []string, single bool) {
	r := x.r
	tf, uf, exp, mf := tweetFields(r)
	resp := map[string]any{}
	var data, errs []any
	in := includes{base: x.origin}
	s.mu.Lock()
	for _, id := range ids {
		t, ok := s.tweetLocked(id)
		if !ok {
			errs = append(errs, notFound("tweet", param, id))
			continue
		}
		data = append(data, s.tweetJSONLocked(t, tf))
		s.expandTweetLocked(&in, t, exp, tf, uf, mf)
	}
	s.mu.Unlock()
	switch {
	case single && len(data) == 1:
		resp["data"] = data[0]
	case len(data) > 0:
		resp["data"] = data
	}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	in.put(resp)
	writeJSON(x.w, http.StatusOK, resp)
}

// mentionsTimeline answers GET /2/users/{id}/mentions: the tweets
// mentioning the user, newest first, the 800 most recent only.
func (s *Server) mentionsTimeline(x *exchange) {
	id := x.route.params["id"]
	s.mu.Lock()
	u, ok := s.users[id]
	var list []Tweet
	for i := len(s.tweets) - 1; ok && i >= 0 && len(list) < mentionsKept; i-- {
		if t := s.tweets[i]; t.AuthorID != id && s.mentionsUserLocked(t, u) {
			list = append(list, t)
		}
	}
	s.mu.Unlock()
	if !ok {
		s.userNotFound(x, id)
		return
	}
	s.timeline(x, list)
}

// userTimeline answers GET /2/users/{id}/tweets: the user's tweets, newest
// first, the 3,200 most recent only.
func (s *Server) userTimeline(x *exchange) {
	id := x.route.params["id"]
	excl := fieldsOf(x.r, "exclude")
	s.mu.Lock()
	_, ok := s.users[id]
	var list []Tweet
	n := 0
	for i := len(s.tweets) - 1; ok && i >= 0 && n < timelineKept; i-- {
		t := s.tweets[i]
		if t.AuthorID != id {
			continue
		}
		n++
		if excl["replies"] && t.InReplyToTweetID != "" {
			continue
		}
		list = append(list, t)
	}
	s.mu.Unlock()
	if !ok {
		s.userNotFound(x, id)
		return
	}
	s.timeline(x, list)
}

// userNotFound answers a timeline request for an unknown user as X does.
func (s *Server) userNotFound(x *exchange, id string) {
	writeJSON(x.w, http.StatusOK, map[string]any{"errors": []any{notFound("user", "id", id)}})
}

// timeline answers a timeline request from list (newest first), applying
// since_id, until_id, start_time, end_time, pagination_token and
// max_results.
func (s *Server) timeline(x *exchange, list []Tweet) {
	r := x.r
	q := r.URL.Query()
	limit := intParam(r, "max_results", defaultPageSize)
	since, until := idNum(q.Get("since_id")), idNum(q.Get("until_id"))
	start, end := timeParam(r, "start_time"), timeParam(r, "end_time")
	var from uint64
	if tok := q.Get("pagination_token"); tok != "" {
		n, ok := parseTimelineToken(tok)
		if !ok {
			invalid(x, "pagination_token", tok, "The `pagination_token` query parameter value ["+tok+"] is not valid")
			return
		}
		from = n
	}
	tf, uf, exp, mf := tweetFields(r)

	var data []any
	in := includes{base: x.origin}
	meta := map[string]any{}
	s.mu.Lock()
	for _, t := range list {
		n := idNum(t.ID)
		switch {
		case since != 0 && n <= since,
			until != 0 && n >= until,
			!start.IsZero() && t.CreatedAt.Before(start),
			!end.IsZero() && t.CreatedAt.After(end),
			from != 0 && n > from:
			continue
		}
		if len(data) == limit {
			meta["next_token"] = timelineToken(t.ID)
			break
		}
		if len(data) == 0 {
			meta["newest_id"] = t.ID
		}
		meta["oldest_id"] = t.ID
		data = append(data, s.tweetJSONLocked(t, tf))
		s.expandTweetLocked(&in, t, exp, tf, uf, mf)
	}
	s.mu.Unlock()

	meta["result_count"] = len(data)
	resp := map[string]any{"meta": meta}
	if len(data) > 0 {
		resp["data"] = data
	}
	in.put(resp)
	writeJSON(x.w, http.StatusOK, resp)
}

// tweetFields returns the tweet.fields, user.fields, expansions and
// media.fields of a tweet lookup. As at X, an expansion brings the field it
// expands.
func tweetFields(r *http.Request) (tf, uf, exp, mf fieldSet) {
	tf, uf, exp, mf = fieldsOf(r, "tweet.fields"), fieldsOf(r, "user.fields"), fieldsOf(r, "expansions"), fieldsOf(r, "media.fields")
	if exp["attachments.media_keys"] {
		tf = tf.with("attachments")
	}
	return tf, uf, exp, mf
}

// urlRE finds the URLs X shortens to t.co links.
var urlRE = regexp.MustCompile(`https?://[^\s]+`)

// weightedLength is the length of a tweet text as X counts it
// (twitter-text v3): a URL counts 23; a code point counts 1 in the ranges
// of Latin, common punctuation and the like and 2 elsewhere (CJK, emoji,
// ...), a joined emoji sequence counting once.
func weightedLength(text string) int {
	n := 0
	last := 0
	for _, loc := range urlRE.FindAllStringIndex(text, -1) {
		n += runesWeight(text[last:loc[0]]) + urlWeight
		last = loc[1]
	}
	return n + runesWeight(text[last:])
}

func runesWeight(s string) int {
	n := 0
	joined := false
	for _, r := range s {
		switch {
		case r == 0x200D: // zero-width joiner: the next code point is part of this emoji
			joined = true
			continue
		case r >= 0xFE00 && r <= 0xFE0F, r >= 0x1F3FB && r <= 0x1F3FF: // variation selectors, skin tones
			continue
		case joined:
			joined = false
			continue
		}
		if r <= 4351 || r >= 8192 && r <= 8205 || r >= 8208 && r <= 8223 || r >= 8242 && r <= 8247 {
			n++
		} else {
			n += 2
		}
	}
	return n
}
