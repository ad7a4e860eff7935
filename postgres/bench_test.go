package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/internal/pgtest"
)

// openBench returns a store on a new empty database for a benchmark.
func openBench(b *testing.B) *DB {
	b.Helper()
	db, err := Open(b.Context(), pgtest.URL(b))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkAppendLedger500 appends the ledger writer's usual batch: a few
// hundred calls of several keys and models.
func BenchmarkAppendLedger500(b *testing.B) {
	db := openBench(b)
	at := time.Now()
	entries := make([]claudebridge.LedgerEntry, 500)
	for i := range entries {
		entries[i] = claudebridge.LedgerEntry{Time: at, RequestID: fmt.Sprint("req_", i), Key: fmt.Sprint("key-", i%8),
			Model: "claude-sonnet-4-5", Upstream: "bedrock", Door: "messages", InputTokens: 1200, OutputTokens: 300,
			CacheReadTokens: 50_000, CostUSD: 0.0123, PriceVersion: "2026-01", Latency: 2 * time.Second,
			FirstToken: 400 * time.Millisecond, Status: 200}
	}
	for b.Loop() {
		if err := db.AppendLedger(b.Context(), entries); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimBatch renews a claim, as the owner of a running batch
// does every lease.
func BenchmarkClaimBatch(b *testing.B) {
	db := openBench(b)
	batch := newBatch(b, db, "a")
	for b.Loop() {
		now := time.Now()
		if ok, err := db.ClaimBatch(b.Context(), batch.ID, "serve-1", now, now.Add(time.Minute)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkAddAndUpdateMessage is a chat turn's writes: its answer
// appended streaming, then saved as it ends.
func BenchmarkAddAndUpdateMessage(b *testing.B) {
	db := openBench(b)
	ctx := b.Context()
	alice, err := db.CreateUser(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	c := &claudebridge.Conversation{UserID: alice.ID, Title: "chat", Model: "model-a"}
	if err := db.CreateConversation(ctx, c); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming, Model: "model-a"}
		if err := db.AddMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
		m.Content, m.Status = "An answer of a few words.", claudebridge.MessageComplete
		m.Usage = claudebridge.Usage{InputTokens: 100, OutputTokens: 7}
		if err := db.UpdateMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
