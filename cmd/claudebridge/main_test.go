package main

import (
	"os"
	"testing"

	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// TestMain stops the PostgreSQL cluster the tests on PostgreSQL started.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
