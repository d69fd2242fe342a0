package httpclient

import (
	"net/http"
	"testing"
	"time"
)

func TestOwn(t *testing.T) {
	shared := &http.Transport{}
	tests := []struct {
		name        string
		in          *http.Client
		wantTimeout time.Duration
		wantShared  bool // keeps the caller's transport
	}{
		{"nil client", nil, 7 * time.Second, false},
		{"no timeout, no transport", &http.Client{}, 7 * time.Second, false},
		{"own timeout kept", &http.Client{Timeout: time.Second}, time.Second, false},
		{"caller's transport kept", &http.Client{Transport: shared}, 7 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before http.Client
			if tt.in != nil {
				before = *tt.in
			}
			got := Own(tt.in, 7*time.Second)
			if tt.in != nil && (tt.in.Timeout != before.Timeout || tt.in.Transport != before.Transport) {
				t.Errorf("caller's client changed to %+v", tt.in)
			}
			if got == tt.in {
				t.Fatal("returned the caller's client, want a copy")
			}
			if got.Timeout != tt.wantTimeout {
				t.Errorf("timeout %v, want %v", got.Timeout, tt.wantTimeout)
			}
			if (got.Transport == shared) != tt.wantShared {
				t.Errorf("transport %p, caller's %p: want shared=%v", got.Transport, shared, tt.wantShared)
			}
			if got.Transport == nil || got.Transport == http.DefaultTransport {
				t.Errorf("transport %v: want a pool apart from http.DefaultTransport", got.Transport)
			}
		})
	}
}
