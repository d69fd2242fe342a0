package x

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// Inbound receives the DMs and mentions the adapter ingests.
// *bridge.Service implements it.
type Inbound interface {
	HandleInbound(ctx context.Context, ev bridge.InboundMessage) (bridge.Outcome, error)
}

// Receipts receives customers' read receipts and typing indicators. An
// Inbound given to WebhookHandler that also implements Receipts gets them;
// otherwise they are ignored. *bridge.Service implements it.
type Receipts interface {
	HandleRead(ctx context.Context, ev bridge.InboundRead) error
	HandleTyping(ctx context.Context, ev bridge.InboundTyping) error
}

// Cursors stores the poller's named positions. *bridge.Service implements
// it; Cursor returns "" for a cursor never set.
type Cursors interface {
	Cursor(ctx context.Context, name string) (string, error)
	SetCursor(ctx context.Context, name, value string) error
}

// Observer counts what ingest does, for metrics. via is "webhook" or
// "poll". A nil Observer is allowed wherever one is taken.
type Observer interface {
	// Event: an event was handed to Inbound (or Receipts) and accepted;
	// kind is "dm", "mention", "read" or "typing".
	Event(via, kind string)
	// Ignored: an event was dropped without reaching Inbound (a retweet,
	// an unknown event type such as favorite_events, ...).
	Ignored(via, reason string)
	// Waited: the poller waited d before its next poll of what
	// ("dm_events" or "mentions") to stay within X's budget.
	Waited(what string, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Event(string, string)         {}
func (nopObserver) Ignored(string, string)       {}
func (nopObserver) Waited(string, time.Duration) {}

func observerOrNop(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	return o
}

// maxWebhookBody bounds an Account Activity delivery.
const maxWebhookBody = 1 << 20

// signatureHeader carries X's signature of a webhook delivery.
const signatureHeader = "x-twitter-webhooks-signature"

// WebhookHandler returns the endpoint X's Account Activity API calls: GET
// answers the CRC challenge, POST takes a signed delivery of DMs and tweets
// and hands the ones concerning the account to in. Both need the consumer
// secret. When in also implements Receipts, customers' read receipts and
// typing indicators go to it; the support account's own are ignored. The
// handler never calls the X API; it answers 500 only when in fails in a way
// a redelivery may cure, so that X sends the events again.
func (c *Client) WebhookHandler(in Inbound, obs Observer) http.Handler {
	return newWebhookHandler([]*Client{c}, in, obs)
}

// newWebhookHandler is the webhook of the accounts of clients, which share
// one app and so its consumer secret (clients of OAuth 2.0 tokens may leave
// it out).
func newWebhookHandler(clients []*Client, in Inbound, obs Observer) *webhookHandler {
	receipts, _ := in.(Receipts)
	h := &webhookHandler{
		in:       in,
		receipts: receipts,
		obs:      observerOrNop(obs),
		logger:   clients[0].logger.With("ingest", viaWebhook),
	}
	for _, c := range clients {
		h.accounts = append(h.accounts, c.cfg.AccountID)
		if len(h.secret) == 0 {
			h.secret = []byte(c.cfg.ConsumerSecret)
		}
	}
	return h
}

type webhookHandler struct {
	accounts []string // whose events are handed on
	secret   []byte
	in       Inbound
	receipts Receipts // nil when in does not take them
	obs      Observer
	logger   *slog.Logger
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.secret) == 0 {
		h.logger.Error("x webhook called but no consumer secret is configured to verify it")
		http.Error(w, "webhook not configured", http.StatusServiceUnavailable)
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.crc(w, r)
	case http.MethodPost:
		h.deliver(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// crc answers X's challenge-response check.
func (h *webhookHandler) crc(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("crc_token")
	if token == "" {
		http.Error(w, "crc_token missing", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"response_token": "sha256=" + h.sign([]byte(token))})
}

// deliver handles one signed delivery.
func (h *webhookHandler) deliver(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if !h.validSignature(r.Header.Get(signatureHeader), body) {
		h.logger.Warn("x webhook delivery with a missing or bad signature refused", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	batch, err := webhookEvents(h.accounts, body)
	if err != nil {
		h.logger.Warn("malformed x webhook delivery", "err", err)
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	for _, reason := range batch.ignored {
		h.obs.Ignored(viaWebhook, reason)
	}
	if !h.handle(r.Context(), batch) {
		http.Error(w, "temporarily unable to handle the event", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handle hands the events of a delivery on, in order: messages, read
// receipts, typing. It stops and reports false at the first failure a
// redelivery may cure; other failures are logged and counted.
func (h *webhookHandler) handle(ctx context.Context, b webhookBatch) bool {
	for _, m := range b.msgs {
		out, err := h.in.HandleInbound(ctx, m)
		if !h.handled(err, string(m.Kind), "event_id", m.EventID) {
			return false
		}
		if err == nil {
			h.logger.Debug("x webhook event handled", "event_id", m.EventID, "kind", m.Kind, "outcome", out)
		}
	}
	if h.receipts == nil {
		for range b.reads {
			h.obs.Ignored(viaWebhook, markReadEvents)
		}
		for range b.typing {
			h.obs.Ignored(viaWebhook, typingEvents)
		}
		return true
	}
	for _, ev := range b.reads {
		err := h.receipts.HandleRead(ctx, ev)
		if !h.handled(err, "read", "customer_id", ev.CustomerID, "last_read_event_id", ev.LastReadEventID) {
			return false
		}
	}
	for _, ev := range b.typing {
		err := h.receipts.HandleTyping(ctx, ev)
		if !h.handled(err, "typing", "customer_id", ev.CustomerID) {
			return false
		}
	}
	return true
}

// handled logs and counts the outcome err of handing on an event of kind;
// it reports false when X should redeliver.
func (h *webhookHandler) handled(err error, kind string, args ...any) bool {
	args = append(args, "kind", kind)
	switch {
	case err == nil:
		h.obs.Event(viaWebhook, kind)
		return true
	case retryable(err):
		h.logger.Error("x webhook event not handled; X will redeliver", append(args, "err", err)...)
		return false
	}
	h.logger.Warn("x webhook event refused", append(args, "err", err)...)
	h.obs.Ignored(viaWebhook, "refused")
	return true
}

// validSignature checks "sha256=<base64 HMAC-SHA256(consumer secret, body)>"
// in constant time.
func (h *webhookHandler) validSignature(header string, body []byte) bool {
	b64, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, h.secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func (h *webhookHandler) sign(msg []byte) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write(msg)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// retryable reports whether handling may succeed if tried again: the
// store was unavailable or something broke inside the bridge.
func retryable(err error) bool {
	switch bridge.ErrorCode(err) {
	case bridge.EINTERNAL, bridge.EUNAVAILABLE:
		return true
	}
	return false
}
