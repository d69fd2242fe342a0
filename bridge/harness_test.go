package bridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// harness is the bundle of collaborators a domain test works with: the
// real SQLite store, a manual clock, and recording platforms.
type harness struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.DB
	clock *bridge.ManualClock
	chat  *recChat
	x     *recX
	svc   *bridge.Service
	disp  *bridge.Dispatcher
}

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday morning

// setup runs on SQLite, or on a scratch Postgres database when the test
// runs under TestDomainOnPostgres.
func setup(t *testing.T) *harness {
	t.Helper()
	if strings.HasPrefix(t.Name(), "TestDomainOnPostgres/") {
		return setupOn(t, stores(t)["postgres"](t))
	}
	return setupOn(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
}

// stores names the databases a test runs on: SQLite always, Postgres when
// XBRIDGE_TEST_POSTGRES is set (and always under CI=true).
func stores(t *testing.T) map[string]func(t *testing.T) string {
	t.Helper()
	out := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "x.db") },
	}
	base := os.Getenv("XBRIDGE_TEST_POSTGRES")
	if base == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but XBRIDGE_TEST_POSTGRES is not set: CI must run the Postgres suite")
	}
	if base != "" {
		out["postgres"] = func(t *testing.T) string {
			dsn, drop, err := sqlstore.ScratchPostgres(context.Background(), base, "xbridge_bridge")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := drop(); err != nil {
					t.Errorf("drop scratch database: %v", err)
				}
			})
			return dsn
		}
	}
	return out
}

func setupOn(t *testing.T, dsn string) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := bridge.NewManualClock(epoch)
	db.Now = clock.Now
	h := &harness{t: t, ctx: ctx, store: db, clock: clock, chat: newRecChat(), x: &recX{}}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	h.disp = &bridge.Dispatcher{
		Store: db, Clock: clock, Logger: logger, Chat: map[string]bridge.ChatPlatform{"slack": h.chat}, X: h.x,
		Workers: 4, MaxAttempts: 3, Lease: time.Minute,
	}
	h.svc = &bridge.Service{
		Store: db, Clock: clock, Rules: testRules{},
		ChatPlatform: "slack", ChatChannel: "C1",
		SendDelay: 10 * time.Second, NotePrefix: "//", CommandPrefix: "!",
		ReopenWindow: 7 * 24 * time.Hour,
	}
	return h
}

// drain delivers everything due now.
func (h *harness) drain() {
	h.t.Helper()
	for i := 0; i < 100; i++ {
		n, err := h.disp.RunOnce(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	h.t.Fatal("outbox never drained")
}

// advance moves time on and delivers what became due.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clock.Advance(d)
	h.drain()
}

// settle lets an hour pass in steps, so retries with backoff all run.
func (h *harness) settle() {
	h.t.Helper()
	for i := 0; i < 60; i++ {
		h.advance(time.Minute)
	}
}

var seq atomic.Int64

func nextID() string {
	return fmt.Sprintf("%d", 5000+seq.Add(1))
}

func customer(id string) bridge.XUser {
	return bridge.XUser{ID: id, Handle: "cust" + id, Name: "Customer " + id, Followers: 120}
}

// dm delivers a customer DM and returns the event.
func (h *harness) dm(from, text string) bridge.InboundMessage {
	h.t.Helper()
	ev := bridge.InboundMessage{
		EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + from,
		Sender: customer(from), RecipientID: "1000", Text: text, CreatedAt: h.clock.Now(),
	}
	if out, err := h.svc.HandleInbound(h.ctx, ev); err != nil || out != bridge.OutcomeStored {
		h.t.Fatalf("HandleInbound = %v, %v", out, err)
	}
	h.drain()
	return ev
}

// threadOf returns the chat thread of the customer's only conversation.
func (h *harness) thread(n int) string {
	h.t.Helper()
	if len(h.chat.cards) < n {
		h.t.Fatalf("want %d cards, have %d", n, len(h.chat.cards))
	}
	return h.chat.cards[n-1].id
}

// agent posts a message in a thread and returns its chat id.
func (h *harness) agent(thread, text string) string {
	h.t.Helper()
	id := h.chat.newID("A")
	out, err := h.svc.HandleChatMessage(h.ctx, bridge.ChatMessage{
		Platform: "slack", EventID: "ev-" + id, Channel: "C1", ThreadID: thread, MessageID: id,
		UserID: "U1", UserName: "Bob", Text: text,
	})
	if err != nil || out != bridge.OutcomeStored {
		h.t.Fatalf("HandleChatMessage = %v, %v", out, err)
	}
	h.drain()
	return id
}

// recChat records what the bridge does in chat.
type recChat struct {
	mu          sync.Mutex
	n           int
	cards       []recCard
	escalations []recEscalation
	updates     []bridge.Card
	posts       map[string][]bridge.Post // by thread
	postIDs     map[string][]string      // by thread, beside posts
	reactions   map[string]map[bridge.Reaction]bool
	fail        []error // errors for the next calls
	deleted     []string
	// onPost, when set, runs after each thread post, as if someone
	// reacted to it at once.
	onPost func(threadID string)
}

type recEscalation struct {
	id, channel string
	card        bridge.EscalationCard
}

type recCard struct {
	id   string
	card bridge.Card
}

func newRecChat() *recChat {
	return &recChat{posts: map[string][]bridge.Post{}, postIDs: map[string][]string{},
		reactions: map[string]map[bridge.Reaction]bool{}}
}

func (c *recChat) newID(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return fmt.Sprintf("%s%d", prefix, c.n)
}

func (c *recChat) takeFail() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fail) == 0 {
		return nil
	}
	err := c.fail[0]
	c.fail = c.fail[1:]
	return err
}

func (c *recChat) PostCard(_ context.Context, channel string, card bridge.Card, key string) (string, error) {
	if err := c.takeFail(); err != nil {
		return "", err
	}
	id := c.newID("T")
	c.mu.Lock()
	c.cards = append(c.cards, recCard{id: id, card: card})
	c.mu.Unlock()
	return id, nil
}

func (c *recChat) UpdateCard(_ context.Context, channel, threadID string, card bridge.Card) error {
	if err := c.takeFail(); err != nil {
		return err
	}
	c.mu.Lock()
	c.updates = append(c.updates, card)
	c.mu.Unlock()
	return nil
}

func (c *recChat) Post(_ context.Context, channel, threadID string, p bridge.Post) (string, error) {
	if err := c.takeFail(); err != nil {
		return "", err
	}
	id := c.newID("P")
	c.mu.Lock()
	c.posts[threadID] = append(c.posts[threadID], p)
	c.postIDs[threadID] = append(c.postIDs[threadID], id)
	onPost := c.onPost
	c.mu.Unlock()
	if onPost != nil {
		onPost(threadID)
	}
	return id, nil
}

func (c *recChat) React(_ context.Context, channel, threadID, messageID string, r bridge.Reaction, add bool) error {
	if err := c.takeFail(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reactions[messageID] == nil {
		c.reactions[messageID] = map[bridge.Reaction]bool{}
	}
	c.reactions[messageID][r] = add
	return nil
}

func (c *recChat) PostEscalation(_ context.Context, channel string, e bridge.EscalationCard, key string) (string, error) {
	if err := c.takeFail(); err != nil {
		return "", err
	}
	id := c.newID("E")
	c.mu.Lock()
	c.escalations = append(c.escalations, recEscalation{id: id, channel: channel, card: e})
	c.mu.Unlock()
	return id, nil
}

func (c *recChat) UpdateEscalation(_ context.Context, channel, threadID string, e bridge.EscalationCard) error {
	if err := c.takeFail(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.escalations {
		if c.escalations[i].id == threadID {
			c.escalations[i].card = e
		}
	}
	return nil
}

func (c *recChat) DeleteMessage(_ context.Context, channel, threadID, messageID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, messageID)
	return nil
}

func (c *recChat) thread(id string) []bridge.Post {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bridge.Post(nil), c.posts[id]...)
}

// postsOf returns the posts of a kind in a thread, with their ids.
func (c *recChat) postsOf(thread string, kind bridge.PostKind) (posts []bridge.Post, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.posts[thread] {
		if p.Kind == kind {
			posts, ids = append(posts, p), append(ids, c.postIDs[thread][i])
		}
	}
	return posts, ids
}

func (c *recChat) marks(msgID string) []bridge.Reaction {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []bridge.Reaction
	for _, r := range []bridge.Reaction{bridge.ReactionWaiting, bridge.ReactionSent, bridge.ReactionFailed} {
		if c.reactions[msgID][r] {
			out = append(out, r)
		}
	}
	return out
}

// noticesIn returns the texts of the bridge's own posts in a thread.
func (c *recChat) noticesIn(thread string) []string {
	var out []string
	for _, p := range c.thread(thread) {
		if p.Kind != bridge.PostCustomer {
			out = append(out, p.Text)
		}
	}
	return out
}

// recX records what the bridge sends to X.
type recX struct {
	mu      sync.Mutex
	n       int
	dms     []sent
	replies []sent
	reads   []string // "read:<customer>:<last event>" and "typing:<customer>"
	syncErr error    // what MarkRead and ShowTyping answer
	fail    []error
	// found answers FindSent.
	found map[string]string
}

type sent struct{ to, text, id string }

func (x *recX) next() (string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.fail) > 0 {
		err := x.fail[0]
		x.fail = x.fail[1:]
		return "", err
	}
	x.n++
	return fmt.Sprintf("%d", 9000+x.n), nil
}

func (x *recX) SendDM(_ context.Context, account, to, text string) (string, error) {
	id, err := x.next()
	if err != nil {
		return "", err
	}
	x.mu.Lock()
	x.dms = append(x.dms, sent{to, text, id})
	x.mu.Unlock()
	return id, nil
}

func (x *recX) Reply(_ context.Context, account, to, text string) (string, error) {
	id, err := x.next()
	if err != nil {
		return "", err
	}
	x.mu.Lock()
	x.replies = append(x.replies, sent{to, text, id})
	x.mu.Unlock()
	return id, nil
}

func (x *recX) FindSent(_ context.Context, q bridge.SentQuery) (string, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.found[q.Text]
	return id, ok, nil
}

func (x *recX) MarkRead(_ context.Context, _, customer, last string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.reads = append(x.reads, "read:"+customer+":"+last)
	return x.syncErr
}

func (x *recX) ShowTyping(_ context.Context, _, customer string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.reads = append(x.reads, "typing:"+customer)
	return x.syncErr
}

func (x *recX) syncs() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.reads...)
}

func (x *recX) sentDMs() []sent {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]sent(nil), x.dms...)
}

// testRules: public replies up to 280 characters; DMs split at 50 for
// the tests' sake.
type testRules struct{}

func (testRules) Parts(kind bridge.Kind, text string) ([]string, error) {
	if strings.TrimSpace(text) == "" {
		return nil, bridge.Errorf(bridge.EINVALID, "empty reply")
	}
	if kind == bridge.KindMention && len(text) > 280 {
		return nil, bridge.Errorf(bridge.EINVALID, "reply is %d characters; X allows 280", len(text))
	}
	var parts []string
	for len(text) > 50 {
		parts = append(parts, text[:50])
		text = text[50:]
	}
	return append(parts, text), nil
}

// wholeRules never split a reply.
type wholeRules struct{}

func (wholeRules) Parts(_ bridge.Kind, text string) ([]string, error) { return []string{text}, nil }
