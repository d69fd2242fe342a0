package slacksim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// messageEvent unpacks a Socket Mode events_api event carrying a message.
func messageEvent(t *testing.T, ev socketmode.Event) (*slackevents.EventsAPICallbackEvent, *slackevents.MessageEvent) {
	t.Helper()
	api, ok := ev.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("data is %T", ev.Data)
	}
	cb, ok := api.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		t.Fatalf("outer event is %T", api.Data)
	}
	msg, ok := api.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		t.Fatalf("inner event is %T", api.InnerEvent.Data)
	}
	return cb, msg
}

func TestSocketModeEventsInteractionsAndCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	sc := f.startSocket(t)
	hello := sc.hello(t)
	if hello.Request.ConnectionInfo.AppID != "A0SIM" || hello.Request.NumConnections != 1 {
		t.Fatalf("hello = %+v", hello.Request)
	}

	// A customer-facing agent writes in the channel.
	rootTS := f.sim.PostAsUser(testAgent, testChannel, "", "hello bot")
	ev := sc.next(t, socketmode.EventTypeEventsAPI)
	cb, msg := messageEvent(t, ev)
	if msg.User != testAgent || msg.Text != "hello bot" || msg.ChannelType != "channel" || msg.Channel != testChannel ||
		msg.TimeStamp != rootTS || msg.ClientMsgID == "" || msg.ThreadTimeStamp != "" || msg.BotID != "" {
		t.Fatalf("message event = %+v", msg)
	}
	if !strings.HasPrefix(cb.EventID, "Ev") || cb.TeamID != "T0001" || cb.APIAppID != "A0SIM" || ev.Request.RetryAttempt != 0 {
		t.Fatalf("callback = %+v, request = %+v", cb, ev.Request)
	}
	sc.sm.Ack(*ev.Request)

	replyTS := f.sim.PostAsUser(testAgent, testChannel, rootTS, "in thread")
	ev = sc.next(t, socketmode.EventTypeEventsAPI)
	if _, msg = messageEvent(t, ev); msg.ThreadTimeStamp != rootTS || msg.TimeStamp != replyTS {
		t.Fatalf("reply event = %+v", msg)
	}
	sc.sm.Ack(*ev.Request)

	// The bot's own message comes back as an event with bot_id.
	_, botTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("claim me", false), buttonBlocks("claim", "conv-1"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev = sc.next(t, socketmode.EventTypeEventsAPI)
		sc.sm.Ack(*ev.Request)
		if _, msg = messageEvent(t, ev); msg.TimeStamp == botTS {
			break
		}
	}
	if msg.BotID != "BBOT" || msg.User != "UBOT" {
		t.Fatalf("bot message event = %+v", msg)
	}

	// A button click.
	clicked := make(chan struct{})
	go func() {
		defer close(clicked)
		f.sim.ClickButton(testAgent, testChannel, botTS, "claim", "")
	}()
	ev = sc.next(t, socketmode.EventTypeInteractive)
	ic := ev.Data.(slack.InteractionCallback)
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) != 1 {
		t.Fatalf("interaction = %+v", ic)
	}
	act := ic.ActionCallback.BlockActions[0]
	if act.ActionID != "claim" || act.Value != "conv-1" || act.BlockID != "actions" || act.Type != "button" ||
		ic.Container.MessageTs != botTS || ic.Channel.ID != testChannel || ic.User.ID != testAgent || ic.TriggerID == "" ||
		!strings.HasPrefix(ic.ResponseURL, f.srv.URL+"/response/") || ic.Message.Timestamp != botTS || !ev.Request.AcceptsResponsePayload {
		t.Fatalf("interaction = %+v action = %+v", ic, act)
	}
	sc.sm.Ack(*ev.Request)
	<-clicked
	// The app answers through response_url, replacing the message.
	if err := slack.PostWebhookContext(context.Background(), ic.ResponseURL, &slack.WebhookMessage{Text: "claimed by alice", ReplaceOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.sim.Message(testChannel, botTS); m.Text != "claimed by alice" || !m.Edited {
		t.Fatalf("after replace_original: %+v", m)
	}

	// A select menu.
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slack.NewTextBlockObject(slack.PlainTextType, "Priority", false, false), "prio",
		slack.NewOptionBlockObject("low", slack.NewTextBlockObject(slack.PlainTextType, "Low", false, false), nil),
		slack.NewOptionBlockObject("high", slack.NewTextBlockObject(slack.PlainTextType, "High", false, false), nil))
	_, selTS, err := f.client.PostMessage(testChannel, slack.MsgOptionBlocks(slack.NewActionBlock("b-prio", sel)), slack.MsgOptionTS(rootTS))
	if err != nil {
		t.Fatal(err)
	}
	go f.sim.SelectOption(testAgent, testChannel, selTS, "prio", "high")
	ev = sc.next(t, socketmode.EventTypeInteractive)
	ic = ev.Data.(slack.InteractionCallback)
	if a := ic.ActionCallback.BlockActions; len(a) != 1 || a[0].SelectedOption.Value != "high" || a[0].Type != "static_select" || ic.Container.ThreadTs != rootTS {
		t.Fatalf("select = %+v", ic)
	}
	sc.sm.Ack(*ev.Request)

	// A slash command, answered in the ack.
	answered := make(chan []Response, 1)
	go func() { answered <- f.sim.SlashCommand(testAgent, testChannel, "/xb", "status") }()
	ev = sc.next(t, socketmode.EventTypeSlashCommand)
	cmd := ev.Data.(slack.SlashCommand)
	if cmd.Command != "/xb" || cmd.Text != "status" || cmd.UserID != testAgent || cmd.ChannelID != testChannel || cmd.ResponseURL == "" || cmd.TriggerID == "" {
		t.Fatalf("command = %+v", cmd)
	}
	sc.sm.Ack(*ev.Request, map[string]any{"text": "All good"})
	resps := <-answered
	if len(resps) != 1 || resps[0].Text != "All good" || resps[0].Via != "ack" || resps[0].ResponseType != "ephemeral" {
		t.Fatalf("responses = %+v", resps)
	}
	if e := f.sim.Ephemerals(testAgent); len(e) != 1 || e[0].Text != "All good" {
		t.Fatalf("ephemerals = %+v", e)
	}

	// Events raised meanwhile (message_changed, the select's message).
	for f.sim.Pending() > 0 {
		ev = sc.next(t, socketmode.EventTypeEventsAPI)
		sc.sm.Ack(*ev.Request)
	}
	f.noViolations(t)
}

func TestSocketModeRedeliversUnacked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.AckTimeout = 150 * time.Millisecond })
	sc := f.startSocket(t)
	sc.hello(t)

	f.sim.PostAsUser(testAgent, testChannel, "", "are you there?")
	first := sc.next(t, socketmode.EventTypeEventsAPI)
	cb1, _ := messageEvent(t, first)
	// Not acked: Slack sends it again.
	again := sc.next(t, socketmode.EventTypeEventsAPI)
	cb2, msg := messageEvent(t, again)
	if cb2.EventID != cb1.EventID || again.Request.RetryAttempt != 1 || again.Request.RetryReason != "timeout" ||
		again.Request.EnvelopeID != first.Request.EnvelopeID || msg.Text != "are you there?" {
		t.Fatalf("redelivery = %+v / %+v", again.Request, cb2)
	}
	sc.sm.Ack(*again.Request)
	f.waitFor(t, "ack", func() bool { return f.sim.Pending() == 0 })

	// RedeliverLast repeats the event with the same event_id.
	f.sim.RedeliverLast()
	dup := sc.next(t, socketmode.EventTypeEventsAPI)
	cb3, _ := messageEvent(t, dup)
	if cb3.EventID != cb1.EventID || dup.Request.RetryAttempt != 1 {
		t.Fatalf("RedeliverLast = %+v", dup.Request)
	}
	sc.sm.Ack(*dup.Request)
	f.waitFor(t, "ack", func() bool { return f.sim.Pending() == 0 })
	f.noViolations(t)

	// Never acked: after four attempts Slack gives up, and that is a violation.
	f.sim.PostAsUser(testAgent, testChannel, "", "ignored")
	for i := range maxDeliveryAttempts {
		ev := sc.next(t, socketmode.EventTypeEventsAPI)
		if ev.Request.RetryAttempt != i {
			t.Fatalf("attempt %d has retry_attempt %d", i, ev.Request.RetryAttempt)
		}
	}
	f.waitFor(t, "give-up violation", func() bool { return len(f.sim.Violations()) == 1 })
}

func TestSocketModeReconnects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	sc := f.startSocket(t)
	sc.hello(t)
	if n := <-sc.conns; n != 0 {
		t.Fatalf("first connection count %d", n)
	}

	// The connection dies; an event raised meanwhile waits for the next one.
	f.sim.DropSocketConnections()
	ts := f.sim.PostAsUser(testAgent, testChannel, "", "while you were away")
	select {
	case n := <-sc.conns:
		if n != 1 {
			t.Fatalf("reconnect count %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client did not reconnect")
	}
	sc.hello(t)
	ev := sc.next(t, socketmode.EventTypeEventsAPI)
	if _, msg := messageEvent(t, ev); msg.TimeStamp != ts {
		t.Fatalf("queued event = %+v", msg)
	}
	sc.sm.Ack(*ev.Request)
	// The ack travels on this connection: let it land before the refresh
	// closes it, or Slack rightly delivers the event again.
	f.waitFor(t, "ack of the queued event", func() bool { return f.sim.Pending() == 0 })

	// Slack asks for a refresh; the client reconnects by itself.
	f.sim.RequestReconnect()
	select {
	case <-sc.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("client did not reconnect after disconnect request")
	}
	sc.hello(t)
	ts = f.sim.PostAsUser(testAgent, testChannel, "", "after refresh")
	ev = sc.next(t, socketmode.EventTypeEventsAPI)
	if _, msg := messageEvent(t, ev); msg.TimeStamp != ts {
		t.Fatalf("event after refresh = %+v", msg)
	}
	sc.sm.Ack(*ev.Request)
	f.waitFor(t, "acks", func() bool { return f.sim.Pending() == 0 })
	f.noViolations(t)
}

func TestSocketRawProtocol(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.PingInterval = 50 * time.Millisecond })
	_, wsURL, err := f.client.StartSocketModeContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wsURL, "ws://") || !strings.Contains(wsURL, "/socket?ticket=") {
		t.Fatalf("url %q", wsURL)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var hello map[string]any
	if err := conn.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	if hello["type"] != "hello" || hello["num_connections"] != float64(1) || hello["debug_info"] == nil ||
		hello["connection_info"].(map[string]any)["app_id"] != "A0SIM" {
		t.Fatalf("hello = %v", hello)
	}

	pinged := make(chan struct{}, 1)
	ponged := make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	conn.SetPongHandler(func(data string) error {
		if data == "are you alive" {
			ponged <- struct{}{}
		}
		return nil
	})
	frames := make(chan map[string]any, 10)
	go func() {
		for {
			var m map[string]any
			if conn.ReadJSON(&m) != nil {
				return
			}
			frames <- m
		}
	}()
	if err := conn.WriteControl(websocket.PingMessage, []byte("are you alive"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan struct{}{pinged, ponged} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no ping or pong")
		}
	}

	f.sim.PostAsUser(testAgent, testChannel, "", "raw")
	var env map[string]any
	select {
	case env = <-frames:
	case <-time.After(5 * time.Second):
		t.Fatal("no envelope")
	}
	if env["type"] != "events_api" || env["accepts_response_payload"] != false || env["retry_attempt"] != float64(0) ||
		env["retry_reason"] != "" || env["envelope_id"] == "" || env["payload"].(map[string]any)["type"] != "event_callback" {
		t.Fatalf("envelope = %v", env)
	}
	if err := conn.WriteJSON(map[string]any{"envelope_id": env["envelope_id"]}); err != nil {
		t.Fatal(err)
	}
	f.waitFor(t, "ack", func() bool { return f.sim.Pending() == 0 })
	f.noViolations(t)

	// A ticket is good for one connection only.
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused ticket: %v", err)
	}
	if v := f.sim.Violations(); len(v) != 1 || !strings.Contains(v[0], "ticket") {
		t.Fatalf("violations = %v", v)
	}
}
