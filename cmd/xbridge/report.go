package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// slaRow is attainment of one metric at one priority.
type slaRow struct {
	Metric     bridge.Metric   `json:"metric"`
	Priority   bridge.Priority `json:"priority"`
	Achieved   int             `json:"achieved"`
	Breached   int             `json:"breached"`
	Attainment float64         `json:"attainment_pct"`
}

// slaBreach is one breached target.
type slaBreach struct {
	Ticket   string          `json:"ticket"`
	Metric   bridge.Metric   `json:"metric"`
	Priority bridge.Priority `json:"priority"`
	DueAt    time.Time       `json:"due_at"`
	Link     string          `json:"link"`
}

// slaReport is what `xbridge report sla` prints.
type slaReport struct {
	Since              time.Time   `json:"since"`
	Rows               []slaRow    `json:"attainment"`
	FirstResponseP50s  float64     `json:"first_response_median_seconds"`
	FirstResponseP90s  float64     `json:"first_response_p90_seconds"`
	FirstResponseCount int         `json:"first_responses"`
	Breaches           []slaBreach `json:"breaches"`
}

// runReport implements `xbridge report sla [--since 7d] [--format table|csv|json]`.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (args[0] != "sla" && args[0] != "tier") {
		fmt.Fprintln(stderr, "usage: xbridge report sla [--since 7d] [--format table|csv|json] [--slack-url https://acme.slack.com]\n       xbridge report tier [--since 30d] [--format table|json]")
		return errUsage
	}
	what := args[0]
	fs := flag.NewFlagSet("report "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.String("since", map[string]string{"sla": "7d", "tier": "30d"}[what], "how far back: 7d, 24h, 90m")
	format := fs.String("format", "table", "table, csv or json")
	slackURL := fs.String("slack-url", getenv("XBRIDGE_SLACK_WORKSPACE_URL"), "workspace URL, for links to breached threads")
	configPath := fs.String("config", getenv("XBRIDGE_CONFIG"), "YAML configuration file")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	window, err := parseSince(*since)
	if err != nil {
		return err
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return fmt.Errorf("--format must be table, csv or json")
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.DatabaseURL, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if what == "tier" {
		st, err := db.TierStats(ctx, time.Now().Add(-window))
		if err != nil {
			return err
		}
		return printTierReport(stdout, st, window, *format)
	}
	rep, err := buildSLAReport(ctx, db, time.Now().Add(-window), strings.TrimSuffix(*slackURL, "/"))
	if err != nil {
		return err
	}
	return printSLAReport(stdout, rep, *format)
}

// printTierReport prints the first tier's measures.
func printTierReport(w io.Writer, st bridge.TierStats, window time.Duration, format string) error {
	if format == "json" || format == "csv" {
		return json.NewEncoder(w).Encode(map[string]any{
			"conversations": st.Conversations, "resolved_by_automation": st.ResolvedByBot,
			"automation_share": st.AutomationShare(), "handed_over": st.HandedOver,
			"acknowledged": st.Acked, "ack_seconds_mean": st.AckSeconds,
			"csat_asked": st.CSATAsked, "csat_rated": st.CSATRated, "csat_average": st.CSATAverage,
			"csat_response_rate": st.CSATResponseRate(),
		})
	}
	fmt.Fprintf(w, "First tier over the last %s: %d conversations\n", window, st.Conversations)
	fmt.Fprintf(w, "  resolved by automation  %d (%.1f%%), handed over to a person %d\n", st.ResolvedByBot, 100*st.AutomationShare(), st.HandedOver)
	fmt.Fprintf(w, "  acknowledged            %d, mean time to acknowledgement %.1fs\n", st.Acked, st.AckSeconds)
	fmt.Fprintf(w, "  CSAT                    %.2f / 5 from %d of %d surveys (%.0f%% answered)\n", st.CSATAverage, st.CSATRated, st.CSATAsked, 100*st.CSATResponseRate())
	return nil
}

// parseSince reads 7d, 24h or any Go duration.
func parseSince(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--since %q: write it like 7d, 24h or 90m", s)
	}
	return d, nil
}

func buildSLAReport(ctx context.Context, db *sqlstore.DB, since time.Time, slackURL string) (*slaReport, error) {
	var targets []*bridge.SLATarget
	err := db.InTx(ctx, func(tx bridge.Tx) error {
		var err error
		targets, err = tx.TargetsSince(ctx, since)
		return err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(targets))
	for _, t := range targets {
		ids = append(ids, t.ConversationID)
	}
	snap, err := db.Snapshot(ctx, ids, nil)
	if err != nil {
		return nil, err
	}
	rep := &slaReport{Since: since.UTC(), Breaches: []slaBreach{}}
	rows := map[[2]string]*slaRow{}
	var first []time.Duration
	for _, t := range targets {
		conv := snap.Conversations[t.ConversationID]
		if conv == nil {
			continue
		}
		breached := t.Breached || t.State == bridge.TargetBreached
		if !breached && t.State != bridge.TargetAchieved {
			continue // still running, or cancelled by a close
		}
		key := [2]string{string(t.Metric), string(conv.Priority)}
		r := rows[key]
		if r == nil {
			r = &slaRow{Metric: t.Metric, Priority: conv.Priority}
			rows[key] = r
		}
		if breached {
			r.Breached++
			rep.Breaches = append(rep.Breaches, slaBreach{Ticket: conv.Ticket(), Metric: t.Metric, Priority: conv.Priority,
				DueAt: t.DueAt.UTC(), Link: threadLink(conv, slackURL)})
		} else {
			r.Achieved++
		}
		if t.Metric == bridge.MetricFirstResponse && !t.EndedAt.IsZero() {
			first = append(first, t.Elapsed)
		}
	}
	for _, r := range rows {
		r.Attainment = float64(int(1000*float64(r.Achieved)/float64(r.Achieved+r.Breached)+0.5)) / 10
		rep.Rows = append(rep.Rows, *r)
	}
	order := map[bridge.Priority]int{bridge.PriorityUrgent: 0, bridge.PriorityHigh: 1, bridge.PriorityNormal: 2, bridge.PriorityLow: 3}
	slices.SortFunc(rep.Rows, func(a, b slaRow) int {
		if c := slices.Index(bridge.Metrics, a.Metric) - slices.Index(bridge.Metrics, b.Metric); c != 0 {
			return c
		}
		return order[a.Priority] - order[b.Priority]
	})
	slices.Sort(first)
	rep.FirstResponseCount = len(first)
	if len(first) > 0 {
		rep.FirstResponseP50s = first[(len(first)-1)/2].Seconds()
		rep.FirstResponseP90s = first[(len(first)-1)*9/10].Seconds()
	}
	return rep, nil
}

// threadLink points at a conversation's thread: a Slack permalink when the
// workspace URL is known.
func threadLink(c *bridge.Conversation, slackURL string) string {
	if c.ChatPlatform == "slack" && slackURL != "" && c.ChatThreadID != "" {
		return fmt.Sprintf("%s/archives/%s/p%s", slackURL, c.ChatChannel, strings.ReplaceAll(c.ChatThreadID, ".", ""))
	}
	return fmt.Sprintf("%s:%s/%s", c.ChatPlatform, c.ChatChannel, c.ChatThreadID)
}

func printSLAReport(w io.Writer, rep *slaReport, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"metric", "priority", "achieved", "breached", "attainment_pct"})
		for _, r := range rep.Rows {
			cw.Write([]string{string(r.Metric), string(r.Priority), strconv.Itoa(r.Achieved), strconv.Itoa(r.Breached),
				strconv.FormatFloat(r.Attainment, 'f', 1, 64)})
		}
		cw.Flush()
		return cw.Error()
	}
	fmt.Fprintf(w, "SLA since %s\n\n", rep.Since.Format("2006-01-02 15:04 MST"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tPRIORITY\tACHIEVED\tBREACHED\tATTAINMENT")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f%%\n", r.Metric, r.Priority, r.Achieved, r.Breached, r.Attainment)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nFirst response (business time, %d answered): median %s, p90 %s\n", rep.FirstResponseCount,
		time.Duration(rep.FirstResponseP50s*float64(time.Second)).Round(time.Second),
		time.Duration(rep.FirstResponseP90s*float64(time.Second)).Round(time.Second))
	if len(rep.Breaches) > 0 {
		fmt.Fprintf(w, "\nBreaches:\n")
		for _, b := range rep.Breaches {
			fmt.Fprintf(w, "  %s  %s  %s priority  due %s  %s\n", b.Ticket, b.Metric, b.Priority, b.DueAt.Format("2006-01-02 15:04"), b.Link)
		}
	}
	return nil
}
