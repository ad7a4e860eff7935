package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startForShutdown starts a serve of its own, on the built-in emulator,
// to be signalled by the test.
func startForShutdown(t *testing.T, name, grace string) (url string, s *server) {
	return startOnDatabase(t, name, grace, strings.ReplaceAll(name, " ", "-")+".db")
}

// startOnDatabase is startForShutdown on a database of the test's naming.
func startOnDatabase(t *testing.T, name, grace, db string) (url string, s *server) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGTERM to send")
	}
	url, err := start(name, claudebridgeBin, []string{
		"AI_PROVIDER=emulator",
		"SHUTDOWN_GRACE=" + grace,
		"DATABASE_URL=" + filepath.Join(tempDir, db),
	}, "serve", "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return url, serverNamed(name)
}

// exited waits for s to exit, within a bound, and returns its exit code.
func exited(t *testing.T, s *server, within time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %s:\n%s", s.name, within, s.log())
	}
	return s.cmd.ProcessState.ExitCode()
}

func TestSIGTERMEndsAStreamWithOverloadedAfterTheGracePeriodAndExitsZero(t *testing.T) {
	url, s := startForShutdown(t, "shutdown gateway", "1s")
	body := `{"model":"claude-sonnet-4-5","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"Go on [[slow=200]] [[words=500]] ` + nonce(t) + `"}]}`
	req, _ := http.NewRequestWithContext(ctxFor(t), "POST", url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var events []string
	var errorData string
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			events = append(events, name)
			if name == "content_block_delta" && !signalled {
				if err := termGroup(s.cmd); err != nil {
					t.Fatal(err)
				}
				signalled = true
			}
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && events[len(events)-1] == "error" {
			errorData = data
		}
	}
	if got, want := events[len(events)-1], "error"; got != want {
		t.Fatalf("the stream's last event %s, want %s (events %v)", got, want, events)
	}
	if got, want := strings.Contains(errorData, `"error":{"type":"overloaded_error","message":"server shutting down"}`), true; got != want {
		t.Errorf("the error event %s, want overloaded_error, server shutting down", errorData)
	}
	if got, want := exited(t, s, 30*time.Second), 0; got != want {
		t.Errorf("exit code %d, want %d:\n%s", got, want, s.log())
	}
	if got, want := strings.Contains(s.log(), "waiting up to 1s for 1 API stream"), true; got != want {
		t.Errorf("the log does not say what shutdown waited for:\n%s", s.log())
	}
}

func TestASecondSIGTERMExitsAtOnce(t *testing.T) {
	url, s := startForShutdown(t, "second signal gateway", "1h")
	body := `{"model":"claude-sonnet-4-5","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"Go on [[slow=200]] [[words=500]] ` + nonce(t) + `"}]}`
	req, _ := http.NewRequestWithContext(ctxFor(t), "POST", url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := termGroup(s.cmd); err != nil {
		t.Fatal(err)
	}
	// Once the first signal is heard, the log says so; then the second.
	if !s.waitLog("shutting down", 30*time.Second) {
		t.Fatalf("no shutdown, or an exit on the first signal with a stream in flight and an hour of grace:\n%s", s.log())
	}
	if err := termGroup(s.cmd); err != nil {
		t.Fatal(err)
	}
	if got, want := exited(t, s, 30*time.Second), 1; got != want {
		t.Errorf("exit code %d, want %d:\n%s", got, want, s.log())
	}
}

func TestSIGTERMStoresAChatAnswerStillBeingWrittenAsInterrupted(t *testing.T) {
	const db = "shutdown-chat.db"
	url, s := startOnDatabase(t, "shutdown chat", "1s", db)
	ctx := ctxFor(t)
	conn, _, err := websocket.Dial(ctx, strings.Replace(url, "http://", "ws://", 1)+"/api/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {url}}}) // local mode: no login
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send, _ := json.Marshal(map[string]any{"type": "send", "text": "Go on [[slow=200]] [[words=500]] " + nonce(t)})
	if err := conn.Write(ctx, websocket.MessageText, send); err != nil {
		t.Fatal(err)
	}
	type frame struct {
		Type           string `json:"type"`
		ConversationID string `json:"conversation_id"`
		Text           string `json:"text"`
	}
	var turn frame
	var seen strings.Builder
	signalled := false
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			break // the server closed the socket at the end of the grace period
		}
		var f frame
		json.Unmarshal(b, &f)
		switch f.Type {
		case "turn":
			turn = f
		case "delta":
			seen.WriteString(f.Text)
			if !signalled {
				if err := termGroup(s.cmd); err != nil {
					t.Fatal(err)
				}
				signalled = true
			}
		}
	}
	if got, want := exited(t, s, 30*time.Second), 0; got != want {
		t.Fatalf("exit code %d, want %d:\n%s", got, want, s.log())
	}
	if got, want := strings.Contains(s.log(), "waiting up to 1s for 1 chat answer"), true; got != want {
		t.Errorf("the log does not say what shutdown waited for:\n%s", s.log())
	}

	url, _ = startOnDatabase(t, "shutdown chat, restarted", "1s", db)
	resp, err := http.Get(url + "/api/conversations/" + turn.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var conv struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
			Status  string `json:"status"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&conv); err != nil || len(conv.Messages) != 2 {
		t.Fatalf("conversation %s: %+v, %v", turn.ConversationID, conv, err)
	}
	answer := conv.Messages[1]
	if got, want := answer.Status, "interrupted"; got != want {
		t.Errorf("the answer's status %s, want %s", got, want)
	}
	if got, want := strings.HasPrefix(answer.Content, seen.String()) && seen.Len() > 0, true; got != want {
		t.Errorf("the stored answer %q does not keep the text streamed before the end, %q", answer.Content, seen.String())
	}
}
