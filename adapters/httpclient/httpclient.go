// Package httpclient builds the HTTP client an adapter keeps for itself
// from the one its configuration names.
package httpclient

import (
	"net/http"
	"time"
)

// Own returns a copy of c (a new client when c is nil), so the adapter's
// changes never reach the caller's client, with timeout when c sets
// none, and always with a transport. A client without one gets a
// connection pool of its own instead of http.DefaultTransport's: anything
// in the process may close that shared pool's idle connections
// (httptest.Server.Close does), and a POST that picked such a connection
// at that moment fails with "http: CloseIdleConnections called" instead
// of being sent — for a send to X, an outcome the bridge must then treat
// as unknown.
func Own(c *http.Client, timeout time.Duration) *http.Client {
	own := &http.Client{}
	if c != nil {
		copied := *c
		own = &copied
	}
	if own.Timeout == 0 {
		own.Timeout = timeout
	}
	if own.Transport == nil {
		own.Transport = http.DefaultTransport
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			own.Transport = t.Clone()
		}
	}
	return own
}
