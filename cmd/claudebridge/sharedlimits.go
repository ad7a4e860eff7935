package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/limits"
)

// sharing is where keys' limits and budgets are counted: both fields nil
// for this process's memory.
type sharing struct {
	lease *limits.Lease
	holds claudebridge.BudgetHoldService
}

func (s sharing) holder() string {
	if s.lease == nil {
		return ""
	}
	return s.lease.Holder
}

// shareLimits takes this process's lease in db when SHARED_LIMITS is on,
// and renews it until end is called (after the server has drained), which
// ends it.
func shareLimits(ctx context.Context, cfg *Config, db any, log *slog.Logger) (end func(), s sharing, err error) {
	if !cfg.SharedLimits {
		return nil, s, nil
	}
	counts, ok := db.(claudebridge.LimitService)
	holds, ok2 := db.(claudebridge.BudgetHoldService)
	if !ok || !ok2 {
		return nil, s, errors.New("SHARED_LIMITS: this database cannot count limits")
	}
	lease, err := limits.NewLease(ctx, counts, nil)
	if err != nil {
		return nil, s, err
	}
	// Not ctx: a signal cancels it while calls still drain, and their
	// slots and holds must stay counted until they end.
	renewing, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); lease.Run(renewing, log) }()
	return func() {
		stop()
		<-done
		ending, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := lease.End(ending); err != nil {
			log.Warn("ending the limits' lease", "error", err)
		}
	}, sharing{lease: lease, holds: holds}, nil
}
