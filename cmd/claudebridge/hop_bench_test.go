package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/emulator"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/retry"
)

// BenchmarkHop makes non-streaming calls over one keep-alive connection,
// to the Anthropic emulator directly and through the gateway as serve
// wires it (its net/http server, auth, validation, retry, the upstream
// transport).
// The difference of the two is the hop's cost on this machine, all
// processes in one; allocs/op of "gateway" less those of "direct" are the
// gateway's own.
func BenchmarkHop(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	up := listen(b, emulator.NewHTTPServer(anthropicemu.New(anthropicemu.Options{})))
	gw := &gateway.Gateway{
		Upstream: &retry.Upstream{Next: anthropicapi.New(anthropicapi.Options{
			BaseURL: "http://" + up, Key: anthropicapi.StaticKey("upstream-key"), Transport: upstreamTransport(&Config{}, nil), Logger: quiet,
		}), MaxAttempts: 3, Logger: quiet},
		Keys:   claudebridge.NewClientKeys("bench-key"),
		Logger: quiet,
	}
	through := listen(b, newServer(frontDoors(http.NotFoundHandler(), gw, http.NotFoundHandler(), http.NotFoundHandler(), nil)))

	body := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Benchmark question [[words=45]]"}]}`
	for _, target := range []struct{ name, addr string }{{"direct", up}, {"gateway", through}} {
		b.Run(target.name, func(b *testing.B) {
			c, err := net.Dial("tcp", target.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("POST /v1/messages HTTP/1.1\r\nHost: " + target.addr + "\r\nContent-Type: application/json\r\n" +
				"Anthropic-Version: 2023-06-01\r\nX-Api-Key: bench-key\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
			r := textproto.NewReader(bufio.NewReader(c))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if err := readResponse(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func listen(b *testing.B, srv *http.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// readResponse reads one 200 response with a Content-Length, the least a
// client can do.
func readResponse(r *textproto.Reader) error {
	line, err := r.ReadLine()
	if err != nil {
		return err
	}
	if !bytes.HasPrefix([]byte(line), []byte("HTTP/1.1 200 ")) {
		return io.ErrUnexpectedEOF
	}
	h, err := r.ReadMIMEHeader()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(h.Get("Content-Length"))
	if err != nil {
		return err
	}
	_, err = r.R.Discard(n)
	return err
}
