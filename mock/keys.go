package mock

import (
	"context"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// Keys is a claudebridge.KeyService in memory, as the sqlite store
// behaves: names taken once, revocation marks, a version every change
// moves. Reads counts the calls of Keys.
type Keys struct {
	mu      sync.Mutex
	keys    []claudebridge.Key
	version int64
	Reads   int
}

var _ claudebridge.KeyService = (*Keys)(nil)

func (s *Keys) CreateKey(_ context.Context, k *claudebridge.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.Name == k.Name {
			return claudebridge.Errorf(claudebridge.EINVALID, "key %q exists", k.Name)
		}
	}
	k.ID, k.CreatedAt = int64(len(s.keys)+1), time.Now().UTC()
	s.keys = append(s.keys, *k)
	s.version++
	return nil
}

func (s *Keys) Keys(context.Context) ([]claudebridge.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Reads++
	return append([]claudebridge.Key(nil), s.keys...), nil
}

func (s *Keys) RevokeKey(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].Name == name {
			if s.keys[i].Revoked() {
				return claudebridge.Errorf(claudebridge.EINVALID, "key %q is revoked already", name)
			}
			s.keys[i].RevokedAt = time.Now().UTC()
			s.version++
			return nil
		}
	}
	return claudebridge.Errorf(claudebridge.ENOTFOUND, "key not found")
}

func (s *Keys) KeysVersion(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, nil
}

// Add stores a new key with k's name and limits and returns its secret.
func (s *Keys) Add(k claudebridge.Key) (string, error) {
	secret, prefix, hash := claudebridge.NewKeySecret()
	k.Prefix, k.Hash = prefix, hash
	return secret, s.CreateKey(context.Background(), &k)
}
