package x

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// Accounts serves several X support accounts, each through its own Client
// (its credentials, its rate-limit budgets): a DM, a reply, a read receipt
// or a reconciliation goes out with the credentials of the account named,
// and one Account Activity webhook takes the events of them all, routing
// each by its for_user_id. It implements bridge.XPlatform,
// bridge.Reconciler and bridge.ReadSync. Safe for concurrent use.
type Accounts struct {
	clients []*Client // in configuration order
	byID    map[string]*Client
}

var (
	_ bridge.XPlatform   = (*Accounts)(nil)
	_ bridge.Reconciler  = (*Accounts)(nil)
	_ bridge.ReadSync    = (*Accounts)(nil)
	_ bridge.MediaSource = (*Accounts)(nil)
	_ bridge.MediaSender = (*Accounts)(nil)
)

// NewAccounts returns the accounts of clients, refusing none, two clients
// of one account, and clients of different apps: X signs the deliveries to
// the one webhook with the app's consumer secret.
func NewAccounts(clients ...*Client) (*Accounts, error) {
	if len(clients) == 0 {
		return nil, errors.New("x: at least one support account is required")
	}
	a := &Accounts{clients: clients, byID: make(map[string]*Client, len(clients))}
	secret := ""
	for _, c := range clients {
		id := c.cfg.AccountID
		if _, dup := a.byID[id]; dup {
			return nil, fmt.Errorf("x: support account %s is given twice", id)
		}
		a.byID[id] = c
		if s := c.cfg.ConsumerSecret; s != "" {
			if secret != "" && s != secret {
				return nil, fmt.Errorf("x: support account %s has another app's consumer secret: the accounts must share one app", id)
			}
			secret = s
		}
	}
	return a, nil
}

// Clients returns the client of each account, in the order given.
func (a *Accounts) Clients() []*Client { return a.clients }

// client returns the client of account, or the permanent delivery error of
// an account the bridge holds no credentials for.
func (a *Accounts) client(account string) (*Client, error) {
	if c, ok := a.byID[account]; ok {
		return c, nil
	}
	return nil, noCredentials(account)
}

// noCredentials is the delivery error of a send for an account the bridge
// holds no credentials for: permanent, shown to agents.
func noCredentials(account string) *bridge.DeliveryError {
	return &bridge.DeliveryError{Reason: fmt.Sprintf("the bridge has no X credentials for account %s", account)}
}

// OpenMedia downloads media a customer sent to account (see
// Client.OpenMedia).
func (a *Accounts) OpenMedia(ctx context.Context, account, url string) (*bridge.FileStream, error) {
	c, err := a.client(account)
	if err != nil {
		return nil, err
	}
	return c.OpenMedia(ctx, account, url)
}

// UploadMedia uploads a file with account's credentials (see
// Client.UploadMedia).
func (a *Accounts) UploadMedia(ctx context.Context, account string, u bridge.MediaUpload) (string, time.Time, error) {
	c, err := a.client(account)
	if err != nil {
		return "", time.Time{}, err
	}
	return c.UploadMedia(ctx, account, u)
}

// SendDMMedia sends a DM with media from account (see Client.SendDMMedia).
func (a *Accounts) SendDMMedia(ctx context.Context, account, recipientID, text string, mediaIDs []string) (string, error) {
	c, err := a.client(account)
	if err != nil {
		return "", err
	}
	return c.SendDMMedia(ctx, account, recipientID, text, mediaIDs)
}

// ReplyMedia posts a reply with media from account (see Client.ReplyMedia).
func (a *Accounts) ReplyMedia(ctx context.Context, account, inReplyToID, text string, mediaIDs []string) (string, error) {
	c, err := a.client(account)
	if err != nil {
		return "", err
	}
	return c.ReplyMedia(ctx, account, inReplyToID, text, mediaIDs)
}

// SendDM sends text as a DM from account (see Client.SendDM).
func (a *Accounts) SendDM(ctx context.Context, account, recipientID, text string) (string, error) {
	c, err := a.client(account)
	if err != nil {
		return "", err
	}
	return c.SendDM(ctx, account, recipientID, text)
}

// Reply posts text as account's public reply (see Client.Reply).
func (a *Accounts) Reply(ctx context.Context, account, inReplyToID, text string) (string, error) {
	c, err := a.client(account)
	if err != nil {
		return "", err
	}
	return c.Reply(ctx, account, inReplyToID, text)
}

// MarkRead marks the customer's DMs to account read (see Client.MarkRead).
func (a *Accounts) MarkRead(ctx context.Context, account, customerID, lastEventID string) error {
	c, err := a.client(account)
	if err != nil {
		return err
	}
	return c.MarkRead(ctx, account, customerID, lastEventID)
}

// ShowTyping shows the customer that account is typing (see
// Client.ShowTyping).
func (a *Accounts) ShowTyping(ctx context.Context, account, customerID string) error {
	c, err := a.client(account)
	if err != nil {
		return err
	}
	return c.ShowTyping(ctx, account, customerID)
}

// FindSent looks for a send of q.Account with its credentials (see
// Client.FindSent).
func (a *Accounts) FindSent(ctx context.Context, q bridge.SentQuery) (string, bool, error) {
	c, err := a.client(q.Account)
	if err != nil {
		return "", false, fmt.Errorf("find sent: %w", err)
	}
	return c.FindSent(ctx, q)
}

// WebhookHandler returns the one Account Activity endpoint of every
// account (see Client.WebhookHandler): each delivery's events go to in as
// events of the account its for_user_id names; a delivery for an account
// not held here is acknowledged, and its events counted as ignored
// ("other_account"), never handed on.
func (a *Accounts) WebhookHandler(in Inbound, obs Observer) http.Handler {
	return newWebhookHandler(a.clients, in, obs)
}
