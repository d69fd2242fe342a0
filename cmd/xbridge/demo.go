package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// Identities in the demo's simulated world.
const (
	demoSupportID     = "1000"
	demoSupportHandle = "acme_help"
	demoChannel       = "C0SUPPORT"
	demoAgent         = "U0BOB"
	demoEngineer      = "U0EVE"
	demoEngChannel    = "C0ENG"
)

// sims is a simulated X, Slack and Discord, served on loopback.
type sims struct {
	X          *xsim.Server
	Slack      *slacksim.Server
	Discord    *discordsim.Server
	XURL       string
	SlackURL   string
	DiscordURL string
	closers    []func()
}

// Identities in the simulated Discord server.
const (
	discordGuild   = "1200000000000000001"
	discordBot     = "1100000000000000001"
	discordForum   = "1300000000000000002" // a forum support channel
	discordText    = "1300000000000000001" // a text support channel
	discordEng     = "1300000000000000003" // an engineering text channel
	discordAgent   = "1400000000000000001"
	discordEngUser = "1400000000000000002"
)

func (s *sims) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// demo credentials: the simulators accept exactly these.
var demoCreds = struct{ consumerKey, consumerSecret, accessToken, accessSecret, bot, app, signing, discord string }{
	"demo-consumer-key", "demo-consumer-secret", "demo-access-token", "demo-access-secret",
	"xoxb-demo-bot-token", "xapp-demo-app-token", "demo-signing-secret", "demo-discord-bot-token",
}

// startSims starts the X and Slack simulators.
func startSims(xRateLimits, slackRateLimits bool) (*sims, error) {
	xs, err := xsim.New(xsim.Options{
		SupportUserID: demoSupportID, SupportHandle: demoSupportHandle,
		ConsumerKey: demoCreds.consumerKey, ConsumerSecret: demoCreds.consumerSecret,
		AccessToken: demoCreds.accessToken, AccessTokenSecret: demoCreds.accessSecret,
		RateLimits: xRateLimits,
	})
	if err != nil {
		return nil, fmt.Errorf("x simulator: %w", err)
	}
	ss, err := slacksim.New(slacksim.Options{
		BotToken: demoCreds.bot, AppToken: demoCreds.app, SigningSecret: demoCreds.signing,
		BotUserID: "UXBRIDGE", BotID: "BXBRIDGE", TeamID: "T0ACME", RateLimits: slackRateLimits,
	})
	if err != nil {
		return nil, fmt.Errorf("slack simulator: %w", err)
	}
	ss.AddChannel(demoChannel, "support")
	ss.AddChannel(demoEngChannel, "engineering")
	ss.AddUser(slacksim.User{ID: demoAgent, Name: "Bob", RealName: "Bob (Support)"})
	ss.AddUser(slacksim.User{ID: demoEngineer, Name: "Eve", RealName: "Eve (Engineering)"})
	ds, err := discordsim.New(discordsim.Options{BotToken: demoCreds.discord, BotUserID: discordBot, GuildID: discordGuild,
		GuildName: "Acme support", RateLimits: slackRateLimits})
	if err != nil {
		return nil, fmt.Errorf("discord simulator: %w", err)
	}
	ds.AddChannel(discordsim.Channel{ID: discordForum, Name: "support-forum", Type: discordsim.ChannelForum})
	ds.AddChannel(discordsim.Channel{ID: discordText, Name: "support", Type: discordsim.ChannelText})
	ds.AddChannel(discordsim.Channel{ID: discordEng, Name: "engineering", Type: discordsim.ChannelText})
	ds.AddMember(discordsim.Member{ID: discordAgent, Username: "dana", GlobalName: "Dana (Support)"})
	ds.AddMember(discordsim.Member{ID: discordEngUser, Username: "eli", GlobalName: "Eli (Engineering)"})
	xsrv := httptest.NewServer(xs)
	ssrv := httptest.NewServer(ss)
	dsrv := httptest.NewServer(ds)
	xs.SetBaseURL(xsrv.URL) // where customers' media are served
	ds.SetBaseURL(dsrv.URL) // where attachments are served
	return &sims{X: xs, Slack: ss, Discord: ds, XURL: xsrv.URL, SlackURL: ssrv.URL, DiscordURL: dsrv.URL,
		closers: []func(){xsrv.Close, ssrv.Close, dsrv.Close, ss.Close, ds.Close}}, nil
}

// simConfig is a configuration that points xbridge at the simulators.
func simConfig(s *sims, databaseURL string) Config {
	cfg := DefaultConfig()
	cfg.DatabaseURL = databaseURL
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.X.APIURL = s.XURL
	cfg.X.UserID, cfg.X.Handle = demoSupportID, demoSupportHandle
	cfg.X.ConsumerKey, cfg.X.ConsumerSecret = demoCreds.consumerKey, demoCreds.consumerSecret
	cfg.X.AccessToken, cfg.X.AccessTokenSecret = demoCreds.accessToken, demoCreds.accessSecret
	cfg.X.Ingest = "webhook"
	cfg.Slack.APIURL = s.SlackURL + "/api/"
	cfg.Slack.BotToken, cfg.Slack.AppToken, cfg.Slack.SigningSecret = demoCreds.bot, demoCreds.app, demoCreds.signing
	cfg.Slack.Channel = demoChannel
	cfg.Roles = RolesConfig{Agents: []string{demoAgent}, Engineers: []string{demoEngineer}}
	cfg.Escalation = EscalationConfig{Channel: demoEngChannel, OnCall: "<!subteam^S0ENGONCALL>"}
	cfg.Discord = DiscordConfig{APIURL: s.DiscordURL, BotToken: demoCreds.discord, AppID: discordBot,
		PublicKey: s.Discord.PublicKeyHex(), GuildID: discordGuild, Channel: discordForum}
	// The Discord leg: conversations in Chinese go to the Discord team.
	cfg.Routing.Rules = []RouteRule{{Language: "zh", Platform: "discord", Channel: discordForum}}
	cfg.ClosingMessage = "Thanks for contacting Acme support! Reply here any time."
	return cfg
}

// transcript prints what happens, stamped with the time since the start.
type transcript struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (t *transcript) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "[%5.1fs] %s\n", time.Since(t.start).Seconds(), fmt.Sprintf(format, args...))
}

// say prints a line without a time stamp.
func (t *transcript) say(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
}

func (t *transcript) step(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "\n── %s\n", fmt.Sprintf(format, args...))
}

// runDemo implements `xbridge demo`: the real bridge against simulated X,
// Slack and Discord, on SQLite in a temporary directory, with a scripted
// story.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	delay := fs.Duration("send-delay", 2*time.Second, "send delay for agents' replies (10s in production)")
	verbose := fs.Bool("v", false, "show the bridge's logs")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tr := &transcript{w: stdout, start: time.Now()}

	dir, err := os.MkdirTemp("", "xbridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := startSims(true, true)
	if err != nil {
		return err
	}
	defer s.Close()
	s.X.AddUser(xsim.User{ID: "2001", Username: "alice_w", Name: "Alice Walker", Followers: 48200, Verified: true})
	s.X.AddUser(xsim.User{ID: "2002", Username: "carol_dev", Name: "Carol", Followers: 310})
	s.X.AddUser(xsim.User{ID: "2003", Username: "lin_w", Name: "Lin Wei", Followers: 1200})
	observeSims(s, tr)

	m := NewMain()
	m.Config = simConfig(s, "sqlite:"+filepath.Join(dir, "xbridge.db"))
	m.Config.SendDelay = *delay
	m.Config.SavedReplies = map[string]SavedReplyText{"return": {"": demoReturnReply}}
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tr.say("xbridge demo: the real bridge against simulated X (%s), Slack (%s) and Discord (%s)\nstore: SQLite in %s; send delay %s",
		s.XURL, s.SlackURL, s.DiscordURL, dir, *delay)
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()
	webhook := "http://" + m.Addr() + "/x/webhook"
	d := &demo{ctx: ctx, s: s, m: m, tr: tr, webhook: webhook}
	if err := d.script(); err != nil {
		return fmt.Errorf("demo failed: %w", err)
	}
	if v := append(append(s.X.Violations(), s.Slack.Violations()...), s.Discord.Violations()...); len(v) > 0 {
		return fmt.Errorf("the simulators saw requests the real APIs would refuse:\n  %s", strings.Join(v, "\n  "))
	}
	tr.say("\ndemo finished in %.1fs: every request was valid per the X, Slack and Discord API descriptions", time.Since(tr.start).Seconds())
	return nil
}

// observeSims prints what the bridge does on each platform.
func observeSims(s *sims, tr *transcript) {
	s.Slack.OnCall(func(c slacksim.Call) {
		switch {
		case c.Status == 429:
			tr.printf("Slack  %s answered 429 (rate limited)", c.Method)
		case !c.OK:
			tr.printf("Slack  %s failed: %s", c.Method, c.Error)
		case c.Method == "chat.postMessage" && c.Params.Get("thread_ts") == "":
			tr.printf("Slack  %s: new thread with card — %s", channelName(c.Params.Get("channel")), oneLine(c.Params.Get("text")))
		case c.Method == "chat.postMessage":
			who := c.Params.Get("username")
			if who == "" {
				who = "xbridge"
			}
			tr.printf("Slack  %s › thread: [%s] %s", channelName(c.Params.Get("channel")), who, oneLine(strings.TrimPrefix(c.Params.Get("text"), who+": ")))
		case c.Method == "chat.update":
			tr.printf("Slack  card edited in place — %s", oneLine(c.Params.Get("text")))
		case c.Method == "reactions.add":
			tr.printf("Slack  :%s: on the agent's reply", c.Params.Get("name"))
		case c.Method == "reactions.remove":
			tr.printf("Slack  :%s: removed", c.Params.Get("name"))
		case c.Method == "files.completeUploadExternal":
			tr.printf("Slack  %s › thread: [xbridge] file shared — %s", channelName(c.Params.Get("channel_id")),
				oneLine(slackLinkLabels.ReplaceAllString(c.Params.Get("initial_comment"), "$1")))
		}
	})
	s.Discord.OnCall(func(c discordsim.Call) {
		if c.Method != "POST" || c.Status >= 300 {
			return
		}
		var body struct {
			Name    string `json:"name"`
			Content string `json:"content"`
			Embeds  []struct {
				Title string `json:"title"`
			} `json:"embeds"`
		}
		json.Unmarshal(c.Body, &body)
		switch {
		case c.Route == "/channels/{channel_id}/threads" && body.Name != "":
			tr.printf("Discord #support-forum: new post %q with the card", body.Name)
		case c.Route == "/channels/{channel_id}/messages" && body.Content != "":
			tr.printf("Discord › thread: %s", oneLine(body.Content))
		}
	})
	s.X.OnRequest(func(r xsim.RequestLog) {
		if r.Method != "POST" {
			return
		}
		var body struct {
			Text        string `json:"text"`
			Attachments []struct {
				MediaID string `json:"media_id"`
			} `json:"attachments"`
		}
		json.Unmarshal([]byte(r.Body), &body)
		switch {
		case r.Status == 429:
			tr.printf("X      %s answered 429 Too Many Requests", r.Path)
		case strings.HasPrefix(r.Path, "/2/media/upload/") && strings.HasSuffix(r.Path, "/finalize") && r.Status < 300:
			if up, ok := s.X.UploadedMedia(strings.Split(r.Path, "/")[4]); ok {
				tr.printf("X      media %s uploaded (%s, %s) while the reply waits", up.ID, up.MediaType, bridge.FormatBytes(up.Size))
			}
		case strings.HasPrefix(r.Path, "/2/dm_conversations/with/") && r.Status == 201 && len(body.Attachments) > 0:
			tr.printf("X      DM sent to user %s with media %s attached: %q", strings.Split(r.Path, "/")[4], body.Attachments[0].MediaID, body.Text)
		case strings.HasPrefix(r.Path, "/2/dm_conversations/with/") && r.Status == 201:
			tr.printf("X      DM sent to user %s: %q", strings.Split(r.Path, "/")[4], body.Text)
		case r.Path == "/2/tweets" && r.Status == 201:
			tr.printf("X      reply tweet posted: %q", body.Text)
		case r.Status >= 400:
			tr.printf("X      %s answered %d", r.Path, r.Status)
		}
	})
}

// slackLinkLabels matches Slack's <url|label> links; $1 is the label.
var slackLinkLabels = regexp.MustCompile(`<[^<>|]+\|([^<>]+)>`)

func channelName(id string) string {
	if id == demoEngChannel {
		return "#engineering"
	}
	return "#support"
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 110 {
		s = s[:107] + "..."
	}
	return s
}

type demo struct {
	ctx     context.Context
	s       *sims
	m       *Main
	tr      *transcript
	webhook string
}

// waitFor polls cond until it holds or the step's time runs out.
func (d *demo) waitFor(what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// dmSays reports whether a DM to the user contains text.
func (d *demo) dmSays(user, text string) func() bool {
	return func() bool {
		for _, dm := range d.s.X.DMsTo(user) {
			if strings.Contains(dm.Text, text) {
				return true
			}
		}
		return false
	}
}

// threadOf returns the thread whose card mentions the handle.
func (d *demo) threadOf(handle string) string {
	for _, r := range d.s.Slack.Roots(demoChannel) {
		if strings.Contains(r.Text, "@"+handle) {
			return r.TS
		}
	}
	return ""
}

func (d *demo) script() error {
	tr, s := d.tr, d.s
	tr.step("X registers the bridge's webhook: CRC challenge")
	if err := s.X.CRC(d.ctx, d.webhook); err != nil {
		return err
	}
	tr.printf("X      CRC answered correctly by %s", d.webhook)
	s.X.AutoDeliver(d.webhook)
	if err := d.waitFor("Slack Socket Mode connection", d.m.Slack.Connected); err != nil {
		return err
	}
	tr.printf("Slack  Socket Mode connected")

	tr.step("1. A customer DMs the support account")
	dm := s.X.CustomerDM("2001", "Hi! My order #48213 was due Monday and still hasn't arrived. Can you check?")
	tr.printf("X      @alice_w → @%s (DM): %q", demoSupportHandle, dm.Text)
	var thread string
	if err := d.waitFor("the DM in a Slack thread", func() bool {
		thread = d.threadOf("alice_w")
		return thread != "" && len(s.Slack.Thread(demoChannel, thread)) >= 1
	}); err != nil {
		return err
	}

	tr.step("2. An agent answers in the thread; the reply reaches the customer as a DM")
	reply := "Hi Alice, sorry about that! Order #48213 left our warehouse yesterday; tracking: ACME-7731. It should reach you tomorrow."
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, reply)
	tr.printf("Slack  Bob replies in the thread (held %s so he can still edit or delete it)", d.m.Config.SendDelay)
	if err := d.waitFor("the DM to reach the customer", d.dmSays("2001", "tracking: ACME-7731")); err != nil {
		return err
	}
	if err := d.waitFor("the ✅ delivery mark", func() bool { return hasReaction(s.Slack.Thread(demoChannel, thread), "white_check_mark") }); err != nil {
		return err
	}

	tr.step("3. An internal note stays internal")
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, "// VIP customer, 48k followers: be extra careful")
	time.Sleep(d.m.Config.SendDelay + 500*time.Millisecond)
	tr.printf("X      the note reached @alice_w: %v", d.dmSays("2001", "VIP customer")())

	tr.step("4. A customer @mentions the support account; the reply goes out as a reply tweet")
	tw := s.X.CustomerMention("2002", "@acme_help the app crashes when I open Settings on Android 15", "")
	tr.printf("X      @carol_dev tweets: %q", tw.Text)
	var thread2 string
	if err := d.waitFor("the mention in a Slack thread", func() bool {
		thread2 = d.threadOf("carol_dev")
		return thread2 != "" && len(s.Slack.Thread(demoChannel, thread2)) >= 1
	}); err != nil {
		return err
	}
	s.Slack.PostAsUser(demoAgent, demoChannel, thread2, "Thanks Carol! A fix for the Settings crash ships in 4.2.1 this week.")
	if err := d.waitFor("the reply tweet", func() bool {
		for _, r := range s.X.RepliesTo(tw.ID) {
			if strings.Contains(r.Text, "fix for the Settings crash") {
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}

	tr.step("5. X delivers the first DM again: the duplicate is ignored")
	before := len(s.Slack.Thread(demoChannel, thread))
	resp, err := s.X.Deliver(d.ctx, d.webhook, s.X.DMWebhookPayload(dm))
	if err != nil {
		return err
	}
	resp.Body.Close()
	time.Sleep(500 * time.Millisecond)
	after := len(s.Slack.Thread(demoChannel, thread))
	tr.printf("X      redelivered DM %s: webhook answered %d; thread messages before %d, after %d", dm.ID, resp.StatusCode, before, after)
	if after != before {
		return errors.New("the duplicate DM was posted again")
	}

	tr.step("6. X answers 429 once: the reply waits for the rate-limit reset")
	s.X.CustomerDM("2001", "Thanks! Could you also change the delivery address to my office?")
	if err := d.waitFor("the second DM in the thread", func() bool { return len(s.Slack.Thread(demoChannel, thread)) >= after+1 }); err != nil {
		return err
	}
	s.X.FailNext("POST", "/2/dm_conversations/with/*/messages", 1, xsim.Fault{Status: 429, Reset: 3 * time.Second})
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, "Done — the courier has your office address now.")
	if err := d.waitFor("the queued notice", func() bool { return threadSays(s.Slack.Thread(demoChannel, thread), "Queued: X send limit") }); err != nil {
		return err
	}
	if err := d.waitFor("the DM after the reset", d.dmSays("2001", "office address now")); err != nil {
		return err
	}

	tr.step("7. Triage: Bob claims the conversation from the card and tags it in the thread")
	s.Slack.ClickButton(demoAgent, demoChannel, thread, commands.ButtonAction("claim"), "#1")
	if err := d.waitFor("the claim", func() bool { return threadSays(s.Slack.Thread(demoChannel, thread), "claimed this") }); err != nil {
		return err
	}
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, "!tag shipping address-change")
	if err := d.waitFor("the tags", func() bool { return threadSays(s.Slack.Thread(demoChannel, thread), "tagged this") }); err != nil {
		return err
	}

	tr.step("8. Escalation: engineering answers in its own thread; support sees it as an internal note")
	s.Slack.PostAsUser(demoAgent, demoChannel, thread, "!escalate courier API rejects the new address")
	var eng string
	if err := d.waitFor("the escalation thread", func() bool {
		if roots := s.Slack.Roots(demoEngChannel); len(roots) > 0 {
			eng = roots[0].TS
		}
		return eng != ""
	}); err != nil {
		return err
	}
	s.Slack.PostAsUser(demoEngineer, demoEngChannel, eng, "Courier API needed the unit number; fixed and re-sent the update.")
	if err := d.waitFor("the mirrored note", func() bool {
		return threadSays(s.Slack.Thread(demoChannel, thread), "Courier API needed the unit number")
	}); err != nil {
		return err
	}
	s.Slack.PostAsUser(demoEngineer, demoEngChannel, eng, "!resolve address updated")
	if err := d.waitFor("the resolution", func() bool { return threadSays(s.Slack.Thread(demoChannel, thread), "resolved the escalation") }); err != nil {
		return err
	}

	tr.step("9. Bob closes the conversation; the customer gets the closing message")
	s.Slack.ClickButton(demoAgent, demoChannel, thread, commands.ButtonAction("close"), "#1")
	if err := d.waitFor("the closing message", d.dmSays("2001", "Thanks for contacting Acme support")); err != nil {
		return err
	}
	if err := d.waitFor("the close notice", func() bool { return threadSays(s.Slack.Thread(demoChannel, thread), "closed this") }); err != nil {
		return err
	}
	status := s.Slack.SlashCommand(demoAgent, demoChannel, "/xb", "status #1")
	if len(status) > 0 {
		tr.printf("Slack  /xb status #1 (only Bob sees this):")
		for _, line := range strings.Split(status[0].Text, "\n") {
			tr.say("           %s", line)
		}
	}

	tr.step("10. The Discord leg: a customer writing in Chinese is routed to the Discord team's forum")
	if err := d.waitFor("Discord", func() bool { return d.m.Discord.Connected() }); err != nil {
		return err
	}
	cn := s.X.CustomerDM("2003", "你好，我的订单 #50112 还没有到，可以帮我查一下吗？")
	tr.printf("X      @lin_w → @%s (DM): %q", demoSupportHandle, cn.Text)
	var post string
	if err := d.waitFor("the forum post", func() bool {
		if ts := s.Discord.Threads(discordForum); len(ts) > 0 {
			post = ts[0].ID
		}
		return post != "" && len(s.Discord.Messages(post)) >= 2
	}); err != nil {
		return err
	}
	s.Discord.PostAsUser(discordAgent, post, "您好！订单 #50112 已经发出，预计明天送达。")
	tr.printf("Discord › thread: Dana replies in the post (held %s)", d.m.Config.SendDelay)
	if err := d.waitFor("the DM in Chinese", d.dmSays("2003", "预计明天送达")); err != nil {
		return err
	}
	thread3, err := d.pictures()
	if err != nil {
		return err
	}
	return d.savedReply(thread3)
}

func hasReaction(msgs []slacksim.Message, name string) bool {
	for _, m := range msgs {
		for _, r := range m.Reactions {
			if r == name {
				return true
			}
		}
	}
	return false
}

func threadSays(msgs []slacksim.Message, text string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Text, text) || strings.Contains(string(m.Blocks), text) {
			return true
		}
	}
	return false
}
