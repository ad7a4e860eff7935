package claudebridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// ClientKeys are the keys clients present to the gateway's front doors: as
// x-api-key or Authorization: Bearer on /v1/*, as a Bedrock API key on
// /model/*. Only their SHA-256 digests are kept, and every check compares
// against all of them in constant time, so neither the digests' memory nor
// the check's timing tells a key.
type ClientKeys struct {
	digests [][sha256.Size]byte
}

// NewClientKeys returns the key set; empty strings are ignored. With no key
// at all it returns nil, which allows every key.
func NewClientKeys(keys ...string) *ClientKeys {
	k := &ClientKeys{}
	for _, key := range keys {
		if key = strings.TrimSpace(key); key != "" {
			k.digests = append(k.digests, sha256.Sum256([]byte(key)))
		}
	}
	if len(k.digests) == 0 {
		return nil
	}
	return k
}

// Allow reports whether key is one of the keys, comparing against all of
// them in constant time. A nil ClientKeys (no key configured) allows every
// key, the empty one included; a non-nil one never allows the empty key.
func (k *ClientKeys) Allow(key string) bool {
	if k == nil {
		return true
	}
	if key == "" {
		return false
	}
	d := sha256.Sum256([]byte(key))
	match := 0
	for i := range k.digests {
		match |= subtle.ConstantTimeCompare(d[:], k.digests[i][:])
	}
	return match == 1
}
