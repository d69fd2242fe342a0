package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/x/xsim"
)

// simsChildEnv makes the test binary serve the simulators instead of
// running tests: TestMediaMemoryStaysFlat measures the bridge's heap with
// the simulators in another process, so that their buffers (xsim reads
// and validates each upload segment whole) do not count as the bridge's.
const simsChildEnv = "XBRIDGE_TEST_SIMS_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(simsChildEnv) == "1" {
		if err := serveSimsChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveSimsChild serves the X and Slack simulators and a small control
// API for the parent, until its stdin closes.
func serveSimsChild() error {
	s, err := startSims(false, false)
	if err != nil {
		return err
	}
	defer s.Close()
	s.X.AddUser(xsim.User{ID: "2001", Username: "alice_w", Name: "Alice Walker", Followers: 48200})
	video := func(seed, size int64) (func() io.Reader, string) {
		head := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
		rest := xsim.GeneratedBytes(seed, size-int64(len(head)))
		open := func() io.Reader { return io.MultiReader(strings.NewReader(string(head)), rest()) }
		h := sha256.New()
		_, _ = io.Copy(h, open())
		return open, hex.EncodeToString(h.Sum(nil))
	}
	num := func(r *http.Request, name string) int64 {
		n, _ := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
		return n
	}
	reply := func(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /autodeliver", func(w http.ResponseWriter, r *http.Request) {
		s.X.AutoDeliver(r.URL.Query().Get("url"))
	})
	mux.HandleFunc("POST /dm", func(w http.ResponseWriter, r *http.Request) {
		s.X.CustomerDM("2001", r.URL.Query().Get("text"))
	})
	mux.HandleFunc("POST /dm-video", func(w http.ResponseWriter, r *http.Request) {
		open, sum := video(num(r, "seed"), num(r, "size"))
		s.X.CustomerDMWithMedia("2001", "the error, on video", xsim.Media{Kind: xsim.MediaVideo, Size: num(r, "size"), Reader: open})
		reply(w, sum)
	})
	mux.HandleFunc("POST /agent-video", func(w http.ResponseWriter, r *http.Request) {
		open, sum := video(num(r, "seed"), num(r, "size"))
		s.Slack.PostFileAsUser(demoAgent, demoChannel, r.URL.Query().Get("thread"), "How to reset it:",
			slacksim.UserFile{Name: "reset.mp4", Size: num(r, "size"), Reader: open})
		reply(w, sum)
	})
	mux.HandleFunc("GET /thread", func(w http.ResponseWriter, r *http.Request) {
		var root string
		for _, m := range s.Slack.Roots(demoChannel) {
			if strings.Contains(m.Text, "@alice_w") {
				root = m.TS
			}
		}
		reply(w, map[string]any{"root": root, "files": filesIn(s.Slack.Thread(demoChannel, root))})
	})
	mux.HandleFunc("GET /dms", func(w http.ResponseWriter, r *http.Request) {
		var media []xsim.UploadedMedia
		for _, dm := range s.X.DMsTo("2001") {
			for _, id := range dm.MediaIDs {
				up, _ := s.X.UploadedMedia(id)
				media = append(media, up)
			}
		}
		reply(w, media)
	})
	mux.HandleFunc("GET /violations", func(w http.ResponseWriter, r *http.Request) {
		reply(w, append(s.X.Violations(), s.Slack.Violations()...))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("SIMS %s %s http://%s\n", s.XURL, s.SlackURL, ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes
	return srv.Close()
}

// simsChild is the simulators' process, seen from the test.
type simsChild struct {
	t                 *testing.T
	xURL, slack, ctrl string
}

func startSimsChild(t *testing.T) *simsChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), simsChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 4 || f[0] != "SIMS" {
		t.Fatalf("simulator process said %q: %v", line, err)
	}
	return &simsChild{t: t, xURL: f[1], slack: f[2], ctrl: f[3]}
}

// ctrlClient calls the child's control API. Not http.DefaultClient: closing
// an httptest server closes the idle connections of http.DefaultTransport,
// which breaks the requests of tests running in parallel ("http:
// CloseIdleConnections called").
var ctrlClient = &http.Client{Transport: &http.Transport{}}

// call calls the control API and decodes its answer into out (if not nil).
func (c *simsChild) call(method, path string, out any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.ctrl+path, nil)
	resp, err := ctrlClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// heapSampler records the peak HeapInuse while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak atomic.Uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) done() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestMediaMemoryStaysFlat moves a 50 MB video each way through the real
// bridge — a customer's, from X into the Slack thread, and an agent's,
// from Slack to X in chunks — with the simulators in another process, and
// samples the bridge's heap while it does: the video streams through,
// it is never held. The peak is logged.
func TestMediaMemoryStaysFlat(t *testing.T) {
	const size = 50 << 20
	c := startSimsChild(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.X.APIURL, cfg.X.UserID, cfg.X.Handle, cfg.X.Ingest = c.xURL, demoSupportID, demoSupportHandle, "webhook"
	cfg.X.ConsumerKey, cfg.X.ConsumerSecret = demoCreds.consumerKey, demoCreds.consumerSecret
	cfg.X.AccessToken, cfg.X.AccessTokenSecret = demoCreds.accessToken, demoCreds.accessSecret
	cfg.Slack.APIURL, cfg.Slack.Channel, cfg.Slack.RatePerSecond = c.slack+"/api/", demoChannel, 0
	cfg.Slack.BotToken, cfg.Slack.AppToken, cfg.Slack.SigningSecret = demoCreds.bot, demoCreds.app, demoCreds.signing
	cfg.Roles = RolesConfig{Agents: []string{demoAgent}}
	cfg.SendDelay, cfg.FirstTier.Enabled = 200*time.Millisecond, false
	m := NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c.call("POST", "/autodeliver?url=http://"+m.Addr()+"/x/webhook", nil)
	c.call("POST", "/dm?text=hello", nil)
	var th struct {
		Root  string
		Files []slacksim.File
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("the thread", func() bool { c.call("GET", "/thread", &th); return th.Root != "" })

	var inSum string
	base := heapNow()
	hs := sampleHeap()
	c.call("POST", fmt.Sprintf("/dm-video?seed=1&size=%d", size), &inSum)
	wait("the video in the thread", func() bool { c.call("GET", "/thread", &th); return len(th.Files) > 0 })
	peakIn := hs.done()
	if f := th.Files[0]; len(th.Files) != 1 || f.Size != size || f.SHA256 != inSum || f.Mimetype != "video/mp4" {
		t.Fatalf("files in the thread = %+v", th.Files)
	}

	var outSum string
	var sent []xsim.UploadedMedia
	base2 := heapNow()
	hs = sampleHeap()
	c.call("POST", fmt.Sprintf("/agent-video?seed=2&size=%d&thread=%s", size, th.Root), &outSum)
	wait("the DM with the video", func() bool { c.call("GET", "/dms", &sent); return len(sent) > 0 })
	peakOut := hs.done()
	if up := sent[0]; len(sent) != 1 || up.SHA256 != outSum || up.Size != size || up.Category != "dm_video" {
		t.Fatalf("uploaded = %+v", sent)
	}
	var violations []string
	if c.call("GET", "/violations", &violations); len(violations) > 0 {
		t.Fatalf("requests the real APIs would refuse:\n%s", strings.Join(violations, "\n"))
	}
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	for _, p := range []struct {
		what       string
		base, peak uint64
	}{{"X→Slack", base, peakIn}, {"Slack→X", base2, peakOut}} {
		grew := p.peak - min(p.peak, p.base)
		t.Logf("50 MB video %s: bridge heap in use %.1f MB before, peak %.1f MB (+%.1f MB), GOGC %s",
			p.what, mb(p.base), mb(p.peak), mb(grew), cmp.Or(os.Getenv("GOGC"), "100"))
		if grew > size/8 {
			t.Errorf("%s: the heap grew by %.1f MB moving a 50 MB video: it is not streamed", p.what, mb(grew))
		}
	}
}
