package sqlstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// The conformance suite runs against SQLite always and against Postgres
// when XBRIDGE_TEST_POSTGRES names a server (always in CI).

func TestSQLite(t *testing.T) {
	t.Parallel()
	runSuite(t, openSQLite)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	open := postgresOpener(t)
	runSuite(t, open)
	runPostgresSuite(t, open)
}

// suiteTest is one behaviour of bridge.Store, checked on a migrated
// database of its own.
type suiteTest struct {
	name string
	test func(t *testing.T, db *sqlstore.DB)
}

func runSuite(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
	t.Run("Migrate", func(t *testing.T) {
		t.Parallel()
		testMigrate(t, open(t))
	})
	runMigrated(t, open, suiteTests)
}

// runMigrated runs each test in parallel on a migrated database of its own.
func runMigrated(t *testing.T, open func(t *testing.T) *sqlstore.DB, tests []suiteTest) {
	for _, st := range tests {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			st.test(t, migrated(t, open))
		})
	}
}

var suiteTests = []suiteTest{
	{"MarkSeen", testMarkSeen},
	{"UpsertCustomer", testUpsertCustomer},
	{"IntakeBatch", testIntakeBatch},
	{"WriteBehind", testWriteBehind},
	{"Conversations", testConversations},
	{"ActiveConversationUnique", testActiveConversationUnique},
	{"ReopenConflict", testReopenConflict},
	{"NotFound", testNotFound},
	{"Messages", testMessages},
	{"Enqueue", testEnqueue},
	{"ClaimOrder", testClaimOrder},
	{"ClaimNotBefore", testClaimNotBefore},
	{"ClaimSeqKey", testClaimSeqKey},
	{"ClaimLease", testClaimLease},
	{"ExpiredLeases", testExpiredLeases},
	{"NextDue", testNextDue},
	{"OutboxStats", testOutboxStats},
	{"UpdateOutboxGuard", testUpdateOutboxGuard},
	{"UpdateOutboxes", testUpdateOutboxes},
	{"Cursors", testCursors},
	{"InTxRollback", testInTxRollback},
	{"TimesRoundTrip", testTimesRoundTrip},
	{"Snapshot", testSnapshot},
	{"TargetedUpdates", testTargetedUpdates},
	{"LockConversations", testLockConversations},
	{"Prune", testPrune},
	{"Triage", testTriage},
	{"SLA", testSLA},
	{"WaitingCustomers", testWaitingCustomers},
	{"TryLead", testTryLead},
	{"TierStats", testTierStats},
	{"ReplyPreviews", testReplyPreviews},
}

// testReplyPreviews: a preview keeps its text; its state moves only from
// the state the caller read (a double click's second Send conflicts), and
// old previews are pruned.
func testReplyPreviews(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	conv := newConversation(addCustomer(t, db, "42"), "k")
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, conv) })
	mk := func(at time.Time) *bridge.ReplyPreview {
		p := &bridge.ReplyPreview{ConversationID: conv.ID, Name: "refund", Text: "Hi Jane,\n退款已发出。", Platform: "slack",
			ActorID: "U1", State: bridge.PreviewPending, CreatedAt: at, UpdatedAt: at}
		inTx(t, db, func(tx bridge.Tx) error { return tx.InsertPreview(ctx, p) })
		return p
	}
	p, old := mk(t0), mk(t0.Add(-8*24*time.Hour))
	if p.ID == 0 || old.ID == p.ID {
		t.Fatalf("ids %d, %d", p.ID, old.ID)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Preview(ctx, p.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "preview read back", *got, *p)
		sent := *got
		sent.State, sent.MessageID, sent.UpdatedAt = bridge.PreviewSent, 7, t0.Add(time.Second)
		if err := tx.UpdatePreview(ctx, &sent, bridge.PreviewPending); err != nil {
			return err
		}
		wantCode(t, tx.UpdatePreview(ctx, &sent, bridge.PreviewPending), bridge.ECONFLICT)
		got, err = tx.Preview(ctx, p.ID)
		mustEqual(t, "sent preview", *got, sent)
		_, err2 := tx.Preview(ctx, p.ID+100)
		wantCode(t, err2, bridge.ENOTFOUND)
		return err
	})
	if _, err := db.Prune(ctx, t0.Add(-7*24*time.Hour), t0.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		_, err := tx.Preview(ctx, old.ID)
		wantCode(t, err, bridge.ENOTFOUND)
		_, err = tx.Preview(ctx, p.ID)
		return err
	})
}

func testTierStats(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	mk := func(key, automation string, asked bool, score int) *bridge.Conversation {
		c := newConversation(cust, key)
		c.Automation, c.CSATScore = automation, score
		if asked {
			c.CSATAskedAt = t0
		}
		if score > 0 || automation != "" || asked {
			c.Status, c.ClosedAt = bridge.StatusClosed, t0
		}
		inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, c) })
		return c
	}
	a := mk("a", "faq:returns", true, 5)
	mk("b", "handed_over", true, 3)
	mk("c", "", true, 0)
	mk("d", "", false, 0)
	inTx(t, db, func(tx bridge.Tx) error {
		return tx.InsertMessage(ctx, &bridge.Message{ConversationID: a.ID, Direction: bridge.DirectionOut,
			AuthorName: "xbridge (ack)", Text: "thanks", Delivery: bridge.DeliverySent, SentAt: t0.Add(1500 * time.Millisecond)})
	})
	st, err := db.TierStats(ctx, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := bridge.TierStats{Conversations: 4, ResolvedByBot: 1, HandedOver: 1, Acked: 1, AckSeconds: 1.5,
		CSATAsked: 3, CSATRated: 2, CSATAverage: 4}
	mustEqual(t, "tier stats", st, want)
	mustEqual(t, "automation share", st.AutomationShare(), 0.25)
	later, err := db.TierStats(ctx, t0.Add(time.Hour))
	if err != nil || later.Conversations != 0 {
		t.Fatalf("stats after the period = %+v, %v", later, err)
	}
}

func testSLA(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	conv := addConversation(t, db, addCustomer(t, db, "42"), "dm-1")
	mk := func(m bridge.Metric, cycle int, state bridge.TargetState, next time.Duration) *bridge.SLATarget {
		tg := &bridge.SLATarget{ConversationID: conv.ID, Metric: m, Cycle: cycle, State: state,
			Budget: 15 * time.Minute, Elapsed: time.Minute, SegmentStart: t0, StartedAt: t0,
			WarnAt: t0.Add(12 * time.Minute), DueAt: t0.Add(15 * time.Minute), UpdatedAt: t0}
		if next > 0 {
			tg.NextCheck = t0.Add(next)
		}
		return tg
	}
	first := mk(bridge.MetricFirstResponse, 1, bridge.TargetRunning, 12*time.Minute)
	res := mk(bridge.MetricResolution, 1, bridge.TargetBreached, 5*time.Minute)
	done := mk(bridge.MetricNextResponse, 1, bridge.TargetAchieved, 0)
	inTx(t, db, func(tx bridge.Tx) error {
		if err := tx.InsertTargets(ctx, first, res); err != nil {
			return err
		}
		if err := tx.InsertTargets(ctx, done); err != nil {
			return err
		}
		// A cycle the conversation has is a conflict, and the transaction
		// stays usable.
		again := mk(bridge.MetricFirstResponse, 1, bridge.TargetRunning, 0)
		wantCode(t, tx.InsertTargets(ctx, again), bridge.ECONFLICT)
		ts, err := tx.Targets(ctx, conv.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "targets after the conflict", len(ts), 3)
		mustEqual(t, "ids set", first.ID != 0 && res.ID != 0 && done.ID != 0 && first.ID != res.ID, true)
		return nil
	})
	due, err := db.DueTargets(ctx, t0.Add(12*time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualSlice(t, "due targets, soonest first", []string{string(due[0].Metric), string(due[1].Metric)},
		[]string{"resolution", "first_response"})
	next, ok, err := db.NextCheck(ctx)
	if err != nil || !ok || !next.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("next check = %v %v %v", next, ok, err)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.LockTarget(ctx, first.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "target round-trip", got, first)
		got.State, got.Breached, got.Alerts, got.NextCheck = bridge.TargetBreached, true, 2, time.Time{}
		if err := tx.UpdateTarget(ctx, got); err != nil {
			return err
		}
		all, err := tx.Targets(ctx, conv.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "targets", len(all) == 3 && all[0].Breached && all[0].Alerts == 2, true)
		a := &bridge.SLAAlert{ConversationID: conv.ID, TargetID: first.ID, Metric: first.Metric, Cycle: 1, Level: "breached", FiredAt: t0}
		fresh, err := tx.InsertAlert(ctx, a)
		if err != nil || !fresh {
			t.Fatalf("first alert: %v %v", fresh, err)
		}
		again := *a
		fresh, err = tx.InsertAlert(ctx, &again)
		if err != nil || fresh {
			t.Fatalf("the same alert twice: fresh=%v err=%v", fresh, err)
		}
		since, err := tx.TargetsSince(ctx, t0)
		mustEqual(t, "targets since", len(since), 3)
		return err
	})
	due, _ = db.DueTargets(ctx, t0.Add(time.Hour), 10)
	mustEqual(t, "ended or unchecked targets are not due", len(due), 1)
}

func testWaitingCustomers(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	live := func(key string, targets ...bridge.SLATarget) int64 {
		conv := addConversation(t, db, cust, key)
		inTx(t, db, func(tx bridge.Tx) error {
			for i := range targets {
				tg := targets[i]
				tg.ConversationID, tg.Cycle, tg.StartedAt, tg.UpdatedAt = conv.ID, 1, t0, t0
				if err := tx.InsertTargets(ctx, &tg); err != nil {
					return err
				}
			}
			return nil
		})
		return conv.ID
	}
	check := t0.Add(10 * time.Minute)
	first := live("first", bridge.SLATarget{Metric: bridge.MetricFirstResponse, State: bridge.TargetRunning, NextCheck: check},
		bridge.SLATarget{Metric: bridge.MetricResolution, State: bridge.TargetRunning, NextCheck: check})
	live("next", bridge.SLATarget{Metric: bridge.MetricNextResponse, State: bridge.TargetImminent, NextCheck: check})
	live("late", bridge.SLATarget{Metric: bridge.MetricFirstResponse, State: bridge.TargetBreached, NextCheck: check})
	live("answered", bridge.SLATarget{Metric: bridge.MetricFirstResponse, State: bridge.TargetAchieved},
		bridge.SLATarget{Metric: bridge.MetricResolution, State: bridge.TargetRunning, NextCheck: check})
	live("on-customer", bridge.SLATarget{Metric: bridge.MetricResolution, State: bridge.TargetPaused})
	for _, c := range []struct {
		except int64
		limit  int
		want   int
	}{{0, 100, 3}, {first, 100, 2}, {0, 2, 2}} {
		inTx(t, db, func(tx bridge.Tx) error {
			n, err := tx.WaitingCustomers(ctx, c.except, c.limit)
			mustEqual(t, fmt.Sprintf("waiting except %d, limit %d", c.except, c.limit), n, c.want)
			return err
		})
	}
}

func testTryLead(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a, err := db.TryLead(ctx, "sla")
	if err != nil || a == nil || !a.Alive(ctx) {
		t.Fatalf("first lead = %v, %v", a, err)
	}
	if db.Dialect() == "postgres" {
		b, err := db.TryLead(ctx, "sla")
		if err != nil || b != nil {
			t.Fatalf("a second leader while the first holds: %v, %v", b, err)
		}
		other, err := db.TryLead(ctx, "poller")
		if err != nil || other == nil {
			t.Fatalf("another name is independent: %v, %v", other, err)
		}
		other.Release()
	}
	a.Release()
	c, err := db.TryLead(ctx, "sla")
	if err != nil || c == nil {
		t.Fatalf("lead after release = %v, %v", c, err)
	}
	c.Release()
}

func testTriage(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	old := addConversation(t, db, cust, "dm-old")
	conv := newConversation(cust, "dm-1")
	conv.AssigneeID, conv.AssigneeName, conv.Tags = "U1", "Alice", []string{"billing", "refund"}
	conv.ClosedByName, conv.CloseReason = "Bob", "dup"
	var esc *bridge.Escalation
	inTx(t, db, func(tx bridge.Tx) error {
		if err := tx.CreateConversation(ctx, conv); err != nil {
			return err
		}
		for i, text := range []string{"one", "two", "three"} {
			m := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionIn, Text: text, CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
		}
		esc = &bridge.Escalation{ConversationID: conv.ID, Platform: "slack", Channel: "CENG", Summary: "crash",
			OpenedByID: "U1", OpenedByName: "Alice", OpenedAt: t0}
		if err := tx.InsertEscalation(ctx, esc); err != nil {
			return err
		}
		conv.EscalationID = esc.ID
		if err := tx.UpdateConversation(ctx, conv); err != nil {
			return err
		}
		esc.ThreadID, esc.ResolvedAt, esc.ResolvedByName, esc.Resolution = "E1", t0.Add(time.Hour), "Eve", "fixed"
		if err := tx.UpdateEscalation(ctx, esc); err != nil {
			return err
		}
		for _, a := range []string{"claim", "tag"} {
			if err := tx.InsertAudit(ctx, &bridge.AuditEntry{ConversationID: conv.ID, ActorID: "U1", ActorName: "Alice",
				Action: a, Before: "", After: "x", Source: "button", At: t0}); err != nil {
				return err
			}
		}
		if err := tx.UpsertAgent(ctx, &bridge.Agent{Platform: "slack", UserID: "U1", Name: "Alice", Available: true}); err != nil {
			return err
		}
		return tx.UpsertAgent(ctx, &bridge.Agent{Platform: "slack", UserID: "U1", Name: "Alice B", Available: false, LastAssignedAt: t0})
	})
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Conversation(ctx, conv.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "triage fields round-trip", got, conv)
		e, err := tx.EscalationByThread(ctx, "slack", "CENG", "E1")
		if err != nil {
			return err
		}
		mustEqual(t, "escalation", e, esc)
		_, err = tx.EscalationByThread(ctx, "slack", "CENG", "nope")
		wantCode(t, err, bridge.ENOTFOUND)
		mine, err := tx.ConversationsAssigned(ctx, "slack", "U1")
		if err != nil {
			return err
		}
		mustEqual(t, "assigned", len(mine), 1)
		counts, err := tx.OpenCounts(ctx, "slack")
		if err != nil {
			return err
		}
		mustEqual(t, "open counts", counts["U1"], 1)
		earlier, err := tx.CustomerConversations(ctx, cust.ID, conv.ID, 3)
		if err != nil {
			return err
		}
		mustEqual(t, "earlier conversations", len(earlier) == 1 && earlier[0].ID == old.ID, true)
		recent, err := tx.RecentMessages(ctx, conv.ID, 2)
		if err != nil {
			return err
		}
		mustEqual(t, "recent messages oldest first", len(recent) == 2 && recent[0].Text == "two" && recent[1].Text == "three", true)
		audit, err := tx.Audit(ctx, conv.ID, 1)
		if err != nil {
			return err
		}
		mustEqual(t, "last audit entry", len(audit) == 1 && audit[0].Action == "tag", true)
		all, err := tx.Audit(ctx, conv.ID, 0)
		if err != nil {
			return err
		}
		mustEqual(t, "all audit entries", len(all), 2)
		agents, err := tx.Agents(ctx, "slack")
		if err != nil {
			return err
		}
		mustEqual(t, "agent upserted", len(agents) == 1 && agents[0].Name == "Alice B" && !agents[0].Available && agents[0].LastAssignedAt.Equal(t0), true)
		return nil
	})
}

func testSnapshot(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a, b := addCustomer(t, db, "41"), addCustomer(t, db, "42")
	ca, cb := addConversation(t, db, a, "dm-a"), addConversation(t, db, b, "dm-b")
	msg := &bridge.Message{ConversationID: ca.ID, Direction: bridge.DirectionIn, Text: "hello"}
	inTx(t, db, func(tx bridge.Tx) error { return tx.InsertMessage(ctx, msg) })
	snap, err := db.Snapshot(ctx, []int64{ca.ID, cb.ID, ca.ID, 0, 999}, []int64{msg.ID, 0, 12345})
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "conversations", len(snap.Conversations), 2)
	mustEqual(t, "conversation b", snap.Conversations[cb.ID].XKey, "dm-b")
	mustEqual(t, "customer of a", snap.Customers[ca.CustomerID].XUserID, "41")
	mustEqual(t, "customers", len(snap.Customers), 2)
	mustEqual(t, "messages", len(snap.Messages), 1)
	mustEqual(t, "message", snap.Messages[msg.ID].Text, "hello")
	// Card extras: b's customer has no earlier conversation; a second
	// conversation of a's customer lists a as earlier.
	later := addConversation(t, db, a, "dm-a2")
	snap, err = db.Snapshot(ctx, []int64{later.ID, cb.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "only the conversations asked for", len(snap.Conversations) == 2 && snap.Conversations[ca.ID] == nil, true)
	mustEqual(t, "earlier of the later conversation", len(snap.Extras[later.ID].Earlier) == 1 && snap.Extras[later.ID].Earlier[0].ID == ca.ID, true)
	mustEqual(t, "earlier of b", len(snap.Extras[cb.ID].Earlier), 0)
	empty, err := db.Snapshot(ctx, nil, nil)
	if err != nil || len(empty.Conversations)+len(empty.Messages) != 0 {
		t.Fatalf("empty snapshot = %+v, %v", empty, err)
	}
}

func testTargetedUpdates(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	var convs []*bridge.Conversation
	var msgs []*bridge.Message
	var custs []*bridge.Customer
	for i := range 3 {
		custs = append(custs, addCustomer(t, db, fmt.Sprint(42+i)))
	}
	inTx(t, db, func(tx bridge.Tx) error {
		for i, cust := range custs {
			conv := newConversation(cust, fmt.Sprintf("dm-%d", i))
			conv.ChatThreadID = "" // the card is not posted yet
			if err := tx.CreateConversation(ctx, conv); err != nil {
				return err
			}
			msg := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionIn, Text: "hi"}
			if err := tx.InsertMessage(ctx, msg); err != nil {
				return err
			}
			convs, msgs = append(convs, conv), append(msgs, msg)
		}
		return nil
	})
	inTx(t, db, func(tx bridge.Tx) error {
		if err := tx.SetThreads(ctx, map[int64]string{convs[0].ID: "T0", convs[1].ID: "T1"}); err != nil {
			return err
		}
		// A thread, once set, stays: a late duplicate card does not move it.
		if err := tx.SetThreads(ctx, map[int64]string{convs[0].ID: "T9", convs[2].ID: "T2"}); err != nil {
			return err
		}
		return tx.SetMessageChatIDs(ctx, map[int64]string{msgs[0].ID: "M0", msgs[2].ID: "M2"})
	})
	inTx(t, db, func(tx bridge.Tx) error {
		for i, want := range [][2]string{{"T0", "M0"}, {"T1", ""}, {"T2", "M2"}} {
			c, err := tx.Conversation(ctx, convs[i].ID)
			if err != nil {
				return err
			}
			mustEqual(t, "thread", c.ChatThreadID, want[0])
			m, err := tx.Message(ctx, msgs[i].ID)
			if err != nil {
				return err
			}
			mustEqual(t, "chat id", m.ChatID, want[1])
		}
		return nil
	})
	// A message that does not exist is named, and the transaction writes
	// none of the others.
	err := db.InTx(ctx, func(tx bridge.Tx) error {
		return tx.SetMessageChatIDs(ctx, map[int64]string{msgs[1].ID: "M1", msgs[2].ID + 100: "M9"})
	})
	wantCode(t, err, bridge.ENOTFOUND)
	inTx(t, db, func(tx bridge.Tx) error {
		m, err := tx.Message(ctx, msgs[1].ID)
		if err == nil {
			mustEqual(t, "chat id after a failed batch", m.ChatID, "")
		}
		return err
	})

	// RecordThreads is SetThreads on its own, outside a transaction.
	other := newConversation(addCustomer(t, db, "50"), "dm-9")
	other.ChatThreadID = ""
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, other) })
	for _, th := range []string{"T3", "T4"} {
		if err := db.RecordThreads(ctx, map[int64]string{other.ID: th, convs[1].ID: "T8"}); err != nil {
			t.Fatal(err)
		}
	}
	inTx(t, db, func(tx bridge.Tx) error {
		for id, want := range map[int64]string{other.ID: "T3", convs[1].ID: "T1"} {
			c, err := tx.Conversation(ctx, id)
			if err != nil {
				return err
			}
			mustEqual(t, "recorded thread", c.ChatThreadID, want)
		}
		return nil
	})

	// Each thread recorded finds its conversation; a thread refused (the
	// late duplicate card's) finds none, nor does one a conversation moved
	// away from.
	inTx(t, db, func(tx bridge.Tx) error {
		c, err := tx.Conversation(ctx, convs[2].ID)
		if err != nil {
			return err
		}
		c.ChatThreadID = "T7"
		return tx.UpdateConversation(ctx, c)
	})
	inTx(t, db, func(tx bridge.Tx) error {
		for thread, want := range map[string]int64{"T0": convs[0].ID, "T1": convs[1].ID, "T3": other.ID, "T7": convs[2].ID,
			"T9": 0, "T4": 0, "T8": 0, "T2": 0} {
			c, err := tx.ConversationByThread(ctx, convs[0].ChatPlatform, convs[0].ChatChannel, thread)
			switch {
			case want == 0:
				wantCode(t, err, bridge.ENOTFOUND)
			case err != nil:
				return err
			default:
				mustEqual(t, "conversation of thread "+thread, c.ID, want)
			}
		}
		return nil
	})
}

// testLockConversations: a transaction that locks conversations another
// holds waits for it, then sees what it committed.
func testLockConversations(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := addConversation(t, db, addCustomer(t, db, "41"), "dm-a")
	b := addConversation(t, db, addCustomer(t, db, "42"), "dm-b")
	locked := make(chan struct{})
	seen := make(chan bridge.Priority, 1)
	go func() {
		<-locked
		var p bridge.Priority
		err := db.InTx(ctx, func(tx bridge.Tx) error {
			if err := tx.LockConversations(ctx, b.ID); err != nil {
				return err
			}
			c, err := tx.Conversation(ctx, b.ID)
			if err == nil {
				p = c.Priority
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
		seen <- p // after the commit: the test's context ends with it
	}()
	inTx(t, db, func(tx bridge.Tx) error {
		if err := tx.LockConversations(ctx, a.ID, b.ID); err != nil {
			return err
		}
		close(locked)
		time.Sleep(100 * time.Millisecond) // the other transaction waits meanwhile
		c, err := tx.Conversation(ctx, b.ID)
		if err != nil {
			return err
		}
		c.Priority = bridge.PriorityUrgent
		return tx.UpdateConversation(ctx, c)
	})
	mustEqual(t, "priority seen after the lock", <-seen, bridge.PriorityUrgent)
}

func testPrune(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	old, recent := item("old-done", "p1", 10), item("recent-done", "p2", 10)
	live, unknown := item("old-pending", "p3", 10), item("old-unknown", "p4", 10)
	old.State, old.UpdatedAt = bridge.OutboxDone, t0.Add(-10*24*time.Hour)
	recent.State, recent.UpdatedAt = bridge.OutboxDone, t0
	live.UpdatedAt = t0.Add(-10 * 24 * time.Hour)
	unknown.State, unknown.UpdatedAt = bridge.OutboxUnknown, t0.Add(-10*24*time.Hour)
	enqueue(t, db, old, recent, live, unknown)
	db.Now = func() time.Time { return t0.Add(-40 * 24 * time.Hour) }
	inTx(t, db, func(tx bridge.Tx) error { _, err := tx.MarkSeen(ctx, "x", "ancient"); return err })
	db.Now = func() time.Time { return t0 }
	inTx(t, db, func(tx bridge.Tx) error { _, err := tx.MarkSeen(ctx, "x", "fresh"); return err })

	n, err := db.Prune(ctx, t0.Add(-7*24*time.Hour), t0.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "rows pruned", n, int64(2))
	st, err := db.OutboxStats(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "live items kept", st.Depth, 1)
	inTx(t, db, func(tx bridge.Tx) error {
		for id, wantFresh := range map[string]bool{"ancient": true, "fresh": false} {
			fresh, err := tx.MarkSeen(ctx, "x", id)
			if err != nil {
				return err
			}
			mustEqual(t, "seen again "+id, fresh, wantFresh)
		}
		return nil
	})
}

func testMigrate(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	applied, err := db.Applied(ctx)
	if err != nil {
		t.Fatalf("applied before migrating: %v", err)
	}
	mustEqual(t, "migrations applied before Migrate", len(applied), 0)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	first, err := db.Applied(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 || first[0].Version != 1 || first[0].Name != "core" || first[0].AppliedAt.IsZero() {
		t.Fatalf("applied after Migrate = %+v, want 0001 core first, with a time", first)
	}
	for i := 1; i < len(first); i++ {
		if first[i].Version <= first[i-1].Version {
			t.Fatalf("applied migrations out of order: %+v", first)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	second, err := db.Applied(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "applied after a second Migrate", second, first)
	// The schema works.
	addConversation(t, db, addCustomer(t, db, "42"), "k")
}

func testMarkSeen(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	for _, step := range []struct {
		source, id string
		fresh      bool
	}{
		{"x", "e1", true},
		{"x", "e1", false},
		{"slack", "e1", true}, // ids are per source
		{"x", "e2", true},
	} {
		inTx(t, db, func(tx bridge.Tx) error {
			fresh, err := tx.MarkSeen(ctx, step.source, step.id)
			mustEqual(t, "fresh "+step.source+"/"+step.id, fresh, step.fresh)
			return err
		})
	}
}

func testUpsertCustomer(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	c := &bridge.Customer{XUserID: "42", Handle: "ann", Name: "Ann", AvatarURL: "https://a/1.png",
		Followers: 10, Verified: false, UpdatedAt: t0}
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpsertCustomer(ctx, c) })
	if c.ID == 0 {
		t.Fatal("UpsertCustomer set no ID")
	}
	other := addCustomer(t, db, "43")
	if other.ID == c.ID {
		t.Fatal("two customers share an ID")
	}

	refreshed := &bridge.Customer{XUserID: "42", Handle: "ann2", Name: "Ann B", AvatarURL: "https://a/2.png",
		Followers: 11, Verified: true, UpdatedAt: t0.Add(time.Hour)}
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpsertCustomer(ctx, refreshed) })
	mustEqual(t, "ID after refresh", refreshed.ID, c.ID)

	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Customer(ctx, c.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "customer by id", got, refreshed)
		got, err = tx.CustomerByXUserID(ctx, "42")
		if err != nil {
			return err
		}
		mustEqual(t, "customer by X user id", got, refreshed)
		return nil
	})
}

// testIntakeBatch: the batch forms of MarkSeen, UpsertCustomer and
// LatestConversation answer as the single ones would, called in turn.
func testIntakeBatch(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	inTx(t, db, func(tx bridge.Tx) error { _, err := tx.MarkSeen(ctx, "x", "old"); return err })
	inTx(t, db, func(tx bridge.Tx) error {
		fresh, err := tx.MarkSeenAll(ctx, "x", []string{"a", "old", "b", "a", "c"})
		mustEqual(t, "fresh", fresh, []bool{true, false, true, false, true})
		return err
	})
	inTx(t, db, func(tx bridge.Tx) error {
		fresh, err := tx.MarkSeenAll(ctx, "x", []string{"c", "d"})
		mustEqual(t, "fresh on the next call", fresh, []bool{false, true})
		return err
	})

	known := addCustomer(t, db, "42")
	ann := &bridge.Customer{XUserID: "42", Handle: "ann", Name: "Ann", Followers: 5, UpdatedAt: t0}
	bob := &bridge.Customer{XUserID: "7", Handle: "bob", Name: "Bob", AvatarURL: "https://a/b.png", Verified: true, UpdatedAt: t0}
	ann2 := &bridge.Customer{XUserID: "42", Handle: "ann_b", Name: "Ann B", Followers: 6, UpdatedAt: t0.Add(time.Second)}
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpsertCustomers(ctx, ann, bob, ann2) })
	mustEqual(t, "an existing customer keeps its id", ann.ID, known.ID)
	mustEqual(t, "the same customer twice gets one id", ann2.ID, known.ID)
	mustEqual(t, "the other customer's own profile is kept in memory", ann.Handle, "ann")
	if bob.ID == 0 || bob.ID == known.ID {
		t.Fatalf("new customer got id %d", bob.ID)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Customer(ctx, known.ID)
		mustEqual(t, "the last of a customer's rows is written", got, ann2)
		if err != nil {
			return err
		}
		got, err = tx.Customer(ctx, bob.ID)
		mustEqual(t, "new customer", got, bob)
		return err
	})

	closed := addConversation(t, db, ann, "dm-1")
	closed.Status, closed.ClosedAt = bridge.StatusClosed, t0
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateConversation(ctx, closed) })
	newest := addConversation(t, db, ann, "dm-1")
	other := addConversation(t, db, bob, "dm-2")
	keyOf := func(c *bridge.Conversation) bridge.ConversationKey {
		return bridge.ConversationKey{Account: c.Account, Kind: c.Kind, Key: c.XKey, CustomerID: c.CustomerID}
	}
	missing := bridge.ConversationKey{Account: newest.Account, Kind: newest.Kind, Key: "dm-9", CustomerID: ann.ID}
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.LatestConversations(ctx, []bridge.ConversationKey{keyOf(newest), missing, keyOf(other)})
		if err != nil {
			return err
		}
		mustEqual(t, "latest conversations", got, map[bridge.ConversationKey]*bridge.Conversation{
			keyOf(newest): newest, keyOf(other): other,
		})
		got, err = tx.LatestConversations(ctx, nil)
		mustEqual(t, "no keys", len(got), 0)
		return err
	})

	// Conversations created together get ids in the order given and read
	// back as written; a key with an active conversation fails the call,
	// and the transaction, whole.
	full := &bridge.Conversation{
		Kind: bridge.KindMention, Account: "1000", XKey: "tweet-1", CustomerID: bob.ID,
		Status: bridge.StatusPending, Priority: bridge.PriorityHigh, ReplyToID: "tweet-2",
		ChatPlatform: "discord", ChatChannel: "chan", ChatThreadID: "thread-9", PreviousID: 7,
		AssigneeID: "U1", AssigneeName: "Al", Tags: []string{"billing", "vip"}, Language: "de",
		Automation: "faq:hours", AckedAt: t0, PriorityHint: "urgent", CSATScore: 4, CSATAt: t0,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
	}
	batch := []*bridge.Conversation{newConversation(ann, "dm-5"), full, newConversation(bob, "dm-6")}
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversations(ctx, batch) })
	if !(batch[0].ID > other.ID && batch[0].ID < batch[1].ID && batch[1].ID < batch[2].ID) {
		t.Fatalf("ids %d, %d, %d after %d", batch[0].ID, batch[1].ID, batch[2].ID, other.ID)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		for _, c := range batch {
			got, err := tx.Conversation(ctx, c.ID)
			if err != nil {
				return err
			}
			mustEqual(t, "conversation created in a batch", got, c)
		}
		return nil
	})
	fresh := newConversation(ann, "dm-7")
	err := db.InTx(ctx, func(tx bridge.Tx) error {
		return tx.CreateConversations(ctx, []*bridge.Conversation{fresh, newConversation(bob, "dm-6")})
	})
	wantCode(t, err, bridge.ECONFLICT)
	inTx(t, db, func(tx bridge.Tx) error {
		_, err := tx.LatestConversation(ctx, fresh.Account, fresh.Kind, fresh.XKey, ann.ID)
		wantCode(t, err, bridge.ENOTFOUND)
		return nil
	})
}

// testWriteBehind: with write-behind on, the rows of a conversation the
// transaction created get their ids at once, are seen by the
// transaction's own reads and are all there after the commit, exactly as
// written; rows of other conversations are written as usual. A key
// conflict among the rows held back loses the whole transaction, never
// half of it.
func testWriteBehind(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	old := addConversation(t, db, cust, "dm-old")
	var (
		conv    *bridge.Conversation
		msgs    []*bridge.Message
		targets []*bridge.SLATarget
		items   []*bridge.OutboxItem
	)
	inTx(t, db, func(tx bridge.Tx) error {
		tx.WriteBehind()
		// Two created together, one on its own.
		convs := []*bridge.Conversation{newConversation(cust, "dm-0"), newConversation(cust, "dm-1")}
		if err := tx.CreateConversations(ctx, convs); err != nil {
			return err
		}
		convs = append(convs, newConversation(cust, "dm-2"))
		if err := tx.CreateConversation(ctx, convs[2]); err != nil {
			return err
		}
		for i, c := range convs { // more rows than the ids reserved per conversation
			conv = c
			for j := range 3 {
				m := &bridge.Message{ConversationID: c.ID, Direction: bridge.DirectionIn, AuthorID: "42",
					AuthorName: "Ann", Text: fmt.Sprintf("hello %d %d", i, j), XID: fmt.Sprintf("x-%d-%d", i, j), CreatedAt: t0}
				if err := tx.InsertMessage(ctx, m); err != nil {
					return err
				}
				msgs = append(msgs, m)
			}
			var ts []*bridge.SLATarget
			for _, metric := range []bridge.Metric{bridge.MetricFirstResponse, bridge.MetricResolution} {
				for cycle := 1; cycle <= 2; cycle++ {
					ts = append(ts, &bridge.SLATarget{ConversationID: c.ID, Metric: metric, Cycle: cycle,
						State: bridge.TargetRunning, Budget: time.Hour, StartedAt: t0, DueAt: t0.Add(time.Hour),
						NextCheck: t0.Add(50 * time.Minute), UpdatedAt: t0})
				}
			}
			if err := tx.InsertTargets(ctx, ts...); err != nil {
				return err
			}
			targets = append(targets, ts...)
			for j := range 4 {
				it := item(fmt.Sprintf("conv:%d:post:%d", c.ID, j), fmt.Sprintf("chat:%d", c.ID), 1)
				it.ConversationID, it.MessageID = c.ID, msgs[len(msgs)-1].ID
				items = append(items, it)
			}
			if err := tx.Enqueue(ctx, items[len(items)-4:]...); err != nil {
				return err
			}
		}
		for _, m := range msgs {
			if m.ID == 0 {
				t.Fatal("a held-back message got no id")
			}
		}
		again := item(items[0].IdemKey, items[0].SeqKey, 1)
		again.ConversationID = items[0].ConversationID
		if err := tx.Enqueue(ctx, again); err != nil {
			return err
		}
		mustEqual(t, "id of an item whose key waits", again.ID, int64(0))
		dup := *targets[0]
		dup.ID = 0
		wantCode(t, tx.InsertTargets(ctx, &dup), bridge.ECONFLICT)

		// A row of a conversation created earlier goes in at once, and the
		// transaction's reads see the rows held back.
		m := &bridge.Message{ConversationID: old.ID, Direction: bridge.DirectionIn, Text: "old", CreatedAt: t0}
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		got, err := tx.Message(ctx, msgs[0].ID)
		if err != nil {
			return err
		}
		mustEqual(t, "held-back message read in its transaction", got, msgs[0])
		return nil
	})
	inTx(t, db, func(tx bridge.Tx) error {
		for _, m := range msgs {
			got, err := tx.Message(ctx, m.ID)
			if err != nil {
				return err
			}
			mustEqual(t, "message after commit", got, m)
		}
		got, err := tx.Targets(ctx, conv.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "targets after commit", got, targets[len(targets)-4:])
		for _, it := range items {
			got, err := tx.OutboxByKey(ctx, it.IdemKey)
			if err != nil {
				return err
			}
			mustEqual(t, "outbox item after commit", got, it)
		}
		return nil
	})

	// An outbox key taken before: on a store that holds rows back the
	// transaction fails as a whole; one that does not skips the item.
	taken := item("taken", "", 1)
	inTx(t, db, func(tx bridge.Tx) error { return tx.Enqueue(ctx, taken) })
	lost := newConversation(cust, "dm-lost")
	clash := item("taken", "", 1)
	err := db.InTx(ctx, func(tx bridge.Tx) error {
		tx.WriteBehind()
		if err := tx.CreateConversation(ctx, lost); err != nil {
			return err
		}
		clash.ConversationID = lost.ID
		return tx.Enqueue(ctx, clash)
	})
	inTx(t, db, func(tx bridge.Tx) error {
		_, cerr := tx.Conversation(ctx, lost.ID)
		switch {
		case err == nil:
			mustEqual(t, "id of the item skipped", clash.ID, int64(0))
			if cerr != nil {
				t.Fatalf("committed conversation: %v", cerr)
			}
		case bridge.ErrorCode(err) == bridge.ECONFLICT:
			wantCode(t, cerr, bridge.ENOTFOUND)
		default:
			t.Fatalf("commit: %v", err)
		}
		return nil
	})
}

func testConversations(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	c := &bridge.Conversation{
		Kind: bridge.KindMention, Account: "1000", XKey: "tweet-1", CustomerID: cust.ID,
		Status: bridge.StatusPending, Priority: bridge.PriorityHigh, ReplyToID: "tweet-2",
		ChatPlatform: "discord", ChatChannel: "chan", ChatThreadID: "thread-9", PreviousID: 7,
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
	}
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, c) })
	if c.ID == 0 {
		t.Fatal("CreateConversation set no ID")
	}
	// Another key and another customer are other conversations.
	otherKey := addConversation(t, db, cust, "tweet-other")
	otherCust := newConversation(addCustomer(t, db, "43"), "tweet-1")
	otherCust.Kind = bridge.KindMention
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, otherCust) })

	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Conversation(ctx, c.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "by id", got, c)
		got, err = tx.ActiveConversation(ctx, "1000", bridge.KindMention, "tweet-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "active by key", got, c)
		got, err = tx.LatestConversation(ctx, "1000", bridge.KindMention, "tweet-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "latest by key", got, c)
		got, err = tx.ConversationByThread(ctx, "discord", "chan", "thread-9")
		if err != nil {
			return err
		}
		mustEqual(t, "by thread", got, c)
		got, err = tx.ConversationByThread(ctx, "slack", "C1", otherKey.ChatThreadID)
		if err != nil {
			return err
		}
		mustEqual(t, "other key by thread", got.ID, otherKey.ID)
		return nil
	})

	// Update writes every field.
	c.Status = bridge.StatusClosed
	c.Priority = bridge.PriorityUrgent
	c.ChatThreadID = "thread-10"
	c.ReplyToID = "tweet-3"
	c.UpdatedAt = t0.Add(time.Minute)
	c.ClosedAt = t0.Add(time.Minute)
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateConversation(ctx, c) })
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Conversation(ctx, c.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "after update", got, c)
		_, err = tx.ActiveConversation(ctx, "1000", bridge.KindMention, "tweet-1", cust.ID)
		wantCode(t, err, bridge.ENOTFOUND)
		got, err = tx.LatestConversation(ctx, "1000", bridge.KindMention, "tweet-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "latest finds a closed conversation", got, c)
		return nil
	})
}

func testActiveConversationUnique(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	first := addConversation(t, db, cust, "dm-1")

	// A second active conversation for the key is a conflict, and the
	// transaction stays usable after it.
	inTx(t, db, func(tx bridge.Tx) error {
		second := newConversation(cust, "dm-1")
		second.Status = bridge.StatusPending
		err := tx.CreateConversation(ctx, second)
		wantCode(t, err, bridge.ECONFLICT)
		mustEqual(t, "ID after conflict", second.ID, int64(0))
		got, err := tx.ActiveConversation(ctx, "1000", bridge.KindDM, "dm-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "active after conflict", got.ID, first.ID)
		return nil
	})

	// Once the first is closed, a new one may start.
	first.Status, first.ClosedAt = bridge.StatusClosed, t0.Add(time.Hour)
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateConversation(ctx, first) })
	second := newConversation(cust, "dm-1")
	second.PreviousID = first.ID
	second.ChatThreadID = "th-second"
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, second) })
	if second.ID <= first.ID {
		t.Fatalf("second conversation ID %d, want > %d", second.ID, first.ID)
	}
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.ActiveConversation(ctx, "1000", bridge.KindDM, "dm-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "active", got.ID, second.ID)
		got, err = tx.LatestConversation(ctx, "1000", bridge.KindDM, "dm-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "latest", got.ID, second.ID)
		return nil
	})

	// Closed conversations do not limit each other.
	second.Status = bridge.StatusClosed
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateConversation(ctx, second) })
	third := newConversation(cust, "dm-1")
	third.Status = bridge.StatusClosed
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, third) })
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.LatestConversation(ctx, "1000", bridge.KindDM, "dm-1", cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "latest of closed ones", got.ID, third.ID)
		return nil
	})
}

func testReopenConflict(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	old := addConversation(t, db, cust, "dm-1")
	old.Status = bridge.StatusClosed
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateConversation(ctx, old) })
	addConversation(t, db, cust, "dm-1")

	// Reopening the old one while a new one is active breaks the unique
	// index: ECONFLICT, and nothing is written.
	old.Status = bridge.StatusOpen
	err := db.InTx(ctx, func(tx bridge.Tx) error { return tx.UpdateConversation(ctx, old) })
	wantCode(t, err, bridge.ECONFLICT)
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Conversation(ctx, old.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "status of the old conversation", got.Status, bridge.StatusClosed)
		return nil
	})
}

func testNotFound(t *testing.T, db *sqlstore.DB) {
	cust := addCustomer(t, db, "42")
	conv := addConversation(t, db, cust, "dm-1")
	// A message with empty ids must not match empty lookups.
	inTx(t, db, func(tx bridge.Tx) error {
		return tx.InsertMessage(t.Context(), &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionNote})
	})
	for _, tc := range []struct {
		name string
		call func(tx bridge.Tx) error
	}{
		{"Customer", func(tx bridge.Tx) error { _, err := tx.Customer(t.Context(), 999); return err }},
		{"CustomerByXUserID", func(tx bridge.Tx) error { _, err := tx.CustomerByXUserID(t.Context(), "nobody"); return err }},
		{"Conversation", func(tx bridge.Tx) error { _, err := tx.Conversation(t.Context(), 999); return err }},
		{"ActiveConversation", func(tx bridge.Tx) error {
			_, err := tx.ActiveConversation(t.Context(), "1000", bridge.KindDM, "dm-2", cust.ID)
			return err
		}},
		{"ActiveConversationOtherKind", func(tx bridge.Tx) error {
			_, err := tx.ActiveConversation(t.Context(), "1000", bridge.KindMention, "dm-1", cust.ID)
			return err
		}},
		{"LatestConversation", func(tx bridge.Tx) error {
			_, err := tx.LatestConversation(t.Context(), "1000", bridge.KindDM, "dm-1", cust.ID+1)
			return err
		}},
		{"ConversationByThread", func(tx bridge.Tx) error {
			_, err := tx.ConversationByThread(t.Context(), "slack", "C2", conv.ChatThreadID)
			return err
		}},
		{"ConversationByEmptyThread", func(tx bridge.Tx) error {
			_, err := tx.ConversationByThread(t.Context(), "slack", "C1", "")
			return err
		}},
		{"Message", func(tx bridge.Tx) error { _, err := tx.Message(t.Context(), 999); return err }},
		{"MessageByXID", func(tx bridge.Tx) error { _, err := tx.MessageByXID(t.Context(), "x-999"); return err }},
		{"MessageByEmptyXID", func(tx bridge.Tx) error { _, err := tx.MessageByXID(t.Context(), ""); return err }},
		{"MessageByEmptyChatID", func(tx bridge.Tx) error {
			_, err := tx.MessageByChatID(t.Context(), "slack", "C1", "")
			return err
		}},
		{"Cursor", func(tx bridge.Tx) error { _, err := tx.Cursor(t.Context(), "nothing"); return err }},
		{"UpdateConversation", func(tx bridge.Tx) error {
			c := *conv
			c.ID = 999
			return tx.UpdateConversation(t.Context(), &c)
		}},
		{"UpdateMessage", func(tx bridge.Tx) error {
			return tx.UpdateMessage(t.Context(), &bridge.Message{ID: 999, ConversationID: conv.ID})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.InTx(t.Context(), tc.call)
			wantCode(t, err, bridge.ENOTFOUND)
		})
	}
}

func testMessages(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	conv := addConversation(t, db, cust, "dm-1") // slack / C1
	in := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionIn, AuthorID: "42",
		AuthorName: "Ann", Text: "hello", XID: "dm-event-1", ChatID: "1700.01", CreatedAt: t0}
	out := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionOut, AuthorID: "U1",
		AuthorName: "Agent", Text: "hi!", ChatID: "1700.02", Delivery: bridge.DeliveryScheduled,
		CreatedAt: t0.Add(time.Second)}
	inTx(t, db, func(tx bridge.Tx) error {
		if err := tx.InsertMessage(ctx, in); err != nil {
			return err
		}
		return tx.InsertMessage(ctx, out)
	})
	if in.ID == 0 || out.ID == 0 || in.ID == out.ID {
		t.Fatalf("message IDs %d and %d", in.ID, out.ID)
	}

	out.XID = "dm-event-2"
	out.Delivery = bridge.DeliverySent
	out.DeliveryError = "was slow"
	out.Text = "hi there!"
	out.SentAt = t0.Add(10 * time.Second)
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateMessage(ctx, out) })

	inTx(t, db, func(tx bridge.Tx) error {
		for _, want := range []*bridge.Message{in, out} {
			got, err := tx.Message(ctx, want.ID)
			if err != nil {
				return err
			}
			mustEqual(t, "by id", got, want)
			got, err = tx.MessageByXID(ctx, want.XID)
			if err != nil {
				return err
			}
			mustEqual(t, "by X id", got, want)
			got, err = tx.MessageByChatID(ctx, "slack", "C1", want.ChatID)
			if err != nil {
				return err
			}
			mustEqual(t, "by chat id", got, want)
		}
		// The chat id belongs to the conversation's platform and channel.
		_, err := tx.MessageByChatID(ctx, "slack", "C2", in.ChatID)
		wantCode(t, err, bridge.ENOTFOUND)
		_, err = tx.MessageByChatID(ctx, "discord", "C1", in.ChatID)
		wantCode(t, err, bridge.ENOTFOUND)
		return nil
	})

	// A message of an unknown conversation is refused.
	err := db.InTx(ctx, func(tx bridge.Tx) error {
		return tx.InsertMessage(ctx, &bridge.Message{ConversationID: conv.ID + 100, Text: "orphan"})
	})
	if err == nil {
		t.Fatal("inserted a message of an unknown conversation")
	}
}

func testEnqueue(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	conv := addConversation(t, db, cust, "dm-1")
	msg := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionOut, Text: "hi"}
	inTx(t, db, func(tx bridge.Tx) error { return tx.InsertMessage(ctx, msg) })

	send := item("msg:1:0", "x:1", bridge.PriorityCustomerReply)
	send.Effect, send.Lane = bridge.EffectDM, "x:1000:dm"
	send.ConversationID, send.MessageID = conv.ID, msg.ID
	send.Payload = bridge.Payload{Text: "hi", Kind: bridge.PostCustomer, Part: 1, Parts: 2,
		Buttons: []bridge.Button{{Action: bridge.ActionResend, Label: "Resend", Value: "1"}}}
	react := item("msg:1:react", "chat:1", bridge.PriorityMark)
	react.Effect, react.ConversationID, react.MessageID = bridge.EffectReact, conv.ID, msg.ID
	react.Payload = bridge.Payload{Reaction: bridge.ReactionWaiting}
	card := item("conv:1:card", "chat:1", bridge.PriorityThread)
	card.Effect, card.ConversationID = bridge.EffectCard, conv.ID
	card.State = bridge.OutboxDone
	// Defaults: state pending, CreatedAt now.
	bare := &bridge.OutboxItem{Effect: bridge.EffectPost, SeqKey: "chat:1", IdemKey: "bare", ConversationID: conv.ID}
	enqueue(t, db, send, react, card, bare)
	for _, it := range []*bridge.OutboxItem{send, react, card, bare} {
		if it.ID == 0 {
			t.Fatalf("%s: no ID", it.IdemKey)
		}
	}
	mustEqual(t, "default state", bare.State, bridge.OutboxPending)
	if bare.CreatedAt.IsZero() || bare.UpdatedAt != bare.CreatedAt {
		t.Fatalf("default times: created %v, updated %v", bare.CreatedAt, bare.UpdatedAt)
	}

	// The same IdemKey again is skipped, in the same batch as a new item.
	dup := item("msg:1:0", "x:1", bridge.PriorityCustomerReply)
	dup.Payload.Text = "changed"
	fresh := item("msg:1:1", "x:1", bridge.PriorityCustomerReply)
	fresh.ConversationID, fresh.MessageID = conv.ID, msg.ID
	enqueue(t, db, dup, fresh)
	mustEqual(t, "ID of a duplicate", dup.ID, int64(0))
	if fresh.ID <= send.ID {
		t.Fatalf("fresh ID %d, want > %d", fresh.ID, send.ID)
	}

	err := db.InTx(ctx, func(tx bridge.Tx) error { return tx.Enqueue(ctx, item("", "x:1", 0)) })
	wantCode(t, err, bridge.EINVALID)

	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.OutboxForMessage(ctx, msg.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "outbox of message", got, []*bridge.OutboxItem{send, react, fresh})
		got, err = tx.OutboxForConversation(ctx, conv.ID)
		if err != nil {
			return err
		}
		mustEqualSlice(t, "all outbox of conversation", idems(got), idems([]*bridge.OutboxItem{send, react, card, bare, fresh}))
		got, err = tx.OutboxForConversation(ctx, conv.ID, bridge.OutboxDone, bridge.OutboxUnknown)
		if err != nil {
			return err
		}
		mustEqual(t, "done outbox of conversation", got, []*bridge.OutboxItem{card})
		got, err = tx.OutboxForConversation(ctx, conv.ID+1)
		if err != nil {
			return err
		}
		mustEqual(t, "outbox of another conversation", len(got), 0)
		return nil
	})
}

func testClaimOrder(t *testing.T, db *sqlstore.DB) {
	enqueue(t, db,
		item("a", "s1", 30),
		item("b", "s2", 10),
		item("c", "s3", 20),
		item("d", "s4", 10),
		item("e", "s5", 30),
	)
	mustEqualSlice(t, "first claim", idems(claim(t, db, t0, 3)), []string{"b", "d", "c"})
	mustEqualSlice(t, "second claim", idems(claim(t, db, t0, 3)), []string{"a", "e"})
	mustEqual(t, "third claim", len(claim(t, db, t0, 3)), 0)
	mustEqual(t, "claim of none", len(claim(t, db, t0, 0)), 0)
}

func testClaimNotBefore(t *testing.T, db *sqlstore.DB) {
	later := item("later", "s1", 10)
	later.NotBefore = t0.Add(time.Minute)
	enqueue(t, db, later, item("now", "s2", 20))
	mustEqualSlice(t, "claim at t0", idems(claim(t, db, t0, 10)), []string{"now"})
	mustEqual(t, "claim just before", len(claim(t, db, t0.Add(time.Minute-time.Microsecond), 10)), 0)
	mustEqualSlice(t, "claim when due", idems(claim(t, db, t0.Add(time.Minute), 10)), []string{"later"})
}

func testClaimSeqKey(t *testing.T, db *sqlstore.DB) {
	// a1 a2 a3 share a key; a later item never overtakes an earlier one,
	// even one not yet due or of lower priority.
	a1 := item("a1", "a", 30)
	a1.NotBefore = t0.Add(time.Minute)
	enqueue(t, db, a1, item("a2", "a", 10), item("a3", "a", 10), item("b1", "b", 20), item("b2", "b", 20),
		item("u1", "", 40), item("u2", "", 40))
	// Empty seq keys impose no order.
	mustEqualSlice(t, "claim at t0", idems(claim(t, db, t0, 10)), []string{"b1", "u1", "u2"})
	mustEqual(t, "claim while b1 is inflight", len(claim(t, db, t0, 10)), 0)

	got := claim(t, db, t0.Add(time.Minute), 10)
	mustEqualSlice(t, "claim when a1 is due", idems(got), []string{"a1"})
	mustEqual(t, "claim while a1 and b1 are inflight", len(claim(t, db, t0.Add(time.Minute), 10)), 0)
	finish(t, db, got[0])
	mustEqualSlice(t, "claim after a1 is done", idems(claim(t, db, t0.Add(time.Minute), 10)), []string{"a2"})
}

func testClaimLease(t *testing.T, db *sqlstore.DB) {
	enqueue(t, db, item("a", "s1", 10))
	now := t0.Add(time.Second)
	got, err := db.ClaimOutbox(t.Context(), now, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "claimed", len(got), 1)
	it := got[0]
	mustEqual(t, "state", it.State, bridge.OutboxInflight)
	mustEqual(t, "attempts", it.Attempts, 1)
	mustEqual(t, "lease", it.LeaseUntil, now.Add(30*time.Second))
	mustEqual(t, "updated", it.UpdatedAt, now)
	mustEqual(t, "created", it.CreatedAt, t0)
	mustEqual(t, "payload", it.Payload.Text, "text a")

	// Put back to pending (as after a retryable failure), it is claimed
	// again with one more attempt.
	retry := *it
	retry.State, retry.NotBefore = bridge.OutboxPending, now.Add(time.Second)
	inTx(t, db, func(tx bridge.Tx) error {
		return tx.UpdateOutbox(t.Context(), &retry, bridge.OutboxInflight, it.Attempts)
	})
	got = claim(t, db, now.Add(time.Second), 10)
	mustEqual(t, "claimed again", len(got), 1)
	mustEqual(t, "attempts", got[0].Attempts, 2)
}

func testExpiredLeases(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	enqueue(t, db, item("a", "s1", 10), item("b", "s2", 10), item("c", "s3", 10))
	if _, err := db.ClaimOutbox(ctx, t0, time.Minute, 1); err != nil { // a: lease to t0+1m
		t.Fatal(err)
	}
	if _, err := db.ClaimOutbox(ctx, t0, 2*time.Minute, 1); err != nil { // b: lease to t0+2m
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{t0.Add(time.Minute), []string{}}, // a's lease ends at, not before, now
		{t0.Add(time.Minute + time.Microsecond), []string{"a"}},
		{t0.Add(time.Hour), []string{"a", "b"}},
	} {
		got, err := db.ExpiredLeases(ctx, tc.now, 10)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualSlice(t, "expired at "+tc.now.String(), idems(got), tc.want)
	}
	got, err := db.ExpiredLeases(ctx, t0.Add(time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualSlice(t, "expired, limit 1", idems(got), []string{"a"})
}

func testNextDue(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	_, ok, err := db.NextDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ok on an empty outbox", ok, false)

	first := item("first", "s1", 10)
	later := item("later", "s2", 10)
	later.NotBefore = t0.Add(time.Hour)
	latest := item("latest", "s3", 10)
	latest.NotBefore = t0.Add(2 * time.Hour)
	enqueue(t, db, later, first, latest)
	next, ok, err := db.NextDue(ctx)
	if err != nil || !ok {
		t.Fatalf("NextDue = %v, %v, %v", next, ok, err)
	}
	mustEqual(t, "next due", next, t0)

	claim(t, db, t0, 10) // first is inflight now: only pending items count
	next, ok, err = db.NextDue(ctx)
	if err != nil || !ok {
		t.Fatalf("NextDue = %v, %v, %v", next, ok, err)
	}
	mustEqual(t, "next due after a claim", next, t0.Add(time.Hour))
}

func testOutboxStats(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	s, err := db.OutboxStats(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "empty stats", s, bridge.OutboxStats{})

	old := item("old", "s1", 10)
	old.CreatedAt = t0.Add(-time.Hour)
	done := item("done", "s2", 10)
	done.CreatedAt, done.State = t0.Add(-2*time.Hour), bridge.OutboxDone
	enqueue(t, db, old, done, item("new", "s3", 10), item("newer", "s4", 10))
	claim(t, db, t0, 1) // old is inflight, still backlog
	s, err = db.OutboxStats(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "stats", s, bridge.OutboxStats{Depth: 3, OldestAge: time.Hour})
}

func testUpdateOutboxGuard(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	enqueue(t, db, item("a", "s1", 10))
	it := claim(t, db, t0, 1)[0] // inflight, 1 attempt

	next := *it
	next.State = bridge.OutboxDone
	next.Attempts = 1
	next.NotBefore = t0.Add(time.Hour)
	next.LeaseUntil = time.Time{}
	next.Payload = bridge.Payload{Text: "edited", Parts: 2}
	next.ResultID = "1700.5"
	next.LastError = "slow"
	next.Notified = true
	next.UpdatedAt = t0.Add(time.Minute)
	for _, tc := range []struct {
		name     string
		state    bridge.OutboxState
		attempts int
	}{
		{"wrong state", bridge.OutboxPending, 1},
		{"wrong attempts", bridge.OutboxInflight, 0},
	} {
		err := db.InTx(ctx, func(tx bridge.Tx) error { return tx.UpdateOutbox(ctx, &next, tc.state, tc.attempts) })
		wantCode(t, err, bridge.ECONFLICT)
	}
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpdateOutbox(ctx, &next, bridge.OutboxInflight, 1) })
	// The move happened once: the same guard now fails.
	err := db.InTx(ctx, func(tx bridge.Tx) error { return tx.UpdateOutbox(ctx, &next, bridge.OutboxInflight, 1) })
	wantCode(t, err, bridge.ECONFLICT)

	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.OutboxForConversation(ctx, 0)
		if err != nil {
			return err
		}
		mustEqual(t, "written item", got, []*bridge.OutboxItem{&next})
		return nil
	})
}

// testUpdateOutboxes: a batch writes back every item still in its guard
// and names the ones that moved on, leaving them as they were; it says
// when an item written done held back the next of its SeqKey.
func testUpdateOutboxes(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	enqueue(t, db, item("a", "s1", 10), item("b", "s2", 10), item("c", "s3", 10))
	claimed := claim(t, db, t0, 3) // inflight, 1 attempt each
	mustEqual(t, "claimed", idems(claimed), []string{"a", "b", "c"})
	finish(t, db, claimed[1]) // b moves on before the batch
	behindA := item("a2", "s1", 10)
	enqueue(t, db, behindA) // waits for a

	var updates []bridge.OutboxUpdate
	var want []*bridge.OutboxItem
	for i, it := range claimed {
		next := *it
		next.State, next.ResultID, next.LeaseUntil = bridge.OutboxDone, fmt.Sprintf("17.%d", i), time.Time{}
		next.Payload.Text = "edited " + it.IdemKey
		next.Notified, next.LastError, next.UpdatedAt = i == 0, "", t0.Add(time.Minute)
		if i == 2 { // put back to wait: one attempt given back
			next.State, next.Attempts, next.NotBefore, next.ResultID = bridge.OutboxPending, 0, t0.Add(time.Hour), ""
		}
		updates = append(updates, bridge.OutboxUpdate{Item: &next, FromState: bridge.OutboxInflight, FromAttempts: 1})
		want = append(want, &next)
	}
	var stale map[int64]bool
	var next bool
	inTx(t, db, func(tx bridge.Tx) error {
		var err error
		stale, next, err = tx.UpdateOutboxes(ctx, updates)
		return err
	})
	mustEqual(t, "stale", stale, map[int64]bool{claimed[1].ID: true})
	mustEqual(t, "a done with a2 behind it: next", next, true)
	want[1] = claimed[1]
	want[1].State = bridge.OutboxDone
	want = append(want, behindA)
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.OutboxForConversation(ctx, 0)
		if err != nil {
			return err
		}
		mustEqual(t, "written items", got, want)
		// Done once: the same guards now fail for all.
		stale, _, err := tx.UpdateOutboxes(ctx, updates[:1])
		mustEqual(t, "stale on a second write", stale, map[int64]bool{claimed[0].ID: true})
		return err
	})

	// An item done with nothing behind it holds nothing back.
	enqueue(t, db, item("d", "s4", 10))
	var d *bridge.OutboxItem
	for _, it := range claim(t, db, t0, 10) {
		if it.IdemKey == "d" {
			d = it
		}
	}
	if d == nil {
		t.Fatal("d not claimed")
	}
	doneD := *d
	doneD.State = bridge.OutboxDone
	inTx(t, db, func(tx bridge.Tx) error {
		var err error
		_, next, err = tx.UpdateOutboxes(ctx, []bridge.OutboxUpdate{{Item: &doneD, FromState: bridge.OutboxInflight, FromAttempts: d.Attempts}})
		return err
	})
	if next {
		t.Error("d done with nothing behind it: next = true, want false")
	}
}

func testCursors(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	inTx(t, db, func(tx bridge.Tx) error {
		_, err := tx.Cursor(ctx, "x:mentions")
		wantCode(t, err, bridge.ENOTFOUND)
		if err := tx.SetCursor(ctx, "x:mentions", "100"); err != nil {
			return err
		}
		return tx.SetCursor(ctx, "x:dms", "abc")
	})
	inTx(t, db, func(tx bridge.Tx) error { return tx.SetCursor(ctx, "x:mentions", "200") })
	inTx(t, db, func(tx bridge.Tx) error {
		for name, want := range map[string]string{"x:mentions": "200", "x:dms": "abc"} {
			got, err := tx.Cursor(ctx, name)
			if err != nil {
				return err
			}
			mustEqual(t, "cursor "+name, got, want)
		}
		return nil
	})
}

func testInTxRollback(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	cust := addCustomer(t, db, "42")
	boom := errors.New("boom")
	var conv *bridge.Conversation
	err := db.InTx(ctx, func(tx bridge.Tx) error {
		if _, err := tx.MarkSeen(ctx, "x", "e1"); err != nil {
			return err
		}
		conv = newConversation(cust, "dm-1")
		if err := tx.CreateConversation(ctx, conv); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, item("a", "s1", 10)); err != nil {
			return err
		}
		if err := tx.SetCursor(ctx, "c", "1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}

	func() {
		defer func() {
			if p := recover(); p != "panic in tx" {
				t.Fatalf("recovered %v, want the function's panic", p)
			}
		}()
		_ = db.InTx(ctx, func(tx bridge.Tx) error {
			if _, err := tx.MarkSeen(ctx, "x", "e2"); err != nil {
				return err
			}
			panic("panic in tx")
		})
	}()

	inTx(t, db, func(tx bridge.Tx) error {
		for _, id := range []string{"e1", "e2"} {
			fresh, err := tx.MarkSeen(ctx, "x", id)
			if err != nil {
				return err
			}
			mustEqual(t, "fresh after rollback "+id, fresh, true)
		}
		_, err := tx.Conversation(ctx, conv.ID)
		wantCode(t, err, bridge.ENOTFOUND)
		_, err = tx.ActiveConversation(ctx, "1000", bridge.KindDM, "dm-1", cust.ID)
		wantCode(t, err, bridge.ENOTFOUND)
		_, err = tx.Cursor(ctx, "c")
		wantCode(t, err, bridge.ENOTFOUND)
		return nil
	})
	mustEqual(t, "claimed after rollback", len(claim(t, db, t0, 10)), 0)
}

func testTimesRoundTrip(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	// Nanoseconds in another zone come back truncated to microseconds, in
	// UTC; the zero time stays zero.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2025, 7, 14, 9, 30, 15, 123456789, zone)
	want := at.UTC().Truncate(time.Microsecond)
	mustEqual(t, "expected location", want.Location(), time.UTC)

	cust := &bridge.Customer{XUserID: "42", UpdatedAt: at}
	inTx(t, db, func(tx bridge.Tx) error { return tx.UpsertCustomer(ctx, cust) })
	conv := newConversation(cust, "dm-1")
	conv.CreatedAt, conv.UpdatedAt, conv.ClosedAt = at, at.Add(time.Nanosecond), time.Time{}
	inTx(t, db, func(tx bridge.Tx) error { return tx.CreateConversation(ctx, conv) })
	msg := &bridge.Message{ConversationID: conv.ID, CreatedAt: at, SentAt: at.Add(-time.Microsecond)}
	inTx(t, db, func(tx bridge.Tx) error { return tx.InsertMessage(ctx, msg) })
	it := item("a", "s1", 10)
	it.CreatedAt, it.NotBefore = at, at
	enqueue(t, db, it)

	inTx(t, db, func(tx bridge.Tx) error {
		c, err := tx.Customer(ctx, cust.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "customer updated", c.UpdatedAt, want)
		cv, err := tx.Conversation(ctx, conv.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "conversation created", cv.CreatedAt, want)
		mustEqual(t, "conversation updated", cv.UpdatedAt, want)
		mustEqual(t, "conversation closed", cv.ClosedAt, time.Time{})
		m, err := tx.Message(ctx, msg.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "message created", m.CreatedAt, want)
		mustEqual(t, "message sent", m.SentAt, want.Add(-time.Microsecond))
		items, err := tx.OutboxForConversation(ctx, 0)
		if err != nil {
			return err
		}
		mustEqual(t, "outbox created", items[0].CreatedAt, want)
		mustEqual(t, "outbox not before", items[0].NotBefore, want)
		mustEqual(t, "outbox lease", items[0].LeaseUntil, time.Time{})
		return nil
	})
}
