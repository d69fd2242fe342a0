package discord

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
)

// memberTimeout bounds a GET of a member on the way to a handler.
const memberTimeout = 2 * time.Second

// lists pairs each bridge role with its entries, in the order roles are
// reported.
func (r Roles) lists() []roleList {
	return []roleList{
		{bridge.RoleAgent, "discord.roles.agents", r.Agents},
		{bridge.RoleEngineer, "discord.roles.engineers", r.Engineers},
		{bridge.RoleLead, "discord.roles.leads", r.Leads},
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

func (r Roles) validate() []error {
	var errs []error
	for _, l := range r.lists() {
		for _, e := range l.entries {
			if !isSnowflake(roleEntry(e)) {
				errs = append(errs, fmt.Errorf("%s: %q is not a Discord role id or user id (a number; Developer Mode → right-click → Copy ID)", l.key, e))
			}
		}
	}
	return errs
}

// roleEntry reads one entry of Roles: an id, or mention markup <@&id>,
// <@id>.
func roleEntry(e string) string {
	e = strings.TrimSpace(e)
	if m := markupMention.FindStringSubmatch(e); m != nil && m[0] == e {
		return m[2]
	}
	return e
}

// rolesOf works out a member's bridge roles from their user id and
// Discord role ids. When no roles are configured everyone is an agent.
func (r Roles) rolesOf(userID string, discordRoles []string) []bridge.Role {
	if !r.configured() {
		return []bridge.Role{bridge.RoleAgent}
	}
	out := []bridge.Role{}
	for _, l := range r.lists() {
		for _, e := range l.entries {
			id := roleEntry(e)
			if id == userID || slices.Contains(discordRoles, id) {
				out = append(out, l.role)
				break
			}
		}
	}
	return out
}

// member is what the adapter keeps of a guild member.
type member struct {
	roles []string
	name  string
	at    time.Time
}

// memberCache keeps members' Discord roles and names for a while: events
// carry them, and GET /guilds/{guild}/members/{user} reads them otherwise.
type memberCache struct {
	a   *Adapter
	ttl time.Duration

	mu sync.Mutex
	m  map[string]member
}

func newMemberCache(a *Adapter, ttl time.Duration) *memberCache {
	return &memberCache{a: a, ttl: ttl, m: map[string]member{}}
}

// learn records a member as an event shows them. A user object alone
// gives a name but no roles.
func (c *memberCache) learn(userID string, mem *discordgo.Member, user *discordgo.User) {
	if userID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.m[userID]
	if name := displayName(mem, user); name != "" {
		m.name = name
	}
	if mem != nil {
		m.roles, m.at = slices.Clone(mem.Roles), c.a.now()
	}
	c.m[userID] = m
}

// get returns a member, reading it from Discord when not known or stale.
func (c *memberCache) get(ctx context.Context, userID string) (member, bool) {
	c.mu.Lock()
	m, ok := c.m[userID]
	c.mu.Unlock()
	if ok && c.a.now().Sub(m.at) < c.ttl {
		return m, true
	}
	if !isSnowflake(userID) {
		return m, ok
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	mem, err := c.a.session.GuildMember(c.a.cfg.GuildID, userID, discordgo.WithContext(ctx))
	if err != nil {
		c.a.logger.Warn("discord member lookup failed", "user", userID, "err", redact(err, c.a.cfg.Token))
		return m, ok
	}
	c.learn(userID, mem, mem.User)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[userID], true
}

// displayName is the name Discord shows for a member: their server
// nickname, else their display name, else their username.
func displayName(mem *discordgo.Member, user *discordgo.User) string {
	if mem != nil && mem.Nick != "" {
		return mem.Nick
	}
	if user == nil && mem != nil {
		user = mem.User
	}
	if user == nil {
		return ""
	}
	if user.GlobalName != "" {
		return user.GlobalName
	}
	return user.Username
}

// RolesOf returns the bridge roles of a Discord user, from their Discord
// roles (read with GET /guilds/{guild}/members/{user} and kept for a few
// minutes). When no roles are configured everyone is an agent
// ([]bridge.Role{bridge.RoleAgent}); otherwise a user holds the roles whose
// lists name them or one of their Discord roles, possibly none (an empty,
// non-nil slice).
func (a *Adapter) RolesOf(userID string) []bridge.Role {
	if !a.cfg.Roles.configured() {
		return []bridge.Role{bridge.RoleAgent}
	}
	m, _ := a.members.get(context.Background(), userID)
	return a.cfg.Roles.rolesOf(userID, m.roles)
}

// rolesFor returns the roles of a member whose Discord roles an event
// carried, remembering them.
func (a *Adapter) rolesFor(userID string, mem *discordgo.Member, user *discordgo.User) []bridge.Role {
	if mem != nil {
		a.members.learn(userID, mem, user)
		return a.cfg.Roles.rolesOf(userID, mem.Roles)
	}
	return a.RolesOf(userID)
}

// NameOf returns the name Discord shows for a user in the server; "" when
// Discord cannot tell.
func (a *Adapter) NameOf(userID string) string {
	m, _ := a.members.get(context.Background(), userID)
	return m.name
}
