package discordsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// claimCard is a message with an embed and two buttons, as a bridge posts.
func claimCard(content string) *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Content: content,
		Embeds: []*discordgo.MessageEmbed{{
			Title:       "New conversation with @customer",
			Description: "Where is my order?",
			Fields:      []*discordgo.MessageEmbedField{{Name: "Channel", Value: "DM", Inline: true}},
		}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Claim", Style: discordgo.PrimaryButton, CustomID: "claim:42"},
			discordgo.Button{Label: "Close", Style: discordgo.DangerButton, CustomID: "close:42"},
		}}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
}

func TestRESTMessageLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)

	me, err := s.User("@me")
	if err != nil || me.ID != testBot || !me.Bot {
		t.Fatalf("User(@me) = %+v, %v", me, err)
	}
	ch, err := s.Channel(testText)
	if err != nil || ch.Name != "support" || ch.Type != discordgo.ChannelTypeGuildText {
		t.Fatalf("Channel = %+v, %v", ch, err)
	}
	forum, err := s.Channel(testForum)
	if err != nil || len(forum.AvailableTags) != 2 || forum.AvailableTags[1].Name != "urgent" {
		t.Fatalf("forum = %+v, %v", forum, err)
	}
	chans, err := s.GuildChannels(testGuild)
	if err != nil || len(chans) != 2 {
		t.Fatalf("GuildChannels = %d, %v", len(chans), err)
	}
	mem, err := s.GuildMember(testGuild, testAgent)
	if err != nil || mem.User.Username != "alice" || len(mem.Roles) != 1 || mem.Roles[0] != testRole {
		t.Fatalf("GuildMember = %+v, %v", mem, err)
	}

	// Send a card with an embed and buttons.
	msg, err := s.ChannelMessageSendComplex(testText, claimCard("new conversation"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Embeds) != 1 || msg.Embeds[0].Title != "New conversation with @customer" || len(msg.Components) != 1 {
		t.Errorf("sent message %+v", msg)
	}
	got, ok := f.sim.Message(testText, msg.ID)
	if !ok || !got.Bot || got.AuthorID != testBot || !strings.Contains(string(got.Components), `"claim:42"`) {
		t.Errorf("stored message %+v", got)
	}

	// Edit it: the buttons go, the content changes.
	content := "claimed by alice"
	empty := []discordgo.MessageComponent{}
	edited, err := s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: msg.ID, Channel: testText, Content: &content, Components: &empty})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Content != content || edited.EditedTimestamp == nil || len(edited.Components) != 0 {
		t.Errorf("edited %+v", edited)
	}

	// React with a unicode emoji, then a custom one; :shortcodes: are refused.
	if err := s.MessageReactionAdd(testText, msg.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	if err := s.MessageReactionAdd(testText, msg.ID, "ticket:1700000000000000001"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.sim.Message(testText, msg.ID)
	if strings.Join(got.Reactions, ",") != "✅,ticket:1700000000000000001" {
		t.Errorf("reactions %q", got.Reactions)
	}
	fetched, err := s.ChannelMessage(testText, msg.ID)
	if err != nil || len(fetched.Reactions) != 2 || !fetched.Reactions[0].Me || fetched.Reactions[0].Emoji.Name != "✅" {
		t.Errorf("fetched %+v, %v", fetched, err)
	}
	if err := s.MessageReactionAdd(testText, msg.ID, "#️⃣"); err != nil { // discordgo escapes the #
		t.Fatal(err)
	}
	if got, _ := f.sim.Message(testText, msg.ID); len(got.Reactions) != 3 || got.Reactions[2] != "#️⃣" {
		t.Errorf("keycap reaction: %q", got.Reactions)
	}
	if err := s.MessageReactionRemove(testText, msg.ID, "✅", "@me"); err != nil {
		t.Fatal(err)
	}

	// A reply to a member's message.
	q := f.sim.PostAsUser(testAgent, testText, "question?")
	reply, err := s.ChannelMessageSendReply(testText, "answer", &discordgo.MessageReference{MessageID: q, ChannelID: testText})
	if err != nil || reply.Type != discordgo.MessageTypeReply || reply.ReferencedMessage == nil || reply.ReferencedMessage.ID != q {
		t.Errorf("reply %+v, %v", reply, err)
	}

	list, err := s.ChannelMessages(testText, 10, "", "", "")
	if err != nil || len(list) != 3 || list[0].ID != reply.ID {
		t.Errorf("ChannelMessages = %d messages, %v", len(list), err)
	}
	if err := s.ChannelMessageDelete(testText, msg.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.sim.Message(testText, msg.ID); !got.Deleted {
		t.Error("message not deleted")
	}
	if _, err := s.ChannelMessage(testText, msg.ID); !isCode(err, 10008) {
		t.Errorf("deleted message fetched: %v", err)
	}
	f.noViolations(t)

	if err := s.MessageReactionAdd(testText, q, ":thumbsup:"); !isCode(err, 10014) {
		t.Errorf("shortcode reaction: %v", err)
	}
	f.wantViolation(t, "is not an emoji")
}

// isCode reports whether err is a Discord error with code.
func isCode(err error, code int) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Message != nil && re.Message.Code == code
}

func TestRESTThreadFromMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	ev := collect(s)
	f.open(t, s)

	card, err := s.ChannelMessageSendComplex(testText, claimCard("new conversation"))
	if err != nil {
		t.Fatal(err)
	}
	th, err := s.MessageThreadStartComplex(testText, card.ID, &discordgo.ThreadStart{Name: "customer #42", AutoArchiveDuration: 1440})
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != card.ID || th.ParentID != testText || th.Type != discordgo.ChannelTypeGuildPublicThread || th.ThreadMetadata == nil {
		t.Errorf("thread %+v", th)
	}
	if tc := recv(t, ev.threads, "THREAD_CREATE"); tc.ID != card.ID || !tc.NewlyCreated {
		t.Errorf("THREAD_CREATE %+v", tc.Channel)
	}
	if _, err := s.MessageThreadStart(testText, card.ID, "again", 60); !isCode(err, 160004) {
		t.Errorf("second thread on the message: %v", err)
	}
	f.wantViolation(t, "already has a thread")

	// Agents answer in the thread; the bot posts there too.
	id := f.sim.PostAsUser(testAgent, th.ID, "I'll take it")
	if m := ev.nextCreate(t, func(m *discordgo.MessageCreate) bool { return m.ID == id }); m.ChannelID != th.ID {
		t.Errorf("thread message in %s", m.ChannelID)
	}
	if _, err := s.ChannelMessageSend(th.ID, "customer says thanks"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sim.Messages(th.ID)); n != 2 {
		t.Errorf("%d messages in the thread", n)
	}
	threads := f.sim.Threads(testText)
	if len(threads) != 1 || threads[0].Name != "customer #42" {
		t.Errorf("Threads = %+v", threads)
	}
	// Archive and lock it.
	yes := true
	if _, err := s.ChannelEdit(th.ID, &discordgo.ChannelEdit{Archived: &yes, Locked: &yes}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.sim.Channel(th.ID); !c.Archived || !c.Locked {
		t.Errorf("thread after edit %+v", c)
	}
	if _, err := s.ChannelMessageSend(th.ID, "too late"); !isCode(err, 50083) {
		t.Errorf("message in archived locked thread: %v", err)
	}
}

func TestRESTForumPost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)

	post, err := s.ForumThreadStartComplex(testForum,
		&discordgo.ThreadStart{Name: "@customer: where is my order?", AppliedTags: []string{tagOpen}},
		claimCard("new conversation"))
	if err != nil {
		t.Fatal(err)
	}
	if post.ParentID != testForum || len(post.AppliedTags) != 1 || post.AppliedTags[0] != tagOpen {
		t.Errorf("post %+v", post)
	}
	msgs := f.sim.Messages(post.ID)
	if len(msgs) != 1 || msgs[0].ID != post.ID || msgs[0].Content != "new conversation" {
		t.Errorf("post messages %+v", msgs)
	}
	tags := []string{tagOpen, tagUrgent}
	if _, err := s.ChannelEdit(post.ID, &discordgo.ChannelEdit{AppliedTags: &tags}); err != nil {
		t.Fatal(err)
	}
	if th := f.sim.Threads(testForum); len(th) != 1 || len(th[0].AppliedTags) != 2 {
		t.Errorf("Threads(forum) = %+v", th)
	}
	f.noViolations(t)

	bad := []string{"1699999999999999999"}
	if _, err := s.ChannelEdit(post.ID, &discordgo.ChannelEdit{AppliedTags: &bad}); !isCode(err, 50035) {
		t.Errorf("unknown tag: %v", err)
	}
	f.wantViolation(t, "FORUM_TAG_UNKNOWN")
	if _, err := s.ChannelMessageSend(testForum, "not in a forum"); !isCode(err, 50008) {
		t.Errorf("message in the forum itself: %v", err)
	}
}

func TestRESTLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)

	_, err := s.ChannelMessageSend(testText, strings.Repeat("x", 2001))
	if !isCode(err, 50035) || !strings.Contains(err.Error(), `"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH"`) {
		t.Errorf("2,001 characters: %v", err)
	}
	f.wantViolation(t, "content: BASE_TYPE_MAX_LENGTH Must be 2000 or fewer in length.")
	if _, err := s.ChannelMessageSend(testText, strings.Repeat("é", 2000)); err != nil {
		t.Errorf("2,000 characters: %v", err)
	}

	// The description's own limits (title 256), then Discord's (6,000 in all).
	long := &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: strings.Repeat("t", 257)}}}
	if _, err := s.ChannelMessageSendComplex(testText, long); !isCode(err, 50035) || !strings.Contains(err.Error(), `"title"`) {
		t.Errorf("257-character title: %v", err)
	}
	var fields []*discordgo.MessageEmbedField
	for range 7 {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "n", Value: strings.Repeat("v", 1000)})
	}
	big := &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: "big", Fields: fields}}}
	if _, err := s.ChannelMessageSendComplex(testText, big); !isCode(err, 50035) || !strings.Contains(err.Error(), "MAX_EMBED_SIZE_EXCEEDED") {
		t.Errorf("7,000-character embed: %v", err)
	}
	// Six buttons in a row, a 101-character custom_id, a duplicate custom_id.
	var six []discordgo.MessageComponent
	for i := range 6 {
		six = append(six, discordgo.Button{Label: "b", Style: discordgo.SecondaryButton, CustomID: strings.Repeat("b", i+1)})
	}
	row := &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: six}}}
	if _, err := s.ChannelMessageSendComplex(testText, row); !isCode(err, 50035) {
		t.Errorf("six buttons: %v", err)
	}
	longID := &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "b", Style: discordgo.PrimaryButton, CustomID: strings.Repeat("c", 101)}}}}}
	if _, err := s.ChannelMessageSendComplex(testText, longID); !isCode(err, 50035) || !strings.Contains(err.Error(), "custom_id") {
		t.Errorf("101-character custom_id: %v", err)
	}
	dup := &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "a", Style: discordgo.PrimaryButton, CustomID: "same"},
		discordgo.Button{Label: "b", Style: discordgo.PrimaryButton, CustomID: "same"}}}}}
	if _, err := s.ChannelMessageSendComplex(testText, dup); !isCode(err, 50035) || !strings.Contains(err.Error(), "COMPONENT_CUSTOM_ID_DUPLICATED") {
		t.Errorf("duplicate custom_id: %v", err)
	}
	if _, err := s.ChannelMessageSendComplex(testText, &discordgo.MessageSend{}); !isCode(err, 50006) {
		t.Errorf("empty message: %v", err)
	}
	// Only the bot's own messages can be edited.
	id := f.sim.PostAsUser(testAgent, testText, "mine")
	if _, err := s.ChannelMessageEdit(testText, id, "yours now"); !isCode(err, 50005) {
		t.Errorf("editing a member's message: %v", err)
	}
	// A non-snowflake id in the path.
	if _, err := s.Channel("general"); !isCode(err, 50035) || !strings.Contains(err.Error(), "NUMBER_TYPE_COERCE") {
		t.Errorf("GET /channels/general: %v", err)
	}
	if n := len(f.sim.Messages(testText)); n != 2 {
		t.Errorf("%d messages stored, want 2 (the 2,000 é and the member's)", n)
	}
}

func TestRESTAuthAndRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	bad, err := discordgo.New("Bot not-the-token")
	if err != nil {
		t.Fatal(err)
	}
	bad.Client = f.client
	if _, err := bad.ChannelMessageSend(testText, "hi"); err == nil {
		t.Fatal("bad token accepted")
	} else {
		var re *discordgo.RESTError
		if !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized ||
			string(re.ResponseBody) != `{"code":0,"message":"401: Unauthorized"}` {
			t.Errorf("bad token: %v", err)
		}
	}
	f.wantViolation(t, "401 Authorization is not the bot token")

	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bot "+testToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := testHTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do("GET", "/api/v10/nope", ""); code != http.StatusNotFound {
		t.Errorf("unknown route: %d", code)
	}
	if code, _ := do("POST", "/api/v9/gateway", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /gateway: %d", code)
	}
	if code, _ := do("GET", "/api/v8/gateway", ""); code != http.StatusNotFound {
		t.Errorf("v8: %d", code)
	}
	if code, body := do("POST", "/api/v10/channels/"+testText+"/messages", `{"content": 5}`); code != 400 || !strings.Contains(body, "STRING_TYPE_CONVERT") {
		t.Errorf("content 5: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v10/channels/"+testText+"/messages", `{"content": "x"`); code != 400 || !strings.Contains(body, "50109") {
		t.Errorf("broken JSON: %d %s", code, body)
	}
	if code, _ := do("GET", "/api/v10/channels/"+testText+"/pins", ""); code != http.StatusNotImplemented {
		t.Errorf("unsimulated route: %d", code)
	}
	if code, body := do("GET", "/api/v10/gateway", ""); code != 200 || !strings.Contains(body, `"ws://`) {
		t.Errorf("gateway: %d %s", code, body)
	}
	f.wantViolation(t, "not simulated by discordsim")
	f.wantViolation(t, "API version not available")
}

func TestRESTAttachments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	msg, err := s.ChannelMessageSendComplex(testText, &discordgo.MessageSend{
		Content: "the customer sent a photo",
		Files: []*discordgo.File{
			{Name: "photo.png", ContentType: "image/png", Reader: strings.NewReader("\x89PNG fake")},
			{Name: "notes.txt", ContentType: "text/plain", Reader: strings.NewReader("hello")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Attachments) != 2 || msg.Attachments[0].Filename != "photo.png" || msg.Attachments[1].Size != 5 {
		t.Fatalf("attachments %+v", msg.Attachments)
	}
	resp, err := testHTTPClient.Get(msg.Attachments[1].URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("attachment served %q %s", b, resp.Header.Get("Content-Type"))
	}
	got, _ := f.sim.Message(testText, msg.ID)
	if len(got.Attachments) != 2 || string(got.Attachments[0].Data) != "\x89PNG fake" {
		t.Errorf("stored attachments %+v", got.Attachments)
	}
	// Members' attachments arrive in MESSAGE_CREATE.
	ev := collect(s)
	f.open(t, s)
	f.sim.PostAsUserMessage(testAgent, testText, UserMessage{Content: "see log", Attachments: []Attachment{{Filename: "log.txt", Data: []byte("x")}}})
	if m := recv(t, ev.created, "MESSAGE_CREATE"); len(m.Attachments) != 1 || m.Attachments[0].Filename != "log.txt" {
		t.Errorf("member attachment %+v", m.Attachments)
	}
	f.noViolations(t)
}

func TestRESTRateLimitRetried(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(o *Options) {
		o.RateLimits = true
		o.Now = clock.Now
	})
	var limited atomic.Int32
	var retryAfter atomic.Value
	f.sim.OnCall(func(c Call) {
		if c.Status == http.StatusTooManyRequests && limited.Add(1) == 1 {
			// While discordgo sleeps retry_after, time passes for the
			// simulator too.
			clock.Advance(2 * time.Second)
		}
	})
	first := f.session(t, intentsAll)
	for i := range 5 {
		if _, err := first.ChannelMessageSend(testText, "burst"); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	clock.Advance(3500 * time.Millisecond)
	// A second process of the bot, whose limiter knows nothing yet, hits
	// the spent bucket: 429, then discordgo waits retry_after and retries.
	second := f.session(t, intentsAll)
	second.AddHandler(func(_ *discordgo.Session, rl *discordgo.RateLimit) { retryAfter.Store(rl.RetryAfter) })
	start := time.Now()
	msg, err := second.ChannelMessageSend(testText, "sixth")
	if err != nil {
		t.Fatalf("sixth message: %v", err)
	}
	if limited.Load() != 1 || msg.Content != "sixth" {
		t.Errorf("429s = %d", limited.Load())
	}
	if ra, _ := retryAfter.Load().(time.Duration); ra != 1500*time.Millisecond || time.Since(start) < ra {
		t.Errorf("retry_after %v, waited %v", ra, time.Since(start))
	}
	for _, c := range f.sim.Calls() {
		if c.Status == http.StatusTooManyRequests && string(c.Body) == "" {
			t.Error("no body recorded")
		}
	}
	// Another channel has its own bucket.
	f.sim.AddChannel(Channel{ID: "1300000000000000009", Name: "other", Type: ChannelText})
	if _, err := first.ChannelMessageSend("1300000000000000009", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	f.noViolations(t)
}

func TestRESTRateLimitAnswer(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(o *Options) {
		o.RateLimits = true
		o.Now = clock.Now
	})
	post := func() *http.Response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v10/channels/"+testText+"/messages", strings.NewReader(`{"content":"x"}`))
		req.Header.Set("Authorization", "Bot "+testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testHTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := range 5 {
		resp := post()
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != string(rune('4'-i)) {
			t.Fatalf("message %d: %d remaining %s", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
	}
	clock.Advance(3500 * time.Millisecond)
	resp := post()
	var body struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 429 || body.Message != "You are being rate limited." || body.RetryAfter != 1.5 || body.Global ||
		h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Reset-After") != "1.500" || h.Get("X-RateLimit-Bucket") == "" ||
		h.Get("X-RateLimit-Limit") != "5" || h.Get("X-RateLimit-Scope") != "user" {
		t.Errorf("429: %d %+v %v", resp.StatusCode, body, h)
	}
	clock.Advance(1500 * time.Millisecond)
	if resp := post(); resp.StatusCode != 200 {
		t.Errorf("after the window: %d", resp.StatusCode)
	}
	f.noViolations(t)
}

func TestRESTFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := f.session(t, intentsAll)
	s.MaxRestRetries = 1

	// 502 twice: discordgo retries once, then gives up.
	f.sim.FailNext("POST", "/channels/*/messages", 2, Fault{Status: http.StatusBadGateway})
	if _, err := s.ChannelMessageSend(testText, "x"); err == nil {
		t.Error("two 502s: no error")
	}
	// An injected 429 is waited out.
	f.sim.FailNext("POST", "/api/v9/channels/{channel_id}/messages", 1, Fault{Status: 429, RetryAfter: 100 * time.Millisecond})
	if _, err := s.ChannelMessageSend(testText, "after 429"); err != nil {
		t.Errorf("after an injected 429: %v", err)
	}
	// The effect happens, the client sees a 500.
	f.sim.FailNext("POST", "/channels/*/messages", 1, Fault{Status: 500, AfterEffect: true})
	if _, err := s.ChannelMessageSend(testText, "maybe"); err == nil {
		t.Error("500: no error")
	}
	var contents []string
	for _, m := range f.sim.Messages(testText) {
		contents = append(contents, m.Content)
	}
	if strings.Join(contents, ",") != "after 429,maybe" {
		t.Errorf("stored %q", contents)
	}
	// A dropped connection.
	f.sim.FailNext("POST", "/channels/*/messages", 1, Fault{Drop: true})
	if _, err := s.ChannelMessageSend(testText, "dropped"); err == nil {
		t.Error("drop: no error")
	}
	faults := 0
	for _, c := range f.sim.Calls() {
		if c.Fault {
			faults++
		}
	}
	if faults != 5 {
		t.Errorf("%d faulted calls, want 5", faults)
	}
	f.noViolations(t)
}
