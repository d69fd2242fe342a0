package bridge_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// slaSetup turns the SLA engine on: 24/7 unless cal is given, re-alerts
// every 10 minutes up to 3 times.
func slaSetup(t *testing.T, dsn string, cal *bridge.Calendar) (*harness, *bridge.Scheduler) {
	h := setupOn(t, dsn)
	h.svc.SLA = &bridge.SLA{
		Policies: []bridge.SLAPolicy{
			{Priority: bridge.PriorityUrgent, FirstResponse: 5 * time.Minute, NextResponse: 10 * time.Minute, Resolution: time.Hour, WarnBefore: time.Minute},
			{Tag: "vip", FirstResponse: 10 * time.Minute, NextResponse: 30 * time.Minute, Resolution: 4 * time.Hour},
			{FirstResponse: 15 * time.Minute, NextResponse: time.Hour, Resolution: 24 * time.Hour, WarnBefore: 3 * time.Minute},
		},
		Calendar: cal, ReAlertEvery: 10 * time.Minute, ReAlertMax: 3,
		Lead: "<!subteam^SLEAD>", OnDuty: "<!subteam^SDUTY>", Webhook: true,
	}
	h.disp.Pager = &recPager{}
	return h, &bridge.Scheduler{Store: h.store, Clock: h.clock, Service: h.svc}
}

// slaSetupFor is slaSetup on the test's store (see setup).
func slaSetupFor(t *testing.T, cal *bridge.Calendar) (*harness, *bridge.Scheduler) {
	dsn := "sqlite:" + t.TempDir() + "/x.db"
	if strings.HasPrefix(t.Name(), "TestDomainOnPostgres/") {
		dsn = stores(t)["postgres"](t)
	}
	return slaSetup(t, dsn, cal)
}

type recPager struct {
	mu    sync.Mutex
	pages []string
}

func (p *recPager) Page(_ context.Context, event []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = append(p.pages, string(event))
	return nil
}

// at moves the clock to epoch+d, runs the scheduler and delivers.
func (h *harness) tickAt(s *bridge.Scheduler, d time.Duration) {
	h.t.Helper()
	if now := h.clock.Now(); epoch.Add(d).After(now) {
		h.clock.Advance(epoch.Add(d).Sub(now))
	}
	if _, err := s.Tick(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.drain()
}

func (h *harness) targets(conv int64) map[string]*bridge.SLATarget {
	h.t.Helper()
	out := map[string]*bridge.SLATarget{}
	h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		ts, err := tx.Targets(context.Background(), conv)
		for _, t := range ts {
			out[string(t.Metric)+"#"+string(rune('0'+t.Cycle))] = t
		}
		return err
	})
	return out
}

// warnings returns the bridge's warning posts in a thread and the channel.
func (h *harness) warnings() (thread, channel []bridge.Post) {
	for _, p := range h.chat.thread(h.thread(1)) {
		if p.Kind == bridge.PostWarning {
			thread = append(thread, p)
		}
	}
	for _, p := range h.chat.thread("") {
		channel = append(channel, p)
	}
	return thread, channel
}

func TestSLAAlertsClimbTheLadderOnce(t *testing.T) {
	t.Parallel()
	for name, dsn := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, s := slaSetup(t, dsn(t), nil)
			h.dm("2001", "my order is late") // first response due at 15m, warning at 12m
			h.tickAt(s, 11*time.Minute)
			if th, _ := h.warnings(); len(th) != 0 {
				t.Fatalf("alert before the warning time: %+v", th)
			}
			h.tickAt(s, 12*time.Minute)
			th, ch := h.warnings()
			if len(th) != 1 || !strings.Contains(th[0].Text, "First response due in 3m") || th[0].Mention[0] != "<!subteam^SDUTY>" {
				t.Fatalf("imminent alert = %+v", th)
			}
			if c := h.lastCard(); len(c.SLA) == 0 || c.SLA[0].State != bridge.TargetImminent {
				t.Fatalf("card SLA = %+v", c.SLA)
			}
			h.tickAt(s, 12*time.Minute+30*time.Second) // nothing new
			h.tickAt(s, 15*time.Minute)
			th, ch = h.warnings()
			if len(th) != 2 || !strings.Contains(th[1].Text, "breached") || len(ch) != 1 || ch[0].Mention[0] != "<!subteam^SLEAD>" {
				t.Fatalf("breach: thread %+v channel %+v", th, ch)
			}
			if pages := h.disp.Pager.(*recPager).pages; len(pages) != 1 || !strings.Contains(pages[0], `"metric":"first_response"`) {
				t.Fatalf("pages = %q", pages)
			}
			// Still breached: assignee (thread), channel (on duty), lead, then the cap.
			for _, at := range []time.Duration{25, 35, 45, 55, 65, 75} {
				h.tickAt(s, at*time.Minute)
			}
			th, ch = h.warnings()
			if len(th) != 3 || len(ch) != 3 || ch[1].Mention[0] != "<!subteam^SDUTY>" || ch[2].Mention[0] != "<!subteam^SLEAD>" {
				t.Fatalf("ladder: thread %d %+v, channel %d %+v", len(th), th, len(ch), ch)
			}
			// The agent answers at last: the target ends breached, nothing more fires.
			h.agent(h.thread(1), "So sorry for the wait!")
			if got := h.targets(1)["first_response#1"].State; got != bridge.TargetBreached {
				t.Fatalf("a late answer leaves the target %s, want breached", got)
			}
		})
	}
}

func TestSLAAnsweredInTimeOrClosedFiresNothing(t *testing.T) {
	t.Parallel()
	h, s := slaSetupFor(t, nil)
	h.dm("2001", "hello")
	h.clock.Advance(5 * time.Minute)
	h.agent(h.thread(1), "Hi! Looking into it.")
	h.tickAt(s, 20*time.Minute)
	if got := h.targets(1)["first_response#1"].State; got != bridge.TargetAchieved {
		t.Fatalf("first response = %s", got)
	}
	// Closed a moment before the resolution warning: no alert ever.
	h.clock.Advance(24*time.Hour - 3*time.Minute - 20*time.Minute - time.Second)
	if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), "done"); err != nil {
		t.Fatal(err)
	}
	h.tickAt(s, 48*time.Hour)
	if th, ch := h.warnings(); len(th)+len(ch) != 0 {
		t.Fatalf("alerts after close: %+v %+v", th, ch)
	}
	ts := h.targets(1)
	if ts["resolution#1"].State != bridge.TargetAchieved {
		t.Fatalf("resolution = %s", ts["resolution#1"].State)
	}
}

func TestSLANextResponsePauseResumeReopenAndPriority(t *testing.T) {
	t.Parallel()
	h, s := slaSetupFor(t, nil)
	h.dm("2001", "hello")
	h.clock.Advance(time.Minute)
	h.agent(h.thread(1), "Hi!")
	h.clock.Advance(time.Minute)
	h.dm("2001", "any news?") // next response starts: due in 1h
	nr := h.targets(1)["next_response#1"]
	if nr == nil || nr.State != bridge.TargetRunning || !nr.DueAt.Equal(h.clock.Now().Add(time.Hour)) {
		t.Fatalf("next response = %+v", nr)
	}
	h.dm("2001", "hello??") // a second customer message does not restart it
	if len(h.targets(1)) != 3 {
		t.Fatalf("targets = %v", h.targets(1))
	}
	// Priority goes urgent: the running targets are recomputed.
	if err := h.svc.SetPriority(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), bridge.PriorityUrgent); err != nil {
		t.Fatal(err)
	}
	nr = h.targets(1)["next_response#1"]
	if nr.Budget != 10*time.Minute || !nr.DueAt.Equal(nr.StartedAt.Add(10*time.Minute)) {
		t.Fatalf("after priority change: budget %s due %s", nr.Budget, nr.DueAt)
	}
	h.agent(h.thread(1), "On it.")
	// Pending pauses resolution; two days later the customer writes: it resumes with the time kept.
	res := h.targets(1)["resolution#1"]
	used := h.clock.Now().Sub(res.StartedAt)
	if err := h.svc.Pending(h.ctx, h.as("U1", "Alice", bridge.RoleAgent)); err != nil {
		t.Fatal(err)
	}
	if got := h.targets(1)["resolution#1"]; got.State != bridge.TargetPaused || got.Elapsed != used {
		t.Fatalf("paused = %+v (used %s)", got, used)
	}
	h.clock.Advance(48 * time.Hour)
	h.tickAt(s, 0) // nothing is due while paused
	h.dm("2001", "here is the info you asked for")
	res = h.targets(1)["resolution#1"]
	if res.State != bridge.TargetRunning || !res.DueAt.Equal(h.clock.Now().Add(time.Hour-used)) {
		t.Fatalf("resumed = %+v, want due %s", res, h.clock.Now().Add(time.Hour-used))
	}
	// Close, then the customer reopens: a new cycle of resolution and next response.
	if err := h.svc.Close(h.ctx, h.as("U1", "Alice", bridge.RoleAgent), ""); err != nil {
		t.Fatal(err)
	}
	h.dm("2001", "it broke again")
	ts := h.targets(1)
	if ts["resolution#2"] == nil || ts["resolution#2"].State != bridge.TargetRunning || ts["next_response#3"] == nil {
		t.Fatalf("after reopen: %v", ts)
	}
}

func TestSLABusinessHoursAcrossAWeekend(t *testing.T) {
	t.Parallel()
	cal := berlinWeekdays(t)
	h, s := slaSetupFor(t, cal)
	// Friday 16:55 Berlin (15:55 UTC): 5 business minutes left that day.
	friday := time.Date(2026, 3, 6, 15, 55, 0, 0, time.UTC)
	h.clock.Advance(friday.Sub(h.clock.Now()))
	h.dm("2001", "help before the weekend")
	fr := h.targets(1)["first_response#1"]
	monday := time.Date(2026, 3, 9, 9, 10, 0, 0, cal.Location)
	if !fr.DueAt.Equal(monday) {
		t.Fatalf("due %s, want Monday 09:10 Berlin", fr.DueAt.In(cal.Location))
	}
	// Saturday noon: nothing fires.
	h.clock.Advance(20 * time.Hour)
	s.Tick(h.ctx)
	h.drain()
	if th, _ := h.warnings(); len(th) != 0 {
		t.Fatalf("alert on Saturday: %+v", th)
	}
	h.clock.Advance(monday.Sub(h.clock.Now()))
	s.Tick(h.ctx) // warning (Monday 09:07) and breach are both past: the breach fires
	h.drain()
	if th, _ := h.warnings(); len(th) == 0 || !strings.Contains(th[len(th)-1].Text, "breached") {
		t.Fatalf("Monday: %+v", th)
	}
}

func TestSLAExactlyOnceWithTwoSchedulersAndACrash(t *testing.T) {
	t.Parallel()
	for name, dsn := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, s1 := slaSetup(t, dsn(t), nil)
			s2 := &bridge.Scheduler{Store: h.store, Clock: h.clock, Service: h.svc}
			for i := 0; i < 20; i++ {
				ev := bridge.InboundMessage{EventID: nextID(), Account: "1000", Kind: bridge.KindDM,
					ConversationKey: "k" + nextID(), Sender: customer(nextID()), Text: "help"}
				if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			h.clock.Advance(16 * time.Minute) // every warning and breach is due
			// Two schedulers race (as two replicas would); nothing is delivered yet:
			// the alerts are decided and written, then the process "crashes".
			var wg sync.WaitGroup
			for _, s := range []*bridge.Scheduler{s1, s2, s1, s2} {
				wg.Add(1)
				go func() { defer wg.Done(); s.Tick(h.ctx) }()
			}
			wg.Wait()
			// After the restart a fresh scheduler finds nothing left to fire,
			// and the dispatcher delivers what was decided, once.
			s3 := &bridge.Scheduler{Store: h.store, Clock: h.clock, Service: h.svc}
			s3.Tick(h.ctx)
			h.drain()
			h.drain()
			perThread := map[string]int{}
			h.chat.mu.Lock()
			for thread, posts := range h.chat.posts {
				for _, p := range posts {
					if p.Kind == bridge.PostWarning {
						perThread[thread]++
					}
				}
			}
			h.chat.mu.Unlock()
			// The first check of each target sees both warning and due time
			// passed: it fires the breach (thread + channel) once.
			channel := perThread[""]
			delete(perThread, "")
			if len(perThread) != 20 || channel != 20 {
				t.Fatalf("threads alerted %d, channel posts %d: want 20 and 20", len(perThread), channel)
			}
			for th, n := range perThread {
				if n != 1 {
					t.Fatalf("thread %s got %d breach alerts", th, n)
				}
			}
			if pages := len(h.disp.Pager.(*recPager).pages); pages != 20 {
				t.Fatalf("pages = %d, want 20", pages)
			}
		})
	}
}
