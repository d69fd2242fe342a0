package x

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

// Default minimum spacing of polls.
const (
	DefaultDMInterval      = 60 * time.Second
	DefaultMentionInterval = 15 * time.Second
)

// Poll streams, as named to the Observer's Waited.
const (
	streamDMs      = "dm_events"
	streamMentions = "mentions"
)

// maxErrorBackoff caps the wait after repeated failed polls.
const maxErrorBackoff = 15 * time.Minute

// Poller ingests DMs and mentions by polling the X API, paced so as to
// stay within X's 15-minute budgets (DM lookup: 15 requests; mentions: 300),
// which it reads from every answer. It hands events to In oldest first and
// advances its cursors only once every event of a pass was handled, so a
// crash means a redelivery (which the domain deduplicates), never a loss.
type Poller struct {
	Client  *Client
	In      Inbound
	Cursors Cursors
	Clock   bridge.Clock // default bridge.SystemClock
	Logger  *slog.Logger
	Observe Observer // may be nil

	// DMInterval and MentionInterval are the minimum spacing of polls
	// (defaults DefaultDMInterval and DefaultMentionInterval); the poller
	// waits longer when X's remaining budget requires it.
	DMInterval, MentionInterval time.Duration
	// Backfill: on the first start (no cursor yet), events newer than
	// now-Backfill are ingested; 0 starts from now.
	Backfill time.Duration

	mu     sync.Mutex
	floors map[string]time.Time // per cursor, while it is unset: where the first start began
}

// budget is what the last answer of a pass said about the rate limit.
type budget struct {
	known     bool
	remaining int
	reset     time.Time
	limited   bool // the answer was 429
}

// budgetOf reads the budget from the last answer of a call.
func budgetOf(cl *call, now time.Time) budget {
	status, h := cl.answer()
	b := budget{limited: status == http.StatusTooManyRequests}
	if h == nil {
		return b
	}
	b.reset = epochHeader(h, "x-rate-limit-reset")
	rem, err := strconv.Atoi(h.Get("x-rate-limit-remaining"))
	if err == nil && !b.reset.IsZero() {
		b.known, b.remaining = true, rem
	}
	if b.limited && b.reset.IsZero() {
		b.reset = retryAfter(h, now)
	}
	return b
}

// Run polls DMs and mentions until ctx ends, then returns nil. Failures are
// logged and retried with backoff.
func (p *Poller) Run(ctx context.Context) error {
	if p.Client == nil || p.In == nil || p.Cursors == nil {
		return errors.New("x poller: Client, In and Cursors are required")
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.loop(ctx, streamDMs, p.interval(p.DMInterval, DefaultDMInterval), p.pollDMs) })
	wg.Go(func() {
		p.loop(ctx, streamMentions, p.interval(p.MentionInterval, DefaultMentionInterval), p.pollMentions)
	})
	wg.Wait()
	return nil
}

// loop runs poll, then waits as the budget asks, until ctx ends.
func (p *Poller) loop(ctx context.Context, what string, minWait time.Duration, poll func(context.Context) (int, budget, error)) {
	log := p.logger().With("stream", what)
	failures := 0
	for {
		n, b, err := poll(ctx)
		if ctx.Err() != nil {
			return
		}
		now := p.clock().Now()
		var wait time.Duration
		switch {
		case b.limited:
			wait = untilReset(now, b.reset, minWait)
			log.Info("x rate limit reached; polling again after the reset", "wait", wait)
		case err != nil:
			failures++
			wait = min(minWait<<min(failures-1, 10), max(maxErrorBackoff, minWait))
			log.Warn("x poll failed", "err", err, "failures", failures, "retry_in", wait)
		default:
			failures = 0
			wait = pace(now, minWait, b)
			if n > 0 {
				log.Debug("x poll handled events", "events", n)
			}
		}
		if wait > minWait && (b.limited || err == nil) {
			p.observer().Waited(what, wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.clock().After(wait):
		}
	}
}

// pace spreads the remaining budget over the rest of the window: the next
// poll comes after max(minWait, time to reset / (remaining+1)).
func pace(now time.Time, minWait time.Duration, b budget) time.Duration {
	if !b.known {
		return minWait
	}
	left := b.reset.Sub(now)
	if left <= 0 {
		return minWait
	}
	if b.remaining <= 0 {
		return untilReset(now, b.reset, minWait)
	}
	return max(minWait, left/time.Duration(b.remaining+1))
}

// untilReset is the wait until a window resets. X gives the reset in whole
// seconds, so a second is added lest the poll land just before it.
func untilReset(now, reset time.Time, fallback time.Duration) time.Duration {
	if reset.IsZero() || !reset.After(now) {
		return fallback
	}
	return reset.Sub(now) + time.Second
}

// PollDMs polls DM events once (GET /2/dm_events), hands the new ones to In
// oldest first and advances the cursor. It returns how many events In
// accepted.
func (p *Poller) PollDMs(ctx context.Context) (int, error) {
	n, _, err := p.pollDMs(ctx)
	return n, err
}

// PollMentions polls the mentions timeline once, hands the new mentions to
// In oldest first and advances the cursor. It returns how many events In
// accepted.
func (p *Poller) PollMentions(ctx context.Context) (int, error) {
	n, _, err := p.pollMentions(ctx)
	return n, err
}

func (p *Poller) pollDMs(ctx context.Context) (int, budget, error) {
	account := p.Client.cfg.AccountID
	name := "x:" + account + ":dm_events"
	cursor, floor, err := p.position(ctx, name)
	if err != nil {
		return 0, budget{}, err
	}
	ctx, cl := p.Client.startCall(ctx)
	params := url.Values{
		"dm_event.fields": {"id,text,event_type,created_at,dm_conversation_id,sender_id,participant_ids,attachments"},
		"event_types":     {"MessageCreate"},
		"expansions":      {"sender_id,attachments.media_keys"},
		"user.fields":     {"username,name,profile_image_url,public_metrics,verified"},
		"media.fields":    {"media_key,type,url,preview_image_url,alt_text,variants"},
		"max_results":     {"100"},
	}
	var events []dmEventV2
	users := map[string]*twitter.UserObj{}
	media := map[string]*twitter.MediaObj{}
	newest := ""
	for {
		var page dmEventsPage
		if err := p.Client.getJSON(ctx, "/2/dm_events", params, &page); err != nil {
			return 0, budgetOf(cl, p.clock().Now()), fmt.Errorf("poll dm events: %w", err)
		}
		for id, u := range usersByID(page.Includes.Users) {
			users[id] = u
		}
		for k, m := range mediaByKey(page.Includes.Media) {
			media[k] = m
		}
		done := false
		for _, ev := range page.Data {
			if cursor != "" && !idLess(cursor, ev.ID) {
				done = true // reached what an earlier pass handled
				break
			}
			if newest == "" || idLess(newest, ev.ID) {
				newest = ev.ID
			}
			if cursor == "" && parseV2Time(ev.CreatedAt).Before(floor) {
				done = true // older than the backfill
				break
			}
			events = append(events, ev)
		}
		if done || page.Meta.NextToken == "" {
			break
		}
		params.Set("pagination_token", page.Meta.NextToken)
	}
	slices.SortFunc(events, func(a, b dmEventV2) int { return compareIDs(a.ID, b.ID) })
	n := 0
	for _, ev := range events {
		m, reason := dmFromV2(account, ev, users)
		m.Media = v2MediaRefs(ev.Attachments.MediaKeys, media, dmPageURL(m.ConversationKey))
		ok, err := p.hand(ctx, m, reason)
		if err != nil {
			return n, budgetOf(cl, p.clock().Now()), err
		}
		if ok {
			n++
		}
	}
	return n, budgetOf(cl, p.clock().Now()), p.advance(ctx, name, cursor, newest)
}

func (p *Poller) pollMentions(ctx context.Context) (int, budget, error) {
	account := p.Client.cfg.AccountID
	name := "x:" + account + ":mentions"
	cursor, floor, err := p.position(ctx, name)
	if err != nil {
		return 0, budget{}, err
	}
	ctx, cl := p.Client.startCall(ctx)
	opts := twitter.UserMentionTimelineOpts{
		TweetFields: []twitter.TweetField{
			twitter.TweetFieldConversationID, twitter.TweetFieldCreatedAt, twitter.TweetFieldAuthorID,
			twitter.TweetFieldInReplyToUserID, twitter.TweetFieldReferencedTweets,
		},
		Expansions:  []twitter.Expansion{twitter.ExpansionAuthorID, twitter.ExpansionAttachmentsMediaKeys},
		UserFields:  userFields,
		MediaFields: mediaFields,
		MaxResults:  100,
		SinceID:     cursor,
	}
	var tweets []*twitter.TweetObj
	users := map[string]*twitter.UserObj{}
	media := map[string]*twitter.MediaObj{}
	newest := ""
	for {
		resp, err := p.Client.tw.UserMentionTimeline(ctx, account, opts)
		if err != nil {
			return 0, budgetOf(cl, p.clock().Now()), fmt.Errorf("poll mentions: %w", err)
		}
		if resp.Raw.Includes != nil {
			for id, u := range usersByID(resp.Raw.Includes.Users) {
				users[id] = u
			}
			for k, m := range mediaByKey(resp.Raw.Includes.Media) {
				media[k] = m
			}
		}
		done := false
		for _, t := range resp.Raw.Tweets {
			if t == nil || (cursor != "" && !idLess(cursor, t.ID)) {
				continue
			}
			if newest == "" || idLess(newest, t.ID) {
				newest = t.ID
			}
			if cursor == "" && parseV2Time(t.CreatedAt).Before(floor) {
				// First start: older than the backfill. The timeline is
				// newest first, so the rest is older still; the newest id
				// is known and becomes the cursor.
				done = true
				break
			}
			tweets = append(tweets, t)
		}
		if done || resp.Meta == nil || resp.Meta.NextToken == "" {
			break
		}
		opts.PaginationToken = resp.Meta.NextToken
	}
	slices.SortFunc(tweets, func(a, b *twitter.TweetObj) int { return compareIDs(a.ID, b.ID) })
	n := 0
	for _, t := range tweets {
		m, reason := mentionFromV2(account, t, users)
		if t.Attachments != nil {
			m.Media = v2MediaRefs(t.Attachments.MediaKeys, media, tweetPageURL(t.ID))
		}
		ok, err := p.hand(ctx, m, reason)
		if err != nil {
			return n, budgetOf(cl, p.clock().Now()), err
		}
		if ok {
			n++
		}
	}
	return n, budgetOf(cl, p.clock().Now()), p.advance(ctx, name, cursor, newest)
}

// position returns the stored cursor, or, on the first start, the time
// from which to ingest.
func (p *Poller) position(ctx context.Context, name string) (cursor string, floor time.Time, err error) {
	cursor, err = p.Cursors.Cursor(ctx, name)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read cursor %s: %w", name, err)
	}
	if cursor != "" {
		return cursor, time.Time{}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.floors == nil {
		p.floors = map[string]time.Time{}
	}
	floor, ok := p.floors[name]
	if !ok {
		// Remembered until a cursor exists, so that events arriving between
		// the first passes are not lost while there is nothing to store.
		floor = p.clock().Now().Add(-max(p.Backfill, 0))
		p.floors[name] = floor
	}
	return "", floor, nil
}

// hand gives one converted event to In. It reports whether In accepted
// it; the error is set only when the pass must stop (In failed in a way a
// later pass may cure).
func (p *Poller) hand(ctx context.Context, m bridge.InboundMessage, ignored string) (bool, error) {
	if ignored != "" {
		p.observer().Ignored(viaPoll, ignored)
		return false, nil
	}
	if _, err := p.In.HandleInbound(ctx, m); err != nil {
		if retryable(err) {
			return false, fmt.Errorf("handle x event %s: %w", m.EventID, err)
		}
		p.logger().Warn("x event refused", "event_id", m.EventID, "kind", m.Kind, "err", err)
		p.observer().Ignored(viaPoll, "refused")
		return false, nil
	}
	p.observer().Event(viaPoll, string(m.Kind))
	return true, nil
}

// advance stores newest as the cursor if it is past the old one.
func (p *Poller) advance(ctx context.Context, name, cursor, newest string) error {
	if newest == "" || (cursor != "" && !idLess(cursor, newest)) {
		return nil
	}
	if err := p.Cursors.SetCursor(ctx, name, newest); err != nil {
		return fmt.Errorf("store cursor %s: %w", name, err)
	}
	return nil
}

// compareIDs orders numeric ids as numbers.
func compareIDs(a, b string) int {
	switch {
	case idLess(a, b):
		return -1
	case idLess(b, a):
		return 1
	}
	return 0
}

func (p *Poller) interval(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func (p *Poller) clock() bridge.Clock {
	if p.Clock == nil {
		return bridge.SystemClock{}
	}
	return p.Clock
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger == nil {
		return p.Client.logger.With("ingest", viaPoll)
	}
	return p.Logger.With("adapter", "x")
}

func (p *Poller) observer() Observer { return observerOrNop(p.Observe) }
