// Package emulator holds what the emulators share to be served; the
// emulators themselves are rooms of their own: bedrockemu (the Bedrock
// runtime, its control plane and Secrets Manager), anthropicemu (the
// Anthropic API), both answering from sim, the simulated Claude. Each speaks
// its real wire format and answers deterministically from the request, with
// fault directives a test writes into its prompt.
package emulator

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPServer returns an http.Server for h that speaks HTTP/1.1 and
// HTTP/2 without TLS (prior knowledge, as the AWS SDK for JavaScript v3
// and gRPC-style clients use) on the same port.
func NewHTTPServer(h http.Handler) *http.Server {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: h, Protocols: p, ReadHeaderTimeout: 30 * time.Second}
}

// Serve serves h on ln with NewHTTPServer until ln fails or is closed.
func Serve(ln net.Listener, h http.Handler) error {
	return NewHTTPServer(h).Serve(ln)
}
