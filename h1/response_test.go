package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWriteHeaderWritesWhatHeaderWriteWrites(t *testing.T) {
	h := http.Header{
		"Content-Type":  {"application/json"},
		"Request-Id":    {"req_1"},
		"X-Two":         {"a", "b"},
		"X-Split":       {"a\r\nSet-Cookie: evil=1"},
		"X-Padded":      {"  v \t"},
		"X-Tab":         {"a\tb"},
		"Bad Name":      {"dropped"},
		"X-Empty":       {""},
		"X-Bare-Return": {"a\rb\nc"},
	}
	var lean, std bytes.Buffer
	bw := bufio.NewWriter(&lean)
	writeHeader(bw, h)
	bw.Flush()
	h.Write(&std)
	lines := func(b bytes.Buffer) []string {
		l := strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n")
		slices.Sort(l)
		return l
	}
	if a, b := lines(lean), lines(std); !slices.Equal(a, b) {
		t.Fatalf("writeHeader wrote\n%q\nHeader.Write writes\n%q", a, b)
	}
}

func TestHTTPDate(t *testing.T) {
	for _, at := range []time.Time{time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 17, 0, 0, 999, time.UTC),
		time.Date(2026, 11, 23, 17, 0, 1, 0, time.FixedZone("CET", 3600))} {
		if got, want := httpDate(at), at.UTC().Format(http.TimeFormat); got != want {
			t.Fatalf("httpDate(%v) = %q, want %q", at, got, want)
		}
	}
}
