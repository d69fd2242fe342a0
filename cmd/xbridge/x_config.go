package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xbridge/xbridge/adapters/x"
)

// XAccountConfig is one more X support account, under the app of
// x.consumer_key: its own user context, and optionally its own ingest.
type XAccountConfig struct {
	UserID            string `yaml:"user_id" env:"USER_ID" help:"the account's numeric X user id"`
	Handle            string `yaml:"handle" env:"HANDLE" help:"the account's @handle, without @"`
	AccessToken       string `yaml:"access_token" env:"ACCESS_TOKEN" secret:"true" help:"OAuth 1.0a access token of the account"`
	AccessTokenSecret string `yaml:"access_token_secret" env:"ACCESS_TOKEN_SECRET" secret:"true" help:"OAuth 1.0a access token secret of the account"`
	UserToken         string `yaml:"user_token" env:"USER_TOKEN" secret:"true" help:"OAuth 2.0 user token of the account (instead of OAuth 1.0a)"`
	Ingest            string `yaml:"ingest" env:"INGEST" help:"webhook, poll or both (default x.ingest)"`
}

// xAccount is a support account as configured, with the key and the
// environment variable its settings are named by.
type xAccount struct {
	XAccountConfig
	key string // "x" for the x.* keys, "x.accounts[n]" for the others
	env string // "XBRIDGE_X" or "XBRIDGE_X_ACCOUNTS_<n>"
}

// setting names one of the account's settings: "x.accounts[1].user_id
// (XBRIDGE_X_ACCOUNTS_1_USER_ID)".
func (a xAccount) setting(leaf string) (key, env string) {
	return a.key + "." + leaf, a.env + "_" + strings.ToUpper(leaf)
}

func (a xAccount) handle() string { return strings.TrimPrefix(a.Handle, "@") }

// addAccountsFromEnv appends an account for each XBRIDGE_X_ACCOUNTS_<n>_USER_ID
// set past the end of the YAML list, so that accounts can be configured by
// environment alone; their other settings are then read like any.
func (c *XConfig) addAccountsFromEnv(getenv func(string) string) {
	for {
		if _, _, ok := lookupEnv(getenv, fmt.Sprintf("XBRIDGE_X_ACCOUNTS_%d_USER_ID", len(c.Accounts))); !ok {
			return
		}
		c.Accounts = append(c.Accounts, XAccountConfig{})
	}
}

// accounts lists the support accounts: first the one of the x.* keys
// (always when x.accounts is empty, as xbridge had one account before it
// had the list; otherwise when they name one), then x.accounts in order.
// An account's empty ingest is x.ingest.
func (c XConfig) accounts() []xAccount {
	var out []xAccount
	if len(c.Accounts) == 0 || c.UserID != "" || c.Handle != "" || c.AccessToken != "" || c.AccessTokenSecret != "" || c.UserToken != "" {
		out = append(out, xAccount{key: "x", env: "XBRIDGE_X", XAccountConfig: XAccountConfig{
			UserID: c.UserID, Handle: c.Handle, AccessToken: c.AccessToken, AccessTokenSecret: c.AccessTokenSecret,
			UserToken: c.UserToken, Ingest: c.Ingest}})
	}
	for n, a := range c.Accounts {
		if a.Ingest == "" {
			a.Ingest = c.Ingest
		}
		out = append(out, xAccount{XAccountConfig: a, key: fmt.Sprintf("x.accounts[%d]", n), env: fmt.Sprintf("XBRIDGE_X_ACCOUNTS_%d", n)})
	}
	return out
}

// oauth1 reports whether account a authenticates with OAuth 1.0a user
// context: it has an access token, or no user token while the app's
// consumer key is set.
func (c XConfig) oauth1(a xAccount) bool {
	return a.AccessToken != "" || a.AccessTokenSecret != "" || (a.UserToken == "" && c.ConsumerKey != "")
}

// polls and webhook say how events of a reach the bridge.
func (a xAccount) polls() bool   { return a.Ingest == "poll" || a.Ingest == "both" }
func (a xAccount) webhook() bool { return a.Ingest == "webhook" || a.Ingest == "both" }

// clientConfig is the X client of account a.
func (c XConfig) clientConfig(a xAccount, hc *http.Client) x.Config {
	cfg := x.Config{APIURL: c.APIURL, AccountID: a.UserID, AccountHandle: a.handle(),
		ConsumerSecret: c.ConsumerSecret, HTTPClient: hc}
	if c.oauth1(a) {
		cfg.ConsumerKey, cfg.AccessToken, cfg.AccessTokenSecret = c.ConsumerKey, a.AccessToken, a.AccessTokenSecret
	} else {
		cfg.UserToken = a.UserToken
	}
	return cfg
}

// accountID returns the user id of the configured account that ref names,
// by user id or @handle.
func (c XConfig) accountID(ref string) (string, bool) {
	handle := strings.TrimPrefix(ref, "@")
	for _, a := range c.accounts() {
		if a.UserID == ref || (handle != "" && strings.EqualFold(a.handle(), handle)) {
			return a.UserID, true
		}
	}
	return "", false
}

// unknownAccount says that ref names no configured account, and which
// there are.
func (c XConfig) unknownAccount(ref string) string {
	var known []string
	for _, a := range c.accounts() {
		if a.Handle != "" {
			known = append(known, a.UserID+" (@"+a.handle()+")")
		} else {
			known = append(known, a.UserID)
		}
	}
	return fmt.Sprintf("%q is not a configured X account; name one by user id or @handle: %s", ref, strings.Join(known, ", "))
}

// problems names every problem of the X settings, as Validate does.
func (c XConfig) problems() []string {
	var p []string
	add := func(key, env, msg string) { p = append(p, fmt.Sprintf("%s (%s): %s", key, env, msg)) }
	seenID, seenHandle := map[string]string{}, map[string]string{}
	needConsumer, webhook := false, false
	for _, a := range c.accounts() {
		key, env := a.setting("user_id")
		switch prev, dup := seenID[a.UserID]; {
		case a.UserID == "":
			add(key, env, "required: the support account's numeric user id (GET /2/users/me shows it)")
		case !isNumeric(a.UserID):
			add(key, env, "must be the numeric user id, not the @handle")
		case dup:
			add(key, env, fmt.Sprintf("%s is already %s.user_id: list each account once", a.UserID, prev))
		default:
			seenID[a.UserID] = a.key
		}
		if h := strings.ToLower(a.handle()); h != "" {
			if prev, dup := seenHandle[h]; dup {
				key, env := a.setting("handle")
				add(key, env, fmt.Sprintf("@%s is already %s.handle: list each account once", a.handle(), prev))
			}
			seenHandle[h] = a.key
		}
		switch {
		case c.oauth1(a):
			needConsumer = true
			for _, f := range []struct{ leaf, v string }{{"access_token", a.AccessToken}, {"access_token_secret", a.AccessTokenSecret}} {
				if f.v == "" {
					key, env := a.setting(f.leaf)
					add(key, env, "required with OAuth 1.0a: copy it from the X developer portal (Keys and tokens)")
				}
			}
		case a.UserToken == "" && a.key == "x":
			add("x.access_token", "XBRIDGE_X_ACCESS_TOKEN", "X credentials are required: set the four OAuth 1.0a values (consumer key/secret, access token/secret) or XBRIDGE_X_USER_TOKEN")
		case a.UserToken == "":
			key, env := a.setting("access_token")
			add(key, env, "X credentials are required: set access_token and access_token_secret (OAuth 1.0a, under the app's x.consumer_key) or user_token (OAuth 2.0)")
		}
		switch a.Ingest {
		case "webhook", "both":
			webhook = true
		case "poll":
		default:
			if a.key != "x" { // x.ingest is checked below
				key, env := a.setting("ingest")
				add(key, env, "must be webhook, poll or both (empty: x.ingest)")
			}
		}
	}
	if needConsumer {
		for _, f := range []struct{ key, env, v string }{
			{"x.consumer_key", "XBRIDGE_X_CONSUMER_KEY", c.ConsumerKey},
			{"x.consumer_secret", "XBRIDGE_X_CONSUMER_SECRET", c.ConsumerSecret},
		} {
			if f.v == "" {
				add(f.key, f.env, "required with OAuth 1.0a: copy it from the X developer portal (Keys and tokens)")
			}
		}
	}
	switch c.Ingest {
	case "webhook", "both", "poll":
	default:
		add("x.ingest", "XBRIDGE_X_INGEST", "must be webhook, poll or both")
	}
	if webhook && c.ConsumerSecret == "" {
		add("x.consumer_secret", "XBRIDGE_X_CONSUMER_SECRET", "required for webhook ingest: X signs Account Activity webhooks with it; or set XBRIDGE_X_INGEST=poll")
	}
	if c.DMPollInterval < time.Second || c.MentionInterval < time.Second {
		add("x.dm_poll_interval", "XBRIDGE_X_DM_POLL_INTERVAL", "poll intervals must be at least 1s")
	}
	return p
}

// isNumeric reports whether s is a whole number, as X's ids are.
func isNumeric(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
