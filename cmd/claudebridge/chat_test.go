package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
)

func TestDatabasePath(t *testing.T) {
	for _, c := range []struct {
		vars map[string]string
		want string
		err  bool
	}{
		{map[string]string{"DATABASE_URL": "/var/lib/cb.db"}, "/var/lib/cb.db", false},
		{map[string]string{"DATABASE_URL": "sqlite:///var/lib/cb.db"}, "/var/lib/cb.db", false},
		{map[string]string{"DATABASE_URL": "sqlite://cb.db"}, "cb.db", false},
		{map[string]string{"XDG_DATA_HOME": "/data"}, "/data/claudebridge/claudebridge.db", false},
		{map[string]string{"DATABASE_URL": "postgres://u@h/db"}, "postgres://u@h/db", false},
		{map[string]string{"DATABASE_URL": "postgresql:///db?host=/run/pg"}, "postgresql:///db?host=/run/pg", false},
		{map[string]string{"DATABASE_URL": "dynamodb://claudebridge"}, "dynamodb://claudebridge", false},
		{map[string]string{"DATABASE_URL": "mysql://u@h/db"}, "", true},
	} {
		got, err := databasePath(env(c.vars))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%v: %q, %v; want %q", c.vars, got, err, c.want)
		}
	}
}

func TestChatLoginWhenUsersOrNotLoopback(t *testing.T) {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	defer emu.Close()
	up := anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("k")})
	db, err := openStore(context.Background(), filepath.Join(t.TempDir(), "d", "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	status := func(listen string) int {
		cfg, _ := loadConfig(env(map[string]string{"DATABASE_URL": "x"}))
		cfg.Listen = listen
		s, err := newChat(context.Background(), cfg, db, nil, nil, up, log)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Host = "127.0.0.1:8080" // as a browser on this machine sends it; local mode refuses other hosts
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := status("127.0.0.1:8080"); got != http.StatusOK {
		t.Errorf("loopback without users: %d, want 200 (local mode)", got)
	}
	if got := status("0.0.0.0:8080"); got != http.StatusUnauthorized {
		t.Errorf("all interfaces without users: %d, want 401", got)
	}
	hash, _ := chat.HashPassword("password1")
	db.CreateUser(context.Background(), "ann", hash)
	if got := status("127.0.0.1:8080"); got != http.StatusUnauthorized {
		t.Errorf("loopback with a user: %d, want 401", got)
	}
}

func TestChatConfigNamesTheResolvedProvider(t *testing.T) {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	defer emu.Close()
	up := anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("k")})
	db, err := openStore(context.Background(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg, err := loadConfig(env(map[string]string{"DATABASE_URL": "x", "AI_PROVIDER": "emulator"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:8080"
	s, err := newChat(context.Background(), cfg, db, nil, nil, up, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/config", nil)
	req.Host = "127.0.0.1:8080"
	s.ServeHTTP(rec, req)
	var got struct {
		Provider string `json:"provider"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /api/config: %d %s", rec.Code, rec.Body)
	}
	if want := "emulator"; got.Provider != want {
		t.Errorf("provider %q, want %q", got.Provider, want)
	}
}

func TestTurnLeaseIsReadAndRefusedUnderASecond(t *testing.T) {
	cfg, err := loadChatConfig(env(map[string]string{"DATABASE_URL": "x", "TURN_LEASE": "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.TurnLease, 30*time.Second; got != want {
		t.Errorf("TurnLease %v, want %v", got, want)
	}
	if cfg, _ := loadChatConfig(env(map[string]string{"DATABASE_URL": "x"})); cfg.TurnLease != 10*time.Second {
		t.Errorf("default TurnLease %v, want 10s", cfg.TurnLease)
	}
	if _, err := loadChatConfig(env(map[string]string{"DATABASE_URL": "x", "TURN_LEASE": "500ms"})); err == nil {
		t.Error("TURN_LEASE=500ms accepted, want refused")
	}
}

// The commands (users, keys, usage) and every serve open the database
// while other processes may be writing answers in it: opening marks none
// of them interrupted (the chat's lease sweep does, once a lease lapsed).
func TestOpeningTheDatabaseLeavesStreamingAnswersAlone(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := db.EnsureUser(ctx, "ann")
	c := &claudebridge.Conversation{UserID: u.ID, Title: "t", Model: "m"}
	if err := db.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	m := &claudebridge.Message{ConversationID: c.ID, Role: "assistant", Status: claudebridge.MessageStreaming}
	if err := db.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	again, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	db.Close()
	list, err := again.Messages(ctx, u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := list[0].Status, claudebridge.MessageStreaming; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}

func TestTurnsGoOnPostgreSQLsBusAndStayInMemoryOnSQLite(t *testing.T) {
	db, err := openStore(context.Background(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bus, err := openTurnBus(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if bus != nil {
		t.Errorf("SQLite's bus %T, want none (the chat's own, in memory)", bus)
	}
}
