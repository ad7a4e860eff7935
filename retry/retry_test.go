package retry_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/retry"
)

// upstream is the real Anthropic API upstream against the emulator, whose
// directives make the faults.
func upstream(t *testing.T, attempts int) *retry.Upstream {
	t.Helper()
	srv := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	t.Cleanup(srv.Close)
	next := anthropicapi.New(anthropicapi.Options{BaseURL: srv.URL, Key: anthropicapi.StaticKey("k")})
	return &retry.Upstream{Next: next, MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
}

func request(text string, stream bool) *claudebridge.Request {
	body, _ := json.Marshal(map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": text}}})
	r := &claudebridge.Request{Model: "claude-sonnet-4-5", Stream: stream, Body: body}
	json.Unmarshal(body, &r.Fields)
	return r
}

func TestTransientFailuresAreRetried(t *testing.T) {
	for _, c := range []struct {
		text     string
		attempts int
		code     string // "" for success
	}{
		{"[[throttle*2]] a", 3, ""},
		{"[[throttle*2]] b", 2, claudebridge.ERATELIMIT},
		{"[[overloaded*1]] c", 2, ""},
		{"[[error*1]] d", 2, ""},
		{"[[denied*1]] e", 3, claudebridge.EPERMISSION}, // not transient: one try
	} {
		u := upstream(t, c.attempts)
		_, err := u.Messages(context.Background(), request(c.text, false))
		if claudebridge.ErrorCode(err) != c.code {
			t.Errorf("%s with %d attempts: %v, want code %q", c.text, c.attempts, err, c.code)
		}
	}
}

func TestStreamsAreRetriedOnlyBeforeTheirFirstEvent(t *testing.T) {
	u := upstream(t, 3)
	s, err := u.Stream(context.Background(), request("[[overloaded*2]] hi", true))
	if err != nil {
		t.Fatalf("a stream refused twice then served must be served: %v", err)
	}
	ev, err := s.Next()
	s.Close()
	if err != nil || ev.Type != "message_start" {
		t.Fatalf("first event %q, %v", ev.Type, err)
	}
	// A stream that fails after its first event is not sent again: the
	// client would see its start twice.
	s, err = u.Stream(context.Background(), request("[[stream-error=3]] hi", true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for {
		ev, err := s.Next()
		if err == io.EOF {
			t.Fatal("a broken stream ended cleanly")
		}
		if err != nil {
			if claudebridge.ErrorCode(err) != claudebridge.EOVERLOADED || n != 3 {
				t.Fatalf("after %d events: %v", n, err)
			}
			break
		}
		if ev.Type != "ping" {
			n++
		}
	}
}
