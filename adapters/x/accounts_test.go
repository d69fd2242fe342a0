package x

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

// Two more support accounts of the simulated app: billing, which the
// bridge serves, and press, which it does not.
var (
	billing = xsim.Account{UserID: "1001", Handle: "acme_billing",
		AccessToken: "1001-billingToken", AccessTokenSecret: "as-billing", UserToken: "billing-user-token"}
	press = xsim.Account{UserID: "1002", Handle: "acme_press", AccessToken: "1002-pressToken", AccessTokenSecret: "as-press"}
)

func withBillingAndPress(o *xsim.Options) { o.Accounts = []xsim.Account{billing, press} }

// accounts returns the bridge's two accounts: help (OAuth 1.0a) and
// billing (an OAuth 2.0 user token, so no read receipts).
func (e *env) accounts(t *testing.T) *Accounts {
	t.Helper()
	b := e.newClient(t, Config{AccountID: billing.UserID, AccountHandle: billing.Handle, UserToken: billing.UserToken})
	a, err := NewAccounts(e.client, b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAccountsSendWithTheConversationsAccount(t *testing.T) {
	t.Parallel()
	e := setup(t, withBillingAndPress)
	a := e.accounts(t)
	ctx := context.Background()
	e.sim.CustomerDMTo(billing.UserID, raj, "charged twice")
	mention := e.sim.CustomerMention(dana, "@acme_billing where is my refund?", "")

	id, err := a.SendDM(ctx, billing.UserID, raj, "Refunded today.")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendDM(ctx, account, dana, "Hello from help."); err != nil {
		t.Fatal(err)
	}
	tweet, err := a.Reply(ctx, billing.UserID, mention.ID, "On its way.")
	if err != nil {
		t.Fatal(err)
	}
	senders := map[string]string{}
	for _, ev := range e.sim.DMEvents() {
		senders[ev.Text] = ev.SenderID
	}
	if senders["Refunded today."] != billing.UserID || senders["Hello from help."] != account {
		t.Errorf("senders %v", senders)
	}
	if r := e.sim.RepliesTo(mention.ID); len(r) != 1 || r[0].ID != tweet || r[0].AuthorID != billing.UserID {
		t.Errorf("replies %+v", r)
	}

	// Reconciliation reads with the account's own credentials.
	for _, q := range []bridge.SentQuery{
		{Kind: bridge.KindDM, Account: billing.UserID, RecipientID: raj, Text: "Refunded today.", After: simStart.Add(-time.Hour)},
		{Kind: bridge.KindMention, Account: billing.UserID, InReplyToID: mention.ID, Text: "On its way.", After: simStart.Add(-time.Hour)},
	} {
		got, found, err := a.FindSent(ctx, q)
		if err != nil || !found || (got != id && got != tweet) {
			t.Errorf("FindSent(%s) = %q, %v, %v", q.Kind, got, found, err)
		}
	}

	// Read receipts: help holds OAuth 1.0a, billing only an OAuth 2.0 token.
	dm := e.sim.CustomerDM(dana, "thanks")
	if err := a.MarkRead(ctx, account, dana, dm.ID); err != nil {
		t.Fatal(err)
	}
	err = a.MarkRead(ctx, billing.UserID, raj, id)
	if de := bridge.AsDeliveryError(err); err == nil || de.Temporary || de.Reason != ReasonReadSyncNeedsOAuth1 {
		t.Errorf("billing's MarkRead = %v", err)
	}
	if m := e.sim.ReadMarks(); len(m) != 1 || m[0].Account != account {
		t.Errorf("read marks %+v", m)
	}

	// Media travel with the conversation's account too: a photo Raj sent
	// billing is downloaded with billing's credentials (X serves DM media
	// to the DM's participants only), and an agent's file goes back from
	// billing.
	e.sim.SetBaseURL(e.srv.URL)
	pic := xsim.NoisePNG(16, 16)
	photo := e.sim.CustomerDMToWithMedia(billing.UserID, raj, "", xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: pic})
	b, err := webhookEvents([]string{account, billing.UserID}, e.sim.DMWebhookPayload(photo))
	if err != nil || len(b.msgs) != 1 || len(b.msgs[0].Media) != 1 {
		t.Fatalf("payload = %+v, %v", b, err)
	}
	st, err := a.OpenMedia(ctx, billing.UserID, b.msgs[0].Media[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(st.Body)
	st.Body.Close()
	if !bytes.Equal(got, pic) {
		t.Errorf("billing's download: %d bytes, want the photo's %d", len(got), len(pic))
	}
	if st, err := e.client.OpenMedia(ctx, account, b.msgs[0].Media[0].URL); err == nil {
		st.Body.Close()
		t.Error("help downloaded the media of a DM to billing")
	}
	mediaID, _, err := a.UploadMedia(ctx, billing.UserID, bridge.MediaUpload{ForDM: true, ContentType: "image/png",
		Size: int64(len(pic)), Body: bytes.NewReader(pic)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendDMMedia(ctx, billing.UserID, raj, "Here is the label.", []string{mediaID}); err != nil {
		t.Fatal(err)
	}
	if dms := e.sim.DMsTo(raj); len(dms) == 0 || dms[len(dms)-1].SenderID != billing.UserID || len(dms[len(dms)-1].MediaIDs) != 1 {
		t.Errorf("the DM with the label: %+v", dms)
	}
	if _, err := a.ReplyMedia(ctx, press.UserID, mention.ID, "x", []string{mediaID}); err == nil {
		t.Error("a reply with media from an account without credentials went out")
	}

	// An account the bridge holds no credentials for: a permanent failure
	// that names it, and no request to X.
	before := len(e.sim.Requests())
	_, err = a.SendDM(ctx, press.UserID, dana, "hi")
	if de := bridge.AsDeliveryError(err); err == nil || de.Temporary || de.Reason != "the bridge has no X credentials for account 1002" {
		t.Errorf("SendDM as press = %v", err)
	}
	if _, err := a.Reply(ctx, press.UserID, mention.ID, "hi"); err == nil {
		t.Error("Reply as press went through")
	}
	if err := a.ShowTyping(ctx, press.UserID, dana); err == nil {
		t.Error("ShowTyping as press went through")
	}
	if _, _, err := a.FindSent(ctx, bridge.SentQuery{Kind: bridge.KindDM, Account: press.UserID, RecipientID: dana}); err == nil {
		t.Error("FindSent as press went through")
	}
	if n := len(e.sim.Requests()); n != before {
		t.Errorf("%d requests for an account without credentials", n-before)
	}
	for _, r := range e.sim.Requests() {
		if r.Account == "" {
			t.Errorf("unauthenticated request %s %s", r.Method, r.Path)
		}
	}
	// The one request refused is help's download of billing's DM media.
	if v := e.sim.Violations(); len(v) != 1 || !strings.Contains(v[0], "403 Forbidden: DM media") {
		t.Errorf("xsim violations %q, want only help's refused download", v)
	}
}

func TestAccountsWebhookRoutesByForUserID(t *testing.T) {
	t.Parallel()
	e := setup(t, withBillingAndPress)
	a := e.accounts(t)
	rec, obs := &recorder{}, &observer{}
	srv := httptest.NewServer(a.WebhookHandler(rec, obs))
	t.Cleanup(srv.Close)
	if err := e.sim.CRC(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	e.sim.AutoDeliver(srv.URL)

	toHelp := e.sim.CustomerDM(dana, "parcel?")
	toBilling := e.sim.CustomerDMTo(billing.UserID, raj, "charged twice")
	toPress := e.sim.CustomerDMTo(press.UserID, stranger, "interview?")
	both := e.sim.CustomerMention(raj, "@acme_help @acme_billing anyone?", "")
	echo, err := a.SendDM(context.Background(), billing.UserID, raj, "Refunded.")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	type got struct{ id, account, sender string }
	var handed []got
	for _, m := range rec.all() {
		handed = append(handed, got{m.EventID, m.Account, m.Sender.ID})
	}
	want := []got{
		{toHelp.ID, account, dana},
		{toBilling.ID, billing.UserID, raj},
		{both.ID, account, raj},
		{both.ID, billing.UserID, raj}, // once per account; the domain stores it once
		{echo, billing.UserID, billing.UserID},
	}
	if !reflect.DeepEqual(handed, want) {
		t.Fatalf("handed on:\n got %+v\nwant %+v", handed, want)
	}
	if slices.ContainsFunc(rec.all(), func(m bridge.InboundMessage) bool { return m.EventID == toPress.ID }) {
		t.Error("the DM to an account the bridge does not serve was handed on")
	}
	if got := obs.ignoredReasons(); !slices.Equal(got, []string{"webhook:other_account"}) {
		t.Errorf("ignored %q, want the DM to press counted", got)
	}
	for _, d := range e.sim.Deliveries() {
		if d.Status != 200 {
			t.Errorf("delivery answered %d", d.Status)
		}
	}
	e.noViolations(t)
}

func TestAccountsPollEachWithItsOwnCursors(t *testing.T) {
	t.Parallel()
	e := setup(t, withBillingAndPress)
	a := e.accounts(t)
	ctx := context.Background()
	cursors := &memCursors{}
	rec := &recorder{}
	var pollers []*Poller
	for _, c := range a.Clients() {
		pollers = append(pollers, &Poller{Client: c, In: rec, Cursors: cursors, Clock: e.clock, Logger: testLogger(t), Backfill: time.Hour})
	}
	toHelp := e.sim.CustomerDM(dana, "parcel?")
	toBilling := e.sim.CustomerDMTo(billing.UserID, raj, "charged twice")
	mentionsBilling := e.sim.CustomerMention(dana, "@acme_billing refund?", "")
	e.sim.CustomerDMTo(press.UserID, stranger, "interview?")
	for _, p := range pollers {
		if _, err := p.PollDMs(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollMentions(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var handed []string
	for _, m := range rec.all() {
		handed = append(handed, m.Account+":"+m.EventID)
	}
	want := []string{account + ":" + toHelp.ID, billing.UserID + ":" + toBilling.ID, billing.UserID + ":" + mentionsBilling.ID}
	if !slices.Equal(handed, want) {
		t.Fatalf("handed on %q, want %q", handed, want)
	}
	for name, v := range map[string]string{
		"x:1000:dm_events": toHelp.ID, "x:1001:dm_events": toBilling.ID,
		"x:1000:mentions": "", "x:1001:mentions": mentionsBilling.ID,
	} {
		if got := cursors.get(name); got != v {
			t.Errorf("cursor %s = %q, want %q", name, got, v)
		}
	}
	// Each poller read with its own account's credentials.
	for _, r := range e.sim.Requests() {
		if r.Path == "/2/dm_events" && r.Account != account && r.Account != billing.UserID {
			t.Errorf("DM poll as %q", r.Account)
		}
	}
	e.noViolations(t)
}

func TestNewAccountsRefusesMismatches(t *testing.T) {
	t.Parallel()
	e := setup(t)
	other := e.newClient(t, Config{ConsumerKey: simConsumerKey, ConsumerSecret: "another-app",
		AccessToken: simAccessToken, AccessTokenSecret: simAccessSecret, AccountID: "1001", AccountHandle: "b"})
	for name, clients := range map[string][]*Client{
		"none":          nil,
		"same account":  {e.client, e.bearer},
		"different app": {e.client, other},
	} {
		if _, err := NewAccounts(clients...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewAccounts(e.client); err != nil {
		t.Error(err)
	}
	var de *bridge.DeliveryError
	if _, err := e.client.SendDM(context.Background(), "1001", dana, "hi"); !errors.As(err, &de) || de.Temporary {
		t.Errorf("a client sent as another account: %v", err)
	}
}
