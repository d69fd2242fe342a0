package xsim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	twitter "github.com/g8rswimmer/go-twitter/v2"
)

// TestSignatureKnownAnswer checks the base string and signature against
// the worked example of X's "Creating a signature" guide.
func TestSignatureKnownAnswer(t *testing.T) {
	t.Parallel()
	params := url.Values{
		"status":                 {"Hello Ladies + Gentlemen, a signed OAuth request!"},
		"include_entities":       {"true"},
		"oauth_consumer_key":     {"xvz1evFS4wEEPTGEFPHBog"},
		"oauth_nonce":            {"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"},
		"oauth_signature_method": {"HMAC-SHA1"},
		"oauth_timestamp":        {"1318622958"},
		"oauth_token":            {"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"},
		"oauth_version":          {"1.0"},
	}
	base := signatureBaseString("post", baseURL("https", "API.twitter.com:443", "/1.1/statuses/update.json"), params)
	wantBase := "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
	if base != wantBase {
		t.Fatalf("base string\n%s\nwant\n%s", base, wantBase)
	}
	key := "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw&LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
	if got, want := hmacSHA1Base64(key, base), "hCtSmYh+iHYCEqBWrE7C7hYmtUk="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	const path = "/2/users/1000/mentions?max_results=5&tweet.fields=author_id,conversation_id"
	tests := []struct {
		name   string
		header func(*http.Request) // sets the Authorization header
		rt     http.RoundTripper
		ok     bool
	}{
		{"oauth1 with query params", nil, &oauth1Transport{}, true},
		{"oauth1 signed for http", nil, &oauth1Transport{scheme: "http"}, true},
		{"oauth1 without query params", nil, &oauth1Transport{skipQuery: true}, false},
		{"oauth1 wrong consumer secret", nil, &oauth1Transport{consumerSecret: "nope"}, false},
		{"oauth1 signed for ftp", nil, &oauth1Transport{scheme: "ftp"}, false},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testUserToken) }, nil, true},
		{"bearer lowercase scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+testUserToken) }, nil, true},
		{"wrong bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer app-only-token") }, nil, false},
		{"none", func(*http.Request) {}, nil, false},
		{"basic", func(r *http.Request) { r.SetBasicAuth("u", "p") }, nil, false},
		{"oauth1 garbage", func(r *http.Request) { r.Header.Set("Authorization", `OAuth oauth_consumer_key=x`) }, nil, false},
		{"oauth1 tampered", func(r *http.Request) {
			r.Header.Set("Authorization", `OAuth oauth_consumer_key="`+testConsumerKey+`", oauth_nonce="n", oauth_signature="AAAA", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", oauth_token="`+testAccessToken+`", oauth_version="1.0"`)
		}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
			client := testHTTPClient
			if tc.rt != nil {
				client = &http.Client{Transport: tc.rt}
			} else {
				tc.header(req)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.ok {
				mustStatus(t, resp, body, http.StatusOK)
				noViolations(t, f.sim)
				return
			}
			mustStatus(t, resp, body, http.StatusUnauthorized)
			if got := strings.TrimSpace(string(body)); got != `{"detail":"Unauthorized","status":401,"title":"Unauthorized","type":"about:blank"}` {
				t.Errorf("body %s", got)
			}
			if v := violationsContaining(f.sim, "401"); len(v) != 1 {
				t.Errorf("violations %q, want one 401", f.sim.Violations())
			}
			if resp.Header.Get("x-rate-limit-limit") != "300" {
				t.Errorf("no rate-limit headers on a 401")
			}
		})
	}
}

// TestGoTwitterAuthorizerSigningIsCaught shows why the OAuth 1.0a signature
// must be made in the transport: go-twitter calls its Authorizer before it
// adds the query string, so a signature made there leaves it out.
func TestGoTwitterAuthorizerSigningIsCaught(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := &twitter.Client{
		Host:       f.srv.URL,
		Client:     testHTTPClient,
		Authorizer: authorizerSigner{},
	}
	_, err := c.UserMentionTimeline(context.Background(), supportID, twitter.UserMentionTimelineOpts{MaxResults: 5})
	var er *twitter.ErrorResponse
	if !errors.As(err, &er) || er.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want 401", err)
	}
	if len(f.sim.Violations()) != 1 {
		t.Fatalf("violations %q", f.sim.Violations())
	}
}

// authorizerSigner signs in go-twitter's Authorizer (the wrong place).
type authorizerSigner struct{}

func (authorizerSigner) Add(req *http.Request) {
	signed := &captureTransport{}
	_, _ = (&oauth1Transport{base: signed}).RoundTrip(req)
	req.Header.Set("Authorization", signed.auth)
}

type captureTransport struct{ auth string }

func (c *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.auth = req.Header.Get("Authorization")
	return nil, errors.New("captured")
}

// TestFormBodyIsSigned checks that form-encoded body parameters are part of
// the OAuth 1.0a signature (a JSON body is not).
func TestFormBodyIsSigned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rt     *oauth1Transport
		status int
	}{
		// Authenticated, then refused by validation: X wants JSON.
		{"signed with form params", &oauth1Transport{}, http.StatusBadRequest},
		{"signed without form params", &oauth1Transport{skipForm: true}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/2/tweets", strings.NewReader("text=hello+world"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := (&http.Client{Transport: tc.rt}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mustStatus(t, resp, body, tc.status)
		})
	}
}
