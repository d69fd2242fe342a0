package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/webhook"
	"github.com/xbridge/xbridge/bridge"
)

func TestPageIsSignedAndVerifiable(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := webhook.Verify("s3cret", r.Header, body, time.Now(), 5*time.Minute)
		mu.Lock()
		got = append(got, ok)
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	event := []byte(`{"event":"sla.breached","ticket":"#42"}`)
	if err := (&webhook.Pager{URL: srv.URL, Secret: "s3cret"}).Page(context.Background(), event); err != nil {
		t.Fatal(err)
	}
	err := (&webhook.Pager{URL: srv.URL, Secret: "wrong"}).Page(context.Background(), event)
	if de := bridge.AsDeliveryError(err); err == nil || de.Temporary {
		t.Fatalf("a refused page = %v; want a permanent error", err)
	}
	if len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("receiver verified %v; want true then false", got)
	}
}

func TestVerifyRejectsTamperingAndStaleDeliveries(t *testing.T) {
	t.Parallel()
	body := []byte(`{"a":1}`)
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set(webhook.TimestampHeader, "1800000000")
	h.Set(webhook.SignatureHeader, webhook.Sign("k", 1_800_000_000, body))
	for _, tc := range []struct {
		name string
		body []byte
		now  time.Time
		want bool
	}{
		{"good", body, now, true},
		{"tampered", []byte(`{"a":2}`), now, false},
		{"stale", body, now.Add(10 * time.Minute), false},
	} {
		if got := webhook.Verify("k", h, tc.body, tc.now, 5*time.Minute); got != tc.want {
			t.Errorf("%s: Verify = %v", tc.name, got)
		}
	}
}

func TestPageErrorsClassified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status      int
		temporary   bool
		rateLimited bool
	}{{500, true, false}, {503, true, false}, {429, false, true}, {400, false, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(tc.status)
		}))
		err := (&webhook.Pager{URL: srv.URL, Secret: "k"}).Page(context.Background(), []byte("{}"))
		srv.Close()
		de := bridge.AsDeliveryError(err)
		if de.Temporary != tc.temporary || de.RateLimited != tc.rateLimited || (tc.rateLimited && de.RetryAt.IsZero()) {
			t.Errorf("%d: %+v", tc.status, de)
		}
	}
}
