package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// routes is the HTTP surface: platform webhooks, health and metrics.
func (m *Main) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/x/webhook", m.X.WebhookHandler(m.Service, xObserver{m.Metrics}))
	if m.Slack != nil {
		mux.Handle("POST /slack/events", m.Slack.EventsHandler(m.Service))
		mux.Handle("POST /slack/interactions", m.Slack.InteractionsHandler(m.Service))
		mux.Handle("POST /slack/commands", m.Slack.CommandsHandler())
	}
	if m.Discord != nil {
		mux.Handle("POST /discord/interactions", m.Discord.InteractionsHandler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", m.readyz)
	mux.Handle("GET /metrics", m.Metrics.Handler())
	return mux
}

// readyz reports whether the store answers and the platforms are usable.
func (m *Main) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	if err := m.Store.Ping(ctx); err != nil {
		checks["store"], ready = "unreachable: "+err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	m.mu.Lock()
	for name, err := range m.checks {
		if err != nil {
			checks[name], ready = err.Error(), false
		} else {
			checks[name] = "ok"
		}
	}
	m.mu.Unlock()
	for name, conn := range map[string]interface{ Connected() bool }{"slack": m.Slack, "discord": m.Discord} {
		if checks[name] == "ok" && !conn.Connected() {
			checks[name], ready = "not connected", false
		}
	}
	if why := m.Dispatcher.ReadSyncStatus(); why != "" {
		checks["x_read_receipts"] = "off: " + why // degraded, not unready
	}
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ready, "checks": checks})
}
