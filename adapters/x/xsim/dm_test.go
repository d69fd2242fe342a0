package xsim

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

type dmEventsPage struct {
	Data []struct {
		ID               string `json:"id"`
		EventType        string `json:"event_type"`
		Text             string `json:"text"`
		SenderID         string `json:"sender_id"`
		DMConversationID string `json:"dm_conversation_id"`
		CreatedAt        string `json:"created_at"`
	} `json:"data"`
	Includes struct {
		Users []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Name     string `json:"name"`
		} `json:"users"`
	} `json:"includes"`
	Meta struct {
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
}

func TestSendDM(t *testing.T) {
	t.Parallel()
	for _, a := range []auth{bearer, oauth1} {
		t.Run(fmt.Sprint("auth", a), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp, body := f.do(t, http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]string{"text": "Hello Alice"}, a)
			mustStatus(t, resp, body, http.StatusCreated)
			var out struct {
				Data struct {
					ConversationID string `json:"dm_conversation_id"`
					EventID        string `json:"dm_event_id"`
				} `json:"data"`
			}
			decode(t, body, &out)
			if out.Data.ConversationID != "1000-2001" || out.Data.EventID == "" {
				t.Fatalf("answer %s", body)
			}
			got := f.sim.DMsTo("2001")
			if len(got) != 1 {
				t.Fatalf("DMsTo = %v, want one DM", got)
			}
			want := DMEvent{ID: out.Data.EventID, ConversationID: "1000-2001", SenderID: supportID, RecipientID: "2001", Text: "Hello Alice", CreatedAt: start}
			if !reflect.DeepEqual(got[0], want) {
				t.Fatalf("DM = %+v, want %+v", got[0], want)
			}
			noViolations(t, f.sim)
		})
	}
}

func TestSendDMRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		why    string // part of the violation
	}{
		{"empty object", "/2/dm_conversations/with/2001/messages", map[string]any{}, 400, "anyOf"},
		{"empty text", "/2/dm_conversations/with/2001/messages", map[string]any{"text": ""}, 400, "request body"},
		{"text not a string", "/2/dm_conversations/with/2001/messages", map[string]any{"text": 5}, 400, "request body"},
		{"not JSON", "/2/dm_conversations/with/2001/messages", "text=hi", 400, "request body"},
		{"too long", "/2/dm_conversations/with/2001/messages", map[string]any{"text": strings.Repeat("é", 10001)}, 400, "10000"},
		{"bad participant id", "/2/dm_conversations/with/alice/messages", map[string]any{"text": "hi"}, 400, "participant_id"},
		{"unknown participant", "/2/dm_conversations/with/9999/messages", map[string]any{"text": "hi"}, 400, "participant_id"},
		{"to self", "/2/dm_conversations/with/1000/messages", map[string]any{"text": "hi"}, 400, "participant_id"},
		{"no body", "/2/dm_conversations/with/2001/messages", nil, 400, "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp, body := f.do(t, http.MethodPost, tc.path, tc.body, bearer)
			mustStatus(t, resp, body, tc.status)
			var problem struct {
				Title  string `json:"title"`
				Type   string `json:"type"`
				Errors []struct {
					Message string `json:"message"`
				} `json:"errors"`
			}
			decode(t, body, &problem)
			if problem.Title != "Invalid Request" || problem.Type != "https://api.twitter.com/2/problems/invalid-request" || len(problem.Errors) == 0 {
				t.Errorf("problem %s", body)
			}
			if v := violationsContaining(f.sim, tc.why); len(v) != 1 {
				t.Errorf("violations %q, want one about %q", f.sim.Violations(), tc.why)
			}
			if n := len(f.sim.DMEvents()); n != 0 {
				t.Errorf("%d DMs recorded, want none", n)
			}
		})
	}
	t.Run("10000 characters is fine", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		resp, body := f.do(t, http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]any{"text": strings.Repeat("é", 10000)}, bearer)
		mustStatus(t, resp, body, http.StatusCreated)
		noViolations(t, f.sim)
	})
}

// TestDMEventsPaging pages through GET /2/dm_events, newest first.
func TestDMEventsPaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var want []string // ids, oldest first
	for i := range 25 {
		f.clock.Advance(time.Minute)
		if i%3 == 2 {
			resp, body := f.do(t, http.MethodPost, "/2/dm_conversations/with/2002/messages", map[string]string{"text": fmt.Sprint("reply ", i)}, bearer)
			mustStatus(t, resp, body, http.StatusCreated)
			want = append(want, f.sim.DMsTo("2002")[len(f.sim.DMsTo("2002"))-1].ID)
			continue
		}
		from := "2001"
		if i%2 == 1 {
			from = "2002"
		}
		want = append(want, f.sim.CustomerDM(from, fmt.Sprint("message ", i)).ID)
	}

	var got []string
	token := ""
	pages := 0
	for {
		q := "/2/dm_events?max_results=10&dm_event.fields=id,text,event_type,created_at,dm_conversation_id,sender_id&expansions=sender_id&user.fields=username,name,profile_image_url,public_metrics,verified"
		if token != "" {
			q += "&pagination_token=" + token
		}
		resp, body := f.do(t, http.MethodGet, q, nil, oauth1)
		mustStatus(t, resp, body, http.StatusOK)
		var page dmEventsPage
		decode(t, body, &page)
		pages++
		if page.Meta.ResultCount != len(page.Data) {
			t.Fatalf("result_count %d for %d events", page.Meta.ResultCount, len(page.Data))
		}
		for _, ev := range page.Data {
			if ev.EventType != "MessageCreate" || ev.SenderID == "" || !strings.HasPrefix(ev.DMConversationID, "1000-200") || ev.Text == "" {
				t.Fatalf("event %+v", ev)
			}
			if _, err := time.Parse(v2Time, ev.CreatedAt); err != nil {
				t.Fatalf("created_at %q: %v", ev.CreatedAt, err)
			}
			got = append(got, ev.ID)
		}
		if len(page.Includes.Users) == 0 {
			t.Fatalf("no includes.users in %s", body)
		}
		if token = page.Meta.NextToken; token == "" {
			break
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[len(want)-1-i] {
			t.Fatalf("event %d is %s, want %s (newest first)", i, got[i], want[len(want)-1-i])
		}
	}
	noViolations(t, f.sim)
}

func TestDMEventsFieldsAndFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old := f.sim.CustomerDM("2001", "old news")
	f.clock.Advance(31 * 24 * time.Hour)
	a := f.sim.CustomerDM("2001", "from alice")
	b := f.sim.CustomerDM("2002", "from bob")

	t.Run("default fields", func(t *testing.T) {
		resp, body := f.do(t, http.MethodGet, "/2/dm_events", nil, bearer)
		mustStatus(t, resp, body, http.StatusOK)
		want := fmt.Sprintf(`{"data":[{"event_type":"MessageCreate","id":"%s","text":"from bob"},{"event_type":"MessageCreate","id":"%s","text":"from alice"}],"meta":{"result_count":2}}`+"\n", b.ID, a.ID)
		if string(body) != want {
			t.Fatalf("body\n%s\nwant (only the last 30 days, only id, event_type and text)\n%s", body, want)
		}
	})
	t.Run("by conversation", func(t *testing.T) {
		for _, path := range []string{"/2/dm_conversations/1000-2002/dm_events", "/2/dm_conversations/with/2002/dm_events"} {
			resp, body := f.do(t, http.MethodGet, path+"?dm_event.fields=sender_id,dm_conversation_id", nil, bearer)
			mustStatus(t, resp, body, http.StatusOK)
			var page dmEventsPage
			decode(t, body, &page)
			if len(page.Data) != 1 || page.Data[0].ID != b.ID || page.Data[0].SenderID != "2002" || page.Data[0].DMConversationID != "1000-2002" {
				t.Fatalf("%s: %s", path, body)
			}
		}
	})
	t.Run("event_types", func(t *testing.T) {
		resp, body := f.do(t, http.MethodGet, "/2/dm_events?event_types=ParticipantsJoin", nil, bearer)
		mustStatus(t, resp, body, http.StatusOK)
		if string(body) != `{"meta":{"result_count":0}}`+"\n" {
			t.Fatalf("body %s", body)
		}
	})
	noViolations(t, f.sim)
	_ = old

	tests := []struct{ name, query string }{
		{"since_id does not exist on DM lookup", "since_id=" + a.ID},
		{"max_results over 100", "max_results=101"},
		{"max_results zero", "max_results=0"},
		{"unknown field", "dm_event.fields=sender,text"},
		{"short pagination token", "pagination_token=abc"},
		{"forged pagination token", "pagination_token=ZZZZZZZZZZZZZZZZZZZZ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.sim.Violations())
			resp, body := f.do(t, http.MethodGet, "/2/dm_events?"+tc.query, nil, bearer)
			mustStatus(t, resp, body, http.StatusBadRequest)
			if len(f.sim.Violations()) != before+1 {
				t.Fatalf("no violation recorded")
			}
		})
	}
}
