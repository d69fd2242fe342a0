package discord

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// tagsTTL is how long a forum's tags are trusted before they are read
// again.
const tagsTTL = 5 * time.Minute

// channelInfo is what the adapter needs to know of a channel or thread.
type channelInfo struct {
	ID       string
	Name     string
	Type     discordgo.ChannelType
	ParentID string               // a thread's channel or forum
	OwnerID  string               // who started a thread
	Tags     []discordgo.ForumTag // a forum's available tags
	read     time.Time            // when Tags were learnt
}

// isThread reports whether the channel is a thread (a forum post is one).
func (c channelInfo) isThread() bool {
	return c.Type == discordgo.ChannelTypeGuildPublicThread ||
		c.Type == discordgo.ChannelTypeGuildPrivateThread ||
		c.Type == discordgo.ChannelTypeGuildNewsThread
}

// isForum reports whether the channel is a forum (or media) channel, whose
// messages live in posts.
func (c channelInfo) isForum() bool {
	return c.Type == discordgo.ChannelTypeGuildForum || c.Type == discordgo.ChannelTypeGuildMedia
}

// infoOf copies what the adapter keeps of a channel object.
func infoOf(ch *discordgo.Channel, now time.Time) channelInfo {
	return channelInfo{
		ID: ch.ID, Name: ch.Name, Type: ch.Type, ParentID: ch.ParentID, OwnerID: ch.OwnerID,
		Tags: slices.Clone(ch.AvailableTags), read: now,
	}
}

// channelCache remembers channels' types and parents, which never change,
// and forums' tags for tagsTTL. It learns them from Gateway events, from
// the threads the adapter creates, and from GET /channels/{id}.
type channelCache struct {
	a  *Adapter
	mu sync.Mutex
	m  map[string]channelInfo
}

func newChannelCache(a *Adapter) *channelCache {
	return &channelCache{a: a, m: map[string]channelInfo{}}
}

// learn records a channel object.
func (c *channelCache) learn(ch *discordgo.Channel) {
	if ch == nil || ch.ID == "" {
		return
	}
	info := infoOf(ch, c.a.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[ch.ID]; ok {
		// Partial objects keep what was known.
		info.ParentID = cmp.Or(info.ParentID, old.ParentID)
		info.OwnerID = cmp.Or(info.OwnerID, old.OwnerID)
	}
	c.m[ch.ID] = info
}

// learnThread records a thread the adapter (the bot) created.
func (c *channelCache) learnThread(id, parent string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok {
		c.m[id] = channelInfo{ID: id, Type: discordgo.ChannelTypeGuildPublicThread, ParentID: parent,
			OwnerID: c.a.self(), read: c.a.now()}
	}
}

// get returns what is known of a channel, asking Discord when nothing is.
func (c *channelCache) get(ctx context.Context, id string) (channelInfo, error) {
	c.mu.Lock()
	info, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return info, nil
	}
	return c.fetch(ctx, id)
}

// fetch reads a channel with GET /channels/{id}.
func (c *channelCache) fetch(ctx context.Context, id string) (channelInfo, error) {
	ch, err := c.a.session.Channel(id, discordgo.WithContext(ctx))
	if err != nil {
		return channelInfo{}, err
	}
	c.learn(ch)
	return infoOf(ch, c.a.now()), nil
}

// forumTags returns a forum's available tags, read again when older than
// tagsTTL.
func (c *channelCache) forumTags(ctx context.Context, forumID string) ([]discordgo.ForumTag, error) {
	info, err := c.get(ctx, forumID)
	if err != nil {
		return nil, err
	}
	if c.a.now().Sub(info.read) > tagsTTL {
		if info, err = c.fetch(ctx, forumID); err != nil {
			return nil, err
		}
	}
	return info.Tags, nil
}

// place is where a message or command happened, in the bridge's terms: the
// channel a conversation's thread belongs to, and the thread.
type place struct {
	Channel  string // the parent channel (support channel or forum) of a thread
	ThreadID string // the thread; "" outside threads
	// BotThread: the bot started the thread (a ticket or escalation
	// thread, even one whose record is still being written).
	BotThread bool
}

// placeOf locates a Discord channel: a thread is the ThreadID and its
// parent the Channel; another channel is the Channel alone. When the
// channel cannot be read it is taken as a channel.
func (a *Adapter) placeOf(ctx context.Context, channelID string) place {
	info, err := a.channels.get(ctx, channelID)
	if err != nil {
		a.logger.Warn("discord channel lookup failed", "channel", channelID, "err", redact(err, a.cfg.Token))
		return place{Channel: channelID}
	}
	if info.isThread() && info.ParentID != "" {
		return place{Channel: info.ParentID, ThreadID: channelID, BotThread: info.OwnerID != "" && info.OwnerID == a.self()}
	}
	return place{Channel: channelID}
}

// boundedMap is a map that forgets its oldest entries beyond a size.
type boundedMap[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	m     map[K]V
	order []K
}

func newBoundedMap[K comparable, V any](max int) *boundedMap[K, V] {
	return &boundedMap[K, V]{max: max, m: map[K]V{}}
}

func (b *boundedMap[K, V]) put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; !ok {
		b.order = append(b.order, k)
		if len(b.order) > b.max {
			delete(b.m, b.order[0])
			b.order = b.order[1:]
		}
	}
	b.m[k] = v
}

func (b *boundedMap[K, V]) get(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

// tagMemo remembers the tags last applied to forum posts, so that a card
// update changes applied_tags only when they changed.
type tagMemo = boundedMap[string, string]

func newTagMemo(size int) *tagMemo { return newBoundedMap[string, string](size) }

// tagIDs maps conversation tags onto the ids of the forum's tags of the
// same name (ignoring case), in the conversation's order, at most five (the
// most a post may carry).
func tagIDs(forum []discordgo.ForumTag, tags []string) []string {
	out := []string{}
	for _, t := range tags {
		for _, ft := range forum {
			if strings.EqualFold(strings.TrimSpace(ft.Name), strings.TrimSpace(t)) && !slices.Contains(out, ft.ID) {
				out = append(out, ft.ID)
			}
		}
		if len(out) == 5 {
			break
		}
	}
	return out
}
