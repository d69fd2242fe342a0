package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

// benchReport is the last line `xbridge bench inbound` prints.
type benchReport struct {
	DB                string  `json:"db"`
	Events            int     `json:"events"`
	EventsPerSec      float64 `json:"events_per_sec"`
	P50ms             float64 `json:"p50_ms"`
	P99ms             float64 `json:"p99_ms"`
	PacedRate         float64 `json:"paced_rate"`
	FloorEventsPerSec float64 `json:"floor_events_per_sec"`
	// FloorPosts is how many Slack posts the floor makes per event: 1 as
	// the issue defines it, or 2, the root and one reply in its thread, the
	// posts the measured path itself cannot do without.
	FloorPosts        int     `json:"floor_posts"`
	Ratio             float64 `json:"ratio"`
	UnpacedP99ms      float64 `json:"unpaced_p99_ms"`
	Concurrency       int     `json:"concurrency"`
	DispatcherWorkers int     `json:"dispatcher_workers"`
	// What this process (bridge, simulators and senders; not the
	// database) spent per event in the floor and the unpaced phase: CPU
	// time, and heap allocations. Steadier than throughput on a noisy
	// machine.
	FloorCPUms  float64 `json:"floor_cpu_ms_per_event"`
	CPUms       float64 `json:"cpu_ms_per_event"`
	FloorAllocs float64 `json:"floor_allocs_per_event"`
	Allocs      float64 `json:"allocs_per_event"`
	// With --db postgres and the server on this machine: the CPU time all
	// of its processes spent per event in the same two phases (the
	// server is assumed to serve nothing else meanwhile).
	FloorDBCPUms float64 `json:"floor_db_cpu_ms_per_event,omitempty"`
	DBCPUms      float64 `json:"db_cpu_ms_per_event,omitempty"`
}

// resources are what the process had used by some moment.
type resources struct {
	cpu    time.Duration
	allocs uint64
	db     serverProcs // the local PostgreSQL server's, when measured
}

// usedSoFar reads what the process, and the local PostgreSQL server when
// withDB, used so far.
func usedSoFar(withDB bool) resources {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	r := resources{cpu: processCPU(), allocs: s[0].Value.Uint64()}
	if withDB {
		r.db = postgresCPU()
	}
	return r
}

// eventUse is what was used per event between two readings.
type eventUse struct {
	cpuMs, allocs, dbMs float64 // dbMs 0 when unknown
}

// perEvent is the use per event between u and now.
func (u resources) perEvent(events int) eventUse {
	now := usedSoFar(u.db != nil)
	use := eventUse{
		cpuMs:  round2(float64(now.cpu-u.cpu) / float64(time.Millisecond) / float64(events)),
		allocs: round1(float64(now.allocs-u.allocs) / float64(events)),
	}
	if u.db != nil && now.db != nil {
		use.dbMs = round2(float64(now.db.since(u.db)) / float64(time.Millisecond) / float64(events))
	}
	return use
}

// runBench implements `xbridge bench inbound`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 && args[0] == "sla" {
		return runBenchSLA(ctx, args[1:], stdout, stderr, getenv)
	}
	if len(args) == 0 || args[0] != "inbound" {
		fmt.Fprintln(stderr, "usage: xbridge bench inbound [--db sqlite|postgres] [--events N] [--concurrency C] [--rate R]\n       xbridge bench sla [--db sqlite|postgres] [--open N] [--rate per-minute] [--duration 1m]")
		return errUsage
	}
	fs := flag.NewFlagSet("bench inbound", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "sqlite", "sqlite, or postgres (DSN from XBRIDGE_DATABASE_URL, else XBRIDGE_TEST_POSTGRES; a scratch database is created and dropped)")
	events := fs.Int("events", 2000, "events per phase")
	conc := fs.Int("concurrency", 32, "concurrent webhook senders in the throughput phases")
	rate := fs.Float64("rate", 1000, "events per second in the latency phase")
	workers := fs.Int("workers", 256, "dispatcher workers (each is one concurrent delivery)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the unpaced xbridge phase to this file")
	memProfile := fs.String("memprofile", "", "write allocation profiles before (FILE.base) and after the unpaced xbridge phase (compare with pprof -diff_base)")
	floorPosts := fs.Int("floor-posts", 1, "Slack posts per event in the floor: 1, or 2 (a root and one reply in its thread, as the bridge must post)")
	firstTier := fs.Bool("first-tier", false, "also acknowledge each new conversation (an extra DM and notice per event)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *floorPosts != 1 && *floorPosts != 2 {
		fmt.Fprintf(stderr, "--floor-posts %d: give 1 (one post per event) or 2 (a root and a reply in its thread)\n", *floorPosts)
		return errUsage
	}
	dsn, cleanup, err := benchDatabase(ctx, *db, getenv)
	if err != nil {
		return err
	}
	defer cleanup()

	s, err := startSims(false, false)
	if err != nil {
		return err
	}
	defer s.Close()
	// The app under bench takes no events (no Socket Mode, no events URL;
	// see AppToken below): it subscribes to none, so Slack raises none.
	s.Slack.SetEventSubscriptions(false)
	// Three phases, each with its own customers and events.
	payloads := make([][][]byte, 3)
	for p := range payloads {
		payloads[p] = make([][]byte, *events)
		for i := range payloads[p] {
			ev := s.X.CustomerDM(strconv.Itoa(100000+p*(*events)+i), fmt.Sprintf("bench %d %d: where is my order?", p, i))
			payloads[p][i] = s.X.DMWebhookPayload(ev)
		}
	}
	done := newCompletions()
	s.Slack.OnCall(func(c slacksim.Call) {
		if c.Method == "chat.postMessage" && c.Params.Get("thread_ts") != "" {
			done.record(c.Params.Get("text"))
		}
	})

	m := NewMain()
	m.Config = simConfig(s, dsn)
	m.Config.Slack.AppToken = "" // Events API mode: nothing to connect
	// The core path: intake, card and first post. The first tier (an
	// acknowledgement per conversation, sentiment) is extra work a team
	// may turn on; --first-tier measures it too.
	m.Config.FirstTier.Enabled = *firstTier
	m.Config.Slack.RatePerSecond = 0
	m.Config.Dispatch.Workers = *workers
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// m.HTTPClient stays unset: the bridge calls Slack with the client it
	// has in production.
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()
	url := "http://" + m.Addr() + "/x/webhook"
	client := benchHTTPClient()
	// Measure a bridge that is up: its start-up checks of X and Slack done
	// (and the simulators' API descriptions, which they load on their
	// first call, loaded), not overlapping the first phase.
	if err := awaitReady(ctx, client, "http://"+m.Addr()+"/readyz"); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "bench inbound: %d events per phase, db %s\n", *events, *db)
	// Floor: one insert and one post (or two) per event, nothing else.
	withDB := *db == "postgres"
	before := usedSoFar(withDB)
	floorEPS, err := benchFloor(ctx, m.Store, s, payloads[0], *conc, *floorPosts)
	if err != nil {
		return err
	}
	floorUse := before.perEvent(len(payloads[0]))
	fmt.Fprintf(stdout, "floor (1 insert + %d post(s) per event): %8.0f events/s\n", *floorPosts, floorEPS)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	if *memProfile != "" {
		if err := writeAllocs(*memProfile + ".base"); err != nil {
			return err
		}
	}
	before = usedSoFar(withDB)
	eps, unpaced, err := benchPhase(ctx, client, url, payloads[1], done, 1, *conc, 0)
	use := before.perEvent(len(payloads[1]))
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if *memProfile != "" {
		if err := writeAllocs(*memProfile); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "xbridge, as fast as it goes:          %8.0f events/s  p50 %.1f ms  p99 %.1f ms\n", eps, pct(unpaced, 50), pct(unpaced, 99))
	pacedRate := *rate
	_, paced, err := benchPhase(ctx, client, url, payloads[2], done, 2, *conc, pacedRate)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "xbridge, paced at %.0f events/s:      p50 %.1f ms  p99 %.1f ms\n", pacedRate, pct(paced, 50), pct(paced, 99))
	if v := append(s.X.Violations(), s.Slack.Violations()...); len(v) > 0 {
		return fmt.Errorf("simulators saw invalid requests: %v", v)
	}
	rep := benchReport{
		DB: *db, Events: *events, EventsPerSec: round1(eps), P50ms: round1(pct(paced, 50)), P99ms: round1(pct(paced, 99)),
		PacedRate: pacedRate, FloorEventsPerSec: round1(floorEPS), FloorPosts: *floorPosts, Ratio: round2(floorEPS / eps),
		UnpacedP99ms: round1(pct(unpaced, 99)), Concurrency: *conc, DispatcherWorkers: *workers,
		FloorCPUms: floorUse.cpuMs, CPUms: use.cpuMs, FloorAllocs: floorUse.allocs, Allocs: use.allocs,
		FloorDBCPUms: floorUse.dbMs, DBCPUms: use.dbMs,
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(b))
	return nil
}

// writeAllocs writes the allocations made so far (pprof's "allocs").
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchDatabase returns the DSN to bench on and how to clean it up.
func benchDatabase(ctx context.Context, db string, getenv func(string) string) (string, func(), error) {
	switch db {
	case "sqlite":
		dir, err := os.MkdirTemp("", "xbridge-bench-")
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
	case "postgres":
		base := getenv("XBRIDGE_DATABASE_URL")
		if !strings.HasPrefix(base, "postgres") {
			base = getenv("XBRIDGE_TEST_POSTGRES")
		}
		if base == "" {
			return "", nil, fmt.Errorf("--db postgres needs XBRIDGE_DATABASE_URL or XBRIDGE_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
		}
		dsn, drop, err := sqlstore.ScratchPostgres(ctx, base, "xbridge_bench")
		if err != nil {
			return "", nil, err
		}
		return dsn, func() { drop() }, nil
	}
	return "", nil, fmt.Errorf("--db must be sqlite or postgres")
}

func benchHTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// completions records when each event's first thread post reached Slack.
type completions struct {
	mu sync.Mutex
	at map[string]time.Time // "phase index" → time
	n  atomic.Int64
}

func newCompletions() *completions { return &completions{at: map[string]time.Time{}} }

func (c *completions) record(text string) {
	var phase, i int
	at := strings.Index(text, "bench ")
	if at < 0 {
		return
	}
	if _, err := fmt.Sscanf(text[at:], "bench %d %d:", &phase, &i); err != nil {
		return
	}
	key := fmt.Sprintf("%d %d", phase, i)
	c.mu.Lock()
	if _, ok := c.at[key]; !ok {
		c.at[key] = time.Now()
		c.n.Add(1)
	}
	c.mu.Unlock()
}

func (c *completions) get(phase, i int) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[fmt.Sprintf("%d %d", phase, i)]
	return t, ok
}

// benchPhase sends payloads to the webhook, with conc senders or at a
// fixed rate, and waits until every event's thread post reached Slack. It
// returns events/s over the whole phase and each event's latency.
func benchPhase(ctx context.Context, client *http.Client, url string, payloads [][]byte, done *completions, phase, conc int, rate float64) (float64, []time.Duration, error) {
	sent := make([]time.Time, len(payloads))
	start := time.Now()
	before := done.n.Load()
	var next atomic.Int64
	var wg sync.WaitGroup
	// The first failure is kept; the rest are counted, never waited on.
	errs := make(chan error, 1)
	var failed atomic.Int64
	fail := func(err error) {
		failed.Add(1)
		select {
		case errs <- err:
		default:
		}
	}
	send := func(i int) {
		sent[i] = time.Now()
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(payloads[i]))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(xsim.SignatureHeader, xsim.Sign(demoCreds.consumerSecret, payloads[i]))
		resp, err := client.Do(req)
		if err != nil {
			fail(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fail(fmt.Errorf("webhook answered %d", resp.StatusCode))
		}
	}
	if rate > 0 {
		interval := time.Duration(float64(time.Second) / rate)
		for i := range payloads {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func() { defer wg.Done(); send(i) }()
		}
	} else {
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(payloads) {
						return
					}
					send(i)
				}
			}()
		}
	}
	wg.Wait()
	if os.Getenv("XBRIDGE_BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "phase %d: %d webhooks acknowledged in %s (%.0f/s)\n", phase, len(payloads), time.Since(start), float64(len(payloads))/time.Since(start).Seconds())
	}
	select {
	case err := <-errs:
		return 0, nil, fmt.Errorf("%d of %d webhooks failed, the first: %w", failed.Load(), len(payloads), err)
	default:
	}
	deadline := time.Now().Add(5 * time.Minute)
	for done.n.Load()-before < int64(len(payloads)) {
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("only %d of %d events reached Slack", done.n.Load()-before, len(payloads))
		}
		time.Sleep(5 * time.Millisecond)
	}
	var last time.Time
	lat := make([]time.Duration, len(payloads))
	for i := range payloads {
		t, _ := done.get(phase, i)
		lat[i] = t.Sub(sent[i])
		if t.After(last) {
			last = t
		}
	}
	return float64(len(payloads)) / last.Sub(start).Seconds(), lat, nil
}

// awaitReady waits until url (/readyz) answers 200, up to a minute.
func awaitReady(ctx context.Context, client *http.Client, url string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the bridge was not ready within a minute (%s)", url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// benchFloor measures a minimal hand-written path: a webhook handler that
// does one insert and posts posts Slack messages per event (the second a
// reply in the first one's thread), synchronously.
func benchFloor(ctx context.Context, store bridge.Store, s *sims, payloads [][]byte, conc, posts int) (float64, error) {
	api := slackapi.New(demoCreds.bot, slackapi.OptionAPIURL(s.SlackURL+"/api/"), slackapi.OptionHTTPClient(benchHTTPClient()))
	var id atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n := id.Add(1)
		err := store.InTx(r.Context(), func(tx bridge.Tx) error {
			_, err := tx.MarkSeen(r.Context(), "floor", strconv.FormatInt(n, 10))
			return err
		})
		opts := []slackapi.MsgOption{slackapi.MsgOptionText(fmt.Sprintf("floor %d", n), false)}
		for p := 0; p < posts && err == nil; p++ {
			var ts string
			_, ts, err = api.PostMessageContext(r.Context(), demoChannel, opts...)
			opts = append(opts, slackapi.MsgOptionTS(ts))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	client := benchHTTPClient()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(payloads) {
					return
				}
				resp, err := client.Post("http://"+ln.Addr().String()+"/", "application/json", bytes.NewReader(payloads[i]))
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return 0, fmt.Errorf("floor: %d requests failed", failed.Load())
	}
	return float64(len(payloads)) / time.Since(start).Seconds(), nil
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return float64(s[i]) / float64(time.Millisecond)
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }
func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
