package bridge_test

import (
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

func TestDetectLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ text, want string }{
		{"Where is my order? It was due Monday.", "en"},
		{"我的订单还没到，能帮我查一下吗？", "zh"},
		{"订单 #48213 还没有发货", "zh"},
		{"注文した商品がまだ届きません", "ja"},
		{"주문한 상품이 아직 도착하지 않았어요", "ko"},
		{"@acme_help 退款", "zh"},
		{"👍👍", "en"},
		{"", "en"},
	} {
		if got := bridge.DetectLanguage(tc.text); got != tc.want {
			t.Errorf("DetectLanguage(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
}

func TestRoutingRulesPickTheChannel(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.svc.Routes = []bridge.Route{
		{Keywords: []string{"refund", "chargeback"}, Channel: "CBILL"},
		{Language: "zh", Channel: "CZH"},
		{Account: "2000", Channel: "COTHER"},
	}
	for _, tc := range []struct {
		from, text, want string
	}{
		{"3001", "I want a REFUND now", "CBILL"},
		{"3002", "我的订单还没到", "CZH"},
		{"3003", "just saying hi", "C1"},
	} {
		ev := bridge.InboundMessage{EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + tc.from,
			Sender: customer(tc.from), Text: tc.text}
		if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	h.drain()
	got := map[string]string{}
	h.store.InTx(h.ctx, func(tx bridge.Tx) error {
		for id := int64(1); id <= 3; id++ {
			c, err := tx.Conversation(h.ctx, id)
			if err != nil {
				return err
			}
			cust, _ := tx.Customer(h.ctx, c.CustomerID)
			got[cust.XUserID] = c.ChatChannel
		}
		return nil
	})
	if got["3001"] != "CBILL" || got["3002"] != "CZH" || got["3003"] != "C1" {
		t.Fatalf("routes = %v", got)
	}
}

func TestAutoAssignmentIsFairAmongAvailableAgents(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{bridge.AssignRoundRobin, bridge.AssignLeastOpen} {
		t.Run(mode, func(t *testing.T) {
			h := setup(t)
			h.svc.AutoAssign = mode
			for _, a := range []struct{ id, name string }{{"U1", "Ann"}, {"U2", "Ben"}, {"U3", "Cy"}} {
				if err := h.svc.SetAvailable(h.ctx, bridge.Action{Actor: bridge.Actor{Platform: "slack", ID: a.id, Name: a.name}}, true); err != nil {
					t.Fatal(err)
				}
			}
			h.svc.SetAvailable(h.ctx, bridge.Action{Actor: bridge.Actor{Platform: "slack", ID: "U3", Name: "Cy"}}, false)
			counts := map[string]int{}
			for i := 0; i < 6; i++ {
				h.clock.Advance(time.Second)
				h.dm(string(rune('a'+i))+"900", "help")
			}
			h.store.InTx(h.ctx, func(tx bridge.Tx) error {
				for id := int64(1); id <= 6; id++ {
					c, _ := tx.Conversation(h.ctx, id)
					counts[c.AssigneeID]++
				}
				return nil
			})
			if counts["U1"] != 3 || counts["U2"] != 3 || counts["U3"] != 0 {
				t.Fatalf("assignments = %v; want 3 each for the two available agents", counts)
			}
			posts := h.chat.thread(h.thread(1))
			if last := posts[len(posts)-1]; len(last.Mention) != 1 || last.Mention[0] != "U1" {
				t.Fatalf("assignment notice = %+v", last)
			}
		})
	}
}
