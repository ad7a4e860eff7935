package chat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
)

// gatedStore holds the first assistant message AddMessage gets until gate
// closes, so that a turn can be caught between being prepared and launched.
type gatedStore struct {
	claudebridge.Store
	once    sync.Once
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) AddMessage(ctx context.Context, m *claudebridge.Message) error {
	if m.Role == "assistant" {
		g.once.Do(func() { close(g.entered); <-g.gate })
	}
	return g.Store.AddMessage(ctx, m)
}

func TestCloseWaitsForATurnBeingPrepared(t *testing.T) {
	e := newEnv(t, true)
	g := &gatedStore{Store: e.db, entered: make(chan struct{}), gate: make(chan struct{})}
	cs := chat.New(chat.Options{
		Upstream: e.upstream, Conversations: g, Prompts: e.db, Usage: e.db, Users: e.db,
		Defaults: chat.Defaults{Model: testModel}, Local: true, SaveInterval: 50 * time.Millisecond,
	})
	e.srv.Close()
	e.srv = httptest.NewServer(cs) // the clients talk to this server; shut closes it
	c := e.localClient()
	s := c.socket()
	s.send(map[string]any{"type": "send", "text": "Long one [[slow=50]] [[words=100]]"})
	<-g.entered

	closing := make(chan struct{})
	chat.OnCloseBegun(cs, func() { close(closing) })
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		closed <- cs.Close(ctx)
	}()
	<-closing // the turn is launched after Close began
	close(g.gate)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Once Close returns, no turn may still write: the one that was being
	// prepared is stored as interrupted.
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	c.do("GET", "/api/conversations", nil, &list)
	if len(list.Data) != 1 {
		t.Fatalf("conversations %+v", list)
	}
	msgs, err := e.db.Messages(context.Background(), mustLocal(t, e.db), list.Data[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Status != claudebridge.MessageInterrupted {
		t.Fatalf("after Close: %+v", msgs)
	}
}

func TestResumeWithNegativeSeq(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Hi [[words=20]]"})
	all, _, _ := s.follow(0, 0)
	s.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": -3})
	if again, _, done := s.follow(0, 0); again != all || done.Status != "complete" {
		t.Fatalf("replay after -3: %q, want %q", again, all)
	}
}

func TestEmptySendCreatesNoConversation(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	s.send(map[string]any{"type": "send", "conversation_id": "", "text": "  \n"})
	if f := s.read(); f.Type != "error" || f.Code != "invalid_request_error" {
		t.Fatalf("empty send: %+v", f)
	}
	var list struct{ Data []any }
	if c.do("GET", "/api/conversations", nil, &list); len(list.Data) != 0 {
		t.Fatalf("an empty send left %d conversations", len(list.Data))
	}
}

func TestLocalModeRefusesForeignHost(t *testing.T) {
	// A page of another site whose name was re-pointed at 127.0.0.1 (DNS
	// rebinding) is same-origin for the browser: only the Host tells.
	e := newEnv(t, true)
	for host, want := range map[string]int{"evil.example:8080": 403, "localhost:1234": 200, "127.0.0.1": 200, "[::1]:80": 200, "app.localhost": 200} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/me", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Type string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 403 && body.Error.Type != "permission_error") {
			t.Errorf("Host %s: %d %+v, want %d", host, resp.StatusCode, body, want)
		}
	}
}

func TestSocketPathWithoutUpgradeAnswersJSON(t *testing.T) {
	e := newEnv(t, true)
	resp, err := http.Get(e.srv.URL + "/api/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Type, Message string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 400 ||
		body.Error.Type != "invalid_request_error" || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Fatalf("GET /api/ws without Upgrade: %d %+v %v", resp.StatusCode, body, err)
	}
}

func TestNextTurnRightAfterDone(t *testing.T) {
	// The done frame says the conversation is free: a send that follows it
	// at once must not be refused as busy.
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	first := s.startTurn(map[string]any{"type": "send", "text": "One [[words=3]]"})
	s.follow(0, 0)
	for range 100 {
		s.startTurn(map[string]any{"type": "send", "conversation_id": first.ConversationID, "text": "Again [[words=3]]"})
		s.follow(0, 0)
	}
}

// TestSilentSocketIsClosed: a client that stops answering pings loses its
// socket; one that reads keeps it across many ping intervals.
func TestSilentSocketIsClosed(t *testing.T) {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	t.Cleanup(emu.Close)
	up := &recordingUpstream{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("sk-test")})}
	// Pings every 50 ms, each to be answered within 300 ms: a busy machine
	// (tests under -race beside others) may delay a pong past one interval.
	// The silent socket is closed by about 350 ms, before the reading one
	// has seen its twelfth ping (600 ms): it is read only after that.
	e := &env{t: t, path: filepath.Join(t.TempDir(), "chat.db"), upstream: up, local: true, ping: 50 * time.Millisecond, pingWait: 300 * time.Millisecond}
	e.open()
	t.Cleanup(e.shut)
	c := e.localClient()
	silent := c.socket()
	// The server pings again only once the last ping was answered: the
	// twelfth ping says the reading socket has answered eleven.
	var pings atomic.Int32
	pinged := make(chan struct{})
	live, _, err := c.dialWith(e.srv.URL, websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		if pings.Add(1) == 12 {
			close(pinged)
		}
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan frame, 16)
	go func() {
		defer close(frames)
		for {
			_, b, err := live.conn.Read(context.Background())
			if err != nil {
				return
			}
			var f frame
			json.Unmarshal(b, &f)
			frames <- f
		}
	}()
	select {
	case <-pinged:
	case f, ok := <-frames:
		t.Fatalf("after %d pings the reading socket got %+v (open: %v)", pings.Load(), f, ok)
	case <-time.After(5 * time.Second):
		t.Fatalf("%d pings in 5 s, want 12", pings.Load())
	}
	live.send(map[string]any{"type": "resume", "turn_id": "turn_none", "after_seq": 0})
	select {
	case f, ok := <-frames:
		if !ok || f.Type != "done" {
			t.Fatalf("the reading socket did not survive the pings: %+v %v", f, ok)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no answer on the reading socket")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, err := silent.conn.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("the silent socket was kept open: %v", err)
	}
}

func TestDrainLetsAnAnswerFinishAndRefusesNewOnes(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	s.startTurn(map[string]any{"type": "send", "text": "Hi [[slow=20]] [[words=30]]"})
	seen, _, _ := s.follow(0, 3)
	if got, want := e.chat.Answering(), 1; got != want {
		t.Errorf("answers being written %d, want %d", got, want)
	}
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- e.chat.Drain(ctx)
	}()
	// Drain refuses new answers; once a send is refused, it has begun.
	other := c.socket()
	for {
		other.send(map[string]any{"type": "send", "text": "Another one"})
		f := other.read()
		if f.Type == "error" {
			if got, want := f.Code, "overloaded_error"; got != want {
				t.Errorf("a send while draining: %s, want %s", got, want)
			}
			break
		}
		other.follow(0, 0) // sent before Drain began: let it end
	}
	rest, _, done := s.follow(3, 0)
	if got, want := done.Status, claudebridge.MessageComplete; got != want {
		t.Errorf("the answer written while draining ended %s, want %s (%q)", got, want, seen+rest)
	}
	if err := <-drained; err != nil {
		t.Errorf("Drain: %v", err)
	}
	if got, want := e.chat.Answering(), 0; got != want {
		t.Errorf("answers being written after Drain %d, want %d", got, want)
	}
}
