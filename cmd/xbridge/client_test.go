package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The platform client keeps a connection per concurrent delivery: rounds
// of concurrent calls to one host reuse the connections of the first
// instead of opening (in production: a TLS handshake each) new ones.
func TestPlatformClientReusesAConnectionPerConcurrentCall(t *testing.T) {
	t.Parallel()
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // the calls of a round overlap
		io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	const workers = 20 // more than Go's default of two idle connections per host
	client := platformClient(workers)
	for range 3 {
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	if n := opened.Load(); n > workers {
		t.Errorf("%d connections opened for 3 rounds of %d concurrent calls, want at most %d", n, workers, workers)
	}
}
