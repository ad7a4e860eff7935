package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/internal/benchcpu"
	"github.com/claudebridge/claudebridge/sqlite"
)

// BenchmarkOperations makes calls over one keep-alive connection through
// serve with its operations on (a virtual key with rpm, tpm and
// concurrency limits, metrics collected for ADMIN_KEY, the ledger in
// SQLite) and off (API_KEYS, LEDGER=off), streaming and not. Serve, the
// Anthropic emulator and the client share the process, so cpu-ns/op of
// ops=on less that of ops=off is what the operations cost a call, without
// the idle runtime's CPU that a process measured from outside spreads over
// its calls.
func BenchmarkOperations(b *testing.B) {
	up := listen(b, emulator.NewHTTPServer(anthropicemu.New(anthropicemu.Options{})))
	const params = `{"model":"claude-sonnet-4-5",%s"max_tokens":1024,"messages":[{"role":"user","content":"Benchmark question [[words=45]]"}]}`
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(params, "")
		if stream {
			body = fmt.Sprintf(params, `"stream":true,`)
		}
		for _, ops := range []bool{false, true} {
			b.Run(fmt.Sprintf("stream=%t/ops=%t", stream, ops), func(b *testing.B) {
				key := operationsEnv(b, up, ops)
				addr, stop := startServe(b)
				defer stop()
				client := &http.Client{}
				call := func() {
					req, _ := http.NewRequest("POST", addr+"/v1/messages", strings.NewReader(body))
					req.Header.Set("x-api-key", key)
					req.Header.Set("anthropic-version", "2023-06-01")
					req.Header.Set("content-type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || n == 0 {
						b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
					}
					if ops && resp.Header.Get("anthropic-ratelimit-requests-limit") == "" {
						b.Fatal("no anthropic-ratelimit-requests-limit: the key's limits are not kept")
					}
				}
				call() // the connection, the key's lookup
				b.ReportAllocs()
				defer benchcpu.Report(b)()
				for b.Loop() {
					call()
				}
			})
		}
	}
}

// operationsEnv sets serve's environment for BenchmarkOperations and
// returns the client's key: a virtual key with limits far above the load
// when ops, else a key of API_KEYS.
func operationsEnv(b *testing.B, upstream string, ops bool) string {
	dir := b.TempDir()
	env := map[string]string{
		"AI_PROVIDER": "anthropic", "ANTHROPIC_BASE_URL": "http://" + upstream, "ANTHROPIC_API_KEY": "upstream-key",
		"DATABASE_URL": filepath.Join(dir, "ops.db"), "HOME": dir, "LOG_FORMAT": "json", "LOG_LEVEL": "info",
		"API_KEYS": "cb-static-key-in-the-bench", "ADMIN_KEY": "", "LEDGER": "off",
		"METRICS_ADDR": "", "LOG_BODIES": "", "LISTEN_ADDR": "", "BEARER_TOKEN": "", "SHUTDOWN_GRACE": "1s",
	}
	key := env["API_KEYS"]
	if ops {
		db, err := sqlite.Open(env["DATABASE_URL"])
		if err != nil {
			b.Fatal(err)
		}
		secret, prefix, hash := claudebridge.NewKeySecret()
		err = db.CreateKey(context.Background(), &claudebridge.Key{Name: "load", Prefix: prefix, Hash: hash,
			RPM: 1_000_000, TPM: 1_000_000_000, Concurrency: 1000})
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		key = secret
		env["API_KEYS"], env["ADMIN_KEY"], env["LEDGER"] = "", "cb-admin-key-in-the-bench", "on"
	}
	for k, v := range env {
		b.Setenv(k, v)
	}
	return key
}
