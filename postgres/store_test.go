package postgres

import (
	"testing"

	"github.com/claudebridge/claudebridge/storetest"
)

func TestPostgresPassesTheStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}
