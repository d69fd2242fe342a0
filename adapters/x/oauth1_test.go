package x

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOAuth1KnownAnswer signs the example of X's "Creating a signature"
// guide, whose form body takes part in the signature.
func TestOAuth1KnownAnswer(t *testing.T) {
	t.Parallel()
	var got *http.Request
	tr := &oauth1Transport{
		base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		}),
		consumerKey:    "xvz1evFS4wEEPTGEFPHBog",
		consumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		token:          "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		tokenSecret:    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
		now:            func() time.Time { return time.Unix(1318622958, 0) },
		nonce:          func() string { return "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg" },
	}
	body := "status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21"
	req, err := http.NewRequest(http.MethodPost, "https://api.twitter.com/1.1/statuses/update.json?include_entities=true", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	auth := got.Header.Get("Authorization")
	if want := `oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"`; !strings.Contains(auth, want) {
		t.Errorf("Authorization = %s\nwant it to contain %s", auth, want)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("the caller's request was modified")
	}
	sent, _ := io.ReadAll(got.Body)
	if string(sent) != body {
		t.Errorf("body sent %q, want %q", sent, body)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	oauth1 := Config{AccountID: "1000", ConsumerKey: "ck", ConsumerSecret: "cs", AccessToken: "at", AccessTokenSecret: "as"}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr []string // substrings; nil when valid
	}{
		{"oauth1", func(*Config) {}, nil},
		{"oauth2", func(c *Config) { *c = Config{AccountID: "1000", UserToken: "tok"} }, nil},
		{"oauth2 with webhook secret", func(c *Config) { *c = Config{AccountID: "1000", UserToken: "tok", ConsumerSecret: "cs"} }, nil},
		{"no account", func(c *Config) { c.AccountID = "" }, []string{"AccountID is required"}},
		{"handle as account", func(c *Config) { c.AccountID = "acme_help" }, []string{"numeric user id"}},
		{"no credentials", func(c *Config) { *c = Config{AccountID: "1000"} }, []string{"credentials are required"}},
		{"partial oauth1", func(c *Config) { c.AccessTokenSecret, c.ConsumerSecret = "", "" },
			[]string{"ConsumerSecret is required", "AccessTokenSecret is required"}},
		{"every problem at once", func(c *Config) { c.AccountID, c.ConsumerKey, c.APIURL = "", "", "api.x.com" },
			[]string{"AccountID", "ConsumerKey", "APIURL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := oauth1
			tt.mod(&cfg)
			_, err := NewClient(cfg, nil)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("NewClient: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewClient: no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{"cs", "as", "tok"} {
				if strings.Contains(err.Error(), `"`+secret+`"`) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}
