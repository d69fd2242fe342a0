package discordsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// responseSchemas compiles the description's response schemas on demand,
// to check the simulator's own answers.
var responseSchemas = struct {
	once sync.Once
	doc  map[string]any
	mu   sync.Mutex
	c    map[string]*jsonschema.Schema
}{c: map[string]*jsonschema.Schema{}}

func responseSchema(t *testing.T, method, path string, status int) *jsonschema.Schema {
	responseSchemas.once.Do(func() {
		_ = json.Unmarshal(specJSON, &responseSchemas.doc)
	})
	code := strconv.Itoa(status)
	key := method + " " + path + " " + code
	responseSchemas.mu.Lock()
	defer responseSchemas.mu.Unlock()
	if s, ok := responseSchemas.c[key]; ok {
		return s
	}
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	ops, _ := responseSchemas.doc["paths"].(map[string]any)[path].(map[string]any)
	op, _ := ops[strings.ToLower(method)].(map[string]any)
	resps, _ := op["responses"].(map[string]any)
	loc := "#/paths/" + esc.Replace(path) + "/" + strings.ToLower(method) + "/responses/"
	resp, ok := resps[code].(map[string]any)
	if !ok {
		resp, _ = resps[code[:1]+"XX"].(map[string]any)
		loc += code[:1] + "XX"
	} else {
		loc += code
	}
	if ref, ok := resp["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/responses/")
		resp, _ = responseSchemas.doc["components"].(map[string]any)["responses"].(map[string]any)[name].(map[string]any)
		loc = ref
	}
	content, _ := resp["content"].(map[string]any)
	if content["application/json"] == nil {
		responseSchemas.c[key] = nil
		return nil
	}
	sp, _ := loadSpec()
	sp.mu.Lock()
	s, err := sp.compiler.Compile(specURL + loc + "/content/application~1json/schema")
	sp.mu.Unlock()
	if err != nil {
		t.Errorf("compile response schema of %s: %v", key, err)
	}
	responseSchemas.c[key] = s
	return s
}

// recorder keeps a copy of what a handler writes.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
	r.ResponseWriter.WriteHeader(s)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// checkResponses wraps the simulator so that every JSON answer of the HTTP
// API is validated against the description's response schema.
func checkResponses(t *testing.T, h http.Handler, checked *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		sp, _ := loadSpec()
		rt, err := sp.findRoute(r)
		if err != nil || rec.body.Len() == 0 || rec.status == http.StatusNotImplemented {
			return
		}
		if rec.status == http.StatusBadRequest && strings.Contains(rec.body.String(), `"code":50035`) {
			// The description types the codes of field errors as integers;
			// Discord sends strings ("BASE_TYPE_REQUIRED"), as the simulator.
			return
		}
		s := responseSchema(t, rt.Method, rt.Path, rec.status)
		if s == nil {
			return
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(rec.body.Bytes()))
		if err != nil {
			t.Errorf("%s %s answered non-JSON %q", r.Method, r.URL.Path, rec.body.String())
			return
		}
		checked.Add(1)
		if err := s.Validate(inst); err != nil {
			t.Errorf("%s %s answered %d, which the description does not allow: %v\nbody: %s",
				r.Method, rt.Path, rec.status, condense(err.(*jsonschema.ValidationError), inst), rec.body.String())
		}
	})
}

func TestSpecLoadsAndRoutesV9(t *testing.T) {
	t.Parallel()
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/api/v9/gateway/bot", "/gateway/bot"},
		{"GET", "/api/v9/users/@me", "/users/@me"},
		{"GET", "/api/v10/users/123", "/users/{user_id}"},
		{"PATCH", "/api/v9/webhooks/1/tok/messages/@original", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"},
		{"PUT", "/api/v9/channels/1/messages/2/reactions/%F0%9F%91%8D/@me", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		rt, err := sp.findRoute(r)
		if err != nil || rt.Path != c.want {
			t.Errorf("%s %s: %v %v", c.method, c.path, rt, err)
			continue
		}
		if strings.Contains(c.path, "reactions") && rt.params["emoji_name"] != "👍" && rt.params["emoji_name"] != "%F0%9F%91%8D" {
			t.Errorf("emoji param %q", rt.params["emoji_name"])
		}
	}
}

func TestSpecBodyErrors(t *testing.T) {
	t.Parallel()
	sp, _ := loadSpec()
	check := func(method, path, body string) string {
		fe := sp.checkBodyFor(method, path, []byte(body))
		if fe == nil {
			return ""
		}
		return string(marshal(fe.body()))
	}
	msgs := "/channels/{channel_id}/messages"
	if got := check("POST", msgs, `{"content":"hi","embeds":null,"components":null,"sticker_ids":null}`); got != "" {
		t.Errorf("discordgo's nulls refused: %s", got)
	}
	if got := check("POST", msgs, `{"embeds":[{"title":"`+strings.Repeat("x", 300)+`"}]}`); got !=
		`{"code":50035,"errors":{"embeds":{"0":{"title":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 256 or fewer in length."}]}}}},"message":"Invalid Form Body"}` {
		t.Errorf("long title: %s", got)
	}
	// Of the component union, the button branch is the one reported.
	got := check("POST", msgs, `{"components":[{"type":1,"components":[{"type":2,"style":1,"label":"a","custom_id":"`+strings.Repeat("x", 101)+`"}]}]}`)
	if got != `{"code":50035,"errors":{"components":{"0":{"components":{"0":{"custom_id":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 100 or fewer in length."}]}}}}}},"message":"Invalid Form Body"}` {
		t.Errorf("long custom_id: %s", got)
	}
	// Numeric strings are taken for integers, as Discord does.
	cmds := "/applications/{application_id}/guilds/{guild_id}/commands"
	if got := check("PUT", cmds, `[{"name":"xb","description":"d","default_member_permissions":"8192"}]`); got != "" {
		t.Errorf("numeric string refused: %s", got)
	}
	if got := check("PUT", cmds, `[{"name":"xb","description":"d","default_member_permissions":"lots"}]`); !strings.Contains(got, "NUMBER_TYPE_COERCE") {
		t.Errorf("non-numeric string: %s", got)
	}
	cb := "/interactions/{interaction_id}/{interaction_token}/callback"
	if got := check("POST", cb, `{"type":4,"data":{"content":"ok","flags":64}}`); got != "" {
		t.Errorf("callback refused: %s", got)
	}
	if got := check("POST", cb, `{"type":99}`); !strings.Contains(got, "BASE_TYPE_CHOICES") {
		t.Errorf("callback of type 99: %s", got)
	}
}

// TestSpecResponses runs a bridge's usual calls with every answer checked
// against the description's response schemas.
func TestSpecResponses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var checked atomic.Int32
	srv := httptest.NewServer(checkResponses(t, f.sim, &checked))
	t.Cleanup(srv.Close)
	f.sim.SetBaseURL(srv.URL)
	f.client.Transport = transport(t, srv.URL)
	s := f.session(t, intentsAll)

	if _, err := s.GatewayBot(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User("@me"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{testText, testForum} {
		if _, err := s.Channel(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GuildChannels(testGuild); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GuildMember(testGuild, testAgent); err != nil {
		t.Fatal(err)
	}
	q := f.sim.PostAsUser(testAgent, testText, "hi <@"+testBot+">")
	card := claimCard("new")
	card.Reference = &discordgo.MessageReference{MessageID: q}
	msg, err := s.ChannelMessageSendComplex(testText, card)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.MessageReactionAdd(testText, msg.ID, "👍")
	if _, err := s.ChannelMessage(testText, msg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChannelMessages(testText, 50, "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChannelMessageEdit(testText, msg.ID, "edited"); err != nil {
		t.Fatal(err)
	}
	th, err := s.MessageThreadStart(testText, msg.ID, "thread", 1440)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ForumThreadStartComplex(testForum, &discordgo.ThreadStart{Name: "post", AppliedTags: []string{tagOpen}}, &discordgo.MessageSend{Content: "x"}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := s.ChannelEdit(th.ID, &discordgo.ChannelEdit{Archived: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationCommandBulkOverwrite(testBot, testGuild, xbCommands(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationCommands(testBot, testGuild); err != nil {
		t.Fatal(err)
	}
	_, _ = s.ChannelMessageSend(testText, strings.Repeat("x", 2001)) // a 400 answer
	dm, err := s.UserChannelCreate(testAgent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChannelMessageSendComplex(dm.ID, claimCard("in a DM")); err != nil {
		t.Fatal(err)
	}
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		_, _ = s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "done"})
		_, _ = s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: ptr("done!")})
		_, _ = s.InteractionResponse(i.Interaction)
	})
	f.open(t, s)
	if res := f.sim.SlashCommand(testAgent, testText, "status", nil); res.Failed {
		t.Errorf("status: %+v", res)
	}
	f.waitFor(t, "the interaction's calls", func() bool { return checked.Load() >= 21 })
}

func ptr[T any](v T) *T { return &v }
