package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/sqlite"
)

const testModel = "claude-sonnet-4-5-20250929"

// recordingUpstream keeps the last request the chat sent upstream.
type recordingUpstream struct {
	claudebridge.Upstream
	mu     sync.Mutex
	last   *claudebridge.Request
	caller claudebridge.Caller // of the last request
}

func (u *recordingUpstream) Stream(ctx context.Context, r *claudebridge.Request) (claudebridge.Stream, error) {
	u.mu.Lock()
	u.last, u.caller = r, claudebridge.CallerFrom(ctx)
	u.mu.Unlock()
	return u.Upstream.Stream(ctx, r)
}

func (u *recordingUpstream) lastFields() map[string]json.RawMessage {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last.Fields
}

// env is a chat server on the Anthropic API emulator, with its database.
type env struct {
	t        *testing.T
	path     string
	db       claudebridge.Store
	upstream *recordingUpstream
	chat     *chat.Server
	srv      *httptest.Server
	local    bool
	ping     time.Duration // the server's PingInterval; 0 for the default
	pingWait time.Duration // the server's PingTimeout; 0 for the default
	saves    *saveLog
	provider string // the server's Provider
	// configure, if set, is one process of several on the database
	// (cluster_test.go): it sets the options that make it so, and
	// start-up marks nothing interrupted (the others' turns run on).
	configure func(*chat.Options)
	// openDB, if set, opens the store instead of SQLite's file at path.
	openDB func() (claudebridge.Store, error)
	// closeBus closes the end of the bus openDB opened, if any.
	closeBus func() error
}

func newEnv(t *testing.T, local bool) *env {
	t.Helper()
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	t.Cleanup(emu.Close)
	up := &recordingUpstream{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("sk-test")})}
	e := &env{t: t, path: filepath.Join(t.TempDir(), "chat.db"), upstream: up, local: local}
	e.open()
	t.Cleanup(e.shut)
	return e
}

func (e *env) open() {
	var db claudebridge.Store
	var err error
	if e.openDB != nil {
		db, err = e.openDB()
	} else {
		db, err = sqlite.Open(e.path)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if e.configure == nil {
		// As one process alone on its database does at start-up.
		list, err := db.InterruptLapsed(context.Background(), time.Now(), 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := chat.RecordInterrupted(context.Background(), db, db, list); err != nil {
			e.t.Fatal(err)
		}
	}
	e.db = db
	if e.saves == nil {
		e.saves = &saveLog{changed: make(chan struct{})}
	}
	opts := chat.Options{
		Upstream: e.upstream, Conversations: watchedStore{db, e.saves}, Prompts: db, Usage: db, Users: db,
		Defaults:     chat.Defaults{Model: testModel, MaxTokens: 4096, Temperature: 0.3, TopK: 40},
		Local:        e.local,
		Provider:     e.provider,
		SaveInterval: 50 * time.Millisecond,
		PingInterval: e.ping,
		PingTimeout:  e.pingWait,
	}
	if e.configure != nil {
		e.configure(&opts)
	}
	e.chat = chat.New(opts)
	e.srv = httptest.NewServer(e.chat)
}

// shut closes the chat server as serve does at shutdown, then the database.
func (e *env) shut() {
	if e.chat == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.chat.Close(ctx); err != nil {
		e.t.Errorf("closing the chat server: %v", err)
	}
	e.srv.Close()
	if e.closeBus != nil {
		e.closeBus()
	}
	e.db.Close()
	e.chat = nil
}

// watchedStore tells saveLog each message the chat updates: the saves of a
// streaming answer and its final one.
type watchedStore struct {
	claudebridge.Store
	log *saveLog
}

func (s watchedStore) UpdateMessage(ctx context.Context, m *claudebridge.Message) error {
	err := s.Store.UpdateMessage(ctx, m)
	if err == nil {
		s.log.add(*m)
	}
	return err
}

// StartTurn is the store's own: the chat stores a turn's start in one step
// on it, as on the store alone.
func (s watchedStore) StartTurn(ctx context.Context, st *claudebridge.TurnStart) ([]claudebridge.Message, bool, error) {
	return s.Store.(claudebridge.TurnStarter).StartTurn(ctx, st)
}

// EndTurn tells saveLog the answer it saves, as UpdateMessage does.
func (s watchedStore) EndTurn(ctx context.Context, m *claudebridge.Message, owner string) error {
	err := s.Store.(claudebridge.TurnStarter).EndTurn(ctx, m, owner)
	if err == nil {
		s.log.add(*m)
	}
	return err
}

// SaveStreamingTexts tells saveLog each text as a save of its streaming
// answer, once the store has saved them all.
func (s watchedStore) SaveStreamingTexts(ctx context.Context, texts []claudebridge.StreamingText) error {
	err := s.Store.(claudebridge.StreamingTextSaver).SaveStreamingTexts(ctx, texts)
	if err == nil {
		var list []claudebridge.Message
		for _, st := range texts {
			list = append(list, claudebridge.Message{ID: st.MessageID, TurnID: st.TurnID, Content: st.Content, Status: claudebridge.MessageStreaming})
		}
		s.log.add(list...)
		s.log.mu.Lock()
		s.log.batches = append(s.log.batches, len(texts))
		s.log.mu.Unlock()
	}
	return err
}

// saveLog is every message the chat has updated in the store, in order, so
// that a test waits for a save instead of sleeping past one.
type saveLog struct {
	mu      sync.Mutex
	saved   []claudebridge.Message
	batches []int         // the size of each SaveStreamingTexts
	changed chan struct{} // closed, and replaced, at each save
}

func (l *saveLog) add(m ...claudebridge.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.saved = append(l.saved, m...)
	close(l.changed)
	l.changed = make(chan struct{})
}

// waitSave returns the first save of message id, since the env was made,
// for which ok holds; it waits for one up to 10 s.
func (e *env) waitSave(id string, ok func(m claudebridge.Message) bool) claudebridge.Message {
	e.t.Helper()
	timeout := time.After(10 * time.Second)
	for seen := 0; ; {
		l := e.saves
		l.mu.Lock()
		news, changed := l.saved[seen:], l.changed
		seen = len(l.saved)
		l.mu.Unlock()
		for _, m := range news {
			if m.ID == id && ok(m) {
				return m
			}
		}
		select {
		case <-changed:
		case <-timeout:
			e.t.Fatalf("no such save of message %s in 10 s", id)
		}
	}
}

// grownPast holds for a save of a streaming answer that has all of seen and
// more: the turn went on after seen and a save caught up with it.
func grownPast(seen string) func(claudebridge.Message) bool {
	return func(m claudebridge.Message) bool {
		return m.Status == claudebridge.MessageStreaming && strings.HasPrefix(m.Content, seen) && len(m.Content) > len(seen)
	}
}

// eventually reports whether cond comes to hold within timeout, checking it
// every 5 ms. Only for what no event announces (goroutines that end); wait
// on a signal wherever there is one.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// client is a browser's view: a cookie jar and the CSRF token.
type client struct {
	e    *env
	http *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar}}
}

func (e *env) localClient() *client {
	c := e.client()
	c.fetchCSRF()
	return c
}

func (e *env) login(name, password string) *client {
	e.t.Helper()
	ctx := context.Background()
	if _, _, err := e.db.UserByName(ctx, name); err != nil {
		hash, _ := chat.HashPassword(password)
		if _, err := e.db.CreateUser(ctx, name, hash); err != nil {
			e.t.Fatal(err)
		}
	}
	c := e.client()
	if status, body := c.do("POST", "/api/login", map[string]string{"name": name, "password": password}, nil); status != 204 {
		e.t.Fatalf("login %s: %d %s", name, status, body)
	}
	c.fetchCSRF()
	return c
}

func (c *client) fetchCSRF() {
	var me struct{ CSRF string }
	if status, body := c.do("GET", "/api/me", nil, &me); status != 200 {
		c.e.t.Fatalf("GET /api/me: %d %s", status, body)
	}
	c.csrf = me.CSRF
}

// do sends a JSON request with the CSRF token and decodes the answer into out.
func (c *client) do(method, path string, body, out any) (int, string) {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, rd)
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

type frame struct {
	Type           string             `json:"type"`
	TurnID         string             `json:"turn_id"`
	ConversationID string             `json:"conversation_id"`
	UserMessageID  string             `json:"user_message_id"`
	MessageID      string             `json:"message_id"`
	Title          string             `json:"title"`
	Seq            int                `json:"seq"`
	Text           string             `json:"text"`
	Status         string             `json:"status"`
	Error          string             `json:"error"`
	Message        string             `json:"message"`
	Code           string             `json:"code"`
	Usage          claudebridge.Usage `json:"usage"`
	CostUSD        float64            `json:"cost_usd"`
	Counted        bool               `json:"output_tokens_counted"`
}

type sock struct {
	t    *testing.T
	conn *websocket.Conn
}

func (c *client) dial(origin string) (*sock, *http.Response, error) {
	return c.dialWith(origin, websocket.DialOptions{})
}

// dialWith dials with opts, whose HTTPClient and HTTPHeader it sets.
func (c *client) dialWith(origin string, opts websocket.DialOptions) (*sock, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	opts.HTTPClient, opts.HTTPHeader = c.http, h
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.e.srv.URL, "http")+"/api/ws", &opts)
	if err != nil {
		return nil, resp, err
	}
	s := &sock{t: c.e.t, conn: conn}
	c.e.t.Cleanup(func() { conn.CloseNow() })
	return s, resp, nil
}

func (c *client) socket() *sock {
	c.e.t.Helper()
	s, _, err := c.dial(c.e.srv.URL)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return s
}

func (s *sock) send(v any) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	if err := s.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sock) read() frame {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := s.conn.Read(ctx)
	if err != nil {
		s.t.Fatalf("reading the socket: %v", err)
	}
	var f frame
	json.Unmarshal(b, &f)
	return f
}

// follow reads a turn's deltas, checking that seq grows (a frame may carry
// several deltas; its seq is the last one's), up to its done frame; max > 0
// stops once seq has gone that far past after.
func (s *sock) follow(after, max int) (text string, last int, done *frame) {
	s.t.Helper()
	var b strings.Builder
	last = after
	for max <= 0 || last-after < max {
		f := s.read()
		switch f.Type {
		case "delta":
			if f.Seq <= last || f.Text == "" {
				s.t.Fatalf("delta seq %d after %d, text %q", f.Seq, last, f.Text)
			}
			last = f.Seq
			b.WriteString(f.Text)
		case "done":
			if f.Seq != last {
				s.t.Fatalf("done seq %d, last delta %d", f.Seq, last)
			}
			return b.String(), last, &f
		default:
			s.t.Fatalf("unexpected frame %+v", f)
		}
	}
	return b.String(), last, nil
}

func (s *sock) startTurn(v any) frame {
	s.t.Helper()
	s.send(v)
	f := s.read()
	if f.Type != "turn" || f.TurnID == "" || f.MessageID == "" || f.ConversationID == "" {
		s.t.Fatalf("want a turn frame, got %+v", f)
	}
	return f
}

type conversation struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Model    string `json:"model"`
	PromptID string `json:"prompt_id"`
	Messages []struct {
		ID      string             `json:"id"`
		Seq     int                `json:"seq"`
		Role    string             `json:"role"`
		Content string             `json:"content"`
		Status  string             `json:"status"`
		Error   string             `json:"error"`
		Usage   claudebridge.Usage `json:"usage"`
		Counted bool               `json:"output_tokens_counted"`
		TurnID  string             `json:"turn_id"`
	} `json:"messages"`
}

func (c *client) conversation(id string) conversation {
	c.e.t.Helper()
	var conv conversation
	if status, body := c.do("GET", "/api/conversations/"+id, nil, &conv); status != 200 {
		c.e.t.Fatalf("GET conversation: %d %s", status, body)
	}
	return conv
}

func TestSendStreamsAndStores(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "conversation_id": "", "text": "Tell me a story [[words=40]]"})
	if turn.Title != "Tell me a story [[words=40]]" {
		t.Errorf("title %q", turn.Title)
	}
	text, n, done := s.follow(0, 0)
	if done.Status != "complete" || n < 2 || text == "" {
		t.Fatalf("done %+v after %d deltas, text %q", done, n, text)
	}
	if done.Usage.OutputTokens == 0 || done.Usage.InputTokens == 0 || done.CostUSD <= 0 {
		t.Errorf("done usage %+v cost %v", done.Usage, done.CostUSD)
	}
	conv := c.conversation(turn.ConversationID)
	if len(conv.Messages) != 2 || conv.Messages[0].Role != "user" || conv.Messages[1].ID != turn.MessageID {
		t.Fatalf("messages %+v", conv.Messages)
	}
	if m := conv.Messages[1]; m.Content != text || m.Status != "complete" || m.Usage != done.Usage || m.TurnID != turn.TurnID {
		t.Fatalf("stored answer %+v, streamed %q", m, text)
	}
	// What went upstream: the chat defaults, the user's text.
	f := e.upstream.lastFields()
	for k, want := range map[string]string{"model": `"` + testModel + `"`, "max_tokens": "4096", "temperature": "0.3", "top_k": "40", "stream": "true"} {
		if string(f[k]) != want {
			t.Errorf("upstream %s = %s, want %s", k, f[k], want)
		}
	}
	var usage struct {
		Data []struct {
			Day          string  `json:"day"`
			Model        string  `json:"model"`
			OutputTokens int     `json:"output_tokens"`
			CostUSD      float64 `json:"cost_usd"`
		} `json:"data"`
		Total float64 `json:"total_cost_usd"`
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if status, body := c.do("GET", "/api/usage?from="+today+"&to="+today, nil, &usage); status != 200 {
		t.Fatalf("usage: %d %s", status, body)
	}
	if len(usage.Data) != 1 || usage.Data[0].Model != testModel || usage.Data[0].OutputTokens != done.Usage.OutputTokens ||
		usage.Data[0].CostUSD != done.CostUSD || usage.Total != done.CostUSD {
		t.Fatalf("usage %+v, done %+v", usage, done)
	}
}

func TestStopKeepsPartialAnswerAndContinue(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Go on [[slow=40]] [[words=80]]"})
	partial, n, _ := s.follow(0, 3)
	s.send(map[string]any{"type": "stop", "turn_id": turn.TurnID})
	stopped := time.Now()
	rest, _, done := s.follow(n, 0)
	if waited := time.Since(stopped); waited > 200*time.Millisecond {
		t.Errorf("done came %v after stop", waited)
	}
	if done.Status != "stopped" {
		t.Fatalf("done %+v", done)
	}
	partial += rest
	conv := c.conversation(turn.ConversationID)
	if m := conv.Messages[1]; m.Status != "stopped" || m.Content != partial || partial == "" {
		t.Fatalf("stored %+v, streamed %q", m, partial)
	}

	// Continue appends to the same message.
	next := s.startTurn(map[string]any{"type": "continue", "conversation_id": turn.ConversationID})
	if next.MessageID != turn.MessageID || next.TurnID == turn.TurnID || next.UserMessageID != conv.Messages[0].ID {
		t.Fatalf("continue turn %+v, first %+v", next, turn)
	}
	more, _, done := s.follow(0, 0)
	// Read once the turn is done: the turn frame may come before the call.
	if f := e.upstream.lastFields(); !strings.Contains(string(f["messages"]), `"role":"assistant"`) {
		t.Errorf("continuation sent without the partial answer: %s", f["messages"])
	}
	if done.Status != "complete" {
		t.Fatalf("continue done %+v", done)
	}
	conv = c.conversation(turn.ConversationID)
	if len(conv.Messages) != 2 || conv.Messages[1].Content != partial+more || conv.Messages[1].TurnID != next.TurnID {
		t.Fatalf("after continue: %+v; want %q + %q", conv.Messages, partial, more)
	}
	// A complete answer is not continued.
	s.send(map[string]any{"type": "continue", "conversation_id": turn.ConversationID})
	if f := s.read(); f.Type != "error" || f.Code != "invalid_request_error" {
		t.Fatalf("continue of a complete answer: %+v", f)
	}
}

func TestResumeAfterDroppedSocket(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	first := c.socket()
	turn := first.startTurn(map[string]any{"type": "send", "text": "Hi [[slow=20]] [[words=120]]"})
	head, k, _ := first.follow(0, 4)
	first.conn.CloseNow()
	e.waitSave(turn.MessageID, grownPast(head)) // the turn goes on meanwhile

	// While it streams, REST shows the text before the turn; the deltas
	// complete it.
	conv := c.conversation(turn.ConversationID)
	if m := conv.Messages[1]; m.Status != "streaming" || m.Content != "" || m.TurnID != turn.TurnID {
		t.Fatalf("streaming message over REST: %+v", m)
	}
	second := c.socket()
	second.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": k})
	tail, _, done := second.follow(k, 0)
	if done.Status != "complete" {
		t.Fatalf("done %+v", done)
	}
	conv = c.conversation(turn.ConversationID)
	if got := conv.Messages[1].Content; got != head+tail {
		t.Fatalf("stored %q, streamed %q + %q", got, head, tail)
	}
	// From zero: every delta again, then done.
	third := c.socket()
	third.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
	if all, _, _ := third.follow(0, 0); all != head+tail {
		t.Fatalf("replay %q", all)
	}
	third.send(map[string]any{"type": "resume", "turn_id": "turn_gone", "after_seq": 3})
	if f := third.read(); f.Type != "done" || f.Status != "unknown" {
		t.Fatalf("resume of an unknown turn: %+v", f)
	}
}

func TestRegenerateReplacesAnswer(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	first := s.startTurn(map[string]any{"type": "send", "text": "One [[words=10]]"})
	s.follow(0, 0)
	second := s.startTurn(map[string]any{"type": "send", "conversation_id": first.ConversationID, "text": "Two [[words=12]]"})
	s.follow(0, 0)
	conv := c.conversation(first.ConversationID)
	if len(conv.Messages) != 4 {
		t.Fatalf("%d messages", len(conv.Messages))
	}
	again := s.startTurn(map[string]any{"type": "regenerate", "conversation_id": first.ConversationID, "message_id": first.MessageID})
	if again.UserMessageID != conv.Messages[0].ID || again.MessageID == first.MessageID {
		t.Fatalf("regenerate turn %+v", again)
	}
	text, _, done := s.follow(0, 0)
	if done.Status != "complete" {
		t.Fatalf("done %+v", done)
	}
	conv = c.conversation(first.ConversationID)
	if len(conv.Messages) != 2 || conv.Messages[1].ID != again.MessageID || conv.Messages[1].Content != text {
		t.Fatalf("after regenerate: %+v", conv.Messages)
	}
	if strings.Contains(string(e.upstream.lastFields()["messages"]), "Two") {
		t.Error("regenerate sent the turns after the answer it replaces")
	}
	_ = second
	s.send(map[string]any{"type": "regenerate", "conversation_id": first.ConversationID, "message_id": conv.Messages[0].ID})
	if f := s.read(); f.Type != "error" || f.Code != "not_found_error" {
		t.Fatalf("regenerating a user message: %+v", f)
	}
}

func TestUpstreamErrorLeavesConversationConsistent(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Break [[words=50]] [[stream-error=5*1]]"})
	partial, _, done := s.follow(0, 0)
	if done.Status != "error" || done.Error == "" {
		t.Fatalf("done %+v", done)
	}
	conv := c.conversation(turn.ConversationID)
	if len(conv.Messages) != 2 || conv.Messages[1].Status != "error" || conv.Messages[1].Error != done.Error || conv.Messages[1].Content != partial {
		t.Fatalf("messages %+v; streamed %q", conv.Messages, partial)
	}
	// Retry (regenerate) sends the same request, which the fault spares now.
	s.startTurn(map[string]any{"type": "regenerate", "conversation_id": turn.ConversationID, "message_id": turn.MessageID})
	if _, _, done := s.follow(0, 0); done.Status != "complete" {
		t.Fatalf("retry: %+v", done)
	}
	// A refused call, in a new conversation; the next message in it goes
	// upstream with the failed one (roles must alternate).
	turn2 := s.startTurn(map[string]any{"type": "send", "text": "again [[error*1]]"})
	if _, _, done := s.follow(0, 0); done.Status != "error" {
		t.Fatalf("done %+v", done)
	}
	s.startTurn(map[string]any{"type": "send", "conversation_id": turn2.ConversationID, "text": "fine now"})
	s.follow(0, 0) // the fault fires again: the request is not the same
	conv = c.conversation(turn2.ConversationID)
	if len(conv.Messages) != 4 || conv.Messages[1].Status != "error" || conv.Messages[2].Content != "fine now" {
		t.Fatalf("messages %+v", conv.Messages)
	}
	if msgs := string(e.upstream.lastFields()["messages"]); !strings.Contains(msgs, `again [[error*1]]\n\nfine now`) {
		t.Fatalf("sent %s", msgs)
	}
}

func TestRESTConversationsPromptsExportImport(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	var p struct{ ID, Name, Text string }
	if status, body := c.do("POST", "/api/prompts", map[string]string{"name": "Pirate", "text": "Talk like a pirate."}, &p); status != 201 {
		t.Fatalf("create prompt: %d %s", status, body)
	}
	if status, body := c.do("PUT", "/api/prompts/"+p.ID, map[string]string{"name": "Pirate", "text": "Arr."}, &p); status != 200 || p.Text != "Arr." {
		t.Fatalf("update prompt: %d %s", status, body)
	}
	var conv conversation
	if status, body := c.do("POST", "/api/conversations", map[string]string{"title": "Seas", "prompt_id": p.ID}, &conv); status != 201 || conv.Model != testModel {
		t.Fatalf("create conversation: %d %s", status, body)
	}
	s := c.socket()
	s.startTurn(map[string]any{"type": "send", "conversation_id": conv.ID, "text": "Ahoy [[words=8]]"})
	s.follow(0, 0)
	if got := string(e.upstream.lastFields()["system"]); got != `"Arr."` {
		t.Errorf("system sent %s", got)
	}
	if status, body := c.do("PATCH", "/api/conversations/"+conv.ID, map[string]string{"title": "High seas"}, &conv); status != 200 || conv.Title != "High seas" {
		t.Fatalf("rename: %d %s", status, body)
	}
	for range 3 {
		c.do("POST", "/api/conversations", map[string]string{}, nil)
	}
	var page struct {
		Data []conversation `json:"data"`
		Next string         `json:"next_cursor"`
	}
	c.do("GET", "/api/conversations?limit=3", nil, &page)
	if len(page.Data) != 3 || page.Next == "" || page.Data[0].ID == conv.ID {
		t.Fatalf("first page %+v", page)
	}
	c.do("GET", "/api/conversations?limit=3&cursor="+page.Next, nil, &page)
	if len(page.Data) != 1 || page.Next != "" || page.Data[0].ID != conv.ID {
		t.Fatalf("second page %+v", page)
	}

	// Export, delete, import: the same conversation comes back.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/conversations/"+conv.ID+"/export?format=md", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(md), "# High seas") || !strings.Contains(string(md), "Ahoy [[words=8]]") {
		t.Errorf("markdown export:\n%s", md)
	}
	var export map[string]any
	if status, body := c.do("GET", "/api/export?format=json", nil, &export); status != 200 {
		t.Fatalf("export: %d %s", status, body)
	}
	before := c.conversation(conv.ID)
	if status, _ := c.do("DELETE", "/api/conversations/"+conv.ID, nil, nil); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := c.do("GET", "/api/conversations/"+conv.ID, nil, nil); status != 404 {
		t.Fatalf("deleted conversation: %d", status)
	}
	var imported struct{ Imported int }
	if status, body := c.do("POST", "/api/import", export, &imported); status != 200 || imported.Imported != 4 {
		t.Fatalf("import: %d %s", status, body)
	}
	c.do("GET", "/api/conversations?limit=10", nil, &page)
	var back *conversation
	for i := range page.Data {
		if page.Data[i].Title == "High seas" {
			back = &page.Data[i]
		}
	}
	if back == nil {
		t.Fatalf("imported list %+v", page.Data)
	}
	after := c.conversation(back.ID)
	if len(after.Messages) != len(before.Messages) {
		t.Fatalf("imported %d messages, exported %d", len(after.Messages), len(before.Messages))
	}
	for i := range after.Messages {
		a, b := after.Messages[i], before.Messages[i]
		if a.Role != b.Role || a.Content != b.Content || a.Status != b.Status || a.Usage != b.Usage {
			t.Fatalf("message %d: imported %+v, exported %+v", i, a, b)
		}
	}
	if status, _ := c.do("POST", "/api/import", map[string]string{"x": "y"}, nil); status != 400 {
		t.Fatalf("import of junk: %d", status)
	}
	if status, _ := c.do("DELETE", "/api/prompts/"+p.ID, nil, nil); status != 204 {
		t.Fatalf("delete prompt: %d", status)
	}
	var prompts struct{ Data []any }
	if c.do("GET", "/api/prompts", nil, &prompts); len(prompts.Data) != 0 {
		t.Fatalf("prompts after delete: %+v", prompts)
	}
}

func TestUsersAreIsolated(t *testing.T) {
	e := newEnv(t, false)
	alice := e.login("alice", "correct horse")
	bob := e.login("bob", "battery staple")
	if status, _ := e.client().do("GET", "/api/conversations", nil, nil); status != 401 {
		t.Fatalf("anonymous list: %d", status)
	}
	if status, _ := e.client().do("POST", "/api/login", map[string]string{"name": "alice", "password": "wrong"}, nil); status != 401 {
		t.Fatalf("wrong password: %d", status)
	}
	var p struct{ ID string }
	alice.do("POST", "/api/prompts", map[string]string{"name": "secret", "text": "s"}, &p)
	as := alice.socket()
	turn := as.startTurn(map[string]any{"type": "send", "text": "mine [[slow=30]] [[words=60]]"})

	for _, path := range []string{"/api/conversations/" + turn.ConversationID, "/api/conversations/" + turn.ConversationID + "/export", "/api/prompts/" + p.ID} {
		if status, _ := bob.do("GET", path, nil, nil); status != 404 {
			t.Errorf("bob GET %s: %d", path, status)
		}
	}
	if status, _ := bob.do("DELETE", "/api/conversations/"+turn.ConversationID, nil, nil); status != 404 {
		t.Errorf("bob deletes alice's conversation: %d", status)
	}
	if status, _ := bob.do("PATCH", "/api/conversations/"+turn.ConversationID, map[string]string{"title": "x"}, nil); status != 404 {
		t.Errorf("bob renames alice's conversation: %d", status)
	}
	var list struct{ Data []any }
	if bob.do("GET", "/api/conversations", nil, &list); len(list.Data) != 0 {
		t.Errorf("bob lists %d conversations", len(list.Data))
	}
	bs := bob.socket()
	bs.send(map[string]any{"type": "stop", "turn_id": turn.TurnID})
	if f := bs.read(); f.Type != "error" || f.Code != "not_found_error" {
		t.Errorf("bob stops alice's turn: %+v", f)
	}
	bs.send(map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
	if f := bs.read(); f.Type != "done" || f.Status != "unknown" {
		t.Errorf("bob resumes alice's turn: %+v", f)
	}
	bs.send(map[string]any{"type": "send", "conversation_id": turn.ConversationID, "text": "hi"})
	if f := bs.read(); f.Type != "error" || f.Code != "not_found_error" {
		t.Errorf("bob writes in alice's conversation: %+v", f)
	}
	bs.send(map[string]any{"type": "send", "text": "hi", "prompt_id": p.ID})
	if f := bs.read(); f.Type != "error" || f.Code != "not_found_error" {
		t.Errorf("bob uses alice's prompt: %+v", f)
	}
	if _, _, done := as.follow(0, 0); done.Status != "complete" {
		t.Fatalf("alice's turn: %+v", done)
	}
	// Logout ends the session.
	if status, _ := alice.do("POST", "/api/logout", nil, nil); status != 204 {
		t.Fatalf("logout: %d", status)
	}
	if status, _ := alice.do("GET", "/api/conversations", nil, nil); status != 401 {
		t.Fatalf("after logout: %d", status)
	}
	if _, resp, err := alice.dial(e.srv.URL); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("socket after logout: %v %v", resp, err)
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	token := c.csrf
	c.csrf = ""
	if status, body := c.do("POST", "/api/conversations", map[string]string{}, nil); status != 403 || !strings.Contains(body, "permission_error") {
		t.Fatalf("POST without CSRF token: %d %s", status, body)
	}
	wrong := "0" // a token that differs from the right one in its first character
	if token[0] == '0' {
		wrong = "1"
	}
	c.csrf = wrong + token[1:]
	if status, _ := c.do("DELETE", "/api/conversations/conv_x", nil, nil); status != 403 {
		t.Fatalf("DELETE with a wrong token: %d", status)
	}
	c.csrf = token
	if status, _ := c.do("POST", "/api/conversations", map[string]string{}, nil); status != 201 {
		t.Fatalf("POST with the token: %d", status)
	}
	if _, resp, err := c.dial("http://evil.example"); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("socket from another origin: %v %v", resp, err)
	}
	if s, _, err := c.dial(e.srv.URL); err != nil {
		t.Fatalf("socket from the page's origin: %v", err)
	} else {
		s.conn.CloseNow()
	}
}

func TestRestartMidStream(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=60]] [[words=40]]"})
	seen, _, _ := s.follow(0, 5)
	e.waitSave(turn.MessageID, grownPast(seen))
	e.shut()

	e.open()
	c = e.localClient()
	conv := c.conversation(turn.ConversationID)
	m := conv.Messages[1]
	if m.Status != "interrupted" || !strings.HasPrefix(m.Content, seen) || len(m.Content) <= len(seen) {
		t.Fatalf("after restart: %+v; streamed %q", m, seen)
	}
	// An interrupted answer can be continued.
	s = c.socket()
	s.startTurn(map[string]any{"type": "continue", "conversation_id": turn.ConversationID})
	more, _, done := s.follow(0, 0)
	if done.Status != "complete" || c.conversation(turn.ConversationID).Messages[1].Content != m.Content+more {
		t.Fatalf("continue after restart: %+v", done)
	}
}

func TestCrashLosesAtMostOneSave(t *testing.T) {
	// Without Close (a crash), the text is in the store from the last save
	// on, and start-up marks the message interrupted.
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=20]] [[words=400]]"})
	seen, _, _ := s.follow(0, 10)
	e.waitSave(turn.MessageID, func(m claudebridge.Message) bool {
		return m.Status == claudebridge.MessageStreaming && strings.HasPrefix(m.Content, seen)
	})
	other, err := sqlite.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The turn still runs in this test (a real crash would have ended it)
	// and goes on saving: read what is stored first, then mark it as a
	// restart does, at a time past any save it makes meanwhile (a save
	// stamped after the restart's time would leave it streaming).
	msgs, _ := other.Messages(context.Background(), mustLocal(t, other), turn.ConversationID)
	if m := msgs[1]; m.Status != "streaming" || !strings.HasPrefix(m.Content, seen) {
		t.Fatalf("saved while streaming: %+v; streamed %q", m, seen)
	}
	if list, err := other.InterruptLapsed(context.Background(), time.Now().Add(time.Hour), 0); err != nil || len(list) != 1 {
		t.Fatalf("InterruptLapsed = %d messages, %v, want the one streaming message marked", len(list), err)
	}
}

func mustLocal(t *testing.T, db claudebridge.Store) int64 {
	u, err := db.EnsureUser(context.Background(), chat.LocalUser)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestBusyConversationAndDeleteStopsTurn(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	s := c.socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "slow [[slow=50]] [[words=200]]"})
	model := c.conversation(turn.ConversationID).Model
	s.send(map[string]any{"type": "send", "conversation_id": turn.ConversationID, "text": "another", "model": "claude-haiku-4-5"})
	for {
		f := s.read()
		if f.Type == "error" {
			if f.Code != "invalid_request_error" {
				t.Fatalf("second send in a busy conversation: %+v", f)
			}
			break
		}
	}
	if got := c.conversation(turn.ConversationID).Model; got != model {
		t.Errorf("a refused send changed the model %s to %s", model, got)
	}
	if status, _ := c.do("DELETE", "/api/conversations/"+turn.ConversationID, nil, nil); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		f := s.read()
		if f.Type == "done" {
			if f.Status != "stopped" {
				t.Fatalf("done %+v", f)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the turn of a deleted conversation goes on")
		}
	}
}

func TestNoGoroutineLeftAfterDisconnect(t *testing.T) {
	e := newEnv(t, true)
	c := e.localClient()
	// Warm up the pools (HTTP keep-alives, database connections).
	w := c.socket()
	w.startTurn(map[string]any{"type": "send", "text": "warm [[words=5]]"})
	w.follow(0, 0)
	w.conn.Close(websocket.StatusNormalClosure, "")
	// Counted once the warm-up socket and turn have ended on both sides.
	if !eventually(3*time.Second, func() bool { return !runsChatOrSocket(stacks()) }) {
		t.Fatalf("the warm-up socket or turn is still running:\n%s", stacks())
	}
	base := runtime.NumGoroutine()

	for range 5 {
		s := c.socket()
		turn := s.startTurn(map[string]any{"type": "send", "text": "bye [[slow=20]] [[words=40]]"})
		s.follow(0, 2)
		s.conn.CloseNow()
		// The turn runs on without the socket, then ends: its final save.
		e.waitSave(turn.MessageID, func(m claudebridge.Message) bool { return m.Status != claudebridge.MessageStreaming })
	}
	// slack for the HTTP client's idle connections
	if !eventually(3*time.Second, func() bool { return runtime.NumGoroutine() <= base+2 }) {
		t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, stacks())
	}
}

// stacks is the stack of every goroutine.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// runsChatOrSocket tells whether any goroutine of stacks is in the chat
// package (a socket's handler, a turn) or in a WebSocket (either end).
func runsChatOrSocket(stacks string) bool {
	return strings.Contains(stacks, "claudebridge/chat.") || strings.Contains(stacks, "coder/websocket.")
}

func TestWrongPasswordsLockTheNameForAWhile(t *testing.T) {
	e := newEnv(t, false)
	e.login("alice", "correct horse")
	e.login("bob", "battery staple")
	c := e.client()
	for i := range 5 {
		if status, _ := c.do("POST", "/api/login", map[string]string{"name": "alice", "password": fmt.Sprint("guess", i)}, nil); status != 401 {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	// Now even the right password waits; another name does not.
	if status, _ := c.do("POST", "/api/login", map[string]string{"name": "alice", "password": "correct horse"}, nil); status != 429 {
		t.Fatalf("after 5 wrong passwords: %d, want 429", status)
	}
	if status, _ := c.do("POST", "/api/login", map[string]string{"name": "bob", "password": "battery staple"}, nil); status != 204 {
		t.Fatalf("another name: %d", status)
	}
}

func TestTurnsPerUserAreLimited(t *testing.T) {
	e := newEnv(t, false)
	alice := e.login("alice", "correct horse")
	bob := e.login("bob", "battery staple")
	as := alice.socket()
	// Frames of the turns already running come in between: wait for the
	// answer to this send, a turn frame or an error.
	send := func(s *sock, text string) frame {
		s.send(map[string]any{"type": "send", "text": text})
		for {
			if f := s.read(); f.Type == "turn" || f.Type == "error" {
				return f
			}
		}
	}
	var first frame
	for i := range 4 {
		f := send(as, fmt.Sprint("long ", i, " [[slow=50]] [[words=200]]"))
		if f.Type != "turn" {
			t.Fatalf("turn %d: %+v", i, f)
		}
		if i == 0 {
			first = f
		}
	}
	if f := send(as, "a fifth"); f.Type != "error" || f.Code != "rate_limit_error" {
		t.Fatalf("fifth turn: %+v", f)
	}
	// Another user is not held back by alice's turns.
	if f := send(bob.socket(), "mine [[words=3]]"); f.Type != "turn" {
		t.Fatalf("bob: %+v", f)
	}
	// Once one of alice's turns is stopped, she may start another.
	as.send(map[string]any{"type": "stop", "turn_id": first.TurnID})
	for {
		if f := as.read(); f.Type == "done" && f.TurnID == first.TurnID {
			break
		}
	}
	if f := send(as, "now it fits [[words=3]]"); f.Type != "turn" {
		t.Fatalf("after a stop: %+v", f)
	}
}

func TestASessionsCSRFTokenIsTakenByEveryServerOnTheStoreWhateverItsSecret(t *testing.T) {
	a := newEnv(t, false)
	b := &env{t: t, path: a.path, upstream: a.upstream}
	b.open()
	t.Cleanup(b.shut)
	alice := a.login("alice", "alice-password-1")
	bob := b.login("bob", "bob-password-12")
	if alice.csrf == bob.csrf {
		t.Fatalf("two sessions have one CSRF token")
	}
	alice.e = b // the same cookie, the token server a gave
	if status, body := alice.do("POST", "/api/conversations", map[string]string{}, nil); status != 201 {
		t.Fatalf("POST to the other server with the session's token: %d %s", status, body)
	}
	alice.csrf = bob.csrf
	if status, _ := alice.do("POST", "/api/conversations", map[string]string{}, nil); status != 403 {
		t.Fatalf("POST with another session's token: %d", status)
	}
}
