package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/metrics"
)

// startLedger has the ledger hear every call m records: one entry each,
// priced with cfg.Prices, queued to one writer that commits them to db off
// the calls' path. drain, called once on the way out (serve's shutdown,
// the end of a batch run, a failure), writes what the queue still holds
// before the database closes, waiting at most 30 s, and logs what is left.
// With LEDGER=off nothing is heard or written.
//
// inline writes each entry in the call that made it, as it ends (a closed
// Writer stores what it is given at once): for a process that may be
// frozen as soon as its answers are sent, with a queue still holding rows.
//
// w is the writer, for the chat's turns to queue their rows to as well; nil
// with LEDGER=off.
func startLedger(cfg *Config, db claudebridge.LedgerService, m *metrics.Metrics, log *slog.Logger, inline bool) (w *ledger.Writer, drain func()) {
	if cfg.LedgerOff {
		return nil, func() {}
	}
	w = ledger.New(ledger.Options{Store: db, Logger: log})
	if inline {
		w.Close(context.Background()) // an empty queue: returns at once
	}
	m.Listen((&ledger.Recorder{Writer: w, Prices: cfg.Prices, Upstream: cfg.Provider}).Observe)
	m.Ledger(w.Len, w.Waits, w.Failed)
	return w, func() {
		closing, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Close(closing); err != nil {
			log.Error("ledger: entries not written at shutdown", "waiting", w.Len(), "err", err)
		}
	}
}

// chatUsage is where the chat records its turns: the ledger, through w
// when there is one (each turn's row queued, and written in the batches of
// the gateway's calls, instead of a transaction per turn as it ends), or
// with LEDGER=off nowhere (the rows written before are still read).
func chatUsage(cfg *Config, db claudebridge.Store, w *ledger.Writer) claudebridge.UsageService {
	switch {
	case cfg.LedgerOff:
		return unrecorded{db}
	case w != nil:
		return queuedLedger{db, w}
	}
	return db
}

// queuedLedger is the store whose AppendLedger queues the rows to the
// ledger's writer. A turn's row is then in the ledger within the writer's
// FlushInterval after its end; budgets count the turn at once anyway.
type queuedLedger struct {
	claudebridge.Store
	w *ledger.Writer
}

func (q queuedLedger) AppendLedger(_ context.Context, entries []claudebridge.LedgerEntry) error {
	for _, e := range entries {
		q.w.Add(e)
	}
	return nil
}

// unrecorded is a UsageService that records nothing. It is no
// LedgerService, so the chat adds its turns with AddUsage, which drops them.
type unrecorded struct{ claudebridge.UsageService }

func (unrecorded) AddUsage(context.Context, int64, string, string, claudebridge.Usage, float64, bool) error {
	return nil
}

// keyBudgets makes the budget of a virtual key with one: read from the
// ledger once per period and priced as the ledger prices its calls, held
// in the database when shared (SHARED_LIMITS); with LEDGER=off one that
// refuses the key's calls (ledger.Unkept).
func keyBudgets(cfg *Config, db claudebridge.LedgerService, shared sharing) func(*claudebridge.Key) limits.Budget {
	return func(k *claudebridge.Key) limits.Budget {
		if cfg.LedgerOff {
			return ledger.Unkept{}
		}
		return &ledger.Budget{Limit: k.BudgetUSD, Period: k.BudgetPeriod, Prices: cfg.Prices, Upstream: cfg.Provider, Spent: ledger.SpentBy(db),
			Holds: shared.holds, Holder: shared.holder()}
	}
}

// checkBudgetsHaveALedger refuses LEDGER=off while a live virtual key has
// a budget, which could not hold without one.
func checkBudgetsHaveALedger(ctx context.Context, cfg *Config, keys claudebridge.KeyService) error {
	if !cfg.LedgerOff {
		return nil
	}
	list, err := keys.Keys(ctx)
	if err != nil {
		return err
	}
	var budgeted []string
	for _, k := range list {
		if !k.Revoked() && k.BudgetUSD > 0 {
			budgeted = append(budgeted, k.Name)
		}
	}
	if len(budgeted) > 0 {
		return fmt.Errorf("LEDGER=off, and the virtual keys %s have budgets: a budget is held to what the ledger says was spent, and without a ledger it cannot hold; turn the ledger on, or revoke those keys",
			strings.Join(budgeted, ", "))
	}
	return nil
}
