package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
)

// Roles says who holds which role in Slack. Each entry is a user id
// (U…, W…), a user group id (S…) or a user group handle (@support-team);
// groups are read with usergroups.list and usergroups.users.list.
// When all three lists are empty, roles are not configured and everyone is
// an agent.
type Roles struct {
	Agents    []string
	Engineers []string
	Leads     []string
}

// RolesRefresh is how often the user groups of Roles are read again.
const RolesRefresh = 10 * time.Minute

// rolesTimeout bounds one reading of the user groups.
const rolesTimeout = 30 * time.Second

// lists pairs each role with its entries, in the order roles are reported.
func (r Roles) lists() []roleList {
	return []roleList{
		{bridge.RoleAgent, "slack.roles.agents", r.Agents},
		{bridge.RoleEngineer, "slack.roles.engineers", r.Engineers},
		{bridge.RoleLead, "slack.roles.leads", r.Leads},
	}
}

type roleList struct {
	role    bridge.Role
	key     string
	entries []string
}

// configured reports whether any role is given.
func (r Roles) configured() bool {
	return len(r.Agents)+len(r.Engineers)+len(r.Leads) > 0
}

// usesGroups reports whether an entry names a user group.
func (r Roles) usesGroups() bool {
	for _, l := range r.lists() {
		for _, e := range l.entries {
			if k, _ := roleEntry(e); k != entryUser {
				return true
			}
		}
	}
	return false
}

func (r Roles) validate() []error {
	var errs []error
	for _, l := range r.lists() {
		for _, e := range l.entries {
			if k, _ := roleEntry(e); k == entryInvalid {
				errs = append(errs, fmt.Errorf("%s: %q is neither a user id (U…, W…), a user group id (S…) nor a user group handle (@support)", l.key, e))
			}
		}
	}
	return errs
}

type entryKind int

const (
	entryInvalid entryKind = iota
	entryUser
	entryGroupID
	entryHandle
)

// roleEntry classifies one entry of Roles and returns the id or handle
// (without @, lowercased) it names.
func roleEntry(e string) (entryKind, string) {
	e = strings.TrimSpace(e)
	switch {
	case len(e) > 1 && e[0] == '@':
		return entryHandle, strings.ToLower(e[1:])
	case len(e) > 1 && (e[0] == 'U' || e[0] == 'W') && isSlackID(e):
		return entryUser, e
	case len(e) > 1 && e[0] == 'S' && isSlackID(e):
		return entryGroupID, e
	}
	return entryInvalid, ""
}

// isSlackID reports whether s looks like a Slack id: upper-case letters
// and digits.
func isSlackID(s string) bool {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// roleTable holds the roles as last resolved.
type roleTable struct {
	cfg Roles

	mu    sync.RWMutex
	users map[string][]bridge.Role
}

// newRoleTable resolves what needs no request: the user ids.
func newRoleTable(cfg Roles) *roleTable {
	users, _ := resolveRoles(cfg, nil, nil)
	return &roleTable{cfg: cfg, users: users}
}

func (t *roleTable) of(userID string) []bridge.Role {
	if !t.cfg.configured() {
		return []bridge.Role{bridge.RoleAgent}
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]bridge.Role{}, t.users[userID]...)
}

func (t *roleTable) set(users map[string][]bridge.Role) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users = users
}

// resolveRoles works out each user's roles from the configuration, the
// workspace's user groups and their members (by group id). It also names
// the entries that match no group; with groups nil (not read yet) only
// user ids count and nothing is reported.
func resolveRoles(cfg Roles, groups []slackapi.UserGroup, members map[string][]string) (map[string][]bridge.Role, []string) {
	byHandle := map[string]string{}
	known := map[string]bool{}
	for _, g := range groups {
		byHandle[strings.ToLower(g.Handle)] = g.ID
		known[g.ID] = true
	}
	users := map[string][]bridge.Role{}
	grant := func(user string, r bridge.Role) {
		if !slices.Contains(users[user], r) {
			users[user] = append(users[user], r)
		}
	}
	var problems []string
	for _, l := range cfg.lists() {
		for _, e := range l.entries {
			kind, v := roleEntry(e)
			groupID := ""
			switch kind {
			case entryUser:
				grant(v, l.role)
				continue
			case entryGroupID:
				groupID = v
			case entryHandle:
				groupID = byHandle[v]
			default:
				continue // refused by Validate
			}
			if groups != nil && (groupID == "" || !known[groupID]) {
				problems = append(problems, fmt.Sprintf("%s: no user group %s in the workspace", l.key, e))
				continue
			}
			for _, u := range members[groupID] {
				grant(u, l.role)
			}
		}
	}
	return users, problems
}

// refreshRoles reads the user groups the roles name and replaces the
// table. Without groups to read it does nothing. On failure the table
// keeps what it had; entries naming no group are left out and reported.
func (a *Adapter) refreshRoles(ctx context.Context) error {
	cfg := a.roles.cfg
	if !cfg.usesGroups() {
		return nil
	}
	groups, err := a.api.GetUserGroupsContext(ctx)
	if err != nil {
		return rolesError("usergroups.list", err)
	}
	byHandle := map[string]string{}
	for _, g := range groups {
		byHandle[strings.ToLower(g.Handle)] = g.ID
	}
	members := map[string][]string{}
	for _, l := range cfg.lists() {
		for _, e := range l.entries {
			kind, v := roleEntry(e)
			id := v
			if kind == entryHandle {
				id = byHandle[v]
			}
			if kind == entryUser || kind == entryInvalid || id == "" {
				continue
			}
			if _, done := members[id]; done {
				continue
			}
			users, err := a.api.GetUserGroupMembersContext(ctx, id)
			switch {
			case slackErrorCode(err) == "no_such_subteam":
				continue // reported by resolveRoles
			case err != nil:
				return rolesError("usergroups.users.list", err)
			}
			members[id] = users
		}
	}
	if groups == nil {
		groups = []slackapi.UserGroup{} // read, and there are none
	}
	users, problems := resolveRoles(cfg, groups, members)
	a.roles.set(users)
	if len(problems) > 0 {
		return errors.New("slack: " + strings.Join(problems, "; "))
	}
	return nil
}

// rolesError explains why the user groups could not be read.
func rolesError(method string, err error) error {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "missing_scope" {
		return fmt.Errorf("slack: %s needs the usergroups:read scope to resolve slack.roles: reinstall the app with the manifest", method)
	}
	return fmt.Errorf("slack: %s for slack.roles: %w", method, err)
}

// startRoleRefresh reads the user groups every RolesRefresh until Close.
func (a *Adapter) startRoleRefresh() {
	if !a.roles.cfg.usesGroups() {
		return
	}
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()
	if a.closed {
		return
	}
	a.refreshWG.Add(1)
	go func() {
		defer a.refreshWG.Done()
		t := time.NewTicker(RolesRefresh)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), rolesTimeout)
			if err := a.refreshRoles(ctx); err != nil {
				a.logger.Warn("slack roles not refreshed; keeping the last ones", "err", err)
			}
			cancel()
		}
	}()
}

// RolesOf returns the roles of a Slack user. When no roles are configured
// everyone is an agent ([]bridge.Role{bridge.RoleAgent}); otherwise a user
// holds the roles whose lists name them or a group they belong to, possibly
// none (an empty, non-nil slice).
func (a *Adapter) RolesOf(userID string) []bridge.Role {
	return a.roles.of(userID)
}

// NameOf returns the name Slack shows for a user, from users.info (cached);
// "" when Slack cannot tell.
func (a *Adapter) NameOf(userID string) string {
	return a.userName(context.Background(), userID)
}
