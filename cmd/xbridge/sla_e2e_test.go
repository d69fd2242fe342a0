package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/webhook"
)

func TestSLAAlertsReachSlackAndThePager(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var pages []string
	pager := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify("page-secret", r.Header, body, time.Now(), time.Minute) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		pages = append(pages, string(body))
		mu.Unlock()
	}))
	defer pager.Close()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
		c.SLA = SLAConfig{Enabled: true, Hours: "24/7", Lead: "<!subteam^SLEAD>", OnDuty: "<!subteam^SDUTY>",
			WebhookURL: pager.URL, WebhookSecret: "page-secret",
			Policies: []SLAPolicyConfig{{FirstResponse: 1500 * time.Millisecond, WarnBefore: "700ms"}}}
	})
	s := e.s.Slack
	e.s.X.CustomerDM("2001", "anyone there?")
	var thread string
	e.eventually("thread", func() bool { thread = e.threadOf("alice_w"); return thread != "" })
	e.eventually("imminent alert in the thread", func() bool { return threadSays(s.Thread(demoChannel, thread), "First response due in") })
	e.eventually("breach in the thread", func() bool { return threadSays(s.Thread(demoChannel, thread), "First response target breached") })
	e.eventually("breach in the channel for the lead", func() bool {
		for _, r := range s.Roots(demoChannel) {
			if strings.Contains(r.Text, "subteam^SLEAD") && strings.Contains(r.Text, "breached") {
				return true
			}
		}
		return false
	})
	e.eventually("signed page", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(pages) == 1 && strings.Contains(pages[0], `"event":"sla.breached"`) && strings.Contains(pages[0], `"ticket":"#1"`)
	})
	e.eventually("card shows the breach", func() bool {
		root, _ := s.Message(demoChannel, thread)
		return strings.Contains(string(root.Blocks), "First response: breached")
	})
	time.Sleep(300 * time.Millisecond)
	n := 0
	for _, m := range s.Thread(demoChannel, thread) {
		if strings.Contains(m.Text, "breached") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("breach alerts in the thread = %d, want exactly 1", n)
	}
	e.noViolations()
}
