package httpbody

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRead(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, c := range []struct {
		name, in    string
		size, limit int64
		err         error
	}{
		{"declared", "hello", 5, 10, nil},
		{"unknown length grows", long, -1, 10000, nil},
		{"declared too small", long, 10, 10000, nil},
		{"empty", "", 0, 10, nil},
		{"declared over the limit", long, 5000, 100, ErrTooLarge},
		{"read over the limit", long, -1, 4999, ErrTooLarge},
		{"exactly the limit", long, -1, 5000, nil},
	} {
		for _, r := range []io.Reader{strings.NewReader(c.in), iotest.OneByteReader(strings.NewReader(c.in)), iotest.DataErrReader(strings.NewReader(c.in))} {
			got, err := Read(r, c.size, c.limit)
			if !errors.Is(err, c.err) {
				t.Fatalf("%s: error %v, want %v", c.name, err, c.err)
			}
			if err == nil && string(got) != c.in {
				t.Fatalf("%s: read %d bytes, want %d", c.name, len(got), len(c.in))
			}
		}
	}
}

func TestReadPassesOnAFailure(t *testing.T) {
	broken := errors.New("connection reset")
	got, err := Read(io.MultiReader(strings.NewReader("part"), iotest.ErrReader(broken)), 100, 1000)
	if !errors.Is(err, broken) || !bytes.Equal(got, []byte("part")) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func BenchmarkRead(b *testing.B) {
	in := bytes.Repeat([]byte("x"), 100<<10)
	b.Run("declared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Read(bytes.NewReader(in), int64(len(in)), 1<<30)
		}
	})
	b.Run("io.ReadAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			io.ReadAll(bytes.NewReader(in))
		}
	})
}
