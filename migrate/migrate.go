// Package migrate copies every record of one store into another (SQLite
// into PostgreSQL when a team outgrows one machine, or back) and verifies
// the copy: per kind of record, how many and a digest of their contents,
// which must be equal on both sides.
package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/claudebridge/claudebridge"
)

// batchSize is how many records go into one transaction of the copy:
// large enough to be quick, small enough that a big ledger does not hold
// one transaction for minutes.
const batchSize = 500

// Copy copies every record of from into to, batchSize at a time, and
// returns how many it handed over. Records to already holds (by ID) stay
// as they are, so Copy can be run again after an interruption.
func Copy(ctx context.Context, from, to claudebridge.RecordStore) (int, error) {
	var n int
	batch := make([]claudebridge.Record, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := to.ImportRecords(ctx, batch); err != nil {
			return err
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err := from.ExportRecords(ctx, func(r claudebridge.Record) error {
		batch = append(batch, r)
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, flush()
}

// Kinds are the kinds of record, in the order they are copied.
var Kinds = []string{"users", "sessions", "prompts", "conversations", "messages", "keys", "batches", "ledger"}

// Digest is how many records of one kind a store holds and a checksum of
// their contents, independent of the order a store lists them in.
type Digest struct {
	Count int
	Sum   string // hex SHA-256
}

// Digests reads every record of s and digests each kind.
func Digests(ctx context.Context, s claudebridge.RecordStore) (map[string]Digest, error) {
	sums := map[string][][32]byte{}
	err := s.ExportRecords(ctx, func(r claudebridge.Record) error {
		kind, v := kindOf(r)
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		sums[kind] = append(sums[kind], sha256.Sum256(b))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]Digest{}
	for _, kind := range Kinds {
		list := sums[kind]
		slices.SortFunc(list, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
		h := sha256.New()
		for _, s := range list {
			h.Write(s[:])
		}
		out[kind] = Digest{Count: len(list), Sum: hex.EncodeToString(h.Sum(nil))}
	}
	return out, nil
}

// kindOf names a record's kind and returns it in a canonical form: times
// in UTC to the microsecond (what PostgreSQL keeps), so that the same
// record digests alike in every engine.
func kindOf(r claudebridge.Record) (string, any) {
	switch {
	case r.User != nil:
		u := *r.User
		u.CreatedAt = canonical(u.CreatedAt)
		return "users", u
	case r.Session != nil:
		s := *r.Session
		s.ExpiresAt = canonical(s.ExpiresAt)
		return "sessions", s
	case r.Prompt != nil:
		p := *r.Prompt
		p.CreatedAt, p.UpdatedAt = canonical(p.CreatedAt), canonical(p.UpdatedAt)
		return "prompts", p
	case r.Conversation != nil:
		c := *r.Conversation
		c.CreatedAt, c.UpdatedAt = canonical(c.CreatedAt), canonical(c.UpdatedAt)
		return "conversations", c
	case r.Message != nil:
		m := *r.Message
		m.CreatedAt, m.UpdatedAt = canonical(m.CreatedAt), canonical(m.UpdatedAt)
		return "messages", m
	case r.Key != nil:
		k := *r.Key
		k.CreatedAt, k.RevokedAt = canonical(k.CreatedAt), canonical(k.RevokedAt)
		return "keys", k
	case r.Batch != nil:
		b := *r.Batch
		b.CreatedAt, b.ExpiresAt, b.EndedAt = canonical(b.CreatedAt), canonical(b.ExpiresAt), canonical(b.EndedAt)
		b.CancelInitiatedAt, b.ArchivedAt = canonical(b.CancelInitiatedAt), canonical(b.ArchivedAt)
		b.Items = slices.Clone(b.Items)
		for i := range b.Items {
			if len(b.Items[i].Params) == 0 {
				b.Items[i].Params = nil
			}
			if len(b.Items[i].Result) == 0 {
				b.Items[i].Result = nil
			}
		}
		return "batches", b
	case r.Ledger != nil:
		l := *r.Ledger
		l.Time = canonical(l.Time)
		l.Latency, l.FirstToken = l.Latency.Truncate(time.Microsecond), l.FirstToken.Truncate(time.Microsecond)
		return "ledger", l
	}
	return "", nil
}

func canonical(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Compare returns an error naming every kind whose digests differ.
func Compare(from, to map[string]Digest) error {
	var bad []string
	for _, kind := range Kinds {
		if from[kind] != to[kind] {
			bad = append(bad, fmt.Sprintf("%s (%d here, %d there)", kind, from[kind].Count, to[kind].Count))
		}
	}
	if bad != nil {
		return fmt.Errorf("the copy differs from the source in %v", bad)
	}
	return nil
}
