package x

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

const (
	dmCursor      = "x:" + account + ":dm_events"
	mentionCursor = "x:" + account + ":mentions"
)

// requests returns the simulator's log of GETs of path.
func (e *env) requests(path string) []xsim.RequestLog {
	var out []xsim.RequestLog
	for _, r := range e.sim.Requests() {
		if r.Method == "GET" && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func TestPollDMsPagesNewestFirstAndStopsAtCursor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	var all []xsim.DMEvent
	for i := range 250 {
		from := dana
		if i%2 == 1 {
			from = raj
		}
		all = append(all, e.sim.CustomerDM(from, fmt.Sprintf("message %d about order #%d", i, 4000+i)))
	}
	cursors := &memCursors{}
	_ = cursors.SetCursor(ctx, dmCursor, all[49].ID) // the first 50 were handled before
	rec := &recorder{}
	p := &Poller{Client: e.client, In: rec, Cursors: cursors, Clock: e.clock, Logger: testLogger(t)}

	n, err := p.PollDMs(ctx)
	if err != nil {
		t.Fatalf("PollDMs: %v", err)
	}
	if n != 200 {
		t.Fatalf("PollDMs handled %d, want 200", n)
	}
	var want []string
	for _, ev := range all[50:] {
		want = append(want, ev.ID)
	}
	if got := rec.ids(); !reflect.DeepEqual(got, want) {
		t.Errorf("handed %d events, not the 200 after the cursor oldest first", len(got))
	}
	if got := cursors.get(dmCursor); got != all[249].ID {
		t.Errorf("cursor %s, want the newest id %s", got, all[249].ID)
	}
	reqs := e.requests("/2/dm_events")
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages (2 × 100 new events, then the page holding the cursor)", len(reqs))
	}
	for _, r := range reqs[1:] {
		if q, _ := url.ParseQuery(r.Query); q.Get("pagination_token") == "" {
			t.Errorf("next page asked without pagination_token: %s", r.Query)
		}
	}
	m := rec.all()[0]
	if m.Kind != bridge.KindDM || m.Sender.Handle != "danawhit" || m.Sender.Followers != 1843 || !m.Sender.Verified ||
		m.ConversationKey != "1000-2001" || m.RecipientID != account || m.Via != "poll" || m.CreatedAt.IsZero() {
		t.Errorf("first event %+v", m)
	}

	// Nothing new: one request, nothing handed, cursor unchanged.
	if n, err := p.PollDMs(ctx); err != nil || n != 0 {
		t.Fatalf("second PollDMs = %d, %v; want 0", n, err)
	}
	// The account's own DM comes back too (the domain knows its echo).
	id, err := e.client.SendDM(ctx, account, dana, "We've found it, Dana!")
	if err != nil {
		t.Fatal(err)
	}
	reply := e.sim.CustomerDM(dana, "Great, thank you!")
	if n, err := p.PollDMs(ctx); err != nil || n != 2 {
		t.Fatalf("third PollDMs = %d, %v; want 2", n, err)
	}
	got := rec.all()[200:]
	if got[0].EventID != id || got[0].Sender.ID != account || got[0].RecipientID != dana || got[0].ConversationKey != "1000-2001" {
		t.Errorf("own DM echo %+v", got[0])
	}
	if got[1].EventID != reply.ID {
		t.Errorf("reply %+v", got[1])
	}
	if c := cursors.get(dmCursor); c != reply.ID {
		t.Errorf("cursor %s, want %s", c, reply.ID)
	}
	e.noViolations(t)
}

func TestPollDMsKeepsCursorWhenInboundFails(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	cursors := &memCursors{}
	first := e.sim.CustomerDM(dana, "first")
	_ = cursors.SetCursor(ctx, dmCursor, first.ID)
	second := e.sim.CustomerDM(dana, "second")
	third := e.sim.CustomerDM(dana, "third")

	down := true
	rec := &recorder{fail: func(m bridge.InboundMessage) error {
		if down && m.EventID == third.ID {
			return bridge.Errorf(bridge.EUNAVAILABLE, "database unavailable")
		}
		return nil
	}}
	p := &Poller{Client: e.client, In: rec, Cursors: cursors, Clock: e.clock, Logger: testLogger(t)}
	if _, err := p.PollDMs(ctx); err == nil {
		t.Fatal("PollDMs: no error, want the Inbound failure")
	}
	if c := cursors.get(dmCursor); c != first.ID {
		t.Fatalf("cursor moved to %s after a failed pass", c)
	}
	down = false
	if n, err := p.PollDMs(ctx); err != nil || n != 2 {
		t.Fatalf("PollDMs = %d, %v; want both again", n, err)
	}
	if got, want := rec.ids(), []string{second.ID, second.ID, third.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("handed %v, want %v (redelivery, never loss)", got, want)
	}
	if c := cursors.get(dmCursor); c != third.ID {
		t.Errorf("cursor %s, want %s", c, third.ID)
	}
}

func TestPollFirstStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		backfill time.Duration
		want     []int // indexes of the events handed on (of old, recent)
	}{
		{"from now", 0, nil},
		{"backfill an hour", time.Hour, []int{1}},
		{"backfill a day", 24 * time.Hour, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ctx := context.Background()
			oldDM := e.sim.CustomerDM(dana, "hello? anyone?")
			oldMention := e.sim.CustomerMention(raj, "is support open today?", "")
			e.clock.Advance(3 * time.Hour)
			recentDM := e.sim.CustomerDM(dana, "still waiting on order #4521")
			recentMention := e.sim.CustomerMention(raj, "hello??", "")
			e.clock.Advance(10 * time.Minute)

			cursors := &memCursors{}
			rec := &recorder{}
			p := &Poller{Client: e.client, In: rec, Cursors: cursors, Clock: e.clock, Logger: testLogger(t), Backfill: tt.backfill}
			if _, err := p.PollDMs(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := p.PollMentions(ctx); err != nil {
				t.Fatal(err)
			}
			var want []string
			dms, mentions := []string{oldDM.ID, recentDM.ID}, []string{oldMention.ID, recentMention.ID}
			for _, i := range tt.want {
				want = append(want, dms[i])
			}
			for _, i := range tt.want {
				want = append(want, mentions[i])
			}
			if got := rec.ids(); !reflect.DeepEqual(got, want) {
				t.Errorf("handed %v, want %v", got, want)
			}
			// The newest ids are stored whatever was handed on.
			if c := cursors.get(dmCursor); c != recentDM.ID {
				t.Errorf("dm cursor %q, want %s", c, recentDM.ID)
			}
			if c := cursors.get(mentionCursor); c != recentMention.ID {
				t.Errorf("mentions cursor %q, want %s", c, recentMention.ID)
			}
			e.noViolations(t)
		})
	}
}

// TestPollFirstStartWithNothingToStore: with no event yet, no cursor can be
// stored; events arriving before the next pass are still ingested.
func TestPollFirstStartWithNothingToStore(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	cursors := &memCursors{}
	rec := &recorder{}
	p := &Poller{Client: e.client, In: rec, Cursors: cursors, Clock: e.clock, Logger: testLogger(t)}
	if n, err := p.PollDMs(ctx); err != nil || n != 0 {
		t.Fatalf("PollDMs = %d, %v", n, err)
	}
	if n, err := p.PollMentions(ctx); err != nil || n != 0 {
		t.Fatalf("PollMentions = %d, %v", n, err)
	}
	e.clock.Advance(30 * time.Second)
	dm := e.sim.CustomerDM(dana, "hi")
	mention := e.sim.CustomerMention(raj, "hi", "")
	e.clock.Advance(45 * time.Second)
	if n, err := p.PollDMs(ctx); err != nil || n != 1 {
		t.Fatalf("PollDMs = %d, %v; want 1", n, err)
	}
	if n, err := p.PollMentions(ctx); err != nil || n != 1 {
		t.Fatalf("PollMentions = %d, %v; want 1", n, err)
	}
	if got, want := rec.ids(), []string{dm.ID, mention.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("handed %v, want %v", got, want)
	}
}

func TestPollMentions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	seen := e.sim.CustomerMention(raj, "old news", "")
	cursors := &memCursors{}
	_ = cursors.SetCursor(ctx, mentionCursor, seen.ID)

	first := e.sim.CustomerMention(raj, "my blender arrived cracked", "")
	ourReply, err := e.client.Reply(ctx, account, first.ID, "So sorry! DM us your order number?")
	if err != nil {
		t.Fatal(err)
	}
	answer := e.sim.CustomerMention(raj, "@acme_help done, sent it", ourReply)
	e.sim.CustomerMention(stranger, "@rajcooks @acme_help same here!", first.ID)
	var more []xsim.Tweet
	for i := range 120 { // more than a page
		more = append(more, e.sim.CustomerMention(dana, fmt.Sprintf("question %d", i), ""))
	}

	rec := &recorder{}
	obs := &observer{}
	p := &Poller{Client: e.client, In: rec, Cursors: cursors, Clock: e.clock, Logger: testLogger(t), Observe: obs}
	n, err := p.PollMentions(ctx)
	if err != nil {
		t.Fatalf("PollMentions: %v", err)
	}
	if n != 123 {
		t.Fatalf("handled %d, want 123", n)
	}
	got := rec.all()
	if got[0].EventID != first.ID || got[0].ConversationKey != first.ID || got[0].InReplyToID != "" ||
		got[0].Sender.Handle != "rajcooks" || got[0].Sender.Followers != 312 || got[0].Via != "poll" {
		t.Errorf("first mention %+v", got[0])
	}
	if got[1].EventID != answer.ID || got[1].ConversationKey != first.ID || got[1].InReplyToID != ourReply {
		t.Errorf("answer %+v, want conversation %s in reply to %s", got[1], first.ID, ourReply)
	}
	if got[2].Sender.ID != stranger || got[2].InReplyToID != first.ID {
		t.Errorf("third %+v", got[2])
	}
	if c := cursors.get(mentionCursor); c != more[119].ID {
		t.Errorf("cursor %s, want %s", c, more[119].ID)
	}
	reqs := e.requests("/2/users/" + account + "/mentions")
	q, _ := url.ParseQuery(reqs[0].Query)
	if q.Get("since_id") != seen.ID {
		t.Errorf("first request without since_id=%s: %s", seen.ID, reqs[0].Query)
	}

	// Next pass: since the new cursor.
	last := e.sim.CustomerMention(dana, "one more thing", "")
	if n, err := p.PollMentions(ctx); err != nil || n != 1 {
		t.Fatalf("second PollMentions = %d, %v", n, err)
	}
	reqs = e.requests("/2/users/" + account + "/mentions")
	q, _ = url.ParseQuery(reqs[len(reqs)-1].Query)
	if q.Get("since_id") != more[119].ID {
		t.Errorf("second pass since_id %q, want %s", q.Get("since_id"), more[119].ID)
	}
	if ids := rec.ids(); ids[len(ids)-1] != last.ID {
		t.Errorf("last handed %s, want %s", ids[len(ids)-1], last.ID)
	}
	if ev := obs.eventList(); len(ev) != 124 || ev[0] != "poll:mention" {
		t.Errorf("observer saw %d events", len(ev))
	}
	e.noViolations(t)
}

func TestPace(t *testing.T) {
	t.Parallel()
	now := simStart
	tests := []struct {
		name string
		b    budget
		want time.Duration
	}{
		{"unknown budget", budget{}, time.Minute},
		{"plenty left", budget{known: true, remaining: 14, reset: now.Add(15 * time.Minute)}, time.Minute},
		{"spread thin", budget{known: true, remaining: 2, reset: now.Add(15 * time.Minute)}, 5 * time.Minute},
		{"mentions budget", budget{known: true, remaining: 299, reset: now.Add(15 * time.Minute)}, time.Minute},
		{"spent", budget{known: true, remaining: 0, reset: now.Add(9 * time.Minute)}, 9*time.Minute + time.Second},
		{"reset passed", budget{known: true, remaining: 0, reset: now.Add(-time.Second)}, time.Minute},
	}
	for _, tt := range tests {
		if got := pace(now, time.Minute, tt.b); got != tt.want {
			t.Errorf("%s: pace = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPollerHonoursRateLimitReset: after a 429 the poller waits, on its
// clock, until X's reset, then polls again.
func TestPollerHonoursRateLimitReset(t *testing.T) {
	t.Parallel()
	e := setup(t, withRateLimits)
	e.sim.FailNext("GET", "/2/dm_events", 1, xsim.Fault{Status: 429, Reset: 5 * time.Minute})
	got := make(chan bridge.InboundMessage, 10)
	rec := &recorder{got: got}
	obs := &observer{waits: make(chan wait, 10)}
	p := &Poller{Client: e.client, In: rec, Cursors: &memCursors{}, Clock: e.clock, Logger: testLogger(t),
		Observe: obs, DMInterval: time.Minute, MentionInterval: 15 * time.Second}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	select {
	case w := <-obs.waits:
		if w.what != "dm_events" || w.d != 5*time.Minute+time.Second {
			t.Fatalf("waited %v for %s, want 5m1s for dm_events", w.d, w.what)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not wait for the rate limit")
	}
	dm := e.sim.CustomerDM(dana, "are you there?")

	// Just before the reset nothing is polled.
	waitIdle(t, e, "/2/dm_events", 1)
	e.clock.Advance(5 * time.Minute)
	select {
	case m := <-got:
		t.Fatalf("handed %s before the reset", m.EventID)
	case <-time.After(100 * time.Millisecond):
	}
	e.clock.Advance(time.Second)
	select {
	case m := <-got:
		if m.EventID != dm.ID {
			t.Fatalf("handed %s, want %s", m.EventID, dm.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not poll again after the reset")
	}
	if reqs := e.requests("/2/dm_events"); len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
		t.Errorf("requests %+v", reqs)
	}
	e.noViolations(t)
}

// waitIdle waits until the simulator has answered n GETs of path.
func waitIdle(t *testing.T, e *env, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.requests(path)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests of %s, want %d", len(e.requests(path)), path, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stepClock is a manual clock that reports every wait asked of it.
type stepClock struct {
	*bridge.ManualClock
	waits chan time.Duration
}

func (c stepClock) After(d time.Duration) <-chan time.Time {
	ch := c.ManualClock.After(d)
	c.waits <- d
	return ch
}

// TestPollerSpreadsBudget: with X's DM budget (15 per 15 minutes) enforced,
// the poller spreads its polls over the window and never hits 429.
func TestPollerSpreadsBudget(t *testing.T) {
	t.Parallel()
	e := setup(t, withRateLimits)
	clock := stepClock{ManualClock: e.clock, waits: make(chan time.Duration, 100)}
	p := &Poller{Client: e.client, In: &recorder{}, Cursors: &memCursors{}, Clock: clock, Logger: testLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.loop(ctx, streamDMs, 10*time.Second, p.pollDMs)
	}()

	var elapsed time.Duration
	for range 35 {
		select {
		case d := <-clock.waits:
			if d < 10*time.Second {
				t.Errorf("waited %v, less than the minimum interval", d)
			}
			elapsed += d
			e.clock.Advance(d)
		case <-time.After(5 * time.Second):
			t.Fatal("the poller stopped polling")
		}
	}
	cancel()
	<-done

	dms := e.requests("/2/dm_events")
	for i, r := range dms {
		if r.Status != 200 {
			t.Fatalf("DM poll %d was answered %d", i, r.Status)
		}
	}
	if len(dms) != 35 {
		t.Errorf("%d polls, want 35", len(dms))
	}
	// 15 polls per 15-minute window: the 35 polls span more than two windows.
	if elapsed < 30*time.Minute {
		t.Errorf("35 polls in %v, faster than X's budget allows", elapsed)
	}
	e.noViolations(t)
}
