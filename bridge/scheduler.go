package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler fires SLA alerts: near breach it pings the thread and the
// assignee, at breach the channel and the on-call lead, and while breached
// it climbs a ladder of re-alerts. It finds due targets through an index
// on their next check, sleeps until the next one or a change, and runs on
// one replica at a time (leadership), with the store's unique alert key as
// the last guard: every alert fires exactly once.
type Scheduler struct {
	Store   Store
	Clock   Clock
	Logger  *slog.Logger
	Service *Service // its SLA configuration and thread effects
	Batch   int      // targets per pass; default 500
	// MaxSleep bounds a sleep, so a change made by another replica is
	// noticed; default 1 s.
	MaxSleep time.Duration
	// Fired, when set, learns each alert fired and how late it was.
	Fired func(a SLAAlert, lateness time.Duration)
	// Passed, when set, learns how long each pass took and how many
	// targets it looked at.
	Passed func(looked int, took time.Duration)

	once sync.Once
	wake chan struct{}
	// planned is when the sleeping scheduler means to look next (unix
	// nanoseconds); WakeAt wakes it only for something sooner.
	planned atomic.Int64
}

func (s *Scheduler) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		if s.Batch <= 0 {
			s.Batch = 500
		}
		if s.MaxSleep <= 0 {
			s.MaxSleep = time.Second
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
	})
}

// Wake tells the scheduler targets changed. Never blocks.
func (s *Scheduler) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// WakeAt tells the scheduler a target needs a look at t; it wakes only if
// that is sooner than it planned to look, so a busy bridge does not make
// it query the store for every message.
func (s *Scheduler) WakeAt(t time.Time) {
	if p := s.planned.Load(); p != 0 && t.UnixNano() >= p {
		return
	}
	s.Wake()
}

// Run fires alerts until ctx ends, while this process holds the
// scheduler's leadership; otherwise it waits to take it over.
func (s *Scheduler) Run(ctx context.Context) error {
	s.init()
	for ctx.Err() == nil {
		lease, err := s.Store.TryLead(ctx, "sla-scheduler")
		if err != nil {
			s.Logger.Warn("take SLA scheduler leadership", "err", err)
		}
		if lease == nil {
			s.sleep(ctx, 5*s.MaxSleep)
			continue
		}
		s.Logger.Info("leading the SLA scheduler")
		s.lead(ctx, lease)
		lease.Release()
	}
	return nil
}

// lead runs passes while the lease holds.
func (s *Scheduler) lead(ctx context.Context, lease Lease) {
	for ctx.Err() == nil {
		if !lease.Alive(ctx) {
			s.Logger.Warn("lost the SLA scheduler leadership")
			return
		}
		start := time.Now()
		n, err := s.Tick(ctx)
		if err != nil {
			s.Logger.Error("SLA scheduler pass", "err", err)
		}
		if s.Passed != nil {
			s.Passed(n, time.Since(start))
		}
		if n >= s.Batch {
			continue
		}
		wait := s.MaxSleep
		if t, ok, err := s.Store.NextCheck(ctx); err == nil && ok {
			wait = min(wait, max(t.Sub(s.Clock.Now()), time.Millisecond))
		}
		s.planned.Store(s.Clock.Now().Add(wait).UnixNano())
		s.sleep(ctx, wait)
		s.planned.Store(0)
	}
}

func (s *Scheduler) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-s.Clock.After(d):
	}
}

// Tick is one pass: it fires what is due now, in one transaction, and
// returns how many targets it looked at.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	s.init()
	now := s.Clock.Now()
	due, err := s.Store.DueTargets(ctx, now, s.Batch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	// Conversations first, in id order: the lock order of every transaction.
	slices.SortFunc(due, func(a, b *SLATarget) int {
		return cmp.Or(cmp.Compare(a.ConversationID, b.ConversationID), cmp.Compare(a.ID, b.ID))
	})
	var fired []SLAAlert
	err = s.Store.InTx(ctx, func(tx Tx) error {
		fired = fired[:0]
		for _, d := range due {
			a, err := s.check(ctx, tx, d.ID, d.ConversationID, now)
			if err != nil {
				return err
			}
			if a != nil {
				fired = append(fired, *a)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("SLA pass: %w", err)
	}
	if len(fired) > 0 && s.Service.Wake != nil {
		s.Service.Wake()
	}
	if s.Fired != nil {
		for _, a := range fired {
			s.Fired(a, now.Sub(a.DueAt))
		}
	}
	return len(due), nil
}

// check fires a target's due alert, if it is still due once locked, and
// returns the alert it fired (nil when none, or when another scheduler
// fired it first).
func (s *Scheduler) check(ctx context.Context, tx Tx, targetID, convID int64, now time.Time) (*SLAAlert, error) {
	conv, err := tx.Conversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	t, err := tx.LockTarget(ctx, targetID)
	if err != nil {
		return nil, err
	}
	cfg := s.Service.SLA
	if cfg == nil || t.NextCheck.IsZero() || now.Before(t.NextCheck) {
		return nil, nil // changed since it was listed
	}
	level, seq := "", 0
	switch {
	case (t.State == TargetRunning || t.State == TargetImminent) && !now.Before(t.DueAt):
		level = "breached"
		t.State, t.Breached = TargetBreached, true
		t.NextCheck = time.Time{}
		if cfg.ReAlertMax > 0 && cfg.ReAlertEvery > 0 {
			t.NextCheck = now.Add(cfg.ReAlertEvery)
		}
	case t.State == TargetRunning && !now.Before(t.WarnAt):
		level = "imminent"
		t.State, t.NextCheck = TargetImminent, t.DueAt
	case t.State == TargetBreached && t.Alerts < cfg.ReAlertMax:
		level, seq = "realert", t.Alerts
		t.Alerts++
		t.NextCheck = time.Time{}
		if t.Alerts < cfg.ReAlertMax {
			t.NextCheck = now.Add(cfg.ReAlertEvery)
		}
	default:
		// Nothing to fire (a policy change moved it): look again when due.
		t.NextCheck = time.Time{}
		if t.State == TargetRunning {
			t.NextCheck = t.WarnAt
		} else if t.State == TargetImminent {
			t.NextCheck = t.DueAt
		}
		t.UpdatedAt = now
		return nil, tx.UpdateTarget(ctx, t)
	}
	t.UpdatedAt = now
	if err := tx.UpdateTarget(ctx, t); err != nil {
		return nil, err
	}
	a := &SLAAlert{ConversationID: conv.ID, TargetID: t.ID, Metric: t.Metric, Cycle: t.Cycle, Level: level, Seq: seq,
		DueAt: alertDue(t, level, now), FiredAt: now}
	fresh, err := tx.InsertAlert(ctx, a)
	if err != nil || !fresh {
		return nil, err
	}
	items, err := s.alertItems(ctx, tx, conv, t, a, now)
	if err != nil {
		return nil, err
	}
	return a, tx.Enqueue(ctx, items...)
}

// alertDue is when an alert was meant to fire: the warning time, the due
// time, or the re-alert's time.
func alertDue(t *SLATarget, level string, now time.Time) time.Time {
	switch level {
	case "imminent":
		return t.WarnAt
	case "breached":
		return t.DueAt
	}
	return now
}

// alertItems are the posts an alert makes: in the thread for the assignee
// (or the on-duty group), in the channel, to the lead, to the pager.
func (s *Scheduler) alertItems(ctx context.Context, tx Tx, conv *Conversation, t *SLATarget, a *SLAAlert, now time.Time) ([]*OutboxItem, error) {
	cfg := s.Service.SLA
	owner := conv.AssigneeID
	if owner == "" {
		owner = cfg.OnDuty
	}
	key := fmt.Sprintf("sla:%d:%s:%d:%s:%d", t.ID, t.Metric, t.Cycle, a.Level, a.Seq)
	text := alertText(t, a.Level, a.Seq, now)
	thread := noticeItem(conv, key, PostWarning, text, now)
	thread.Payload.Mention = nonEmpty(owner)
	channelPost := func(mention string) *OutboxItem {
		it := noticeItem(conv, key+":channel", PostWarning, fmt.Sprintf("%s %s", conv.Ticket(), text), now)
		it.Payload.Mention, it.Payload.ToChannel = nonEmpty(mention), true
		return it
	}
	items := []*OutboxItem{s.Service.slaCardItem(conv, key)}
	switch {
	case a.Level == "imminent":
		items = append(items, thread)
	case a.Level == "breached":
		items = append(items, thread, channelPost(cfg.Lead))
		if cfg.Webhook {
			page, err := s.page(ctx, tx, conv, t, a)
			if err != nil {
				return nil, err
			}
			items = append(items, page)
		}
	case a.Seq == 0: // the ladder: assignee, channel, lead
		items = append(items, thread)
	case a.Seq == 1:
		items = append(items, channelPost(cfg.OnDuty))
	default:
		items = append(items, channelPost(cfg.Lead))
	}
	return items, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// PageEvent is the JSON body sent to the paging webhook on a breach.
type PageEvent struct {
	Event        string    `json:"event"` // "sla.breached"
	Ticket       string    `json:"ticket"`
	Conversation int64     `json:"conversation_id"`
	Metric       Metric    `json:"metric"`
	Cycle        int       `json:"cycle"`
	Priority     Priority  `json:"priority"`
	DueAt        time.Time `json:"due_at"`
	FiredAt      time.Time `json:"fired_at"`
	Customer     string    `json:"customer"`
	Assignee     string    `json:"assignee,omitempty"`
	Thread       ThreadRef `json:"thread"`
}

func (s *Scheduler) page(ctx context.Context, tx Tx, conv *Conversation, t *SLATarget, a *SLAAlert) (*OutboxItem, error) {
	cust, err := tx.Customer(ctx, conv.CustomerID)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(PageEvent{Event: "sla.breached", Ticket: conv.Ticket(), Conversation: conv.ID,
		Metric: t.Metric, Cycle: t.Cycle, Priority: conv.Priority, DueAt: t.DueAt.UTC(), FiredAt: a.FiredAt.UTC(),
		Customer: "@" + cust.Handle, Assignee: conv.AssigneeName,
		Thread: ThreadRef{conv.ChatPlatform, conv.ChatChannel, conv.ChatThreadID}})
	if err != nil {
		return nil, err
	}
	return &OutboxItem{
		Effect: EffectPage, Lane: "pager", SeqKey: "", Priority: PriorityThread,
		IdemKey:        fmt.Sprintf("page:%d:%s:%d", conv.ID, t.Metric, t.Cycle),
		ConversationID: conv.ID, Payload: Payload{Text: string(body)}, NotBefore: a.FiredAt,
		State: OutboxPending, CreatedAt: a.FiredAt,
	}, nil
}
