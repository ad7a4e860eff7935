package chat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
)

// turn writes one answer: it calls the upstream, keeps every text delta
// (numbered from 1) for the sockets that follow it, saves the text as it
// grows and stores how it ended.
type turn struct {
	ts     *turns
	id     string
	userID int64
	conv   *claudebridge.Conversation
	msg    *claudebridge.Message // the assistant message; only run touches it
	base   string                // the text the deltas append to ("" unless continuing)
	prior  claudebridge.Usage    // usage of the text before this turn
	// priorCounted says prior's output tokens were counted, not reported.
	priorCounted bool
	req          *claudebridge.Request
	cancel       context.CancelCauseFunc

	mu     sync.Mutex
	deltas []string
	done   *doneFrame
	subs   map[chan struct{}]struct{}
	stream claudebridge.Stream
	// published counts the deltas put on the bus (or passed over while
	// no other process followed); endPublished says the end has gone too.
	published    int
	endPublished bool
	// followed says a follower asked the bus for a snapshot (one in
	// another process): from then on the deltas go on the bus.
	followed bool
}

// doneFrame is the last frame of a turn.
type doneFrame struct {
	Type   string             `json:"type"` // "done"
	TurnID string             `json:"turn_id"`
	Seq    int                `json:"seq"`
	Status string             `json:"status"`
	Error  string             `json:"error,omitempty"`
	Usage  claudebridge.Usage `json:"usage"`
	// OutputTokensCounted says usage.output_tokens was counted from the
	// text: the turn ended before the model reported its final count.
	OutputTokensCounted bool    `json:"output_tokens_counted,omitempty"`
	CostUSD             float64 `json:"cost_usd"`
}

// subscribe returns a channel that gets a value (without blocking the turn:
// it holds one at most) whenever a delta arrives or the turn ends.
func (t *turn) subscribe() (notify chan struct{}, unsubscribe func()) {
	notify = make(chan struct{}, 1)
	t.mu.Lock()
	if t.subs == nil {
		t.subs = map[chan struct{}]struct{}{}
	}
	t.subs[notify] = struct{}{}
	t.mu.Unlock()
	return notify, func() {
		t.mu.Lock()
		delete(t.subs, notify)
		t.mu.Unlock()
	}
}

// since returns the deltas after seq and, once the turn has ended and
// they are all out, its done frame.
func (t *turn) since(seq int) ([]string, *doneFrame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq < 0 {
		seq = 0
	}
	var out []string
	if seq < len(t.deltas) {
		out = t.deltas[seq:len(t.deltas):len(t.deltas)]
	}
	return out, t.done
}

// wake tells every subscriber there is news. Called with t.mu held.
func (t *turn) wake() {
	for ch := range t.subs {
		select {
		case ch <- struct{}{}:
		default: // it already has news to read
		}
	}
}

// stop ends the upstream call with cause; the turn then stores its text
// with the status the cause gives.
func (t *turn) stop(cause error) {
	t.cancel(cause)
	t.mu.Lock()
	st := t.stream
	t.mu.Unlock()
	if st != nil {
		st.Close() // unblocks a pending Next at once
	}
}

// text is the answer so far: the base and every delta.
func (t *turn) text() string {
	text, _ := t.textWithCount()
	return text
}

// textWithCount is text and the number of deltas in it.
func (t *turn) textWithCount() (string, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.base + strings.Join(t.deltas, ""), len(t.deltas)
}

// run calls the upstream and streams the answer to its end.
func (t *turn) run(ctx context.Context) {
	s := t.ts.s
	began := time.Now()
	var firstToken time.Duration
	var usage claudebridge.Usage
	var stopReason string
	var reported bool // the model gave its final output count
	err := func() error {
		// The caller goes with the call: budgets and the ledger read it.
		st, err := s.opts.Upstream.Stream(claudebridge.WithCaller(ctx, claudebridge.Caller{UserID: t.userID}), t.req)
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.stream = st
		t.mu.Unlock()
		defer st.Close()
		if ctx.Err() != nil { // stopped while the call was being made
			return ctx.Err()
		}
		s.saver.add(t)
		defer s.saver.remove(t)
		for {
			ev, err := st.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if text := readEvent(ev, &usage, &stopReason, &reported); text != "" {
				t.mu.Lock()
				if firstToken == 0 {
					firstToken = time.Since(began)
				}
				t.deltas = append(t.deltas, text)
				t.wake()
				followed := t.followed
				t.mu.Unlock()
				if followed {
					s.publisher.mark(t)
				}
			}
		}
	}()

	// An answer cut short (Stop, shutdown, an upstream error) never gets
	// the model's final count, only message_start's, which is about 1: its
	// output tokens are counted from its text, so that usage and cost are
	// not under-counted.
	counted := false
	if !reported {
		if n := countTokens(t.text()[len(t.base):]); n > usage.OutputTokens {
			usage.OutputTokens, counted = n, true
		}
	}
	m := t.msg
	m.Content = t.text()
	m.Usage = addUsage(t.prior, usage)
	m.OutputTokensCounted = t.priorCounted || counted
	m.Error = ""
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errStopped):
		m.Status = claudebridge.MessageStopped
	case errors.Is(cause, errShutdown), errors.Is(cause, errLeaseLost):
		m.Status = claudebridge.MessageInterrupted
	case err != nil:
		m.Status = claudebridge.MessageError
		m.Error = claudebridge.ErrorMessage(err)
		s.log.Warn("chat: turn failed", "turn", t.id, "code", claudebridge.ErrorCode(err), "err", err)
	case stopReason == "max_tokens":
		m.Status = claudebridge.MessageMaxTokens
	default:
		m.Status = claudebridge.MessageComplete
	}
	// The final state is stored even when the turn was canceled.
	store, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// The store's hold goes with it, while the conversation is still busy
	// here: a turn this process starts next in it then holds it anew,
	// rather than lose its hold to this release.
	if err := s.storeEnd(store, m, t.ts.current(t)); err != nil {
		s.log.Warn("chat: storing a finished answer", "turn", t.id, "err", err)
	}
	cost := s.opts.Prices.Cost(m.Model, s.opts.Provider, usage, false)
	if ledger, ok := s.opts.Usage.(claudebridge.LedgerService); ok {
		e := claudebridge.LedgerEntry{Time: time.Now(), RequestID: t.id, UserID: t.userID, Model: m.Model,
			Upstream: s.opts.Provider, Door: "chat", CostUSD: cost, PriceVersion: s.opts.Prices.Version,
			Latency: time.Since(began), FirstToken: firstToken, Status: turnStatus(m.Status, err)}
		e.SetUsage(usage)
		if counted {
			e.CountedOutputTokens = usage.OutputTokens
		}
		if err := ledger.AppendLedger(store, []claudebridge.LedgerEntry{e}); err != nil {
			s.log.Warn("chat: storing usage", "turn", t.id, "err", err)
		}
	} else if usage != (claudebridge.Usage{}) {
		day := time.Now().UTC().Format(time.DateOnly)
		if err := s.opts.Usage.AddUsage(store, t.userID, day, m.Model, usage, cost, counted); err != nil {
			s.log.Warn("chat: storing usage", "turn", t.id, "err", err)
		}
	}
	t.ts.free(t)
	t.mu.Lock()
	t.done = &doneFrame{Type: "done", TurnID: t.id, Seq: len(t.deltas), Status: m.Status, Error: m.Error,
		Usage: usage, OutputTokensCounted: counted, CostUSD: cost}
	t.wake()
	t.mu.Unlock()
	s.publisher.mark(t)
}

// turnStatus is a turn's status in the ledger: the one the Anthropic API
// would answer its error with, 499 for a turn the user stopped (the
// client went away, as the metrics say it), else 200.
func turnStatus(status string, err error) int {
	switch {
	case status == claudebridge.MessageStopped:
		return 499
	case status == claudebridge.MessageError && err != nil:
		s, _ := anthropic.Status(claudebridge.ErrorCode(err))
		return s
	}
	return 200
}

// readEvent reads one Messages stream event: the text of a text delta, and
// the usage (anthropic's reader) and stop reason as message_start and
// message_delta carry them; reported is set once message_delta has given
// its usage, whose output count is the final one.
func readEvent(ev claudebridge.Event, usage *claudebridge.Usage, stopReason *string, reported *bool) string {
	switch ev.Type {
	case "content_block_delta":
		var d struct {
			Delta struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.Delta.Type == "text_delta" {
			return d.Delta.Text
		}
	case "message_start":
		anthropic.AddEventUsage(usage, ev.Type, ev.Data)
	case "message_delta":
		var d struct {
			Delta struct {
				StopReason string `json:"stop_reason"`
			} `json:"delta"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.Delta.StopReason != "" {
			*stopReason = d.Delta.StopReason
		}
		if anthropic.AddEventUsage(usage, ev.Type, ev.Data) {
			*reported = true
		}
	}
	return ""
}

// countTokens estimates the tokens of text: about one per 4 bytes, as the
// Claude tokenizers give for English prose and code (no tokenizer is
// public; count_tokens would cost a call per stopped answer).
func countTokens(text string) int {
	return (len(text) + 3) / 4
}

func addUsage(a, b claudebridge.Usage) claudebridge.Usage {
	return claudebridge.Usage{
		InputTokens:              a.InputTokens + b.InputTokens,
		OutputTokens:             a.OutputTokens + b.OutputTokens,
		CacheCreationInputTokens: a.CacheCreationInputTokens + b.CacheCreationInputTokens,
		CacheReadInputTokens:     a.CacheReadInputTokens + b.CacheReadInputTokens,
		CacheCreation: claudebridge.CacheCreation{
			Ephemeral5mInputTokens: a.CacheCreation.Ephemeral5mInputTokens + b.CacheCreation.Ephemeral5mInputTokens,
			Ephemeral1hInputTokens: a.CacheCreation.Ephemeral1hInputTokens + b.CacheCreation.Ephemeral1hInputTokens,
		},
	}
}
