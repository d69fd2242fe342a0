package discordsim

import (
	"fmt"
	"net/http"
	"net/url"
)

// Transport returns an http.RoundTripper that sends requests for
// discord.com (where discordgo's endpoint variables point) to the
// simulator at simURL ("http://127.0.0.1:port"), and other requests
// unchanged, through next (http.DefaultTransport when nil). Give discordgo
// an http.Client with it:
//
//	rt, _ := discordsim.Transport(srv.URL, nil)
//	session.Client = &http.Client{Transport: rt}
//
// The Gateway URL discordgo then dials is the one the simulator answers.
func Transport(simURL string, next http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(simURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("discordsim: simulator URL %q is not http(s)://host[:port]", simURL)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &rewriter{scheme: u.Scheme, host: u.Host, next: next}, nil
}

type rewriter struct {
	scheme, host string
	next         http.RoundTripper
}

func (rw *rewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if isDiscordHost(r.URL.Hostname()) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = rw.scheme, rw.host, rw.host
	}
	return rw.next.RoundTrip(r)
}
