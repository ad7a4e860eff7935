package pool

import (
	"bytes"

	"github.com/cespare/xxhash/v2"

	"github.com/claudebridge/claudebridge"
)

// needle is the end of the "cache_control" key: searching for it rather
// than the whole key is ten times faster, since bytes.Index skips ahead on
// its first byte, and '"' is everywhere in JSON while '_' is rare.
var needle = []byte(`_control"`)

const keyStart = `"cache`

// CacheKey hashes what a prompt cache would reuse of r: the model, then
// tools, system and messages (the order in which the API builds its cache
// prefix) up to the last "cache_control" marker. ok is false when r has no
// marker: nothing of it is cached, so nothing ties it to a member.
//
// The bytes are read once, as the client sent them, without decoding: the
// search for markers (bytes.Index, vectorised) and the hash (xxhash) walk
// each segment once, and the hash's state at the last marker is the key.
// The prefix ends at the marker's key, so the block that carries it counts
// up to there: two requests that differ only after that point share a key,
// which is what a cache would share too.
func CacheKey(r *claudebridge.Request) (key uint64, ok bool) {
	d := xxhash.New()
	d.WriteString(r.Model)
	parts := [3][]byte{r.Fields["tools"], r.Fields["system"], r.Fields["messages"]}
	if r.Fields == nil {
		parts = [3][]byte{r.Body}
	}
	for _, part := range parts {
		d.Write([]byte{0}) // no two splits of the same bytes hash alike
		hashed, searched := 0, 0
		for {
			i := bytes.Index(part[searched:], needle)
			if i < 0 {
				break
			}
			i += searched
			searched = i + len(needle)
			if i < len(keyStart) || string(part[i-len(keyStart):i]) != keyStart {
				continue
			}
			d.Write(part[hashed : i-len(keyStart)])
			hashed = i - len(keyStart)
			key, ok = d.Sum64(), true
		}
		d.Write(part[hashed:])
	}
	return key, ok
}
