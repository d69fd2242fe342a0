package bridge

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Metric is what an SLA target measures.
type Metric string

// SLA metrics.
const (
	// MetricFirstResponse runs from a conversation's first customer message
	// to the first public reply by a human agent.
	MetricFirstResponse Metric = "first_response"
	// MetricNextResponse runs from a customer message that follows an agent
	// reply to the next public agent reply.
	MetricNextResponse Metric = "next_response"
	// MetricResolution runs from open to close, paused while the
	// conversation waits on the customer.
	MetricResolution Metric = "resolution"
)

// Label names the metric for people.
func (m Metric) Label() string {
	switch m {
	case MetricFirstResponse:
		return "First response"
	case MetricNextResponse:
		return "Next response"
	}
	return "Resolution"
}

// Metrics in display order.
var Metrics = []Metric{MetricFirstResponse, MetricNextResponse, MetricResolution}

// TargetState is where an SLA target stands.
type TargetState string

// Target states: running → imminent → breached while live; a target ends
// achieved, breached or cancelled (the conversation closed first).
// Resolution is paused while the conversation waits on the customer.
const (
	TargetRunning   TargetState = "running"
	TargetImminent  TargetState = "imminent"
	TargetBreached  TargetState = "breached"
	TargetPaused    TargetState = "paused"
	TargetAchieved  TargetState = "achieved"
	TargetCancelled TargetState = "cancelled"
)

// Mark is the state's emoji on cards.
func (s TargetState) Mark() string {
	return map[TargetState]string{TargetRunning: "⏱", TargetImminent: "⏰", TargetBreached: "🚨",
		TargetPaused: "⏸", TargetAchieved: "✅", TargetCancelled: "➖"}[s]
}

// Due reports whether a target in this state has a due time to show.
func (s TargetState) Due() bool {
	return s == TargetRunning || s == TargetImminent || s == TargetBreached
}

// Live reports whether a target is still counting or alerting.
func (s TargetState) Live() bool {
	return s == TargetRunning || s == TargetImminent || s == TargetBreached || s == TargetPaused
}

// SLATarget is one running (or finished) target of a conversation. Only
// business time counts: Budget and Elapsed are business time, the
// instants are wall-clock.
type SLATarget struct {
	ID             int64
	ConversationID int64
	Metric         Metric
	// Cycle numbers the targets of one metric in a conversation: a reopen
	// starts a new resolution cycle, every customer message after an
	// agent's reply a new next-response cycle.
	Cycle        int
	State        TargetState
	Budget       time.Duration // business time allowed
	Elapsed      time.Duration // business time used before SegmentStart
	SegmentStart time.Time     // counting since; zero while paused or ended
	StartedAt    time.Time
	WarnAt       time.Time
	DueAt        time.Time
	// NextCheck is when the scheduler must look at the target next (a
	// warning, the breach, a re-alert); zero when nothing is pending. The
	// scheduler finds due targets through an index on it.
	NextCheck time.Time
	Breached  bool // it passed its due time, whatever happened after
	Alerts    int  // re-alerts sent after the breach
	EndedAt   time.Time
	UpdatedAt time.Time
}

// SLAAlert is one alert fired for a target; the store keeps each
// (conversation, metric, cycle, level, seq) once, which makes alerts fire
// exactly once across restarts and replicas.
type SLAAlert struct {
	ID             int64
	ConversationID int64
	TargetID       int64
	Metric         Metric
	Cycle          int
	Level          string // "imminent", "breached", "realert"
	Seq            int    // re-alert number
	DueAt          time.Time
	FiredAt        time.Time
}

// SLAPolicy sets the targets for conversations it matches. Empty Priority,
// Tag and Account match anything; a zero target is not measured.
type SLAPolicy struct {
	Priority      Priority
	Tag           string
	Account       string
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
	// Warn this long before the due time, or, when WarnBefore is zero,
	// this fraction of the target before it (default 0.2).
	WarnBefore   time.Duration
	WarnFraction float64
}

// DefaultSLAPolicy is the standard support teams on X hold themselves to.
var DefaultSLAPolicy = SLAPolicy{FirstResponse: 15 * time.Minute, NextResponse: time.Hour, Resolution: 24 * time.Hour}

// SLA configures the SLA engine.
type SLA struct {
	Policies []SLAPolicy // first match wins; DefaultSLAPolicy when none matches
	Calendar *Calendar   // business hours; nil is 24/7
	// After a breach, alert again every ReAlertEvery, up to ReAlertMax
	// times, climbing a ladder: assignee, channel, lead.
	ReAlertEvery time.Duration
	ReAlertMax   int
	Lead         string // mention of the on-call lead, in the chat platform's markup
	OnDuty       string // mention of the channel's on-duty group, for unassigned conversations
	Webhook      bool   // also send breaches to the paging webhook
}

// policy returns the policy for a conversation.
func (c *SLA) policy(conv *Conversation) SLAPolicy {
	for _, p := range c.Policies {
		if (p.Priority == "" || p.Priority == conv.Priority) &&
			(p.Tag == "" || slices.Contains(conv.Tags, p.Tag)) &&
			(p.Account == "" || p.Account == conv.Account) {
			return p
		}
	}
	return DefaultSLAPolicy
}

func (p SLAPolicy) budget(m Metric) time.Duration {
	switch m {
	case MetricFirstResponse:
		return p.FirstResponse
	case MetricNextResponse:
		return p.NextResponse
	}
	return p.Resolution
}

func (p SLAPolicy) warnBefore(budget time.Duration) time.Duration {
	if p.WarnBefore > 0 {
		return min(p.WarnBefore, budget)
	}
	f := p.WarnFraction
	if f <= 0 {
		f = 0.2
	}
	return time.Duration(float64(budget) * f)
}

// schedule computes a counting target's warn and due times from what is
// left of its budget, and when the scheduler must look at it.
func (c *SLA) schedule(t *SLATarget, p SLAPolicy) {
	if t.SegmentStart.IsZero() {
		t.NextCheck = time.Time{}
		return
	}
	left := max(t.Budget-t.Elapsed, 0)
	t.DueAt = c.Calendar.Add(t.SegmentStart, left)
	t.WarnAt = c.Calendar.Add(t.SegmentStart, max(left-p.warnBefore(t.Budget), 0))
	switch t.State {
	case TargetRunning:
		t.NextCheck = t.WarnAt
	case TargetImminent:
		t.NextCheck = t.DueAt
	}
}

// slaChange is what a conversation event does to its targets.
type slaChange int

const (
	slaOpened        slaChange = iota // a new conversation: first response and resolution start
	slaCustomerWrote                  // the customer wrote in an open conversation
	slaReopened                       // the customer wrote in a closed conversation: it opened again
	slaRestarted                      // an agent reopened a closed conversation
	slaAgentReplied                   // a human agent's public reply
	slaPending                        // waiting on the customer
	slaClosed                         // closed
	slaPolicyChanged                  // priority or tags changed
	slaAnsweredByBot                  // an FAQ answer: waiting on the customer, no human response owed
)

// updateSLA applies a conversation event to its targets and reports whether
// any target changed state (the card shows them). It wakes the scheduler.
func (s *Service) updateSLA(ctx context.Context, tx Tx, conv *Conversation, change slaChange) (bool, error) {
	if s.SLA == nil {
		return false, nil
	}
	now := s.now()
	var targets []*SLATarget
	if change != slaOpened { // a new conversation has none yet
		var err error
		if targets, err = tx.Targets(ctx, conv.ID); err != nil {
			return false, err
		}
	}
	live := map[Metric]*SLATarget{}
	cycles := map[Metric]int{}
	for _, t := range targets {
		cycles[t.Metric] = max(cycles[t.Metric], t.Cycle)
		if t.State.Live() {
			live[t.Metric] = t
		}
	}
	p := s.SLA.policy(conv)
	changed := false
	var started []*SLATarget // inserted together at the end
	start := func(m Metric) error {
		if live[m] != nil || p.budget(m) <= 0 {
			return nil
		}
		t := &SLATarget{ConversationID: conv.ID, Metric: m, Cycle: cycles[m] + 1, State: TargetRunning,
			Budget: p.budget(m), SegmentStart: now, StartedAt: now, UpdatedAt: now}
		s.SLA.schedule(t, p)
		live[m] = t
		changed = true
		started = append(started, t)
		return nil
	}
	end := func(m Metric, state TargetState) error {
		t := live[m]
		if t == nil {
			return nil
		}
		if !t.SegmentStart.IsZero() {
			t.Elapsed += s.SLA.Calendar.Between(t.SegmentStart, now)
		}
		// Late is late, whether or not the scheduler got to alert.
		t.Breached = t.Breached || (state == TargetAchieved && t.Elapsed > t.Budget)
		if t.Breached {
			state = TargetBreached // a breached target ends breached
		}
		t.State, t.SegmentStart, t.NextCheck, t.EndedAt, t.UpdatedAt = state, time.Time{}, time.Time{}, now, now
		delete(live, m)
		changed = true
		return tx.UpdateTarget(ctx, t)
	}
	var errs []error
	switch change {
	case slaOpened:
		errs = append(errs, start(MetricFirstResponse), start(MetricResolution))
	case slaReopened:
		errs = append(errs, start(MetricResolution), start(MetricNextResponse))
	case slaRestarted:
		errs = append(errs, start(MetricResolution))
	case slaCustomerWrote:
		if r := live[MetricResolution]; r != nil && r.State == TargetPaused {
			r.State, r.SegmentStart, r.UpdatedAt = TargetRunning, now, now
			if r.Breached {
				r.State = TargetBreached
			}
			s.SLA.schedule(r, p)
			changed = true
			errs = append(errs, tx.UpdateTarget(ctx, r))
		}
		if live[MetricFirstResponse] == nil {
			errs = append(errs, start(MetricNextResponse))
		}
	case slaAgentReplied:
		errs = append(errs, end(MetricFirstResponse, TargetAchieved), end(MetricNextResponse, TargetAchieved))
	case slaAnsweredByBot:
		errs = append(errs, end(MetricFirstResponse, TargetCancelled), end(MetricNextResponse, TargetCancelled))
		if r := live[MetricResolution]; r != nil && !r.SegmentStart.IsZero() {
			r.Elapsed += s.SLA.Calendar.Between(r.SegmentStart, now)
			r.State, r.SegmentStart, r.NextCheck, r.UpdatedAt = TargetPaused, time.Time{}, time.Time{}, now
			changed = true
			errs = append(errs, tx.UpdateTarget(ctx, r))
		}
	case slaPending:
		if r := live[MetricResolution]; r != nil && !r.SegmentStart.IsZero() {
			r.Elapsed += s.SLA.Calendar.Between(r.SegmentStart, now)
			r.State, r.SegmentStart, r.NextCheck, r.UpdatedAt = TargetPaused, time.Time{}, time.Time{}, now
			changed = true
			errs = append(errs, tx.UpdateTarget(ctx, r))
		}
	case slaClosed:
		errs = append(errs, end(MetricFirstResponse, TargetCancelled), end(MetricNextResponse, TargetCancelled),
			end(MetricResolution, TargetAchieved))
	case slaPolicyChanged:
		for _, t := range live {
			if b := p.budget(t.Metric); b > 0 && b != t.Budget {
				t.Budget, t.UpdatedAt = b, now
				if t.State == TargetImminent && !t.SegmentStart.IsZero() && s.SLA.Calendar.Add(t.SegmentStart, max(b-t.Elapsed, 0)).After(now) {
					t.State = TargetRunning // more time now: it may warn again later
				}
				s.SLA.schedule(t, p)
				changed = true
				errs = append(errs, tx.UpdateTarget(ctx, t))
			}
		}
	}
	errs = append(errs, tx.InsertTargets(ctx, started...))
	for _, err := range errs {
		if err != nil {
			return false, err
		}
	}
	if changed && s.WakeScheduler != nil {
		var first time.Time
		for _, t := range live {
			if !t.NextCheck.IsZero() && (first.IsZero() || t.NextCheck.Before(first)) {
				first = t.NextCheck
			}
		}
		if !first.IsZero() {
			s.WakeScheduler(first)
		}
	}
	return changed, nil
}

// slaCardItem edits the card after SLA targets changed.
func (s *Service) slaCardItem(conv *Conversation, key string) *OutboxItem {
	return s.chatItem(conv, EffectCardUpdate, "sla:"+key, 0, Payload{})
}

// alertText describes an alert.
func alertText(t *SLATarget, level string, seq int, now time.Time) string {
	name := t.Metric.Label()
	switch level {
	case "imminent":
		return fmt.Sprintf("⏰ %s due in %s (%s UTC).", name, roundWait(t.DueAt.Sub(now)), t.DueAt.UTC().Format("15:04"))
	case "breached":
		return fmt.Sprintf("🚨 %s target breached: it was due %s UTC.", name, t.DueAt.UTC().Format("15:04"))
	}
	return fmt.Sprintf("🚨 %s still breached, %s past due (alert %d).", name, roundWait(now.Sub(t.DueAt)), seq+1)
}
