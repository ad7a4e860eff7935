package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// gatewayConns is API Gateway's side of the connections: the frames posted
// to each, and the connections that are gone.
type gatewayConns struct {
	t  *testing.T
	mu sync.Mutex
	ch map[string]chan []byte
	// goneAfter, for a connection, is how many posts it takes before it
	// answers 410.
	goneAfter map[string]int
}

func newGatewayConns(t *testing.T) *gatewayConns {
	return &gatewayConns{t: t, ch: map[string]chan []byte{}, goneAfter: map[string]int{}}
}

func (g *gatewayConns) conn(id string) chan []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch[id] == nil {
		g.ch[id] = make(chan []byte, 10000)
	}
	return g.ch[id]
}

func (g *gatewayConns) Post(_ context.Context, id string, frame []byte) error {
	g.mu.Lock()
	n, limited := g.goneAfter[id]
	if limited {
		if n == 0 {
			g.mu.Unlock()
			return fmt.Errorf("GoneException: %w", chat.ErrGone)
		}
		g.goneAfter[id] = n - 1
	}
	g.mu.Unlock()
	g.conn(id) <- frame
	return nil
}

// read returns the next frame posted to connection id.
func (g *gatewayConns) read(id string) frame {
	g.t.Helper()
	select {
	case b := <-g.conn(id):
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			g.t.Fatalf("frame %s: %v", b, err)
		}
		return f
	case <-time.After(10 * time.Second):
		g.t.Fatalf("no frame posted to %s in 10 s", id)
	}
	return frame{}
}

// follow reads deltas posted to id after seq after, checking that seq
// grows, up to the done frame; max > 0 stops once seq has gone that far.
func (g *gatewayConns) follow(id string, after, max int) (text string, last int, done *frame) {
	g.t.Helper()
	var b strings.Builder
	last = after
	for max <= 0 || last-after < max {
		f := g.read(id)
		switch f.Type {
		case "delta":
			if f.Seq <= last || f.Text == "" {
				g.t.Fatalf("delta seq %d after %d, text %q", f.Seq, last, f.Text)
			}
			last = f.Seq
			b.WriteString(f.Text)
		case "done":
			if f.Seq != last {
				g.t.Fatalf("done seq %d, last delta %d", f.Seq, last)
			}
			return b.String(), last, &f
		default:
			g.t.Fatalf("unexpected frame %+v", f)
		}
	}
	return b.String(), last, nil
}

// jobQueue is the function invoking itself: each job launched runs at once
// in a goroutine of its own, as an asynchronous invocation would.
type jobQueue struct {
	e   *gatewayEnv
	wg  sync.WaitGroup
	err error // Launch's answer, if set
}

func (q *jobQueue) Launch(_ context.Context, job chat.SocketJob) error {
	if q.err != nil {
		return q.err
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q.e.chat.RunSocketJob(ctx, job, q.e.conns)
	}()
	return nil
}

// gatewayEnv is the chat behind API Gateway: one server stands for every
// invocation (each keeps nothing of its own between them but the store).
type gatewayEnv struct {
	*env
	conns *gatewayConns
	jobs  *jobQueue
}

func newGatewayEnv(t *testing.T) *gatewayEnv {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	t.Cleanup(emu.Close)
	up := &recordingUpstream{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("sk-test")})}
	e := &env{t: t, upstream: up, path: filepath.Join(t.TempDir(), "chat.db")}
	g := &gatewayEnv{env: e, conns: newGatewayConns(t)}
	g.jobs = &jobQueue{e: g}
	e.configure = func(o *chat.Options) {
		o.Leases, o.Sockets, o.SocketURL = e.db, e.db, "wss://example.execute-api.us-east-1.amazonaws.com/prod"
		// Short, so that a resume's wait for a dead job's lease is short.
		o.Lease = time.Second
		o.AllowedOrigins = []string{"https://page.example"}
	}
	e.open()
	t.Cleanup(func() { g.jobs.wg.Wait() })
	t.Cleanup(e.shut)
	return g
}

// connect opens connection id for c with a ticket of c's.
func (g *gatewayEnv) connect(c *client, id string) {
	g.t.Helper()
	var got struct{ Ticket, URL string }
	if status, body := c.do("POST", "/api/socket-ticket", nil, &got); status != 200 {
		g.t.Fatalf("POST /api/socket-ticket: %d %s", status, body)
	}
	r, _ := http.NewRequest("GET", "https://example.execute-api.us-east-1.amazonaws.com/prod?ticket="+got.Ticket, nil)
	if _, err := g.chat.ConnectSocket(context.Background(), r, id); err != nil {
		g.t.Fatalf("connect with a ticket: %v", err)
	}
}

// message is the $default route: a frame the page sent on connection id.
func (g *gatewayEnv) message(id string, v any) {
	g.t.Helper()
	b, _ := json.Marshal(v)
	if err := g.chat.SocketMessage(context.Background(), id, b, g.conns, g.jobs); err != nil {
		g.t.Fatalf("frame on %s: %v", id, err)
	}
}

func (g *gatewayEnv) startTurn(id string, v any) frame {
	g.t.Helper()
	g.message(id, v)
	f := g.conns.read(id)
	if f.Type != "turn" || f.TurnID == "" || f.MessageID == "" {
		g.t.Fatalf("want a turn frame, got %+v", f)
	}
	return f
}

func TestATicketOpensOneConnectionForItsUserOnce(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	var got struct{ Ticket, URL string }
	if status, body := c.do("POST", "/api/socket-ticket", nil, &got); status != 200 {
		t.Fatalf("POST /api/socket-ticket: %d %s", status, body)
	}
	if got, want := got.URL, "wss://example.execute-api.us-east-1.amazonaws.com/prod"; got != want {
		t.Errorf("ticket's url %q, want %q", got, want)
	}
	r, _ := http.NewRequest("GET", "https://example.execute-api.us-east-1.amazonaws.com/prod?ticket="+got.Ticket, nil)
	user, err := g.chat.ConnectSocket(context.Background(), r, "conn-1")
	if err != nil {
		t.Fatalf("first connect: %v", err)
	}
	ann, _, _ := g.db.UserByName(context.Background(), "ann")
	if got, want := user, ann.ID; got != want {
		t.Errorf("connection's user %d, want %d", got, want)
	}
	if _, err := g.db.SocketConnection(context.Background(), "conn-1", time.Now()); err != nil {
		t.Errorf("connection not stored: %v", err)
	}
	_, err = g.chat.ConnectSocket(context.Background(), r, "conn-2")
	if got, want := claudebridge.ErrorCode(err), claudebridge.EAUTH; got != want {
		t.Errorf("second connect with the same ticket: code %q, want %q", got, want)
	}
}

func TestATicketIsGivenOnlyWithTheCSRFToken(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	c.csrf = ""
	status, _ := c.do("POST", "/api/socket-ticket", nil, nil)
	if got, want := status, 403; got != want {
		t.Errorf("ticket without CSRF token: status %d, want %d", got, want)
	}
}

func TestAConnectionWithoutTicketOrCookieIsRefusedAndOneFromAForeignOriginToo(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	bare, _ := http.NewRequest("GET", "https://example.execute-api.us-east-1.amazonaws.com/prod", nil)
	_, err := g.chat.ConnectSocket(context.Background(), bare, "conn-1")
	if got, want := claudebridge.ErrorCode(err), claudebridge.EAUTH; got != want {
		t.Errorf("connect with nothing: code %q, want %q", got, want)
	}
	withCookie := func(origin string) *http.Request {
		r, _ := http.NewRequest("GET", "https://example.execute-api.us-east-1.amazonaws.com/prod", nil)
		for _, ck := range c.http.Jar.Cookies(mustURL(g.srv.URL)) {
			r.AddCookie(ck)
		}
		r.Header.Set("Origin", origin)
		return r
	}
	_, err = g.chat.ConnectSocket(context.Background(), withCookie("https://evil.example"), "conn-2")
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Errorf("connect with the cookie from a foreign origin: code %q, want %q", got, want)
	}
	if _, err := g.chat.ConnectSocket(context.Background(), withCookie("https://page.example"), "conn-3"); err != nil {
		t.Errorf("connect with the cookie from an allowed origin: %v", err)
	}
	forged, _ := http.NewRequest("GET", "https://example.execute-api.us-east-1.amazonaws.com/prod?ticket=forged", nil)
	_, err = g.chat.ConnectSocket(context.Background(), forged, "conn-5")
	if got, want := claudebridge.ErrorCode(err), claudebridge.EAUTH; got != want {
		t.Errorf("connect with a forged ticket: code %q, want %q", got, want)
	}
}

func TestASendRunsInAJobThatPostsTheTurnItsDeltasAndItsEnd(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	turn := g.startTurn("conn-1", map[string]any{"type": "send", "text": "Hello [[words=30]]"})
	text, _, done := g.conns.follow("conn-1", 0, 0)
	if got, want := done.Status, "complete"; got != want {
		t.Fatalf("done status %q, want %q", got, want)
	}
	conv := c.conversation(turn.ConversationID)
	if got, want := conv.Messages[1].Content, text; got != want || text == "" {
		t.Errorf("stored %q, posted %q", got, want)
	}
}

func TestAJobsStartErrorIsPostedAsAnErrorFrame(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	g.message("conn-1", map[string]any{"type": "send", "text": "   "})
	f := g.conns.read("conn-1")
	if got, want := f.Type, "error"; got != want {
		t.Fatalf("frame type %q, want %q (%+v)", got, want, f)
	}
	if got, want := f.Code, "invalid_request_error"; got != want {
		t.Errorf("error code %q, want %q", got, want)
	}
}

func TestAFrameThatIsNoJSONIsAnsweredWithAnErrorFrame(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	if err := g.chat.SocketMessage(context.Background(), "conn-1", []byte("{nope"), g.conns, g.jobs); err != nil {
		t.Fatal(err)
	}
	f := g.conns.read("conn-1")
	if got, want := f.Message, "The frame is not valid JSON"; got != want {
		t.Errorf("error frame %q, want %q", got, want)
	}
}

func TestAResumeMidTurnOnAnotherConnectionReplaysFromItsSeqWithoutGapOrDuplicate(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	turn := g.startTurn("conn-1", map[string]any{"type": "send", "text": "Hi [[slow=20]] [[words=120]]"})
	head, k, _ := g.conns.follow("conn-1", 0, 5)
	// The page reloads: a new connection asks for what follows k.
	g.connect(c, "conn-2")
	g.message("conn-2", map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": k})
	tail, _, done := g.conns.follow("conn-2", k, 0)
	if got, want := done.Status, "complete"; got != want {
		t.Fatalf("done status %q, want %q", got, want)
	}
	conv := c.conversation(turn.ConversationID)
	if got, want := conv.Messages[1].Content, head+tail; got != want {
		t.Errorf("stored %q, streamed %q", got, want)
	}
}

func TestAResumeOfAnotherUsersTurnGetsNothingButUnknown(t *testing.T) {
	g := newGatewayEnv(t)
	ann := g.login("ann", "pw-ann-1234")
	bob := g.login("bob", "pw-bob-1234")
	g.connect(ann, "conn-ann")
	g.connect(bob, "conn-bob")
	turn := g.startTurn("conn-ann", map[string]any{"type": "send", "text": "Hi [[slow=20]] [[words=40]]"})
	g.message("conn-bob", map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 0})
	f := g.conns.read("conn-bob")
	if got, want := f.Status, "unknown"; got != want {
		t.Errorf("bob's resume of ann's turn: status %q, want %q (%+v)", got, want, f)
	}
	g.conns.follow("conn-ann", 0, 0)
}

func TestAResumeOfATurnThatEndedIsToldUnknown(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	turn := g.startTurn("conn-1", map[string]any{"type": "send", "text": "Hi [[words=5]]"})
	g.conns.follow("conn-1", 0, 0)
	g.jobs.wg.Wait()
	g.message("conn-1", map[string]any{"type": "resume", "turn_id": turn.TurnID, "after_seq": 2})
	f := g.conns.read("conn-1")
	if got, want := f.Type+" "+f.Status, "done unknown"; got != want {
		t.Errorf("resume of an ended turn: %q, want %q", got, want)
	}
}

func TestAStopFromAnotherInvocationStopsTheTurnWithinASecondAndKeepsItsText(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	turn := g.startTurn("conn-1", map[string]any{"type": "send", "text": "Go on [[slow=40]] [[words=200]]"})
	head, n, _ := g.conns.follow("conn-1", 0, 3)
	g.message("conn-1", map[string]any{"type": "stop", "turn_id": turn.TurnID})
	stopped := time.Now()
	rest, _, done := g.conns.follow("conn-1", n, 0)
	if waited := time.Since(stopped); waited > time.Second {
		t.Errorf("done came %v after stop", waited)
	}
	if got, want := done.Status, "stopped"; got != want {
		t.Fatalf("done status %q, want %q", got, want)
	}
	conv := c.conversation(turn.ConversationID)
	m := conv.Messages[1]
	if got, want := m.Status, "stopped"; got != want {
		t.Errorf("stored status %q, want %q", got, want)
	}
	if got, want := m.Content, head+rest; got != want {
		t.Errorf("stored %q, streamed %q", got, want)
	}
}

func TestAStopFromAnotherUserIsIgnored(t *testing.T) {
	g := newGatewayEnv(t)
	ann := g.login("ann", "pw-ann-1234")
	bob := g.login("bob", "pw-bob-1234")
	g.connect(ann, "conn-ann")
	g.connect(bob, "conn-bob")
	turn := g.startTurn("conn-ann", map[string]any{"type": "send", "text": "Hi [[slow=10]] [[words=60]]"})
	g.message("conn-bob", map[string]any{"type": "stop", "turn_id": turn.TurnID})
	_, _, done := g.conns.follow("conn-ann", 0, 0)
	if got, want := done.Status, "complete"; got != want {
		t.Errorf("done status after another user's stop %q, want %q", got, want)
	}
}

func TestAGoneConnectionIsForgottenAndTheTurnGoesOn(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	g.conns.goneAfter["conn-1"] = 3 // the turn frame and two deltas
	turn := g.startTurn("conn-1", map[string]any{"type": "send", "text": "Hi [[slow=10]] [[words=40]]"})
	g.jobs.wg.Wait()
	_, err := g.db.SocketConnection(context.Background(), "conn-1", time.Now())
	if got, want := claudebridge.ErrorCode(err), claudebridge.ENOTFOUND; got != want {
		t.Errorf("gone connection: code %q, want %q", got, want)
	}
	conv := c.conversation(turn.ConversationID)
	if got, want := conv.Messages[1].Status, "complete"; got != want {
		t.Errorf("stored status %q, want %q", got, want)
	}
}

func TestAPingOnTheGatewayIsAnsweredWithNothing(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	g.message("conn-1", map[string]any{"type": "ping"})
	g.message("conn-1", map[string]any{"type": "nonsense"})
	f := g.conns.read("conn-1")
	if got, want := f.Message, "type: want send, edit, stop, resume, continue or regenerate"; got != want {
		t.Errorf("first frame after a ping answers %q, want the nonsense frame's error %q", got, want)
	}
}

func TestConfigTellsThePageTheSocketURL(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	var cfg struct {
		SocketURL string `json:"socket_url"`
	}
	if status, body := c.do("GET", "/api/config", nil, &cfg); status != 200 {
		t.Fatalf("GET /api/config: %d %s", status, body)
	}
	if got, want := cfg.SocketURL, "wss://example.execute-api.us-east-1.amazonaws.com/prod"; got != want {
		t.Errorf("socket_url %q, want %q", got, want)
	}
}

func TestAResumeOfATurnWhoseJobDiedIsToldItInterrupted(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	// A job killed at its timeout left its answer streaming, under a lease
	// that has lapsed.
	conv := g.orphanedAnswer("ann", "turn_dead", time.Now().Add(-time.Second))
	g.message("conn-1", map[string]any{"type": "resume", "turn_id": "turn_dead", "after_seq": 3})
	f := g.conns.read("conn-1")
	if got, want := f.Type+" "+f.Status, "done interrupted"; got != want {
		t.Fatalf("resume of a dead job's turn: %q, want %q", got, want)
	}
	if got, want := f.Seq, 3; got != want {
		t.Errorf("done seq %d, want the page's %d", got, want)
	}
	got := c.conversation(conv.ID).Messages[0].Status
	if want := "interrupted"; got != want {
		t.Errorf("stored status %q, want %q", got, want)
	}
}

func TestAJobNearItsDeadlineStoresItsTurnInterruptedAndSaysSo(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	ann, _, _ := g.db.UserByName(context.Background(), "ann")
	// 5 s is the margin a job keeps before its deadline; this one has
	// 300 ms more, and a turn of several seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second+300*time.Millisecond)
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		ran <- g.chat.RunSocketJob(ctx, chat.SocketJob{ConnectionID: "conn-1", UserID: ann.ID,
			Frame: json.RawMessage(`{"type":"send","text":"Long [[slow=40]] [[words=200]]"}`)}, g.conns)
	}()
	turn := g.conns.read("conn-1")
	text, _, done := g.conns.follow("conn-1", 0, 0)
	if got, want := done.Status, "interrupted"; got != want {
		t.Fatalf("done status %q, want %q", got, want)
	}
	if err := <-ran; err != nil {
		t.Errorf("the job ended with %v, want it to end by itself before its deadline", err)
	}
	m := c.conversation(turn.ConversationID).Messages[1]
	if got, want := m.Status, "interrupted"; got != want {
		t.Errorf("stored status %q, want %q", got, want)
	}
	if got, want := m.Content, text; got != want {
		t.Errorf("stored %q, streamed %q", got, want)
	}
}

// heldFinalSave holds the save of an answer's final status until release
// is closed, and says when one has begun.
type heldFinalSave struct {
	claudebridge.ConversationService
	begun   chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *heldFinalSave) UpdateMessage(ctx context.Context, m *claudebridge.Message) error {
	if m.Role == "assistant" && m.Status != claudebridge.MessageStreaming {
		h.once.Do(func() { close(h.begun) })
		<-h.release
	}
	return h.ConversationService.UpdateMessage(ctx, m)
}

func TestAJobWhoseContextEndsReturnsOnlyOnceItsTurnIsStored(t *testing.T) {
	g := newGatewayEnv(t)
	held := &heldFinalSave{begun: make(chan struct{}), release: make(chan struct{})}
	g.shut()
	configure := g.configure
	g.configure = func(o *chat.Options) {
		configure(o)
		held.ConversationService = o.Conversations
		o.Conversations = held
	}
	g.open()
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	ann, _, _ := g.db.UserByName(context.Background(), "ann")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		ran <- g.chat.RunSocketJob(ctx, chat.SocketJob{ConnectionID: "conn-1", UserID: ann.ID,
			Frame: json.RawMessage(`{"type":"send","text":"Long [[slow=40]] [[words=200]]"}`)}, g.conns)
	}()
	g.conns.read("conn-1")
	g.conns.follow("conn-1", 0, 2)
	cancel()
	<-held.begun
	select {
	case <-ran:
		t.Error("the job returned before its turn was stored")
		close(held.release)
		return
	default:
	}
	close(held.release)
	<-ran
}

func TestAResumeOfATurnWhoseJobJustDiedIsToldItInterruptedOnceItsLeaseLapses(t *testing.T) {
	g := newGatewayEnv(t)
	c := g.login("ann", "pw-ann-1234")
	g.connect(c, "conn-1")
	// Its job was killed just now: its lease is still live for a moment.
	conv := g.orphanedAnswer("ann", "turn_dying", time.Now().Add(300*time.Millisecond))
	g.message("conn-1", map[string]any{"type": "resume", "turn_id": "turn_dying", "after_seq": 1})
	// The resume's own sweep tells it interrupted; if this instance's
	// lease keeper swept first, the page is told to reload it (unknown).
	f := g.conns.read("conn-1")
	if f.Type != "done" || (f.Status != "interrupted" && f.Status != "unknown") {
		t.Fatalf("resume of a just-dead job's turn: %q %q, want done interrupted or done unknown", f.Type, f.Status)
	}
	if got, want := c.conversation(conv.ID).Messages[0].Status, "interrupted"; got != want {
		t.Errorf("stored status %q, want %q", got, want)
	}
}

// orphanedAnswer stores a streaming answer of user's, written by turnID in
// a new conversation, claimed by a job whose lease ends at leaseEnds and
// that renews it no more; it returns the conversation.
func (g *gatewayEnv) orphanedAnswer(user, turnID string, leaseEnds time.Time) *claudebridge.Conversation {
	g.t.Helper()
	ctx := context.Background()
	u, _, err := g.db.UserByName(ctx, user)
	if err != nil {
		g.t.Fatal(err)
	}
	conv := &claudebridge.Conversation{UserID: u.ID, Title: "t", Model: testModel}
	if err := g.db.CreateConversation(ctx, conv); err != nil {
		g.t.Fatal(err)
	}
	m := &claudebridge.Message{ConversationID: conv.ID, Role: "assistant", Status: claudebridge.MessageStreaming, TurnID: turnID, Content: "half"}
	if err := g.db.AddMessage(ctx, m); err != nil {
		g.t.Fatal(err)
	}
	owner := "owner_of_" + turnID
	if err := g.db.RenewTurnLease(ctx, owner, leaseEnds); err != nil {
		g.t.Fatal(err)
	}
	if err := g.db.ClaimMessage(ctx, m.ID, owner); err != nil {
		g.t.Fatal(err)
	}
	return conv
}
