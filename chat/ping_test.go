package chat_test

import "testing"

func TestAPingFrameIsAnsweredWithNothing(t *testing.T) {
	e := newEnv(t, true)
	s := e.localClient().socket()
	s.send(map[string]any{"type": "ping"})
	s.send(map[string]any{"type": "nonsense"})
	f := s.read()
	got, want := f.Type, "error"
	if got != want {
		t.Fatalf("first frame after a ping: type %q, want %q", got, want)
	}
	if got, want := f.Message, "type: want send, edit, stop, resume, continue or regenerate"; got != want {
		t.Errorf("first frame after a ping answers %q, want the nonsense frame's error %q", got, want)
	}
}
