package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/metrics"
)

// startLedger has the ledger hear every call m records: one entry each,
// priced with cfg.Prices, queued to one writer that commits them to db off
// the calls' path. drain, called once on the way out (serve's shutdown,
// the end of a batch run, a failure), writes what the queue still holds
// before the database closes, waiting at most 30 s, and logs what is left.
func startLedger(cfg *Config, db claudebridge.LedgerService, m *metrics.Metrics, log *slog.Logger) (drain func()) {
	w := ledger.New(ledger.Options{Store: db, Logger: log})
	m.Listen((&ledger.Recorder{Writer: w, Prices: cfg.Prices, Upstream: cfg.Provider}).Observe)
	m.Ledger(w.Len, w.Waits, w.Failed)
	return func() {
		closing, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Close(closing); err != nil {
			log.Error("ledger: entries not written at shutdown", "waiting", w.Len(), "err", err)
		}
	}
}
