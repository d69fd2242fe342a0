package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// slaBenchReport is the last line `xbridge bench sla` prints.
type slaBenchReport struct {
	DB            string  `json:"db"`
	Open          int     `json:"open"`
	Alerts        int     `json:"alerts"`
	PerMinute     int     `json:"alerts_per_minute"`
	Passes        int     `json:"passes"`
	TickP50ms     float64 `json:"tick_p50_ms"`
	TickP99ms     float64 `json:"tick_p99_ms"`
	LatenessP50ms float64 `json:"lateness_p50_ms"`
	LatenessP99ms float64 `json:"lateness_p99_ms"`
	SeedSeconds   float64 `json:"seed_seconds"`
}

// runBenchSLA implements `xbridge bench sla`: N open conversations with
// running targets, alerts coming due at a steady rate, the real scheduler
// and dispatcher; it reports how long scheduler passes take and how late
// alerts are posted.
func runBenchSLA(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench sla", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "sqlite", "sqlite, or postgres (DSN from XBRIDGE_DATABASE_URL, else XBRIDGE_TEST_POSTGRES)")
	open := fs.Int("open", 100000, "open conversations with running targets")
	perMinute := fs.Int("rate", 1000, "alerts coming due per minute")
	duration := fs.Duration("duration", time.Minute, "how long alerts keep coming due")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	alerts := int(float64(*perMinute) * duration.Minutes())
	if alerts > *open {
		return fmt.Errorf("--open must be at least the %d alerts that come due", alerts)
	}
	dsn, cleanup, err := benchDatabase(ctx, *db, getenv)
	if err != nil {
		return err
	}
	defer cleanup()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := sqlstore.Open(ctx, dsn, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	spacing := time.Minute / time.Duration(*perMinute)
	// Alerts start coming due once seeding is surely done (about 30 s per
	// million rows on Postgres here).
	start := time.Now().Add(15*time.Second + time.Duration(*open)*60*time.Microsecond)
	fmt.Fprintf(stdout, "bench sla: seeding %d open conversations (db %s)…\n", *open, *db)
	seedStart := time.Now()
	if err := store.SeedSLABench(ctx, *open, alerts, start, spacing); err != nil {
		return err
	}
	seeded := time.Since(seedStart)
	fmt.Fprintf(stdout, "seeded in %.1fs; %d alerts come due at %d/min from %s\n", seeded.Seconds(), alerts, *perMinute, start.Format("15:04:05"))
	if time.Until(start) < 2*time.Second {
		return fmt.Errorf("seeding took %.0fs, past the start of the due stream; lower --open", seeded.Seconds())
	}

	chat := &benchChat{posted: map[string]time.Time{}}
	disp := &bridge.Dispatcher{Store: store, Clock: bridge.SystemClock{}, Logger: logger,
		Chat: map[string]bridge.ChatPlatform{"slack": chat}, Workers: 32}
	svc := &bridge.Service{Store: store, Clock: bridge.SystemClock{}, Logger: logger, Wake: disp.Wake,
		SLA: &bridge.SLA{Lead: "<!subteam^SLEAD>"}}
	var mu sync.Mutex
	var ticks []time.Duration
	sched := &bridge.Scheduler{Store: store, Clock: bridge.SystemClock{}, Logger: logger, Service: svc,
		Passed: func(looked int, took time.Duration) {
			mu.Lock()
			ticks = append(ticks, took)
			mu.Unlock()
		}}
	svc.WakeScheduler = sched.WakeAt
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); disp.Run(runCtx) }()
	go func() { defer wg.Done(); sched.Run(runCtx) }()
	deadline := start.Add(*duration + time.Minute)
	for chat.count() < alerts && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	posted := chat.snapshot()
	if len(posted) < alerts {
		return fmt.Errorf("only %d of %d alerts were posted", len(posted), alerts)
	}
	var late []time.Duration
	for thread, at := range posted {
		i, _ := strconv.ParseInt(strings.TrimPrefix(thread, "T"), 10, 64)
		due := start.Add(time.Duration(i) * spacing) // thread T<i> was due at start + i×spacing

		late = append(late, at.Sub(due))
	}
	mu.Lock()
	defer mu.Unlock()
	rep := slaBenchReport{DB: *db, Open: *open, Alerts: alerts, PerMinute: *perMinute, Passes: len(ticks),
		TickP50ms: round1(pct(ticks, 50)), TickP99ms: round1(pct(ticks, 99)),
		LatenessP50ms: round1(pct(late, 50)), LatenessP99ms: round1(pct(late, 99)), SeedSeconds: round1(seeded.Seconds())}
	fmt.Fprintf(stdout, "scheduler passes: %d, p50 %.1f ms, p99 %.1f ms; alert posted after its due time: p50 %.1f ms, p99 %.1f ms\n",
		rep.Passes, rep.TickP50ms, rep.TickP99ms, rep.LatenessP50ms, rep.LatenessP99ms)
	b, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(b))
	return nil
}

// benchChat is an in-process chat platform that records when each
// thread's first breach alert was posted.
type benchChat struct {
	mu     sync.Mutex
	posted map[string]time.Time
}

func (c *benchChat) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.posted)
}

func (c *benchChat) snapshot() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Time, len(c.posted))
	for k, v := range c.posted {
		out[k] = v
	}
	return out
}

func (c *benchChat) PostCard(context.Context, string, bridge.Card, string) (string, error) {
	return "", &bridge.DeliveryError{Reason: "the SLA bench posts no cards"}
}
func (c *benchChat) UpdateCard(context.Context, string, string, bridge.Card) error { return nil }
func (c *benchChat) Post(_ context.Context, _, thread string, p bridge.Post) (string, error) {
	if thread != "" && p.Kind == bridge.PostWarning {
		c.mu.Lock()
		if _, ok := c.posted[thread]; !ok {
			c.posted[thread] = time.Now()
		}
		c.mu.Unlock()
	}
	return "M", nil
}
func (c *benchChat) React(context.Context, string, string, string, bridge.Reaction, bool) error {
	return nil
}
func (c *benchChat) PostEscalation(context.Context, string, bridge.EscalationCard, string) (string, error) {
	return "", nil
}
func (c *benchChat) UpdateEscalation(context.Context, string, string, bridge.EscalationCard) error {
	return nil
}
