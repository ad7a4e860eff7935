package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/migrate"
)

// records checks ExportRecords and ImportRecords: what `claudebridge
// migrate` copies between stores, of any two engines.
func records(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a copy holds every record of the source, and reads back the same", func(t *testing.T) {
		from, to := open(t), open(t)
		filled := fill(t, from)
		if _, err := migrate.Copy(t.Context(), from, to); err != nil {
			t.Fatalf("Copy: %v", err)
		}
		want, got := digests(t, from), digests(t, to)
		if err := migrate.Compare(want, got); err != nil {
			t.Fatal(err)
		}
		for _, kind := range migrate.Kinds {
			if want[kind].Count == 0 {
				t.Errorf("the filled store has no %s: fill more", kind)
			}
		}
		u, hash, err := to.UserByName(t.Context(), "ada")
		if err != nil {
			t.Fatalf("UserByName: %v", err)
		}
		if got, want := hash, "hash-ada"; got != want {
			t.Errorf("password hash: %q, want %q", got, want)
		}
		if got, want := u.ID, filled.user.ID; got != want {
			t.Errorf("user id: %d, want %d", got, want)
		}
		s, err := to.SessionUser(t.Context(), "session-ada")
		if err != nil {
			t.Fatalf("SessionUser: %v", err)
		}
		if got, want := s.ID, filled.user.ID; got != want {
			t.Errorf("session's user: %d, want %d", got, want)
		}
		list := messageList(t, to, filled.user.ID, filled.conversation.ID)
		if got, want := len(list), 2; got != want {
			t.Fatalf("messages: %d, want %d", got, want)
		}
		if got, want := list[1].Content, "an answer"; got != want {
			t.Errorf("answer: %q, want %q", got, want)
		}
		if got, want := resultLines(t, to, filled.batch.ID), resultLines(t, from, filled.batch.ID); !slices.Equal(got, want) || len(want) != 3 {
			t.Errorf("result lines: %q, want the source's 3: %q", got, want)
		}
		spent, err := to.SpentByKey(t.Context(), "team", time.Time{})
		if err != nil {
			t.Fatalf("SpentByKey: %v", err)
		}
		if got, want := spent, 0.75; got != want {
			t.Errorf("spent by key: %v, want %v", got, want)
		}
	})
	t.Run("copying again adds nothing", func(t *testing.T) {
		from, to := open(t), open(t)
		fill(t, from)
		for range 2 {
			if _, err := migrate.Copy(t.Context(), from, to); err != nil {
				t.Fatalf("Copy: %v", err)
			}
		}
		if err := migrate.Compare(digests(t, from), digests(t, to)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a store filled by a copy makes new records beside the copied ones", func(t *testing.T) {
		from, to := open(t), open(t)
		filled := fill(t, from)
		if _, err := migrate.Copy(t.Context(), from, to); err != nil {
			t.Fatalf("Copy: %v", err)
		}
		u := newUser(t, to, "grace")
		if u.ID == filled.user.ID {
			t.Errorf("a new user got the copied user's id %d", u.ID)
		}
		k := &claudebridge.Key{Name: "second", Prefix: "cb-second", Hash: "hash-second"}
		if err := to.CreateKey(t.Context(), k); err != nil {
			t.Fatalf("CreateKey after a copy: %v", err)
		}
		if err := to.AppendLedger(t.Context(), []claudebridge.LedgerEntry{{Time: time.Now(), Key: "team", Model: "m", Door: "messages", CostUSD: 0.25}}); err != nil {
			t.Fatalf("AppendLedger after a copy: %v", err)
		}
		spent, err := to.SpentByKey(t.Context(), "team", time.Time{})
		if err != nil {
			t.Fatalf("SpentByKey: %v", err)
		}
		if got, want := spent, 1.0; got != want {
			t.Errorf("spent by key: %v, want %v", got, want)
		}
	})
}

// filledStore is what fill made.
type filledStore struct {
	user         *claudebridge.User
	conversation *claudebridge.Conversation
	batch        *claudebridge.Batch
}

// fill puts records of every kind into s through its services.
func fill(t *testing.T, s Store) filledStore {
	t.Helper()
	ctx := t.Context()
	u := newUser(t, s, "ada")
	newUser(t, s, "bob")
	if err := s.CreateSession(ctx, u.ID, "session-ada", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	p := &claudebridge.Prompt{UserID: u.ID, Name: "terse", Text: "Be terse."}
	if err := s.CreatePrompt(ctx, p); err != nil {
		t.Fatalf("CreatePrompt: %v", err)
	}
	c := newConversation(t, s, u.ID, "first")
	addMessage(t, s, c.ID, "user", "a question", claudebridge.MessageComplete)
	m := addMessage(t, s, c.ID, "assistant", "", claudebridge.MessageStreaming)
	m.Content, m.Status, m.Model = "an answer", claudebridge.MessageComplete, "model-a"
	m.Usage = claudebridge.Usage{InputTokens: 10, OutputTokens: 3, CacheReadInputTokens: 2}
	if err := s.UpdateMessage(ctx, m); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	for _, name := range []string{"team", "gone"} {
		k := &claudebridge.Key{Name: name, Prefix: "cb-" + name, Hash: "hash-" + name, RPM: 10, Models: []string{"a", "b"},
			BudgetUSD: 5, BudgetPeriod: "day"}
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
	}
	if err := s.RevokeKey(ctx, "gone"); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	b := &claudebridge.Batch{KeyName: "team", Betas: []string{"beta-1"}}
	if err := s.CreateBatch(ctx, b, []claudebridge.BatchRequest{
		{CustomID: "one", Params: []byte(`{"model":"m"}`)},
		{CustomID: "two", Params: []byte(`{"model":"m"}`)},
		{CustomID: "three", Params: []byte(`{"model":"m"}`)},
	}); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	if err := s.AddBatchResult(ctx, b.ID, claudebridge.BatchResult{CustomID: "one", Type: claudebridge.ResultSucceeded,
		Line: []byte(`{"custom_id":"one","result":{"type":"succeeded"}}`)}); err != nil {
		t.Fatalf("AddBatchResult: %v", err)
	}
	if _, err := s.CancelBatch(ctx, b.ID, time.Now()); err != nil {
		t.Fatalf("CancelBatch: %v", err)
	}
	open := &claudebridge.Batch{}
	if err := s.CreateBatch(ctx, open, []claudebridge.BatchRequest{{CustomID: "x", Params: []byte(`{"model":"m"}`)}}); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	if err := s.EndBatch(ctx, b.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatalf("EndBatch: %v", err)
	}
	entries := []claudebridge.LedgerEntry{
		{Time: time.Now(), RequestID: "req_1", Key: "team", Model: "m", Upstream: "emulator", Door: "messages",
			InputTokens: 100, OutputTokens: 10, CacheWrite1hTokens: 5, CostUSD: 0.5, PriceVersion: "v1",
			Latency: 1500 * time.Millisecond, FirstToken: 300 * time.Millisecond, Status: 200},
		{Time: time.Now(), Key: "team", Model: "m", Door: "count_tokens", CostUSD: 0.25, Status: 200},
		{Time: time.Now(), UserID: u.ID, Model: "model-a", Door: "chat", InputTokens: 10, OutputTokens: 3, CostUSD: 0.01, Status: 200},
	}
	if err := s.AppendLedger(ctx, entries); err != nil {
		t.Fatalf("AppendLedger: %v", err)
	}
	return filledStore{user: u, conversation: c, batch: b}
}

func digests(t *testing.T, s Store) map[string]migrate.Digest {
	t.Helper()
	d, err := migrate.Digests(t.Context(), s)
	if err != nil {
		t.Fatalf("Digests: %v", err)
	}
	return d
}
