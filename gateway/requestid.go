package gateway

import "math/rand/v2"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newRequestID returns an id in the style of Anthropic's: "req_" and 24
// base62 characters. It identifies, it does not protect: math/rand suffices.
func newRequestID() string {
	var b [28]byte
	copy(b[:], "req_")
	for i := 4; i < len(b); i++ {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b[:])
}
