package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// SLAConfig configures the SLA engine: targets per priority (and
// optionally tag or X account), business hours, and who is alerted.
type SLAConfig struct {
	Enabled       bool          `yaml:"enabled" env:"XBRIDGE_SLA_ENABLED" help:"measure first response, next response and resolution"`
	Timezone      string        `yaml:"timezone" env:"XBRIDGE_SLA_TIMEZONE" help:"IANA time zone of the business hours, e.g. Europe/Berlin"`
	Hours         string        `yaml:"hours" env:"XBRIDGE_SLA_HOURS" help:"24/7, or days and spans: \"mon-fri 09:00-17:00; sat 10:00-14:00\""`
	Holidays      []string      `yaml:"holidays" env:"XBRIDGE_SLA_HOLIDAYS" help:"comma-separated closed dates, 2006-01-02"`
	ReAlertEvery  time.Duration `yaml:"re_alert_every" env:"XBRIDGE_SLA_RE_ALERT_EVERY" help:"while breached, alert again this often"`
	ReAlertMax    int           `yaml:"re_alert_max" env:"XBRIDGE_SLA_RE_ALERT_MAX" help:"re-alerts after a breach, climbing assignee, channel, lead"`
	Lead          string        `yaml:"lead" env:"XBRIDGE_SLA_LEAD" help:"the on-call lead mentioned at breach: <@U…> or <!subteam^S…>"`
	OnDuty        string        `yaml:"on_duty" env:"XBRIDGE_SLA_ON_DUTY" help:"who is pinged for unassigned conversations: <!subteam^S…>"`
	WebhookURL    string        `yaml:"webhook_url" env:"XBRIDGE_SLA_WEBHOOK_URL" help:"paging service that receives breaches as signed JSON"`
	WebhookSecret string        `yaml:"webhook_secret" env:"XBRIDGE_SLA_WEBHOOK_SECRET" secret:"true" help:"HMAC key of the webhook's X-Xbridge-Signature"`
	// Policies are tried in order; YAML only. Without any, every
	// conversation gets 15 min / 1 h / 24 h.
	Policies []SLAPolicyConfig `yaml:"policies"`
}

// SLAPolicyConfig is one policy in the YAML.
type SLAPolicyConfig struct {
	Priority      string        `yaml:"priority"`
	Tag           string        `yaml:"tag"`
	Account       string        `yaml:"account"`
	FirstResponse time.Duration `yaml:"first_response"`
	NextResponse  time.Duration `yaml:"next_response"`
	Resolution    time.Duration `yaml:"resolution"`
	WarnBefore    string        `yaml:"warn_before"` // a duration (5m) or a share of the target (20%)
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// calendar builds the business-hours calendar.
func (c SLAConfig) calendar() (*bridge.Calendar, []string) {
	var problems []string
	hours := strings.TrimSpace(c.Hours)
	if hours == "" || hours == "24/7" {
		return nil, nil
	}
	cal := &bridge.Calendar{Location: time.UTC, Holidays: map[string]bool{}}
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			problems = append(problems, fmt.Sprintf("sla.timezone (XBRIDGE_SLA_TIMEZONE): %q is not an IANA time zone like Europe/Berlin", c.Timezone))
		} else {
			cal.Location = loc
		}
	}
	open := false
	for _, part := range strings.Split(hours, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		days, spans, ok := strings.Cut(part, " ")
		ds, err := dayRange(days)
		if !ok || err != nil {
			problems = append(problems, fmt.Sprintf("sla.hours (XBRIDGE_SLA_HOURS): %q: write days then spans, like \"mon-fri 09:00-17:00\"", part))
			continue
		}
		sp, err := bridge.ParseSpans(spans)
		if err != nil {
			problems = append(problems, fmt.Sprintf("sla.hours (XBRIDGE_SLA_HOURS): %q: %v", part, err))
			continue
		}
		for _, d := range ds {
			cal.Week[d] = sp
			open = open || len(sp) > 0
		}
	}
	if !open && len(problems) == 0 {
		problems = append(problems, "sla.hours (XBRIDGE_SLA_HOURS): no open hours at all; write 24/7 or days and spans")
	}
	for _, h := range c.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			problems = append(problems, fmt.Sprintf("sla.holidays (XBRIDGE_SLA_HOLIDAYS): %q is not a date like 2026-12-25", h))
			continue
		}
		cal.Holidays[h] = true
	}
	return cal, problems
}

// dayRange reads "mon", "mon-fri" or "sat,sun".
func dayRange(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, item := range strings.Split(strings.ToLower(s), ",") {
		from, to, isRange := strings.Cut(item, "-")
		a, ok1 := weekdays[from]
		b, ok2 := weekdays[to]
		switch {
		case !isRange && ok1:
			out = append(out, a)
		case isRange && ok1 && ok2:
			for d := a; ; d = (d + 1) % 7 {
				out = append(out, d)
				if d == b {
					break
				}
			}
		default:
			return nil, fmt.Errorf("%q is not a day or day range", item)
		}
	}
	return out, nil
}

// build turns the configuration into the engine's, naming every problem.
func (c SLAConfig) build() (*bridge.SLA, []string) {
	if !c.Enabled {
		return nil, nil
	}
	cal, problems := c.calendar()
	sla := &bridge.SLA{Calendar: cal, ReAlertEvery: c.ReAlertEvery, ReAlertMax: c.ReAlertMax,
		Lead: c.Lead, OnDuty: c.OnDuty, Webhook: c.WebhookURL != ""}
	if c.ReAlertMax < 0 || (c.ReAlertMax > 0 && c.ReAlertEvery < time.Minute) {
		problems = append(problems, "sla.re_alert_every (XBRIDGE_SLA_RE_ALERT_EVERY): with re_alert_max above 0 it must be at least 1m")
	}
	if c.WebhookURL != "" && c.WebhookSecret == "" {
		problems = append(problems, "sla.webhook_secret (XBRIDGE_SLA_WEBHOOK_SECRET): required with sla.webhook_url, so the paging service can verify deliveries")
	}
	for i, p := range c.Policies {
		key := fmt.Sprintf("sla.policies[%d]", i)
		pol := bridge.SLAPolicy{Priority: bridge.Priority(p.Priority), Tag: strings.ToLower(p.Tag), Account: p.Account,
			FirstResponse: p.FirstResponse, NextResponse: p.NextResponse, Resolution: p.Resolution}
		switch pol.Priority {
		case "", bridge.PriorityUrgent, bridge.PriorityHigh, bridge.PriorityNormal, bridge.PriorityLow:
		default:
			problems = append(problems, fmt.Sprintf("%s.priority (YAML only): %q must be urgent, high, normal or low", key, p.Priority))
		}
		if p.FirstResponse < 0 || p.NextResponse < 0 || p.Resolution < 0 || p.FirstResponse+p.NextResponse+p.Resolution == 0 {
			problems = append(problems, fmt.Sprintf("%s (YAML only): set at least one of first_response, next_response, resolution, as durations like 15m", key))
		}
		if w := strings.TrimSpace(p.WarnBefore); w != "" {
			if pct, ok := strings.CutSuffix(w, "%"); ok {
				f, err := strconv.ParseFloat(pct, 64)
				if err != nil || f <= 0 || f >= 100 {
					problems = append(problems, fmt.Sprintf("%s.warn_before (YAML only): %q must be a share between 0%% and 100%%, e.g. 20%%", key, w))
				}
				pol.WarnFraction = f / 100
			} else if d, err := time.ParseDuration(w); err != nil || d <= 0 {
				problems = append(problems, fmt.Sprintf("%s.warn_before (YAML only): %q must be a duration (5m) or a share (20%%)", key, w))
			} else {
				pol.WarnBefore = d
			}
		}
		sla.Policies = append(sla.Policies, pol)
	}
	return sla, problems
}
