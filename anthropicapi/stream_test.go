package anthropicapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

const streamBody = `{"model":"claude-sonnet-4-5-20250929","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

// sseLines is a Messages stream as the API sends it, with CRLF line ends and
// a ping, so that the reader's work shows.
var sseLines = []string{
	"event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\r\n\r\n",
	"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n",
	"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"caf\\u00e9  \"}}\r\n\r\n",
	"event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n",
}

func writeSSE(w http.ResponseWriter, chunks ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, c := range chunks {
		io.WriteString(w, c)
		w.(http.Flusher).Flush()
	}
}

func readStream(t *testing.T, s claudebridge.Stream) ([]claudebridge.Event, error) {
	t.Helper()
	var evs []claudebridge.Event
	for {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestStreamPassesEventsThrough(t *testing.T) {
	u, f, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeSSE(w, sseLines...)
		// The response ends a little after message_stop, as over a real
		// network: the stream must still wait for that end to keep the
		// connection.
		time.Sleep(20 * time.Millisecond)
	})
	for i := 0; i < 2; i++ {
		// The second request did not ask for a stream: Stream asks for it.
		body := streamBody
		if i == 1 {
			body = strings.Replace(streamBody, `"stream":true,`, ``, 1)
		}
		s, err := u.Stream(context.Background(), parse(t, body, nil))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := readStream(t, s)
		s.Close()
		if err != io.EOF {
			t.Fatalf("ended with %v, want io.EOF", err)
		}
		if len(evs) != len(sseLines) {
			t.Fatalf("%d events", len(evs))
		}
		for j, ev := range evs {
			want := "event: " + ev.Type + "\r\ndata: " + string(ev.Data) + "\r\n\r\n"
			if want != sseLines[j] {
				t.Errorf("event %d: %q, want %q", j, want, sseLines[j])
			}
		}
	}
	var sent map[string]json.RawMessage
	json.Unmarshal(f.requests()[1].Body, &sent)
	if string(sent["stream"]) != "true" {
		t.Errorf("stream field sent as %s", sent["stream"])
	}
	// One client connection (one remote address) served both streams.
	if reqs := f.requests(); reqs[0].From != reqs[1].From {
		t.Errorf("two connections (%s, %s) for two streams read to the end, want one kept alive", reqs[0].From, reqs[1].From)
	}
}

func TestStreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		events int
		code   string
		msg    string
	}{
		{
			name:   "cut before message_stop",
			chunks: sseLines[:3],
			events: 3,
			code:   claudebridge.EINTERNAL,
			msg:    "The Anthropic API stream ended before message_stop",
		},
		{
			name:   "error event",
			chunks: []string{sseLines[0], "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"},
			events: 1,
			code:   claudebridge.EOVERLOADED,
			msg:    "Overloaded",
		},
		{
			name:   "error event without the error JSON",
			chunks: []string{"event: error\ndata: oops\n\n"},
			code:   claudebridge.EINTERNAL,
			msg:    "The Anthropic API stream failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
				writeSSE(w, tt.chunks...)
			})
			s, err := u.Stream(context.Background(), parse(t, streamBody, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs, err := readStream(t, s)
			var e *claudebridge.Error
			if len(evs) != tt.events || !errors.As(err, &e) || e.Code != tt.code || e.Message != tt.msg {
				t.Fatalf("%d events, %v", len(evs), err)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("next call: %v", again)
			}
		})
	}
}

func TestStreamBrokenConnection(t *testing.T) {
	u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeSSE(w, sseLines[0])
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	s, err := u.Stream(context.Background(), parse(t, streamBody, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := readStream(t, s)
	if len(evs) != 1 || claudebridge.ErrorCode(err) != claudebridge.EINTERNAL || !claudebridge.Retryable(err) {
		t.Fatalf("%d events, %v", len(evs), err)
	}
}

func TestStreamCloseUnblocksNext(t *testing.T) {
	release := make(chan struct{})
	u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeSSE(w, sseLines[0])
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s, err := u.Stream(context.Background(), parse(t, streamBody, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Next()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	s.Close()
	select {
	case err := <-done:
		if claudebridge.ErrorCode(err) != claudebridge.ECANCELED {
			t.Fatalf("got %v, want ECANCELED", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Next")
	}
}

func TestStreamContextCancel(t *testing.T) {
	u, _, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeSSE(w, sseLines[0])
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := u.Stream(ctx, parse(t, streamBody, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Next()
	cancel()
	if _, err := s.Next(); claudebridge.ErrorCode(err) != claudebridge.ECANCELED {
		t.Fatalf("got %v", err)
	}
}

func TestModelsFollowsPages(t *testing.T) {
	pages := map[string]string{
		"":      `{"data":[{"type":"model","id":"m3","display_name":"M 3","created_at":"2026-03-01T00:00:00Z"},{"type":"model","id":"m2","display_name":"M 2","created_at":"2026-02-01T00:00:00Z"}],"has_more":true,"first_id":"m3","last_id":"m2"}`,
		"m2":    `{"data":[{"type":"model","id":"m1","display_name":"M 1","created_at":"2026-01-01T00:00:00Z"}],"has_more":false,"first_id":"m1","last_id":"m1"}`,
		"loops": `{"data":[],"has_more":true,"last_id":"loops"}`,
	}
	u, f, _ := newFake(t, StaticKey("k"), func(w http.ResponseWriter, r *http.Request, body []byte) {
		io.WriteString(w, pages[r.URL.Query().Get("after_id")])
	})
	models, err := u.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range models {
		ids = append(ids, m.ID+"/"+m.DisplayName+"/"+m.CreatedAt.Format("2006-01"))
	}
	if got := strings.Join(ids, " "); got != "m3/M 3/2026-03 m2/M 2/2026-02 m1/M 1/2026-01" {
		t.Errorf("models %s", got)
	}
	seen := f.requests()
	if len(seen) != 2 || seen[1].Path != "/v1/models?after_id=m2&limit=1000" || seen[0].Header.Get("Anthropic-Version") == "" {
		t.Errorf("requests %+v", seen)
	}

	// A server that keeps saying has_more with the same cursor ends the list.
	pages[""] = pages["loops"]
	if _, err := u.Models(context.Background()); err != nil {
		t.Fatal(err)
	}
}
