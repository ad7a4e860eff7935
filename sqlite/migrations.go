package sqlite

import (
	"context"
	"fmt"
)

// migrations are the schema's versions, applied in order, each once, each
// in its own transaction, recorded in schema_migrations. Append only: never
// edit a migration that has shipped. Times are Unix nanoseconds (UTC).
var migrations = []string{
	// 1: users, sessions, prompts, conversations, messages, usage.
	`CREATE TABLE users (
		id            INTEGER PRIMARY KEY,
		name          TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL DEFAULT '',
		created_at    INTEGER NOT NULL
	);
	CREATE TABLE sessions (
		token_hash TEXT PRIMARY KEY,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		expires_at INTEGER NOT NULL
	);
	CREATE INDEX sessions_user ON sessions(user_id);
	CREATE TABLE prompts (
		id         TEXT PRIMARY KEY,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		name       TEXT NOT NULL,
		text       TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX prompts_user ON prompts(user_id, name);
	CREATE TABLE conversations (
		id         TEXT PRIMARY KEY,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		title      TEXT NOT NULL,
		model      TEXT NOT NULL,
		prompt_id  TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX conversations_user_updated ON conversations(user_id, updated_at DESC, id DESC);
	CREATE TABLE messages (
		id              TEXT PRIMARY KEY,
		conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
		seq             INTEGER NOT NULL,
		role            TEXT NOT NULL,
		content         TEXT NOT NULL,
		status          TEXT NOT NULL,
		error           TEXT NOT NULL DEFAULT '',
		model           TEXT NOT NULL DEFAULT '',
		input_tokens                INTEGER NOT NULL DEFAULT 0,
		output_tokens               INTEGER NOT NULL DEFAULT 0,
		cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
		cache_read_input_tokens     INTEGER NOT NULL DEFAULT 0,
		turn_id         TEXT NOT NULL DEFAULT '',
		created_at      INTEGER NOT NULL,
		updated_at      INTEGER NOT NULL,
		UNIQUE (conversation_id, seq)
	);
	CREATE INDEX messages_status ON messages(status);
	CREATE TABLE usage (
		user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		day      TEXT NOT NULL,
		model    TEXT NOT NULL,
		input_tokens                INTEGER NOT NULL DEFAULT 0,
		output_tokens               INTEGER NOT NULL DEFAULT 0,
		cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
		cache_read_input_tokens     INTEGER NOT NULL DEFAULT 0,
		cost_usd REAL NOT NULL DEFAULT 0,
		PRIMARY KEY (user_id, day, model)
	);`,
	// 2: output tokens counted from the text of a cut answer, not reported
	// by the model, are marked as such.
	`ALTER TABLE messages ADD COLUMN output_tokens_counted INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE usage ADD COLUMN counted_output_tokens INTEGER NOT NULL DEFAULT 0;`,
	// 3: a removed user's id is never given again. SQLite gives a new row
	// the largest id plus one, so removing the newest user handed its id
	// to the next; users_retired keeps the largest removed id, which
	// newUserID counts too (AUTOINCREMENT would mean rebuilding users,
	// which every other table references).
	`CREATE TABLE users_retired (max_id INTEGER NOT NULL);
	INSERT INTO users_retired VALUES (0);
	CREATE TRIGGER users_retire AFTER DELETE ON users BEGIN
		UPDATE users_retired SET max_id = max(max_id, OLD.id);
	END;`,
	// 4: virtual keys, and a version that every change of them moves, for
	// servers to poll cheaply.
	`CREATE TABLE virtual_keys (
		id         INTEGER PRIMARY KEY,
		name       TEXT NOT NULL UNIQUE,
		prefix     TEXT NOT NULL,
		hash       TEXT NOT NULL UNIQUE,
		rpm        INTEGER NOT NULL DEFAULT 0,
		tpm        INTEGER NOT NULL DEFAULT 0,
		concurrency INTEGER NOT NULL DEFAULT 0,
		budget_usd REAL NOT NULL DEFAULT 0,
		budget_period TEXT NOT NULL DEFAULT '',
		max_cost_per_request REAL NOT NULL DEFAULT 0,
		models     TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		revoked_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE virtual_keys_version (version INTEGER NOT NULL);
	INSERT INTO virtual_keys_version (version) VALUES (0);
	CREATE TRIGGER virtual_keys_inserted AFTER INSERT ON virtual_keys
		BEGIN UPDATE virtual_keys_version SET version = version + 1; END;
	CREATE TRIGGER virtual_keys_updated AFTER UPDATE ON virtual_keys
		BEGIN UPDATE virtual_keys_version SET version = version + 1; END;
	CREATE TRIGGER virtual_keys_deleted AFTER DELETE ON virtual_keys
		BEGIN UPDATE virtual_keys_version SET version = version + 1; END;`,
	// 5: Message Batches. A request's result is stored in its row (its
	// params are then emptied); result_type is '' until it has one. The
	// serve running a batch holds it (owner) until lease_until.
	`CREATE TABLE batches (
		seq                 INTEGER PRIMARY KEY,
		id                  TEXT NOT NULL UNIQUE,
		status              TEXT NOT NULL,
		betas               TEXT NOT NULL DEFAULT '',
		total               INTEGER NOT NULL,
		succeeded           INTEGER NOT NULL DEFAULT 0,
		errored             INTEGER NOT NULL DEFAULT 0,
		canceled            INTEGER NOT NULL DEFAULT 0,
		expired             INTEGER NOT NULL DEFAULT 0,
		created_at          INTEGER NOT NULL,
		expires_at          INTEGER NOT NULL,
		ended_at            INTEGER NOT NULL DEFAULT 0,
		cancel_initiated_at INTEGER NOT NULL DEFAULT 0,
		archived_at         INTEGER NOT NULL DEFAULT 0,
		owner               TEXT NOT NULL DEFAULT '',
		lease_until         INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX batches_status ON batches(status, seq);
	CREATE TABLE batch_requests (
		batch_seq   INTEGER NOT NULL REFERENCES batches(seq) ON DELETE CASCADE,
		n           INTEGER NOT NULL,
		custom_id   TEXT NOT NULL,
		params      BLOB NOT NULL,
		result_type TEXT NOT NULL DEFAULT '',
		result      BLOB,
		PRIMARY KEY (batch_seq, n),
		UNIQUE (batch_seq, custom_id)
	);
	CREATE INDEX batch_requests_pending ON batch_requests(batch_seq, n) WHERE result_type = '';`,

	// 6: a batch belongs to the virtual key that made it ('' for a static
	// key or none), and is listed by it.
	`ALTER TABLE batches ADD COLUMN key_name TEXT NOT NULL DEFAULT '';
	CREATE INDEX batches_key ON batches(key_name, seq);`,
	// 7: the ledger, a row per call of every door; the chat's per-day
	// usage becomes a view of it. The usage rows so far move into the
	// ledger, one row per user, day and model (at the day's start, door
	// "chat", price version "migrated", their cache writes as 5-minute
	// ones, which is how they were priced), so that history is kept.
	// user_id is NULL for calls of the API doors; a chat user's rows go
	// with the user, as their usage did.
	`CREATE TABLE ledger (
		id         INTEGER PRIMARY KEY,
		time       INTEGER NOT NULL,
		day        TEXT NOT NULL,
		request_id TEXT NOT NULL DEFAULT '',
		key        TEXT NOT NULL DEFAULT '',
		user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
		model      TEXT NOT NULL,
		upstream   TEXT NOT NULL DEFAULT '',
		door       TEXT NOT NULL,
		input_tokens          INTEGER NOT NULL DEFAULT 0,
		output_tokens         INTEGER NOT NULL DEFAULT 0,
		cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
		cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
		cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
		counted_output_tokens INTEGER NOT NULL DEFAULT 0,
		cost_usd      REAL NOT NULL DEFAULT 0,
		price_version TEXT NOT NULL DEFAULT '',
		latency_ns     INTEGER NOT NULL DEFAULT 0,
		first_token_ns INTEGER NOT NULL DEFAULT 0,
		status         INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX ledger_time ON ledger(time);
	CREATE INDEX ledger_user_day ON ledger(user_id, day) WHERE user_id IS NOT NULL;
	CREATE INDEX ledger_key_time ON ledger(key, time) WHERE key != '';
	INSERT INTO ledger (time, day, user_id, model, door, input_tokens, output_tokens, cache_read_tokens,
		cache_write_5m_tokens, counted_output_tokens, cost_usd, price_version, status)
		SELECT CAST(strftime('%s', day) AS INTEGER) * 1000000000, day, user_id, model, 'chat', input_tokens, output_tokens,
		cache_read_input_tokens, cache_creation_input_tokens, counted_output_tokens, cost_usd, 'migrated', 200 FROM usage;
	DROP TABLE usage;
	CREATE VIEW usage AS SELECT user_id, day, model,
		sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
		sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_creation_input_tokens,
		sum(cache_write_1h_tokens) AS cache_write_1h_tokens,
		sum(cache_read_tokens) AS cache_read_input_tokens,
		sum(counted_output_tokens) AS counted_output_tokens, sum(cost_usd) AS cost_usd
		FROM ledger WHERE user_id IS NOT NULL GROUP BY user_id, day, model;`,
	// 8: limits and budgets counted in the database, for several serve
	// processes on one file (SHARED_LIMITS): each key's rate window, the
	// calls in flight (a slot each) and the budgets' holds, both held by a
	// process's lease, and what each caller spent per budget period.
	// caller is "key:NAME" or "user:ID".
	`CREATE TABLE rate_windows (
		key      TEXT PRIMARY KEY,
		opened   INTEGER NOT NULL,
		requests INTEGER NOT NULL,
		tokens   INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE lease_holders (
		holder     TEXT PRIMARY KEY,
		expires_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE limit_slots (
		id     INTEGER PRIMARY KEY,
		key    TEXT NOT NULL,
		holder TEXT NOT NULL
	);
	CREATE INDEX limit_slots_key ON limit_slots(key);
	CREATE TABLE budget_spent (
		caller TEXT NOT NULL,
		since  INTEGER NOT NULL,
		spent  REAL NOT NULL,
		PRIMARY KEY (caller, since)
	) WITHOUT ROWID;
	CREATE TABLE budget_holds (
		id     INTEGER PRIMARY KEY,
		caller TEXT NOT NULL,
		amount REAL NOT NULL,
		holder TEXT NOT NULL
	);
	CREATE INDEX budget_holds_caller ON budget_holds(caller);`,
	// 9: turns across processes. A streaming message names the process
	// writing it (its owner); each process renews a lease of its own, and
	// any process marks interrupted the streaming messages of an owner
	// whose lease lapsed.
	`ALTER TABLE messages ADD COLUMN owner TEXT NOT NULL DEFAULT '';
	CREATE INDEX messages_streaming_turn ON messages(turn_id) WHERE status = 'streaming';
	CREATE TABLE turn_leases (
		owner   TEXT PRIMARY KEY,
		expires INTEGER NOT NULL
	);`,
	// 10: the process that runs a conversation's turn holds the
	// conversation, so that no other starts one in it meanwhile.
	`CREATE TABLE conversation_turns (
		conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
		owner           TEXT NOT NULL
	);`,
	// 11: what the chat's WebSockets behind API Gateway share (sockets.go):
	// one-time tickets by their hash, open connections, and requests to a
	// running turn. Process state, not records: none references a user, so
	// that they come and go without the users' rows, and each expires.
	`CREATE TABLE socket_tickets (
		hash    TEXT PRIMARY KEY,
		user_id INTEGER NOT NULL,
		expires INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX socket_tickets_expires ON socket_tickets(expires);
	CREATE TABLE socket_connections (
		id      TEXT PRIMARY KEY,
		user_id INTEGER NOT NULL,
		at      INTEGER NOT NULL,
		expires INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX socket_connections_expires ON socket_connections(expires);
	CREATE TABLE turn_requests (
		turn_id       TEXT NOT NULL,
		id            TEXT NOT NULL,
		kind          TEXT NOT NULL,
		user_id       INTEGER NOT NULL,
		connection_id TEXT NOT NULL DEFAULT '',
		after_seq     INTEGER NOT NULL DEFAULT 0,
		at            INTEGER NOT NULL,
		expires       INTEGER NOT NULL,
		PRIMARY KEY (turn_id, id)
	) WITHOUT ROWID;
	CREATE INDEX turn_requests_expires ON turn_requests(expires);`,
	// 12: slot and hold ids are never given twice. Without AUTOINCREMENT
	// SQLite gives a new row the largest id plus one, so a slot swept with
	// its holder's lease (the process stalled past it) could hand its id to
	// the next, and the stalled process's late release freed that one. A
	// table cannot be altered to AUTOINCREMENT: each is made anew and its
	// rows copied, ids kept (the sequence goes on after the largest).
	`CREATE TABLE limit_slots_new (
		id     INTEGER PRIMARY KEY AUTOINCREMENT,
		key    TEXT NOT NULL,
		holder TEXT NOT NULL
	);
	INSERT INTO limit_slots_new (id, key, holder) SELECT id, key, holder FROM limit_slots;
	DROP TABLE limit_slots;
	ALTER TABLE limit_slots_new RENAME TO limit_slots;
	CREATE INDEX limit_slots_key ON limit_slots(key);
	CREATE TABLE budget_holds_new (
		id     INTEGER PRIMARY KEY AUTOINCREMENT,
		caller TEXT NOT NULL,
		amount REAL NOT NULL,
		holder TEXT NOT NULL
	);
	INSERT INTO budget_holds_new (id, caller, amount, holder) SELECT id, caller, amount, holder FROM budget_holds;
	DROP TABLE budget_holds;
	ALTER TABLE budget_holds_new RENAME TO budget_holds;
	CREATE INDEX budget_holds_caller ON budget_holds(caller);`,
}

// migrate applies the migrations the database has not seen yet.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	for i, m := range migrations {
		version := i + 1
		if err := db.apply(ctx, version, m); err != nil {
			return fmt.Errorf("migration %d: %w", version, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, version int, stmt string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, nanos(now())); err != nil {
		return err
	}
	return tx.Commit()
}
