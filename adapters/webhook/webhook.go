// Package webhook sends SLA breaches to a paging service as signed JSON.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// Headers of a delivery.
const (
	TimestampHeader = "X-Xbridge-Timestamp"
	SignatureHeader = "X-Xbridge-Signature"
)

// Pager posts events to URL. Each request carries X-Xbridge-Timestamp (unix
// seconds) and X-Xbridge-Signature: "sha256=" + hex(HMAC-SHA256(secret,
// timestamp + "." + body)), so the receiver can check it came from this
// bridge and is fresh.
type Pager struct {
	URL    string
	Secret string
	Client *http.Client // base client; without one, or without a Timeout, a page times out after 10 s
	Now    func() time.Time
}

var _ bridge.Pager = (*Pager)(nil)

// Sign returns the signature header value for a body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's signature and that it is no older than
// maxAge: what a receiver does.
func Verify(secret string, header http.Header, body []byte, now time.Time, maxAge time.Duration) bool {
	ts, err := strconv.ParseInt(header.Get(TimestampHeader), 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)) > maxAge || time.Unix(ts, 0).Sub(now) > maxAge {
		return false
	}
	return hmac.Equal([]byte(header.Get(SignatureHeader)), []byte(Sign(secret, ts, body)))
}

// Page implements bridge.Pager.
func (p *Pager) Page(ctx context.Context, event []byte) error {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	client := &http.Client{}
	if p.Client != nil {
		copied := *p.Client
		client = &copied
	}
	if client.Timeout == 0 {
		client.Timeout = 10 * time.Second
	}
	ts := now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(event))
	if err != nil {
		return &bridge.DeliveryError{Reason: "paging webhook URL is invalid", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(p.Secret, ts, event))
	resp, err := client.Do(req)
	if err != nil {
		return &bridge.DeliveryError{Temporary: true, Reason: "paging webhook unreachable", Err: err}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		de := &bridge.DeliveryError{RateLimited: true, Reason: "paging webhook rate limited"}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			de.RetryAt = now().Add(time.Duration(s) * time.Second)
		}
		return de
	case resp.StatusCode >= 500:
		return &bridge.DeliveryError{Temporary: true, Reason: fmt.Sprintf("paging webhook answered %d", resp.StatusCode)}
	}
	return &bridge.DeliveryError{Reason: fmt.Sprintf("paging webhook refused the event (%d)", resp.StatusCode)}
}
