package xsim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Credentials the fixtures accept.
const (
	testConsumerKey    = "ck-xvz1evFS4wEEPTGEFPHBog"
	testConsumerSecret = "cs-kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
	testAccessToken    = "1000-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
	testAccessSecret   = "as-LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
	testUserToken      = "oauth2-user-token"
	supportID          = "1000"
	supportHandle      = "acme_help"
)

// start is the fake clock's starting time.
var start = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a simulator served over HTTP, with every answer checked
// against the API description.
type fixture struct {
	sim   *Server
	srv   *httptest.Server
	clock *fakeClock
}

func newFixture(t *testing.T, mods ...func(*Options)) *fixture {
	t.Helper()
	clock := &fakeClock{t: start}
	opts := Options{
		SupportUserID:     supportID,
		SupportHandle:     supportHandle,
		ConsumerKey:       testConsumerKey,
		ConsumerSecret:    testConsumerSecret,
		AccessToken:       testAccessToken,
		AccessTokenSecret: testAccessSecret,
		UserToken:         testUserToken,
		Now:               clock.Now,
	}
	for _, m := range mods {
		m(&opts)
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sim.AddUser(User{ID: "2001", Username: "alice", Name: "Alice", Followers: 12, ProfileImageURL: "https://pbs.twimg.com/a.jpg"})
	sim.AddUser(User{ID: "2002", Username: "bob", Name: "Bob", Verified: true})
	srv := httptest.NewServer(specChecked(t, sim))
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, srv: srv, clock: clock}
}

func withRateLimits(o *Options) { o.RateLimits = true }

// specChecked serves sim and fails the test when an answer does not match
// the API description.
func specChecked(t *testing.T, sim *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isMediaDownload(r.URL.Path) {
			// Media hosts are not part of the API: stream their answers.
			sim.ServeHTTP(w, r)
			return
		}
		var buf bytes.Buffer
		if r.ContentLength > 0 {
			buf.Grow(int(r.ContentLength) + 1)
		}
		_, _ = buf.ReadFrom(r.Body)
		body := buf.Bytes()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r) // a dropped connection panics with http.ErrAbortHandler
		res := rec.Result()
		resBody := rec.Body.Bytes()

		if rt, err := sim.spec.findRoute(r); err == nil && res.StatusCode != http.StatusNotImplemented {
			vr := r.Clone(context.Background())
			vr.Body = io.NopCloser(bytes.NewReader(body))
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{
					Request: vr, PathParams: rt.params, Route: rt.Route,
					Options: &openapi3filter.Options{AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }},
				},
				Status: res.StatusCode,
				Header: res.Header,
				Body:   io.NopCloser(bytes.NewReader(resBody)),
				Options: &openapi3filter.Options{
					IncludeResponseStatus: true,
				},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
				t.Errorf("answer to %s %s does not match the API description: %v\n%s", r.Method, r.URL, err, resBody)
			}
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(resBody)
	})
}

// auth selects how a request authenticates.
type auth int

const (
	bearer auth = iota
	oauth1
	noAuth
)

// primary is the fixture's first support account.
var primary = Account{UserID: supportID, Handle: supportHandle,
	AccessToken: testAccessToken, AccessTokenSecret: testAccessSecret, UserToken: testUserToken}

// do sends a request to the fixture as the first support account and
// returns the answer and its body. body is sent as JSON unless it is a
// string or nil.
func (f *fixture) do(t *testing.T, method, path string, body any, a auth) (*http.Response, []byte) {
	t.Helper()
	return f.doAs(t, primary, method, path, body, a)
}

// doAs is do with the credentials of the support account acct.
func (f *fixture) doAs(t *testing.T, acct Account, method, path string, body any, a auth) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := testHTTPClient
	switch a {
	case bearer:
		req.Header.Set("Authorization", "Bearer "+acct.UserToken)
	case oauth1:
		client = &http.Client{Transport: &oauth1Transport{token: acct.AccessToken, tokenSecret: acct.AccessTokenSecret}}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// mustStatus fails the test unless resp has the status.
func mustStatus(t *testing.T, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, body)
	}
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func noViolations(t *testing.T, s *Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Fatalf("unexpected violations:\n%s", strings.Join(v, "\n"))
	}
}

// violationsContaining returns the violations mentioning sub.
func violationsContaining(s *Server, sub string) []string {
	var out []string
	for _, v := range s.Violations() {
		if strings.Contains(v, sub) {
			out = append(out, v)
		}
	}
	return out
}

// oauth1Transport signs requests with OAuth 1.0a HMAC-SHA1 in the
// transport, after the client has set the query string. It is written
// independently of the server's verifier.
// testHTTPClient is the tests' client. Not http.DefaultClient: closing an
// httptest server closes the idle connections of http.DefaultTransport,
// which breaks the requests of tests running in parallel ("http:
// CloseIdleConnections called").
var testHTTPClient = &http.Client{Transport: &http.Transport{}}

type oauth1Transport struct {
	consumerSecret string // default testConsumerSecret
	token          string // default testAccessToken
	tokenSecret    string // default testAccessSecret
	scheme         string // scheme signed for; default "https", as real clients do
	skipQuery      bool   // sign without the query parameters (the bug to catch)
	skipForm       bool   // sign without the form body parameters
	base           http.RoundTripper
}

func (o *oauth1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	op := map[string]string{
		"oauth_consumer_key":     testConsumerKey,
		"oauth_nonce":            hex.EncodeToString(nonce),
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        strconv.FormatInt(time.Now().Unix(), 10),
		"oauth_token":            cmp.Or(o.token, testAccessToken),
		"oauth_version":          "1.0",
	}
	var pairs []string
	add := func(k, v string) { pairs = append(pairs, enc(k)+"="+enc(v)) }
	for k, v := range op {
		add(k, v)
	}
	if !o.skipQuery {
		for k, vs := range req.URL.Query() {
			for _, v := range vs {
				add(k, v)
			}
		}
	}
	if !o.skipForm && req.Header.Get("Content-Type") == "application/x-www-form-urlencoded" && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		form, _ := url.ParseQuery(string(b))
		for k, vs := range form {
			for _, v := range vs {
				add(k, v)
			}
		}
	}
	sort.Strings(pairs)
	scheme := o.scheme
	if scheme == "" {
		scheme = "https"
	}
	base := req.Method + "&" + enc(scheme+"://"+req.URL.Host+req.URL.Path) + "&" + enc(strings.Join(pairs, "&"))
	secret := o.consumerSecret
	if secret == "" {
		secret = testConsumerSecret
	}
	mac := hmac.New(sha1.New, []byte(enc(secret)+"&"+enc(cmp.Or(o.tokenSecret, testAccessSecret))))
	mac.Write([]byte(base))
	op["oauth_signature"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var hdr []string
	for k, v := range op {
		hdr = append(hdr, k+`="`+enc(v)+`"`)
	}
	sort.Strings(hdr)
	req.Header.Set("Authorization", "OAuth "+strings.Join(hdr, ", "))
	if o.base != nil {
		return o.base.RoundTrip(req)
	}
	return testHTTPClient.Transport.RoundTrip(req)
}

// enc percent-encodes as RFC 3986 (what OAuth 1.0a needs), by way of
// url.QueryEscape.
func enc(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// bearerAuth is a go-twitter Authorizer sending the OAuth 2.0 user token.
type bearerAuth struct{ token string }

func (a bearerAuth) Add(req *http.Request) { req.Header.Set("Authorization", "Bearer "+a.token) }

// noopAuth is a go-twitter Authorizer for clients whose transport signs.
type noopAuth struct{}

func (noopAuth) Add(*http.Request) {}

// twitterClient returns a go-twitter client of the fixture, authenticating
// with a bearer token or with OAuth 1.0a signed in the transport.
func (f *fixture) twitterClient(a auth) *twitter.Client {
	c := &twitter.Client{Host: f.srv.URL, Client: &http.Client{Timeout: 5 * time.Second, Transport: testHTTPClient.Transport}}
	switch a {
	case oauth1:
		c.Authorizer = noopAuth{}
		c.Client.Transport = &oauth1Transport{}
	default:
		c.Authorizer = bearerAuth{testUserToken}
	}
	return c
}
