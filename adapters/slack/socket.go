package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// ackTimeout bounds the queueing of one Socket Mode acknowledgement.
const ackTimeout = 3 * time.Second

// RunSocketMode receives events and interactions over Socket Mode until ctx
// ends, reconnecting whenever the connection drops. It returns nil when ctx
// ends and an error only when Slack refuses the app-level token, which no
// retry can fix.
func (a *Adapter) RunSocketMode(ctx context.Context, h Handler) error {
	if !a.SocketMode() {
		return errors.New("slack: Socket Mode needs slack.app_token (XBRIDGE_SLACK_APP_TOKEN)")
	}
	defer a.socketUp.Store(false)
	wait := time.Second
	for {
		err := a.runSocket(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		if fatal := socketFatal(err); fatal != nil {
			a.logger.Error("slack socket mode cannot connect", "err", fatal)
			return fatal
		}
		a.logger.Warn("slack socket mode stopped; starting again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// socketFatal names the problem when err means the app token is refused.
func socketFatal(err error) error {
	if err == nil {
		return nil
	}
	switch err.Error() {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return fmt.Errorf("slack: the app-level token was rejected (%s): check slack.app_token (XBRIDGE_SLACK_APP_TOKEN) and that Socket Mode is enabled", err)
	}
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) && sc.Code == http.StatusNotFound {
		return fmt.Errorf("slack: apps.connections.open not found (HTTP 404): check slack.api_url")
	}
	return nil
}

// runSocket runs one slack-go Socket Mode client, which reconnects by
// itself after drops, until it gives up or ctx ends.
func (a *Adapter) runSocket(ctx context.Context, h Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := socketmode.New(a.api,
		socketmode.OptionLog(slog.NewLogLogger(a.logger.Handler(), slog.LevelDebug)))
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			a.socketUp.Store(false)
			return err
		case ev := <-client.Events:
			a.socketEvent(ctx, client, h, ev)
		}
	}
}

// socketEvent handles one event of the Socket Mode client. Events are
// handled one at a time, in order, then acknowledged; interactions are
// acknowledged first and handled in the background.
func (a *Adapter) socketEvent(ctx context.Context, client *socketmode.Client, h Handler, ev socketmode.Event) {
	switch ev.Type {
	case socketmode.EventTypeConnecting:
		a.socketUp.Store(false)
		a.logger.Debug("slack socket mode connecting")
	case socketmode.EventTypeConnected:
		a.socketUp.Store(true)
		a.logger.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError:
		a.socketUp.Store(false)
		if ce, ok := ev.Data.(*slackapi.ConnectionErrorEvent); ok {
			a.logger.Warn("slack socket mode connection failed", "attempt", ce.Attempt, "retry_in", ce.Backoff, "err", ce.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth, socketmode.EventTypeDisconnect:
		a.socketUp.Store(false)
	case socketmode.EventTypeEventsAPI:
		evt, ok := ev.Data.(slackevents.EventsAPIEvent)
		if !ok || ev.Request == nil {
			return
		}
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handlerTimeout)
		after, err := a.handleEvent(hctx, h, evt)
		cancel()
		if retryable(err) {
			// Unacknowledged, the envelope comes again (as an HTTP 500 would).
			a.logger.Warn("slack event left unacknowledged for redelivery", "envelope_id", ev.Request.EnvelopeID)
			return
		}
		a.ack(ctx, client, ev.Request.EnvelopeID, nil)
		if after != nil {
			a.goBackground(after)
		}
	case socketmode.EventTypeInteractive:
		cb, ok := ev.Data.(slackapi.InteractionCallback)
		if ev.Request != nil {
			a.ack(ctx, client, ev.Request.EnvelopeID, nil)
		}
		if ok {
			a.handleInteraction(h, cb)
		}
	case socketmode.EventTypeSlashCommand:
		// Run beside the event loop; the answer is the acknowledgement's
		// payload.
		sc, ok := ev.Data.(slackapi.SlashCommand)
		if ev.Request == nil {
			return
		}
		envelope := ev.Request.EnvelopeID
		if !ok {
			a.ack(ctx, client, envelope, nil)
			return
		}
		a.goBackground(func() {
			if answer := a.runSlash(sc); answer != nil {
				a.ack(ctx, client, envelope, answer)
				return
			}
			a.ack(ctx, client, envelope, nil)
		})
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not parse the envelope (an inner event type it does
		// not know): acknowledge it so that it is not redelivered forever.
		bad, ok := ev.Data.(*socketmode.ErrorBadMessage)
		if !ok {
			return
		}
		var env struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
			a.ack(ctx, client, env.EnvelopeID, nil)
		}
		a.logger.Debug("slack socket mode message not understood", "err", bad.Cause)
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		a.logger.Debug("slack socket mode error", "type", ev.Type, "data", ev.Data)
	}
}

// ack acknowledges an envelope, with payload as the answer when it is not
// nil. It gives up after ackTimeout rather than block the event loop while
// the connection is down.
func (a *Adapter) ack(ctx context.Context, client *socketmode.Client, envelopeID string, payload any) {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := client.AckCtx(ctx, envelopeID, payload); err != nil {
		a.logger.Warn("slack socket mode ack failed", "envelope_id", envelopeID, "err", err)
	}
}
