package bridge

import (
	"strings"
	"sync"
	"time"
)

// Rate is a token bucket: Burst sends at once, then one every Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// LaneLimiter paces deliveries per lane so the bridge stays inside each
// platform's limits instead of learning them from 429s. Lanes are grouped in
// classes ("slack:post", "slack:edit", "x:dm", "x:tweet") that share a Rate;
// each lane has its own bucket. A class without a Rate is not limited.
type LaneLimiter struct {
	Rates map[string]Rate

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// LaneClass returns the class of a lane: "x:<account>:dm" → "x:dm",
// "slack:post:C1" → "slack:post".
func LaneClass(lane string) string {
	parts := strings.Split(lane, ":")
	switch {
	case len(parts) < 2:
		return lane
	case parts[0] == "x":
		return "x:" + parts[len(parts)-1]
	}
	return parts[0] + ":" + parts[1]
}

// chatLane is the lane of a chat effect: new messages and edits (card
// updates, reactions) have separate limits on chat platforms.
func chatLane(conv *Conversation, effect Effect) string {
	kind := "post"
	if effect != EffectCard && effect != EffectPost && effect != EffectChatFile {
		kind = "edit"
	}
	return conv.ChatPlatform + ":" + kind + ":" + conv.ChatChannel
}

// Take consumes a slot in lane at now, or returns how long to wait for one
// without consuming anything.
func (l *LaneLimiter) Take(lane string, now time.Time) time.Duration {
	r, ok := l.Rates[LaneClass(lane)]
	if !ok || r.Every <= 0 {
		return 0
	}
	burst := float64(max(r.Burst, 1))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[string]*bucket)
	}
	b, ok := l.buckets[lane]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.buckets[lane] = b
	}
	if now.After(b.last) {
		b.tokens = min(burst, b.tokens+float64(now.Sub(b.last))/float64(r.Every))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(r.Every))
}
