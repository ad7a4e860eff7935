package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/postgres"
	"github.com/claudebridge/claudebridge/web"
)

// ChatConfig is the chat's part of Config.
type ChatConfig struct {
	DatabasePath      string  // DATABASE_URL: a path, sqlite:///path or postgres://...
	Model             string  // ANTHROPIC_MODEL_ID
	MaxTokens         int     // MAX_TOKENS
	Temperature       float64 // TEMPERATURE
	TopK              int     // TOP_K
	TrustedUserHeader string  // TRUSTED_USER_HEADER
	TurnsPerUser      int     // CHAT_TURNS_PER_USER
	// TurnLease (TURN_LEASE) is how long this process's lease on its
	// running turns lasts unrenewed: a process killed mid-turn has its
	// answers marked interrupted by the others that long after.
	TurnLease time.Duration
}

// loadChatConfig reads the chat's settings through getenv.
func loadChatConfig(getenv func(string) string) (ChatConfig, error) {
	c := ChatConfig{
		Model:             strings.TrimSpace(getenv("ANTHROPIC_MODEL_ID")),
		TrustedUserHeader: strings.TrimSpace(getenv("TRUSTED_USER_HEADER")),
	}
	var err error
	if c.DatabasePath, err = databasePath(getenv); err != nil {
		return c, err
	}
	if c.MaxTokens, err = intVar(getenv, "MAX_TOKENS", 4096); err != nil {
		return c, err
	}
	if c.TopK, err = intVar(getenv, "TOP_K", 40); err != nil {
		return c, err
	}
	if c.TurnsPerUser, err = intVar(getenv, "CHAT_TURNS_PER_USER", 4); err != nil {
		return c, err
	}
	if c.TurnLease, err = durationVar(getenv, "TURN_LEASE", 10*time.Second); err != nil {
		return c, err
	}
	if c.TurnLease < time.Second {
		return c, fmt.Errorf("TURN_LEASE=%q: want 1s or more", getenv("TURN_LEASE"))
	}
	c.Temperature = 0.3
	if s := getenv("TEMPERATURE"); s != "" {
		if c.Temperature, err = strconv.ParseFloat(s, 64); err != nil || c.Temperature < 0 || c.Temperature > 1 {
			return c, fmt.Errorf("TEMPERATURE=%q: want a number from 0 to 1", s)
		}
	}
	return c, nil
}

// databasePath is the database of DATABASE_URL: a PostgreSQL URL as it
// is, or the SQLite file (a path, or sqlite:/// followed by an absolute
// path, or sqlite:// by a relative one), by default claudebridge.db in the
// user's data directory ($XDG_DATA_HOME/claudebridge or
// ~/.local/share/claudebridge).
func databasePath(getenv func(string) string) (string, error) {
	return databaseLocation(strings.TrimSpace(getenv("DATABASE_URL")), getenv)
}

// databaseLocation is databasePath of one URL; "" is the default file.
func databaseLocation(u string, getenv func(string) string) (string, error) {
	switch {
	case isPostgres(u), isDynamo(u):
		return u, nil
	case u == "":
		dir := getenv("XDG_DATA_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("no DATABASE_URL and no home directory for the default database: %v", err)
			}
			dir = filepath.Join(home, ".local", "share")
		}
		return filepath.Join(dir, "claudebridge", "claudebridge.db"), nil
	case strings.HasPrefix(u, "sqlite://"):
		return strings.TrimPrefix(u, "sqlite://"), nil
	case strings.HasPrefix(u, "sqlite:"):
		return strings.TrimPrefix(u, "sqlite:"), nil
	case strings.Contains(u, "://"):
		scheme, _, _ := strings.Cut(u, "://")
		return "", fmt.Errorf("DATABASE_URL: %s databases are not supported; use a file path, sqlite:///path, postgres:// or dynamodb://", scheme)
	}
	return u, nil
}

// newChat returns the chat service on db. It serves without login (one
// local user) only when the store has no user with a password, no trusted
// header is configured, and the address is loopback; otherwise login is
// required, and with no user yet the chat is locked until
// "claudebridge users add NAME" (the gateway is served all the same).
// bus carries turns between the processes on db (openTurnBus); nil for
// one process's own.
func newChat(ctx context.Context, cfg *Config, db claudebridge.Store, ledgerWriter *ledger.Writer, bus claudebridge.TurnBus, up claudebridge.Upstream, log *slog.Logger) (*chat.Server, error) {
	n, err := db.CountUsers(ctx)
	if err != nil {
		return nil, err
	}
	local := n == 0 && cfg.Chat.TrustedUserHeader == "" && loopback(cfg.Listen)
	switch {
	case local:
		log.Info("chat: local mode, no login (no users; loopback address)")
	case n == 0 && cfg.Chat.TrustedUserHeader == "":
		log.Warn("chat: login required on a non-loopback address and there is no user: add one with `claudebridge users add NAME`")
	}
	// The sockets of API Gateway, where the store keeps them.
	sockets, _ := db.(claudebridge.SocketService)
	return chat.New(chat.Options{
		Upstream:      up,
		Provider:      cfg.Provider,
		Prices:        cfg.Prices,
		Conversations: db,
		Prompts:       db,
		Usage:         chatUsage(cfg, db, ledgerWriter),
		Users:         db,
		Defaults: chat.Defaults{Model: cfg.Chat.Model, MaxTokens: cfg.Chat.MaxTokens,
			Temperature: cfg.Chat.Temperature, TopK: cfg.Chat.TopK},
		Local:             local,
		TrustedUserHeader: cfg.Chat.TrustedUserHeader,
		TurnsPerUser:      cfg.Chat.TurnsPerUser,
		Leases:            db,
		Lease:             cfg.Chat.TurnLease,
		Bus:               bus,
		TrustedProxies:    cfg.TrustedProxies,
		AllowedOrigins:    cfg.ChatOrigins,
		Sockets:           sockets,
		SocketURL:         cfg.ChatSocketURL,
		Logger:            log,
		Page:              web.HandlerWithSocket(cfg.ChatSocketURL),
	}), nil
}

// openTurnBus opens the bus that carries chat turns between the serve
// processes sharing db: PostgreSQL's LISTEN/NOTIFY. SQLite is one
// process's: nil, and the chat keeps its turns in memory. Close it after
// the chat.
func openTurnBus(ctx context.Context, db claudebridge.Store) (interface {
	claudebridge.TurnBus
	Close() error
}, error) {
	if pg, ok := db.(*postgres.DB); ok {
		return postgres.OpenBus(ctx, pg)
	}
	return nil, nil
}

// loopback reports whether a listen address is reachable from this
// machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
