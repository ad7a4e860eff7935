package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/claudebridge/claudebridge"
)

// Keys are the client keys the gateway accepts, as x-api-key or as
// Authorization: Bearer. Only their SHA-256 digests are kept, and every
// check compares against all of them in constant time, so neither the
// digests' memory nor the check's timing tells a key.
type Keys struct {
	digests [][sha256.Size]byte
}

// NewKeys returns the key set; empty strings are ignored. With no key at all
// it returns nil, which accepts every request.
func NewKeys(keys ...string) *Keys {
	k := &Keys{}
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

// check returns EAUTH unless r carries one of the keys.
func (k *Keys) check(r *http.Request) error {
	if k == nil {
		return nil
	}
	key := r.Header.Get("x-api-key")
	if key == "" {
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			key = strings.TrimSpace(auth[7:])
		}
	}
	if key == "" {
		return claudebridge.Errorf(claudebridge.EAUTH, "x-api-key header or Authorization: Bearer is required")
	}
	d := sha256.Sum256([]byte(key))
	match := 0
	for i := range k.digests {
		match |= subtle.ConstantTimeCompare(d[:], k.digests[i][:])
	}
	if match != 1 {
		return claudebridge.Errorf(claudebridge.EAUTH, "invalid x-api-key")
	}
	return nil
}
