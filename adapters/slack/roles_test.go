package slack

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/bridge"
)

func TestResolveRoles(t *testing.T) {
	t.Parallel()
	groups := []slackapi.UserGroup{{ID: "S0SUP", Handle: "support-team"}, {ID: "S0ENG", Handle: "eng"}, {ID: "S0LEAD", Handle: "Leads"}}
	members := map[string][]string{"S0SUP": {"UANN", "UBOB"}, "S0ENG": {"UENG", "UBOB"}, "S0LEAD": {"ULEA"}}
	var (
		agent    = bridge.RoleAgent
		engineer = bridge.RoleEngineer
		lead     = bridge.RoleLead
	)
	tests := []struct {
		name     string
		cfg      Roles
		groups   []slackapi.UserGroup // nil: not read
		want     map[string][]bridge.Role
		problems []string
	}{
		{"user ids", Roles{Agents: []string{"UANN", "WBOB"}, Leads: []string{"UANN"}}, nil,
			map[string][]bridge.Role{"UANN": {agent, lead}, "WBOB": {agent}}, nil},
		{"handles", Roles{Agents: []string{"@support-team"}, Engineers: []string{"@ENG"}, Leads: []string{"@leads"}}, groups,
			map[string][]bridge.Role{"UANN": {agent}, "UBOB": {agent, engineer}, "UENG": {engineer}, "ULEA": {lead}}, nil},
		{"group ids and user ids together", Roles{Agents: []string{"S0SUP", "UZED"}, Engineers: []string{"S0ENG"}}, groups,
			map[string][]bridge.Role{"UANN": {agent}, "UBOB": {agent, engineer}, "UENG": {engineer}, "UZED": {agent}}, nil},
		{"groups not read yet: only user ids", Roles{Agents: []string{"@support-team", "UZED"}}, nil,
			map[string][]bridge.Role{"UZED": {agent}}, nil},
		{"unknown groups are named", Roles{Agents: []string{"@nope", "S0GONE", "UZED"}}, groups,
			map[string][]bridge.Role{"UZED": {agent}},
			[]string{"slack.roles.agents: no user group @nope in the workspace", "slack.roles.agents: no user group S0GONE in the workspace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, problems := resolveRoles(tt.cfg, tt.groups, members)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("roles = %v, want %v", got, tt.want)
			}
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems = %q, want %q", problems, tt.problems)
			}
		})
	}
}

func TestRolesOf(t *testing.T) {
	t.Parallel()
	none := newRoleTable(Roles{})
	if got := none.of("UANY"); !slices.Equal(got, []bridge.Role{bridge.RoleAgent}) {
		t.Errorf("no roles configured: %v, want everyone an agent", got)
	}
	some := newRoleTable(Roles{Engineers: []string{"UENG"}})
	if got := some.of("UANY"); got == nil || len(got) != 0 {
		t.Errorf("configured, not listed: %#v, want an empty non-nil slice", got)
	}
	if got := some.of("UENG"); !slices.Equal(got, []bridge.Role{bridge.RoleEngineer}) {
		t.Errorf("engineer: %v", got)
	}
	// Callers may not change the table.
	some.of("UENG")[0] = bridge.RoleLead
	if got := some.of("UENG"); got[0] != bridge.RoleEngineer {
		t.Errorf("the table was changed through a result: %v", got)
	}
}

func TestRolesValidate(t *testing.T) {
	t.Parallel()
	_, err := New(Config{BotToken: "xoxb-1", SigningSecret: "s",
		Roles: Roles{Agents: []string{"UOK", "@ok", "S0OK", "support"}, Leads: []string{"u123"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), `slack.roles.agents: "support"`) || !strings.Contains(err.Error(), `slack.roles.leads: "u123"`) ||
		strings.Contains(err.Error(), "UOK") {
		t.Errorf("New: %v", err)
	}
}

func TestRolesFromUserGroups(t *testing.T) {
	t.Parallel()
	b := setupWith(t, httpMode, func(sim *slacksim.Server, cfg *Config) {
		sim.AddUser(slacksim.User{ID: "UENG1", Name: "eve"})
		sim.AddUserGroup("S0SUP", "support-team", testAgent)
		sim.AddUserGroup("S0ENG", "eng", "UENG1", "ULEAD1")
		cfg.Roles = Roles{Agents: []string{"@support-team"}, Engineers: []string{"S0ENG"}, Leads: []string{"ULEAD1"}}
	})
	a := b.adapter
	for user, want := range map[string][]bridge.Role{
		testAgent: {bridge.RoleAgent},
		"UENG1":   {bridge.RoleEngineer},
		"ULEAD1":  {bridge.RoleEngineer, bridge.RoleLead},
		"UOTHER":  {},
	} {
		if got := a.RolesOf(user); !slices.Equal(got, want) || got == nil {
			t.Errorf("RolesOf(%s) = %#v, want %v", user, got, want)
		}
	}

	// Group membership changes are picked up by the next refresh.
	b.sim.AddUserGroup("S0SUP", "support-team", testAgent, "UOTHER")
	if err := a.refreshRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := a.RolesOf("UOTHER"); !slices.Equal(got, []bridge.Role{bridge.RoleAgent}) {
		t.Errorf("after the refresh: %v", got)
	}

	// An engineer's message in a thread carries the role, so the domain
	// keeps it internal.
	thread := b.postCard(t)
	ts := b.sim.PostAsUser("UENG1", testChannel, thread, "looking at the logs")
	b.waitFor(t, "the engineer's message", b.h.has(ts))
	if m, _ := b.h.Message(ts); !slices.Equal(m.Roles, []bridge.Role{bridge.RoleEngineer}) || m.UserName != "eve" {
		t.Errorf("message %+v", m)
	}
	if got := a.NameOf("UENG1"); got != "eve" {
		t.Errorf("NameOf = %q", got)
	}
	b.noViolations(t)

	// Check names a handle that matches no group.
	bad, err := New(Config{APIURL: b.srv.URL + "/api/", BotToken: testBotToken, SigningSecret: testSecret,
		Roles: Roles{Agents: []string{"@nope"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "@nope") {
		t.Errorf("Check with an unknown group: %v", err)
	}
}
