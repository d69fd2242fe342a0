package bridge

import (
	"context"
	"log/slog"
	"time"
)

// RunLeading runs fn while this process holds the named leadership, so a
// singleton (the X poller) runs on one replica at a time. fn's context ends
// when the leadership is lost; RunLeading then waits to take it again. It
// returns when ctx ends.
func RunLeading(ctx context.Context, store Store, name string, logger *slog.Logger, fn func(ctx context.Context) error) {
	const retry = 5 * time.Second
	for ctx.Err() == nil {
		lease, err := store.TryLead(ctx, name)
		if err != nil {
			logger.Warn("take leadership", "singleton", name, "err", err)
		}
		if lease == nil {
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
			continue
		}
		logger.Info("leading", "singleton", name)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- fn(runCtx) }()
		ticker := time.NewTicker(retry)
	watch:
		for {
			select {
			case err := <-done:
				if err != nil && runCtx.Err() == nil {
					logger.Error("singleton stopped", "singleton", name, "err", err)
				}
				break watch
			case <-ticker.C:
				if !lease.Alive(ctx) {
					logger.Warn("lost leadership", "singleton", name)
					cancel()
				}
			}
		}
		ticker.Stop()
		cancel()
		lease.Release()
	}
}
