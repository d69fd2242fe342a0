package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/adapters/x"
	"github.com/xbridge/xbridge/bridge"
)

func TestReportSLA(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	db, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := bridge.NewManualClock(time.Now().Add(-time.Hour))
	db.Now = clock.Now
	svc := &bridge.Service{Store: db, Clock: clock, Rules: x.Rules{}, ChatPlatform: "slack", ChatChannel: "C1",
		NotePrefix: "//", CommandPrefix: "!", ReopenWindow: time.Hour, SLA: &bridge.SLA{}}
	// Three customers; agents answer after 5, 10 and 20 minutes (15 is the target).
	for i, wait := range []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute} {
		ev := bridge.InboundMessage{EventID: fmt.Sprint(100 + i), Account: "1000", Kind: bridge.KindDM,
			ConversationKey: fmt.Sprint("k", i), Sender: bridge.XUser{ID: fmt.Sprint(200 + i), Handle: "c"}, Text: "help"}
		if _, err := svc.HandleInbound(ctx, ev); err != nil {
			t.Fatal(err)
		}
		id := int64(i + 1)
		db.InTx(ctx, func(tx bridge.Tx) error {
			return tx.SetThreads(ctx, map[int64]string{id: fmt.Sprintf("17000000%d.000100", i)})
		})
		clock.Advance(wait)
		if _, err := svc.HandleChatMessage(ctx, bridge.ChatMessage{Platform: "slack", EventID: fmt.Sprint("a", i), Channel: "C1",
			ThreadID: fmt.Sprintf("17000000%d.000100", i), MessageID: fmt.Sprint("m", i), UserID: "U1", Text: "on it"}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := buildSLAReport(ctx, db, time.Now().Add(-24*time.Hour), "https://acme.slack.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Metric != bridge.MetricFirstResponse || rep.Rows[0].Achieved != 2 || rep.Rows[0].Breached != 1 || rep.Rows[0].Attainment != 66.7 {
		t.Fatalf("rows = %+v", rep.Rows)
	}
	if rep.FirstResponseP50s != 600 || rep.FirstResponseP90s != 600 && rep.FirstResponseP90s != 1200 {
		t.Fatalf("median %v p90 %v", rep.FirstResponseP50s, rep.FirstResponseP90s)
	}
	if len(rep.Breaches) != 1 || rep.Breaches[0].Ticket != "#3" || rep.Breaches[0].Link != "https://acme.slack.com/archives/C1/p170000002000100" {
		t.Fatalf("breaches = %+v", rep.Breaches)
	}
	for _, format := range []string{"table", "csv", "json"} {
		var out bytes.Buffer
		if err := printSLAReport(&out, rep, format); err != nil {
			t.Fatal(err)
		}
		switch format {
		case "table":
			if !strings.Contains(out.String(), "first_response  normal    2         1         66.7%") {
				t.Errorf("table:\n%s", out.String())
			}
		case "csv":
			if !strings.Contains(out.String(), "first_response,normal,2,1,66.7") {
				t.Errorf("csv:\n%s", out.String())
			}
		case "json":
			var back slaReport
			if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back.Breaches) != 1 {
				t.Errorf("json: %v\n%s", err, out.String())
			}
		}
	}
	if _, err := parseSince("yesterday"); err == nil {
		t.Error("--since yesterday accepted")
	}
}

func TestReportTier(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	st := bridge.TierStats{Conversations: 40, ResolvedByBot: 10, HandedOver: 4, Acked: 30, AckSeconds: 1.25,
		CSATAsked: 20, CSATRated: 15, CSATAverage: 4.4}
	if err := printTierReport(&out, st, 30*24*time.Hour, "table"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"40 conversations", "resolved by automation  10 (25.0%)", "handed over to a person 4",
		"mean time to acknowledgement 1.2s", "4.40 / 5 from 15 of 20 surveys (75% answered)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printTierReport(&out, st, time.Hour, "json")
	var back map[string]any
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back["automation_share"] != 0.25 {
		t.Fatalf("json = %s (%v)", out.String(), err)
	}
}
