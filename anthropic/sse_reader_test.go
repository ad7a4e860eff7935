package anthropic

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/claudebridge/claudebridge"
)

func readAllEvents(t testing.TB, r io.Reader) ([]claudebridge.Event, error) {
	t.Helper()
	sr := NewSSEReader(r)
	var evs []claudebridge.Event
	for {
		ev, err := sr.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReaderFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []claudebridge.Event
	}{
		{
			name: "anthropic stream",
			in: "event: message_start\ndata: {\"type\":\"message_start\"}\n\n" +
				"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			want: []claudebridge.Event{
				{Type: "message_start", Data: []byte(`{"type":"message_start"}`)},
				{Type: "ping", Data: []byte(`{"type": "ping"}`)},
				{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
			},
		},
		{
			name: "CRLF and lone CR line ends",
			in:   "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r",
			want: []claudebridge.Event{{Type: "a", Data: []byte("1")}, {Type: "b", Data: []byte("2")}},
		},
		{
			name: "multi-line data joined by LF",
			in:   "event: x\ndata: one\ndata:two\ndata:  three\n\n",
			want: []claudebridge.Event{{Type: "x", Data: []byte("one\ntwo\n three")}},
		},
		{
			name: "comments, id and retry skipped",
			in:   ": keep-alive\nid: 7\nretry: 100\nevent: x\n:comment\ndata: d\n\n",
			want: []claudebridge.Event{{Type: "x", Data: []byte("d")}},
		},
		{
			name: "event without data is not dispatched and its type is forgotten",
			in:   "event: lonely\n\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
			want: []claudebridge.Event{{Type: "content_block_stop", Data: []byte(`{"type":"content_block_stop","index":0}`)}},
		},
		{
			name: "empty data field dispatches empty data",
			in:   "event: e\ndata\n\nevent: f\ndata:\n\n",
			want: []claudebridge.Event{{Type: "e", Data: []byte{}}, {Type: "f", Data: []byte{}}},
		},
		{
			name: "data that is not JSON defaults to message",
			in:   "data: hello\n\n",
			want: []claudebridge.Event{{Type: "message", Data: []byte("hello")}},
		},
		{
			name: "byte-order mark at the start",
			in:   "\xEF\xBB\xBFevent: x\ndata: y\n\n",
			want: []claudebridge.Event{{Type: "x", Data: []byte("y")}},
		},
		{
			name: "unterminated last event dropped",
			in:   "event: a\ndata: 1\n\nevent: b\ndata: 2\n",
			want: []claudebridge.Event{{Type: "a", Data: []byte("1")}},
		},
		{
			name: "data bytes kept exactly, spaces and escapes included",
			in:   "event: content_block_delta\ndata: {\"a\" : \"\\u003cb\\u003e\" ,\"t\":\"x \"}  \n\n",
			want: []claudebridge.Event{{Type: "content_block_delta", Data: []byte(`{"a" : "\u003cb\u003e" ,"t":"x "}  `)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readAllEvents(t, r)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %q\nwant %q", got, tt.want)
				}
			}
		})
	}
}

func TestSSEReaderDataNotReused(t *testing.T) {
	sr := NewSSEReader(strings.NewReader("event: a\ndata: first\n\nevent: b\ndata: second\n\n"))
	a, _ := sr.Next()
	b, _ := sr.Next()
	if string(a.Data) != "first" || string(b.Data) != "second" {
		t.Fatalf("data overwritten: %q %q", a.Data, b.Data)
	}
}

func TestSSEReaderErrors(t *testing.T) {
	boom := errors.New("connection reset")
	sr := NewSSEReader(io.MultiReader(strings.NewReader("event: a\ndata: 1\n\nevent: b\n"), iotest.ErrReader(boom)))
	if ev, err := sr.Next(); err != nil || ev.Type != "a" {
		t.Fatalf("first event: %v %v", ev, err)
	}
	for i := 0; i < 2; i++ {
		if _, err := sr.Next(); !errors.Is(err, boom) {
			t.Fatalf("call %d: got %v, want the reader's error", i, err)
		}
	}

	long := "data: " + strings.Repeat("x", MaxSSELine) + "\n\n"
	if _, err := NewSSEReader(strings.NewReader(long)).Next(); !errors.Is(err, ErrSSELineTooLong) {
		t.Fatalf("long line: got %v", err)
	}
}

// referenceEvents parses an event stream the plain way the format describes,
// to check SSEReader against.
func referenceEvents(in string) []claudebridge.Event {
	in = strings.TrimPrefix(in, "\xEF\xBB\xBF")
	in = strings.ReplaceAll(in, "\r\n", "\n")
	in = strings.ReplaceAll(in, "\r", "\n")
	lines := strings.Split(in, "\n")
	lines = lines[:len(lines)-1] // the text after the last line end is no line
	var evs []claudebridge.Event
	var typ string
	var data []string
	for _, line := range lines {
		if line == "" {
			if data != nil {
				ev := claudebridge.Event{Type: typ, Data: []byte(strings.Join(data, "\n"))}
				if ev.Type == "" {
					ev.Type = typeOfData(ev.Data)
				}
				evs = append(evs, ev)
			}
			typ, data = "", nil
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			typ = value
		case "data":
			data = append(data, value)
		}
	}
	return evs
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\"}\n\n"))
	f.Add([]byte("event: a\r\ndata: 1\r\ndata: 2\r\n\r\n"))
	f.Add([]byte("event: a\rdata: 1\r\r: c\ndata\n\n"))
	f.Add([]byte("\xEF\xBB\xBFdata: {\"type\":\"ping\"}\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		want := referenceEvents(string(in))
		for _, r := range []io.Reader{bytes.NewReader(in), iotest.HalfReader(bytes.NewReader(in))} {
			got, err := readAllEvents(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d events %q, want %d %q", len(got), got, len(want), want)
			}
			for i := range got {
				if got[i].Type != want[i].Type || !bytes.Equal(got[i].Data, want[i].Data) {
					t.Fatalf("event %d: got %q, want %q", i, got[i], want[i])
				}
			}
		}
	})
}

func BenchmarkSSEReader(b *testing.B) {
	var stream bytes.Buffer
	stream.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n")
	for i := 0; i < 50; i++ {
		stream.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"some words \"}}\n\n")
	}
	stream.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	in := stream.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewSSEReader(bytes.NewReader(in))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

// chunks is a reader that hands out one chunk per Read, as a network
// connection hands out what has arrived.
type chunks []string

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*c)[0])
	(*c)[0] = (*c)[0][n:]
	if (*c)[0] == "" {
		*c = (*c)[1:]
	}
	return n, nil
}

func TestBufferedSaysWhetherTheNextEventHasArrivedWhole(t *testing.T) {
	src := chunks{
		"event: a\ndata: {}\n\nevent: b\ndata: {}\n\nevent: c\nda", // a, b whole; c cut
		"ta: {}\n\n: keep-alive\n\n",                               // c ends; a comment is no event
		"event: d\ndata: {}\n\n",
	}
	r := NewSSEReader(&src)
	for _, want := range []struct {
		typ      string
		buffered bool
	}{{"a", true}, {"b", false}, {"c", false}, {"d", false}} {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("before %s: %v", want.typ, err)
		}
		if got := ev.Type; got != want.typ {
			t.Fatalf("event %s, want %s", got, want.typ)
		}
		if got := r.Buffered(); got != want.buffered {
			t.Errorf("after %s: Buffered %v, want %v", ev.Type, got, want.buffered)
		}
	}
}
