// Package x connects xbridge to X (Twitter): it sends DMs and public
// replies, finds sends a crash hid, ingests DMs and mentions by Account
// Activity webhook or by polling, and applies X's text limits.
//
// Mentions, replies and the user lookup go through go-twitter; DMs, which
// go-twitter does not cover, through a small client of our own. Both share
// one http.Client whose transport authenticates every request (OAuth 1.0a
// user context or an OAuth 2.0 user token).
package x

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/adapters/httpclient"
	"github.com/xbridge/xbridge/bridge"
)

// DefaultAPIURL is where the X API v2 lives.
const DefaultAPIURL = "https://api.x.com"

// Config configures a Client.
type Config struct {
	APIURL        string // default DefaultAPIURL
	AccountID     string // the support account's X user id
	AccountHandle string // the support account's @handle, without "@"

	// OAuth 1.0a user context of the support account, or an OAuth 2.0 user
	// token (UserToken). When both are given, OAuth 1.0a is used.
	// ConsumerSecret also verifies Account Activity webhooks, so it may be
	// given alongside UserToken.
	ConsumerKey, ConsumerSecret, AccessToken, AccessTokenSecret string
	UserToken                                                   string

	// HTTPClient is the base client (transport, proxies); the adapter
	// wraps its Transport. Optional; without one, or without a Timeout,
	// calls time out after 30 s.
	HTTPClient *http.Client
}

// LogValue keeps the secrets out of logs.
func (c Config) LogValue() slog.Value {
	set := func(s string) string {
		if s == "" {
			return ""
		}
		return "[set]"
	}
	return slog.GroupValue(
		slog.String("api_url", c.APIURL),
		slog.String("account_id", c.AccountID),
		slog.String("account_handle", c.AccountHandle),
		slog.String("consumer_key", set(c.ConsumerKey)),
		slog.String("consumer_secret", set(c.ConsumerSecret)),
		slog.String("access_token", set(c.AccessToken)),
		slog.String("access_token_secret", set(c.AccessTokenSecret)),
		slog.String("user_token", set(c.UserToken)),
	)
}

func (c Config) oauth1() bool {
	return c.ConsumerKey != "" || c.AccessToken != "" || c.AccessTokenSecret != ""
}

// validate names every missing or malformed field at once.
func (c Config) validate() error {
	var errs []error
	if c.AccountID == "" {
		errs = append(errs, errors.New("x: AccountID is required (the support account's numeric user id)"))
	} else if !isNumericID(c.AccountID) {
		errs = append(errs, fmt.Errorf("x: AccountID %q must be the numeric user id, not the handle", c.AccountID))
	}
	if c.oauth1() {
		for _, f := range []struct{ name, v string }{
			{"ConsumerKey", c.ConsumerKey}, {"ConsumerSecret", c.ConsumerSecret},
			{"AccessToken", c.AccessToken}, {"AccessTokenSecret", c.AccessTokenSecret},
		} {
			if f.v == "" {
				errs = append(errs, fmt.Errorf("x: %s is required with OAuth 1.0a", f.name))
			}
		}
	} else if c.UserToken == "" {
		errs = append(errs, errors.New("x: credentials are required: ConsumerKey, ConsumerSecret, AccessToken and AccessTokenSecret (OAuth 1.0a), or UserToken (OAuth 2.0)"))
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("x: APIURL %q is not an http(s) URL", c.APIURL))
		}
	}
	return errors.Join(errs...)
}

// Client talks to the X API v2 (and, for read receipts and typing, v1.1)
// as the support account. It implements bridge.XPlatform,
// bridge.Reconciler and bridge.ReadSync. Safe for concurrent use.
type Client struct {
	cfg    Config
	apiURL string
	http   *http.Client    // authenticates every request
	media  *http.Client    // http without its overall timeout: uploads and downloads of media last as long as their context
	plain  *http.Client    // no credentials: public media
	tw     *twitter.Client // go-twitter, on the same http.Client
	logger *slog.Logger
	now    func() time.Time // for Retry-After; tests may replace it
}

var (
	_ bridge.XPlatform  = (*Client)(nil)
	_ bridge.Reconciler = (*Client)(nil)
)

// NewClient validates cfg and returns a client for the support account.
func NewClient(cfg Config, logger *slog.Logger) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	apiURL := strings.TrimRight(cfg.APIURL, "/")
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	hc := httpclient.Own(cfg.HTTPClient, 30*time.Second)
	base := hc.Transport
	var auth http.RoundTripper
	if cfg.oauth1() {
		auth = &oauth1Transport{
			base:           base,
			consumerKey:    cfg.ConsumerKey,
			consumerSecret: cfg.ConsumerSecret,
			token:          cfg.AccessToken,
			tokenSecret:    cfg.AccessTokenSecret,
		}
	} else {
		auth = &bearerTransport{base: base, token: cfg.UserToken}
	}
	hc.Transport = &recordingTransport{base: auth}
	media, plain := *hc, *hc
	media.Timeout, plain.Timeout, plain.Transport = 0, 0, &recordingTransport{base: base}
	return &Client{
		cfg:    cfg,
		apiURL: apiURL,
		http:   hc,
		media:  &media,
		plain:  &plain,
		tw:     &twitter.Client{Authorizer: noAuth{}, Client: hc, Host: apiURL},
		logger: logger.With("adapter", "x"),
		now:    time.Now,
	}, nil
}

// Me returns the account the credentials belong to (GET /2/users/me), to
// verify them.
func (c *Client) Me(ctx context.Context) (bridge.XUser, error) {
	ctx, cl := c.startCall(ctx)
	resp, err := c.tw.AuthUserLookup(ctx, twitter.UserLookupOpts{UserFields: userFields})
	if err != nil {
		return bridge.XUser{}, fmt.Errorf("look up the authenticated account: %w", cl.deliveryError("X", err))
	}
	if resp.Raw == nil || len(resp.Raw.Users) == 0 || resp.Raw.Users[0] == nil {
		return bridge.XUser{}, errors.New("look up the authenticated account: X answered without a user")
	}
	return userFromV2(resp.Raw.Users[0]), nil
}

// Account returns the user id of the support account the client acts as.
func (c *Client) Account() string { return c.cfg.AccountID }

// checkAccount refuses to act for an account this client does not hold
// credentials for.
func (c *Client) checkAccount(account string) error {
	if account != c.cfg.AccountID {
		return noCredentials(account)
	}
	return nil
}

// userFields are the user fields asked for wherever users are expanded.
var userFields = []twitter.UserField{
	twitter.UserFieldUserName, twitter.UserFieldName, twitter.UserFieldProfileImageURL,
	twitter.UserFieldPublicMetrics, twitter.UserFieldVerified,
}

// getJSON performs a GET on the API through the authenticating client and
// decodes a 200 answer into out. A non-200 answer is an *apiError.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	u := c.apiURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return c.doJSON(req, out)
}

// doJSON sends req and decodes a 2xx answer into out. Any other answer is
// an *apiError.
func (c *Client) doJSON(req *http.Request, out any) error {
	return c.doJSONWith(c.http, req, out)
}

// doJSONWith is doJSON through another of the client's http.Clients.
func (c *Client) doJSONWith(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// noAuth is go-twitter's Authorizer: the transport authenticates instead,
// because go-twitter calls its Authorizer before it sets the query string.
type noAuth struct{}

func (noAuth) Add(*http.Request) {}

// isNumericID reports whether s looks like an X id: decimal digits only.
func isNumericID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// idLess orders numeric ids as numbers: by length, then digits.
func idLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
