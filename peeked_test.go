package claudebridge

import (
	"io"
	"testing"
)

// events is a Stream of fixed events; buffered says what Buffered answers.
type events struct {
	list     []Event
	closed   bool
	buffered bool
}

func (s *events) Next() (Event, error) {
	if len(s.list) == 0 {
		return Event{}, io.EOF
	}
	ev := s.list[0]
	s.list = s.list[1:]
	return ev, nil
}

func (s *events) Close() error { s.closed = true; return nil }

type bufferedEvents struct{ *events }

func (s bufferedEvents) Buffered() bool { return s.buffered }

func TestAPeekedStreamHandsOutTheEventReadAheadThenTheRest(t *testing.T) {
	s := &events{list: []Event{{Type: "b"}, {Type: "c"}}}
	p := Peeked(s, Event{Type: "a"})
	var got []string
	for {
		ev, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Type)
	}
	if got, want := len(got), 3; got != want {
		t.Fatalf("%d events, want %d", got, want)
	}
	for i, want := range []string{"a", "b", "c"} {
		if got[i] != want {
			t.Errorf("event %d is %q, want %q", i, got[i], want)
		}
	}
	p.Close()
	if got, want := s.closed, true; got != want {
		t.Errorf("the stream read ahead closed: %v, want %v", got, want)
	}
}

func TestAPeekedStreamIsBufferedWhileItsFirstEventWaitsThenAsItsStreamSays(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Stream
		want bool
	}{
		{"a stream that cannot tell", &events{list: []Event{{Type: "b"}}}, false},
		{"a stream that says no", bufferedEvents{&events{list: []Event{{Type: "b"}}}}, false},
		{"a stream that says yes", bufferedEvents{&events{list: []Event{{Type: "b"}}, buffered: true}}, true},
	} {
		p := Peeked(tc.s, Event{Type: "a"})
		if got, want := p.Buffered(), true; got != want {
			t.Errorf("%s: before the first Next: Buffered %v, want %v", tc.name, got, want)
		}
		if _, err := p.Next(); err != nil {
			t.Fatal(err)
		}
		if got := p.Buffered(); got != tc.want {
			t.Errorf("%s: after the first Next: Buffered %v, want %v", tc.name, got, tc.want)
		}
	}
}
