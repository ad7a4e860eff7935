package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Allow reports whether key is one of the keys, comparing against all of
// them in constant time. A nil Keys (no key configured) allows every key.
// Other front doors (the Bedrock API's bearer tokens) check their clients'
// keys with it.
func (k *Keys) Allow(key string) bool {
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
