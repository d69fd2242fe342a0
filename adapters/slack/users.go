package slack

import (
	"context"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
)

// maxCachedUsers bounds the user cache; expired entries are dropped when
// it is full.
const maxCachedUsers = 10000

// userCache resolves Slack user ids to display names with users.info,
// remembering answers for a while.
type userCache struct {
	api *slackapi.Client
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedUser
}

type cachedUser struct {
	name    string
	expires time.Time
}

func newUserCache(api *slackapi.Client, ttl time.Duration, now func() time.Time) *userCache {
	return &userCache{api: api, ttl: ttl, now: now, entries: map[string]cachedUser{}}
}

// Name returns the name Slack shows for userID: the display name, else the
// real name, else the handle. Errors are returned with an empty name; the
// caller decides whether a name is worth failing for.
func (c *userCache) Name(ctx context.Context, userID string) (string, error) {
	if userID == "" {
		return "", nil
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[userID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.name, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", err
	}
	name := u.Profile.DisplayName
	if name == "" {
		name = u.Profile.RealName
	}
	if name == "" {
		name = u.RealName
	}
	if name == "" {
		name = u.Name
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedUsers {
		for id, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxCachedUsers {
			clear(c.entries)
		}
	}
	c.entries[userID] = cachedUser{name: name, expires: now.Add(c.ttl)}
	return name, nil
}
