// Package prom exposes the bridge's metrics to Prometheus.
package prom

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xbridge/xbridge/bridge"
)

// Metrics implements the bridge's observers with Prometheus collectors on
// its own registry.
type Metrics struct {
	Registry *prometheus.Registry

	eventsIn    *prometheus.CounterVec
	ignored     *prometheus.CounterVec
	delivered   *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	failures    *prometheus.CounterVec
	waits       *prometheus.CounterVec
	waitSeconds *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	lateness    prometheus.Histogram
}

// New registers the bridge's metrics. stats, when set, is read at scrape
// time for the outbox depth and age.
func New(stats func(ctx context.Context) (bridge.OutboxStats, error)) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		eventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_events_in_total", Help: "Inbound events stored, by platform and kind.",
		}, []string{"platform", "kind"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_events_ignored_total", Help: "Inbound events not stored, by platform and reason (duplicate, unknown type, own echo, …).",
		}, []string{"platform", "reason"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_deliveries_total", Help: "Outbound effects delivered, by effect.",
		}, []string{"effect"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "xbridge_delivery_latency_seconds", Help: "Time from an effect's creation to its delivery (includes send delays).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"effect"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_delivery_errors_total", Help: "Failed delivery attempts, by effect and whether the failure was final.",
		}, []string{"effect", "final"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_rate_limit_waits_total", Help: "Deliveries or polls held back by a rate limit, by lane class.",
		}, []string{"lane"}),
		waitSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_rate_limit_wait_seconds_total", Help: "Total time deliveries or polls were held back by rate limits.",
		}, []string{"lane"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xbridge_sla_alerts_total", Help: "SLA alerts fired, by metric and level (imminent, breached, realert).",
		}, []string{"metric", "level"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "xbridge_sla_alert_lateness_seconds", Help: "Time from an alert's due time to the scheduler firing it.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 60},
		}),
	}
	m.Registry.MustRegister(m.eventsIn, m.ignored, m.delivered, m.latency, m.failures, m.waits, m.waitSeconds, m.alerts, m.lateness,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.Registry.MustRegister(&outboxCollector{stats: stats,
			depth: prometheus.NewDesc("xbridge_outbox_depth", "Outbox items pending or in flight.", nil, nil),
			age:   prometheus.NewDesc("xbridge_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox item.", nil, nil),
		})
	}
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Inbound implements bridge.Observer.
func (m *Metrics) Inbound(platform, kind string) { m.eventsIn.WithLabelValues(platform, kind).Inc() }

// Ignored implements bridge.Observer.
func (m *Metrics) Ignored(platform, reason string) { m.ignored.WithLabelValues(platform, reason).Inc() }

// Delivered implements bridge.DeliveryObserver.
func (m *Metrics) Delivered(effect bridge.Effect, latency time.Duration) {
	m.delivered.WithLabelValues(string(effect)).Inc()
	m.latency.WithLabelValues(string(effect)).Observe(latency.Seconds())
}

// Failed implements bridge.DeliveryObserver.
func (m *Metrics) Failed(effect bridge.Effect, final bool) {
	f := "false"
	if final {
		f = "true"
	}
	m.failures.WithLabelValues(string(effect), f).Inc()
}

// Waited implements bridge.DeliveryObserver.
func (m *Metrics) Waited(lane string, d time.Duration) {
	class := bridge.LaneClass(lane)
	m.waits.WithLabelValues(class).Inc()
	m.waitSeconds.WithLabelValues(class).Add(d.Seconds())
}

// AlertFired counts an SLA alert and how late it fired.
func (m *Metrics) AlertFired(a bridge.SLAAlert, lateness time.Duration) {
	m.alerts.WithLabelValues(string(a.Metric), a.Level).Inc()
	m.lateness.Observe(max(lateness, 0).Seconds())
}

type outboxCollector struct {
	stats      func(ctx context.Context) (bridge.OutboxStats, error)
	depth, age *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.age }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(st.Depth))
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, st.OldestAge.Seconds())
}

// WatchTier exports the first tier's measures over the last 30 days, read
// at scrape time: the share of conversations resolved by automation, the
// mean time to acknowledgement, the CSAT average and response rate.
func (m *Metrics) WatchTier(stats func(ctx context.Context, since time.Time) (bridge.TierStats, error), now func() time.Time) {
	m.Registry.MustRegister(&tierCollector{stats: stats, now: now,
		share:    prometheus.NewDesc("xbridge_automation_resolved_ratio", "Share of conversations (last 30 days) resolved by automation (an FAQ answer, no hand-over).", nil, nil),
		handover: prometheus.NewDesc("xbridge_automation_handovers", "Conversations (last 30 days) handed from an FAQ answer to a person.", nil, nil),
		ack:      prometheus.NewDesc("xbridge_ack_seconds_mean", "Mean time (last 30 days) from a conversation's first message to its acknowledgement reaching X.", nil, nil),
		csat:     prometheus.NewDesc("xbridge_csat_average", "Mean satisfaction rating, 1-5 (last 30 days).", nil, nil),
		rate:     prometheus.NewDesc("xbridge_csat_response_ratio", "Share of satisfaction surveys answered (last 30 days).", nil, nil),
	})
}

type tierCollector struct {
	stats                            func(ctx context.Context, since time.Time) (bridge.TierStats, error)
	now                              func() time.Time
	share, handover, ack, csat, rate *prometheus.Desc
}

func (c *tierCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.share, c.handover, c.ack, c.csat, c.rate} {
		ch <- d
	}
}

func (c *tierCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.stats(ctx, c.now().Add(-30*24*time.Hour))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.share, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.share, prometheus.GaugeValue, st.AutomationShare())
	ch <- prometheus.MustNewConstMetric(c.handover, prometheus.GaugeValue, float64(st.HandedOver))
	ch <- prometheus.MustNewConstMetric(c.ack, prometheus.GaugeValue, st.AckSeconds)
	ch <- prometheus.MustNewConstMetric(c.csat, prometheus.GaugeValue, st.CSATAverage)
	ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, st.CSATResponseRate())
}
