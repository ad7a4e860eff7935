package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claudebridge/claudebridge"
)

// busChannel is the one LISTEN/NOTIFY channel of the turn bus.
const busChannel = "claudebridge_turns"

// maxPayload is the most a NOTIFY payload carries here: PostgreSQL's limit
// is 8000 bytes. A message over it goes in parts of partSize bytes (in
// base64 within the JSON, so that a part is never cut mid-character).
const (
	maxPayload = 7900
	partSize   = 5600
)

// Bus is the claudebridge.TurnBus of the processes sharing a PostgreSQL
// database, over LISTEN/NOTIFY: each process listens on one connection of
// its own, outside the pool, and notifies through the pool. Every process
// gets every message and keeps what concerns it: events of the turns its
// sockets follow, requests for the turns it runs, answers to its own
// requests.
//
// Events that went by while the connection was cut are lost; when it is
// back, each subscriber gets an event with Lost set, and asks again.
type Bus struct {
	db      *DB
	process string
	// answerWithin is how long a snapshot or a stop waits for the
	// process of the turn; none answering, the turn is unknown.
	answerWithin time.Duration
	n            atomic.Uint64 // numbers this process's payloads: PostgreSQL folds equal ones of a transaction into one
	pid          atomic.Uint32 // the listening connection's backend, for tests that cut it

	mu      sync.Mutex
	owners  map[string]claudebridge.TurnOwner
	subs    map[string]map[*busSub]struct{}
	waiting map[string]chan busMessage // by request id
	parts   map[string][][]byte        // messages in parts, by sender and id

	cancel context.CancelFunc
	done   chan struct{}
}

type busSub struct{ deliver func(claudebridge.TurnEvent) }

var _ claudebridge.TurnBus = (*Bus)(nil)

// busMessage is one NOTIFY payload.
type busMessage struct {
	N    uint64 `json:"n"`
	From string `json:"from"`
	// Kind is "events", "snapshot" or "stop" (requests), "answer", or
	// "part" (a part of a longer message).
	Kind string `json:"k"`
	// Turns names the turn of each of Events: a process decodes only the
	// events of the turns its sockets follow (most are other processes').
	Turns  []string                   `json:"turns,omitempty"`
	Events []json.RawMessage          `json:"ev,omitempty"`
	ID     string                     `json:"id,omitempty"` // of a request, its answer, or a message in parts
	To     string                     `json:"to,omitempty"` // the process an answer goes to
	Turn   string                     `json:"turn,omitempty"`
	User   int64                      `json:"user,omitempty"`
	After  int                        `json:"after,omitempty"`
	Snap   *claudebridge.TurnSnapshot `json:"snap,omitempty"`
	Code   string                     `json:"code,omitempty"` // an answer's error
	Part   int                        `json:"part,omitempty"`
	Parts  int                        `json:"parts,omitempty"`
	Data   []byte                     `json:"data,omitempty"`
}

// OpenBus starts this process's end of the bus on db: its listening
// connection is open when OpenBus returns. Close it before db.
func OpenBus(ctx context.Context, db *DB) (*Bus, error) {
	b := &Bus{db: db, process: newID(""), answerWithin: 2 * time.Second,
		owners: map[string]claudebridge.TurnOwner{}, subs: map[string]map[*busSub]struct{}{},
		waiting: map[string]chan busMessage{}, parts: map[string][][]byte{}, done: make(chan struct{})}
	conn, err := b.listen(ctx)
	if err != nil {
		return nil, err
	}
	ctx, b.cancel = context.WithCancel(context.Background())
	go b.receive(ctx, conn)
	return b, nil
}

// Close stops listening.
func (b *Bus) Close() error {
	b.cancel()
	<-b.done
	return nil
}

// listen opens the listening connection.
func (b *Bus) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, b.db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, internal("bus: connecting", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+busChannel); err != nil {
		conn.Close(context.Background())
		return nil, internal("bus: listening", err)
	}
	b.pid.Store(conn.PgConn().PID())
	return conn, nil
}

// receive handles the notifications until ctx ends, connecting again
// (and telling the subscribers they may have lost events) when the
// connection is cut.
func (b *Bus) receive(ctx context.Context, conn *pgx.Conn) {
	defer close(b.done)
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for wait := 100 * time.Millisecond; ; {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			var err error
			if conn, err = b.listen(ctx); err != nil {
				wait = min(2*wait, 5*time.Second)
				continue
			}
			wait = 100 * time.Millisecond
			b.lost()
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			conn.Close(context.Background())
			conn = nil
			continue
		}
		b.handle([]byte(n.Payload))
	}
}

// lost tells every subscriber events may have gone by unseen.
func (b *Bus) lost() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for turnID, subs := range b.subs {
		for sub := range subs {
			sub.deliver(claudebridge.TurnEvent{TurnID: turnID, Lost: true})
		}
	}
}

// handle acts on one payload.
func (b *Bus) handle(payload []byte) {
	var m busMessage
	if json.Unmarshal(payload, &m) != nil {
		return
	}
	switch m.Kind {
	case "events":
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, raw := range m.Events {
			if i >= len(m.Turns) || len(b.subs[m.Turns[i]]) == 0 {
				continue
			}
			var ev claudebridge.TurnEvent
			if json.Unmarshal(raw, &ev) != nil {
				continue
			}
			for sub := range b.subs[ev.TurnID] {
				sub.deliver(ev)
			}
		}
	case "snapshot", "stop":
		b.mu.Lock()
		owner := b.owners[m.Turn]
		b.mu.Unlock()
		if owner != nil {
			go b.answer(owner, m)
		}
	case "answer":
		if m.To != b.process {
			return
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		b.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	case "part":
		if whole := b.join(m); whole != nil {
			b.handle(whole)
		}
	}
}

// join keeps a part and returns the whole message once every part is in.
// Parts of one message come in order (one sender, one transaction).
func (b *Bus) join(m busMessage) []byte {
	key := m.From + "/" + m.ID
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.Part == 0 {
		if len(b.parts) > 1000 { // senders that died mid-message
			clear(b.parts)
		}
		b.parts[key] = make([][]byte, 0, m.Parts)
	}
	got, ok := b.parts[key]
	if !ok || len(got) != m.Part {
		delete(b.parts, key)
		return nil
	}
	got = append(got, m.Data)
	if len(got) < m.Parts {
		b.parts[key] = got
		return nil
	}
	delete(b.parts, key)
	var whole []byte
	for _, p := range got {
		whole = append(whole, p...)
	}
	return whole
}

// answer answers a request for a turn this process runs.
func (b *Bus) answer(owner claudebridge.TurnOwner, req busMessage) {
	a := busMessage{Kind: "answer", ID: req.ID, To: req.From}
	var err error
	if req.Kind == "snapshot" {
		var snap claudebridge.TurnSnapshot
		if snap, err = owner.Snapshot(req.User, req.After); err == nil {
			a.Snap = &snap
		}
	} else {
		err = owner.Stop(req.User)
	}
	if err != nil {
		a.Code = claudebridge.ErrorCode(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.answerWithin)
	defer cancel()
	b.send(ctx, []busMessage{a})
}

// send notifies msgs, in order, in one statement.
func (b *Bus) send(ctx context.Context, msgs []busMessage) error {
	var payloads []string
	for _, m := range msgs {
		m.From, m.N = b.process, b.n.Add(1)
		p, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if len(p) <= maxPayload {
			payloads = append(payloads, string(p))
			continue
		}
		id, parts := strconv.FormatUint(m.N, 10), (len(p)+partSize-1)/partSize
		for i := range parts {
			part := busMessage{N: b.n.Add(1), From: b.process, Kind: "part", ID: id, Part: i, Parts: parts,
				Data: p[i*partSize : min((i+1)*partSize, len(p))]}
			pp, err := json.Marshal(part)
			if err != nil {
				return err
			}
			payloads = append(payloads, string(pp))
		}
	}
	// unnest gives the array in order, and pg_notify queues in call order.
	_, err := b.db.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, busChannel, payloads)
	return internal("bus: notifying", err)
}

// Own makes this process answer for turnID until release.
func (b *Bus) Own(turnID string, owner claudebridge.TurnOwner) (release func()) {
	b.mu.Lock()
	b.owners[turnID] = owner
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.owners[turnID] == owner {
			delete(b.owners, turnID)
		}
	}
}

// Publish notifies events, as few payloads as fit.
func (b *Bus) Publish(ctx context.Context, events []claudebridge.TurnEvent) error {
	var msgs []busMessage
	size := 0
	for _, ev := range events {
		e, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if n := len(msgs); n == 0 || size+len(e)+len(ev.TurnID) > maxPayload-100 {
			msgs, size = append(msgs, busMessage{Kind: "events"}), 0
		}
		last := &msgs[len(msgs)-1]
		last.Turns, last.Events = append(last.Turns, ev.TurnID), append(last.Events, e)
		size += len(e) + len(ev.TurnID) + 4
	}
	if len(msgs) == 0 {
		return nil
	}
	return b.send(ctx, msgs)
}

// Subscribe delivers turnID's events from now until cancel.
func (b *Bus) Subscribe(_ context.Context, turnID string, deliver func(claudebridge.TurnEvent)) (cancel func(), err error) {
	sub := &busSub{deliver}
	b.mu.Lock()
	if b.subs[turnID] == nil {
		b.subs[turnID] = map[*busSub]struct{}{}
	}
	b.subs[turnID][sub] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[turnID], sub)
		if len(b.subs[turnID]) == 0 {
			delete(b.subs, turnID)
		}
	}, nil
}

// request sends a request and waits for its answer; ENOTFOUND when no
// process answers within answerWithin.
func (b *Bus) request(ctx context.Context, m busMessage) (busMessage, error) {
	m.ID = newID("")
	ch := make(chan busMessage, 1)
	b.mu.Lock()
	b.waiting[m.ID] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, m.ID)
		b.mu.Unlock()
	}()
	if err := b.send(ctx, []busMessage{m}); err != nil {
		return busMessage{}, err
	}
	timer := time.NewTimer(b.answerWithin)
	defer timer.Stop()
	select {
	case a := <-ch:
		switch a.Code {
		case "":
			return a, nil
		case claudebridge.ENOTFOUND:
			return a, claudebridge.Errorf(a.Code, "turn_id: no such turn")
		default:
			return a, claudebridge.Errorf(a.Code, "The process of that turn could not answer")
		}
	case <-timer.C:
		return busMessage{}, claudebridge.Errorf(claudebridge.ENOTFOUND, "turn_id: no such turn")
	case <-ctx.Done():
		return busMessage{}, ctx.Err()
	}
}

// Snapshot asks the process running turnID for its deltas after seq.
func (b *Bus) Snapshot(ctx context.Context, turnID string, userID int64, after int) (claudebridge.TurnSnapshot, error) {
	a, err := b.request(ctx, busMessage{Kind: "snapshot", Turn: turnID, User: userID, After: after})
	if err != nil {
		return claudebridge.TurnSnapshot{}, err
	}
	if a.Snap == nil {
		return claudebridge.TurnSnapshot{}, errors.New("postgres: bus: an answer without its snapshot")
	}
	return *a.Snap, nil
}

// Stop asks the process running turnID to stop it.
func (b *Bus) Stop(ctx context.Context, turnID string, userID int64) error {
	_, err := b.request(ctx, busMessage{Kind: "stop", Turn: turnID, User: userID})
	return err
}
