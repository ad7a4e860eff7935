package chat

import (
	"context"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
)

// saver saves the growing text of every answer this process writes, every
// SaveInterval, so that a crash loses at most one interval: the texts that
// grew since the last save, all in one store call when the store is a
// claudebridge.StreamingTextSaver (one statement for a thousand turns
// instead of a thousand, and no goroutine or ticker per turn). One save
// runs at a time, on a timer set only while some turn is being written.
type saver struct {
	s *Server

	mu    sync.Mutex
	turns map[*turn]*saved
	timer *time.Timer // the next save, nil when none is due

	saving sync.Mutex
}

// saved is what the saver knows of a turn's answer.
type saved struct {
	msg    claudebridge.Message // a copy of the answer, for UpdateMessage
	deltas int                  // the turn's deltas the last save had
}

// add saves t's text from now on, every SaveInterval while it grows.
func (sv *saver) add(t *turn) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.turns == nil {
		sv.turns = map[*turn]*saved{}
	}
	sv.turns[t] = &saved{msg: *t.msg}
	if sv.timer == nil {
		sv.timer = time.AfterFunc(sv.s.opts.SaveInterval, sv.save)
	}
}

// remove stops saving t, once a save under way has ended: the turn stores
// its final text and status next, which no save may write over.
func (sv *saver) remove(t *turn) {
	sv.saving.Lock()
	defer sv.saving.Unlock()
	sv.mu.Lock()
	delete(sv.turns, t)
	sv.mu.Unlock()
}

// save saves the texts that grew since the last save, and sets the timer
// of the next while turns remain.
func (sv *saver) save() {
	sv.saving.Lock()
	defer sv.saving.Unlock()
	sv.mu.Lock()
	type grown struct {
		saved  *saved
		text   string
		deltas int
	}
	var list []grown
	var texts []claudebridge.StreamingText
	for t, sd := range sv.turns {
		text, n := t.textWithCount()
		if n == sd.deltas {
			continue
		}
		list = append(list, grown{sd, text, n})
		texts = append(texts, claudebridge.StreamingText{MessageID: sd.msg.ID, TurnID: sd.msg.TurnID, Content: text})
	}
	sv.mu.Unlock()

	if len(list) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if ts, ok := sv.s.opts.Conversations.(claudebridge.StreamingTextSaver); ok {
			if err := ts.SaveStreamingTexts(ctx, texts); err != nil {
				sv.s.log.Warn("chat: saving streaming answers", "answers", len(texts), "err", err)
			}
		} else {
			for _, g := range list {
				g.saved.msg.Content = g.text
				if err := sv.s.opts.Conversations.UpdateMessage(ctx, &g.saved.msg); err != nil {
					sv.s.log.Warn("chat: saving a streaming answer", "turn", g.saved.msg.TurnID, "err", err)
				}
			}
		}
		cancel()
		// Counted saved even when the save failed: the next save, or the
		// turn's last, has the whole text anyway.
		for _, g := range list {
			g.saved.deltas = g.deltas
		}
	}

	sv.mu.Lock()
	sv.timer = nil
	if len(sv.turns) > 0 {
		sv.timer = time.AfterFunc(sv.s.opts.SaveInterval, sv.save)
	}
	sv.mu.Unlock()
}
