package chat_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
)

// cluster is several serve processes behind a load balancer on one
// database: each node is a chat server with a handle of its own on the
// file, its own owner and lease; they share the CSRF secret (a page works
// against any of them).
type cluster struct {
	t        *testing.T
	path     string
	upstream *recordingUpstream
	secret   []byte
}

// lease is the nodes' TURN_LEASE.
const lease = 10 * time.Second

func newCluster(t *testing.T) *cluster {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{}))
	t.Cleanup(emu.Close)
	up := &recordingUpstream{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("sk-test")})}
	return &cluster{t: t, path: filepath.Join(t.TempDir(), "chat.db"), upstream: up, secret: []byte("cluster secret, 32 bytes long..")}
}

// node starts one more process of the cluster.
func (c *cluster) node() *env {
	e := &env{t: c.t, path: c.path, upstream: c.upstream, local: true}
	e.configure = func(o *chat.Options) {
		o.Leases, o.Lease, o.Secret = e.db, lease, c.secret
	}
	e.open()
	c.t.Cleanup(e.shut)
	return e
}

// kill cuts a node off its database as kill -9 would: nothing it does is
// stored any more, and its lease is no longer renewed.
func (e *env) kill() {
	e.db.Close()
}

func TestAnAnswerOfAKilledProcessIsInterruptedOnceItsLeaseLapsesAndContinuedElsewhere(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.node(), cl.node()
	s := a.localClient().socket()
	turn := s.startTurn(map[string]any{"type": "send", "text": "Long one [[slow=60]] [[words=40]]"})
	seen, _, _ := s.follow(0, 5)
	a.waitSave(turn.MessageID, grownPast(seen))
	a.kill()

	cb := b.localClient()
	if err := chat.Sweep(b.chat, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, want := cb.conversation(turn.ConversationID).Messages[1].Status, "streaming"; got != want {
		t.Fatalf("while the killed process's lease runs: status %q, want %q", got, want)
	}
	if err := chat.Sweep(b.chat, time.Now().Add(lease+time.Second)); err != nil {
		t.Fatal(err)
	}
	m := cb.conversation(turn.ConversationID).Messages[1]
	if got, want := m.Status, "interrupted"; got != want {
		t.Fatalf("once its lease lapsed: status %q, want %q", got, want)
	}
	if !strings.HasPrefix(m.Content, seen) {
		t.Errorf("interrupted text %q, want the saved %q and on", m.Content, seen)
	}
	if got, want := m.Counted, true; got != want {
		t.Errorf("output tokens counted %v, want %v", got, want)
	}

	sb := cb.socket()
	next := sb.startTurn(map[string]any{"type": "continue", "conversation_id": turn.ConversationID})
	if got, want := next.MessageID, turn.MessageID; got != want {
		t.Errorf("continued message %s, want %s", got, want)
	}
	more, _, done := sb.follow(0, 0)
	if got, want := done.Status, "complete"; got != want {
		t.Fatalf("continued from the other process: done %q, want %q", got, want)
	}
	if got, want := cb.conversation(turn.ConversationID).Messages[1].Content, m.Content+more; got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
}
