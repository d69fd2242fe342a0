// Package slack connects xbridge to Slack with slack-go: it implements
// bridge.ChatPlatform (cards, thread posts, delivery marks, escalation
// cards), turns Events API and interactivity payloads (HTTP or Socket Mode)
// into bridge events, runs the command language from every Slack input
// (in-thread "!commands", card buttons and selects, emoji reactions, the
// /xb slash command), tells agents, engineers and leads apart (Roles), and
// describes the Slack app the bridge needs (Manifest).
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/adapters/httpclient"
	"github.com/xbridge/xbridge/bridge"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// platformName is the bridge's name for Slack in events and rows.
const platformName = "slack"

// Config configures an Adapter.
type Config struct {
	APIURL        string // default DefaultAPIURL
	BotToken      string // xoxb-…, required
	AppToken      string // xapp-…; set → Socket Mode, else HTTP endpoints verified with SigningSecret
	SigningSecret string
	// HTTPClient is the base client (transport, proxies); without one, or
	// without a Timeout, calls time out after 15 s.
	HTTPClient *http.Client
	// Roles says who is an agent, an engineer or a lead. Empty: everyone
	// is an agent.
	Roles Roles
}

// Validate names every missing or malformed setting at once.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.BotToken == "":
		errs = append(errs, errors.New("slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN) is required"))
	case !strings.HasPrefix(c.BotToken, "xoxb-"):
		errs = append(errs, errors.New("slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN) must be a bot token starting with xoxb-"))
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, errors.New("slack.app_token (XBRIDGE_SLACK_APP_TOKEN) must be an app-level token starting with xapp-"))
	}
	if c.AppToken == "" && c.SigningSecret == "" {
		errs = append(errs, errors.New("slack.signing_secret (XBRIDGE_SLACK_SIGNING_SECRET) is required unless slack.app_token (XBRIDGE_SLACK_APP_TOKEN) is set for Socket Mode"))
	}
	if c.APIURL != "" && !strings.HasPrefix(c.APIURL, "http://") && !strings.HasPrefix(c.APIURL, "https://") {
		errs = append(errs, fmt.Errorf("slack.api_url %q must be an http(s) URL", c.APIURL))
	}
	errs = append(errs, c.Roles.validate()...)
	return errors.Join(errs...)
}

// Adapter is xbridge's connection to one Slack workspace.
type Adapter struct {
	cfg    Config
	api    *slackapi.Client
	files  *slackapi.Client // api without the HTTP client's overall timeout: file transfers last as long as their context
	logger *slog.Logger
	users  *userCache
	now    func() time.Time

	botUserID atomic.Value // string, from auth.test
	botID     atomic.Value // string, from auth.test
	workspace atomic.Value // string, the workspace URL from auth.test, without a trailing slash
	checked   atomic.Bool  // auth.test succeeded
	socketUp  atomic.Bool  // a Socket Mode connection is open

	roles *roleTable
	cmds  atomic.Pointer[commandSet]

	// background tracks work started after acknowledging Slack (button
	// clicks, commands' ephemeral answers); Close waits for it.
	background sync.WaitGroup
	// stop ends the roles refresher that Check starts.
	lifeMu    sync.Mutex
	closed    bool
	stop      chan struct{}
	refresher sync.Once
	refreshWG sync.WaitGroup
}

var (
	_ bridge.ChatPlatform   = (*Adapter)(nil)
	_ bridge.MessageDeleter = (*Adapter)(nil)
)

// New returns an Adapter for cfg. It makes no request: call Check to test
// the tokens.
func New(cfg Config, logger *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	cfg.HTTPClient = httpclient.Own(cfg.HTTPClient, 15*time.Second)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []slackapi.Option{
		slackapi.OptionAPIURL(cfg.APIURL),
		// Posts and updates are read for their channel and ts alone: the
		// message Slack echoes back is dropped unread.
		slackapi.OptionHTTPClient(newEnvelopeClient(cfg.HTTPClient, cfg.APIURL)),
	}
	if cfg.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	transfers := *cfg.HTTPClient
	transfers.Timeout = 0
	a := &Adapter{
		cfg:    cfg,
		api:    slackapi.New(cfg.BotToken, opts...),
		files:  slackapi.New(cfg.BotToken, append(opts, slackapi.OptionHTTPClient(&transfers))...),
		logger: logger.With("adapter", "slack"),
		now:    time.Now,
	}
	a.users = newUserCache(a.api, 10*time.Minute, a.now)
	a.roles = newRoleTable(cfg.Roles)
	a.stop = make(chan struct{})
	a.botUserID.Store("")
	a.botID.Store("")
	a.workspace.Store("")
	return a, nil
}

// SocketMode reports whether the adapter is configured for Socket Mode (an
// app-level token is set) rather than HTTP endpoints.
func (a *Adapter) SocketMode() bool { return a.cfg.AppToken != "" }

// Check calls auth.test to verify the bot token and remembers the bot's user
// id and bot id, which tell the bridge's own messages apart, and the
// workspace URL, which permalinks start with. It then resolves the
// configured roles' user groups (usergroups:read) and, the first time it
// succeeds, starts refreshing them every RolesRefresh until Close.
func (a *Adapter) Check(ctx context.Context) error {
	res, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return checkError(a.cfg.APIURL, err)
	}
	a.botUserID.Store(res.UserID)
	a.botID.Store(res.BotID)
	a.workspace.Store(strings.TrimSuffix(res.URL, "/"))
	a.logger.Info("slack connected", "team", res.Team, "team_id", res.TeamID, "bot_user_id", res.UserID, "bot_id", res.BotID)
	if err := a.refreshRoles(ctx); err != nil {
		return err
	}
	a.checked.Store(true)
	a.refresher.Do(a.startRoleRefresh)
	return nil
}

// checkError explains why auth.test failed, naming the setting to fix.
func checkError(apiURL string, err error) error {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
			return fmt.Errorf("slack: the bot token was rejected (%s): check slack.bot_token (XBRIDGE_SLACK_BOT_TOKEN)", se.Err)
		}
		return fmt.Errorf("slack: auth.test failed: %s", se.Err)
	}
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) {
		return fmt.Errorf("slack: auth.test at %s answered HTTP %d", apiURL, sc.Code)
	}
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Errorf("slack: auth.test is rate limited; retry after %s", rl.RetryAfter)
	}
	return fmt.Errorf("slack: cannot reach the Web API at %s: %w", apiURL, err)
}

// Connected reports whether Slack can reach the bridge: in Socket Mode,
// whether the WebSocket is open; in HTTP mode, whether Check succeeded.
func (a *Adapter) Connected() bool {
	if a.SocketMode() {
		return a.socketUp.Load()
	}
	return a.checked.Load()
}

// Close stops refreshing roles and waits for work started after
// acknowledging Slack (button clicks, commands' answers) to finish. Stop
// the HTTP server or Socket Mode first.
func (a *Adapter) Close() {
	a.lifeMu.Lock()
	if !a.closed {
		a.closed = true
		close(a.stop)
	}
	a.lifeMu.Unlock()
	a.refreshWG.Wait()
	a.background.Wait()
}

// self returns the bot's identity as learnt by Check.
func (a *Adapter) self() identity {
	return identity{UserID: a.botUserID.Load().(string), BotID: a.botID.Load().(string)}
}

// goBackground runs f after an acknowledgement, tracked for Close.
func (a *Adapter) goBackground(f func()) {
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		f()
	}()
}
